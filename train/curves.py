"""Training curves: held-out bits/dim (or nats per image) against hours of training, from the runs' logs.

    python -m train.curves checkpoints/runs/binarized_mnist-* --nats --out docs/curves-binarized_mnist.png

One line per run folder (what ``python -m train --out`` wrote), through every evaluation of its
``metrics.jsonl``: validation bits/dim where the data set has a validation split, test bits/dim
where it has not. The hours on the x axis are training time only, and come from the log itself:
every ``train`` event gives the images per second of the steps since the one before, counted
over training steps alone, so each stretch of steps took its images over that rate; between two
events the time grows in proportion to the steps. Evaluations, checkpoints and the pauses between
sittings are left out. A run resumed over several sittings has one log; the steps a killed sitting
did after its last checkpoint were done again by the next one, and only the redone ones count.
``--nats`` draws binarized MNIST in the paper's unit, with the paper's number of each model dashed.
Needs matplotlib (``pip install "pixelrnn[figures]"``).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .results import PUBLISHED_MNIST_NATS


@dataclass
class Curve:
    """One run's held-out measurements at the hours of training they were made after."""

    name: str
    #: ``valid`` or ``test``: which split the evaluations scored.
    split: str
    hours: list[float]
    bits_per_dim: list[float]
    #: ``[C, H, W]`` of the run's images, and its model's config (for the paper's number).
    image_shape: list[int]
    model_config: dict

    def nats_per_image(self) -> list[float]:
        dims = math.prod(self.image_shape)
        return [bits * dims * math.log(2) for bits in self.bits_per_dim]

    def published_nats(self) -> float | None:
        """The PixelRNN paper's binarized-MNIST number for this run's model, if it has one."""
        name, layers = self.model_config["model"], self.model_config.get("layers")
        return PUBLISHED_MNIST_NATS.get((name, layers), PUBLISHED_MNIST_NATS.get((name, None)))


def surviving_events(log: Path) -> list[dict]:
    """The events of ``log`` (a ``metrics.jsonl``) on the history that the run's checkpoint continues.

    A run started anew in the same folder (a ``start`` at step 0) keeps only its own events. A
    sitting resumed from a step before the last logged one (the sitting before it was killed after
    its last checkpoint) drops what the lost steps logged.
    """
    kept: list[dict] = []
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "start":
            kept = [e for e in kept if e["step"] <= event["step"]] if event["step"] else []
        kept.append(event)
    return kept


def training_hours(events: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, hours)``: the hours of training done at each step that logged a ``train`` event (and at 0)."""
    steps, hours = [0], [0.0]
    images_per_step, previous = 0, 0
    for event in events:
        if event["event"] == "start":
            images_per_step = event["args"]["batch_size"] * event.get("world_size", 1)
            previous = event["step"]
        elif event["event"] == "train":
            seconds = (event["step"] - previous) * images_per_step / event["images_per_s"]
            steps.append(event["step"])
            hours.append(hours[-1] + seconds / 3600)
            previous = event["step"]
    return np.array(steps), np.array(hours)


def read_curve(run: Path) -> Curve:
    """The held-out curve of the run folder ``run`` (empty before its first evaluation); ``ValueError`` when it has no log."""
    log = run / "metrics.jsonl"
    if not log.is_file():
        raise ValueError(f"{run} has no metrics.jsonl: give the --out folders of python -m train runs")
    events = surviving_events(log)
    starts = [e for e in events if e["event"] == "start"]
    if not starts:
        raise ValueError(f"{log} has no start event: is it the log of a python -m train run?")
    split = "valid" if starts[-1].get("valid_images") else "test"
    measured = {e["step"]: e[f"{split}_bits_per_dim"] for e in events if e["event"] == "eval"}
    # A sitting's end scores the weights it ends with: on the test split when there is no
    # validation split, on the validation split (logged only in its end event by older versions)
    # when those weights were the best.
    for end in (e for e in events if e["event"] == "end"):
        if split == "test" or end.get("selected_step") == end["step"]:
            measured.setdefault(end["step"], end[f"{split}_bits_per_dim"])
    steps, hours = training_hours(events)
    config = starts[-1]["model_config"]
    return Curve(
        name=run.name,
        split=split,
        hours=np.interp(sorted(measured), steps, hours).tolist(),
        bits_per_dim=[measured[step] for step in sorted(measured)],
        image_shape=config["image_shape"],
        model_config=config,
    )


def plot(curves: list[Curve], out: Path, nats: bool = False, title: str | None = None) -> None:
    """Draw ``curves`` into the PNG ``out``."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display here, nor needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit('train.curves draws with matplotlib: pip install "pixelrnn[figures]"') from None
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    for curve in curves:
        values = curve.nats_per_image() if nats else curve.bits_per_dim
        (line,) = axes.plot(curve.hours, values, marker="o", markersize=3, label=f"{curve.name} ({curve.split})")
        if nats and (paper := curve.published_nats()) is not None:
            axes.axhline(paper, color=line.get_color(), linestyle="--", linewidth=0.8)
    axes.set_xlabel("hours of training")
    axes.set_ylabel("held-out NLL, nats per image (dashed: the paper)" if nats else "held-out bits/dim")
    axes.set_title(title or "Held-out likelihood during training")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (python -m train --out)")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--nats", action="store_true", help="nats per image, with the paper's binarized-MNIST numbers")
    parser.add_argument("--title")
    args = parser.parse_args(argv)
    try:
        curves = [read_curve(run) for run in args.runs]
    except ValueError as error:
        parser.error(str(error))
    for curve in curves:
        if not curve.hours:
            print(f"{curve.name}: no evaluation yet, left out")
    curves = [curve for curve in curves if curve.hours]
    if not curves:
        parser.error("none of these runs has evaluated yet: nothing to draw (train with --eval-every)")
    plot(curves, args.out, args.nats, args.title)
    for curve in curves:
        values = curve.nats_per_image() if args.nats else curve.bits_per_dim
        print(
            f"{curve.name}: {len(values)} held-out scores over {curve.hours[-1]:.2f} h of training, last {values[-1]:.4f}, best {min(values):.4f}"
        )


if __name__ == "__main__":
    main()
