"""The training loop of ``python -m train`` (its command line, and what a run writes: :mod:`train.options`).

A :class:`Trainer` is one process's share of a run: it loads the data, builds or resumes the
model, steps the optimizer, and does the periodic work (evaluation, samples, checkpoints)
between steps; :meth:`Trainer.finish` writes the final checkpoint and model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

import pixelrnn
from pixelrnn import bits_per_dim, data
from pixelrnn.hardware import hardware_name

from . import checkpoint
from .allocator import keep_freed_memory
from .datasets import IndexedBatches, Split, load_data, on_device_if_it_fits
from .distributed import Distributed, setup
from .evaluate import evaluate
from .grid import save_grid
from .metrics import MetricsLog
from .options import TRAJECTORY_ARGS, build_parser

SAMPLES_PER_GRID = 16


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite."""


class NegativeLogLikelihood(nn.Module):
    """Images ``LongTensor[B, C, H, W]`` -> mean loss in bits/dim (a scalar).

    Training calls this module, not ``model.log_prob``, so that DistributedDataParallel and
    torch.compile, which wrap a module's ``forward``, see the whole loss computation.
    """

    def __init__(self, model: pixelrnn.PixelModel):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``y``: the images' labels, ``LongTensor[B]``, for a class-conditional model."""
        return bits_per_dim(self.model.log_prob(x, y), self.model.image_shape).mean()


class Throughput:
    """The mean loss and the images per second of the steps since the last :meth:`read`."""

    def __init__(self, images_per_step: int):
        self.images_per_step = images_per_step
        self.start, self.losses = time.perf_counter(), []

    def add(self, loss: float) -> None:
        self.losses.append(loss)

    def exclude(self, seconds: float) -> None:
        """Leave ``seconds`` spent on other work out of the time."""
        self.start += seconds

    def read(self) -> tuple[float, float]:
        """``(loss, images_per_s)``, and start counting anew."""
        images_per_s = len(self.losses) * self.images_per_step / (time.perf_counter() - self.start)
        loss = sum(self.losses) / len(self.losses)
        self.start, self.losses = time.perf_counter(), []
        return loss, images_per_s


def learning_rate(step: int, base: float, schedule: str, warmup: int, total: int) -> float:
    """Learning rate of (0-based) ``step``: linear warm-up over ``warmup`` steps, then constant or cosine to 0."""
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant":
        return base
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """One process's share of a training run (the whole run without torchrun)."""

    def __init__(self, args: argparse.Namespace, world: Distributed):
        self.args, self.world = args, world
        self.device = world.device
        self.out = Path(args.out or f"runs/{args.model}")
        self.notes: list[str] = []
        splits = load_data(args)
        self.notes.extend(splits.notes)
        self.dataset = args.data if args.data in data.DATASETS else Path(args.data).name
        self.classes = splits.classes
        train = splits.train
        self.train_split = Split(on_device_if_it_fits(train.images, self.device, args.num_workers), train.labels)
        self.test_split, self.valid_split = splits.test, splits.valid
        self.sampler = DistributedSampler(
            range(len(train)), num_replicas=world.world_size, rank=world.rank, shuffle=True, seed=args.seed
        )
        self.steps_per_epoch = len(self.sampler) // args.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"--batch-size {args.batch_size} is more than the {len(self.sampler)} training images each of the "
                f"{world.world_size} process(es) gets: lower --batch-size (or raise --max-train-images)"
            )
        self.total_steps = args.steps or (args.epochs or 1) * self.steps_per_epoch

        seed_everything(args.seed)
        image_shape = tuple(train.images.shape[1:])
        hparams = {**args.hparams, "num_classes": len(self.classes)} if self.classes else args.hparams
        self.model = pixelrnn.build_model(
            args.model, image_shape=image_shape, levels=splits.levels, preset=args.preset, **hparams
        )
        self.model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.step, self.train_time_s, self.saved_step = 0, 0.0, None
        #: Set by SIGTERM (a scheduler's or a session's end): the sitting ends as --stop-after ends it.
        self.stop_requested = False
        # With a validation split: the weights of the best validation bits/dim so far, and where.
        self.best = {"valid_bits_per_dim": math.inf, "step": None}
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.resume_or_start_fresh()

        self.amp = args.amp and self.device.type == "cuda"
        if args.amp and not self.amp:
            self.notes.append("--amp uses bf16 autocast on CUDA only: training in float32 on the CPU.")
        loss = NegativeLogLikelihood(self.model)
        if world.enabled:
            loss = DistributedDataParallel(loss, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.loss = torch.compile(loss) if args.compile else loss
        self.log = (
            MetricsLog(self.out / "metrics.jsonl", self.out / "tensorboard", fresh=self.step == 0) if world.is_main else None
        )

    # ------------------------------------------------------------------ set-up
    def resume_or_start_fresh(self) -> None:
        found = checkpoint.find(self.out / "checkpoint")
        if found is None:
            if self.args.resume:
                self.notes.append(f"--resume: no checkpoint in {self.out}, starting from scratch.")
            return
        saved = checkpoint.read_state(found)
        if not self.args.resume:
            raise ValueError(
                f"{self.out} already holds a training checkpoint (step {saved['step']}): "
                "pass --resume to continue it, or choose another --out"
            )
        # A run saved before an option existed ran with its default.
        defaults = build_parser()
        changed = [
            f"--{key.replace('_', '-')} {saved['args'].get(key, defaults.get_default(key))!r} -> {getattr(self.args, key)!r}"
            for key in TRAJECTORY_ARGS
            if saved["args"].get(key, defaults.get_default(key)) != getattr(self.args, key)
        ]
        if changed:
            raise ValueError(f"--resume needs the arguments the run started with; changed: {'; '.join(changed)}")
        if saved["model_config"] != json.loads(json.dumps(self.model.config)):
            raise ValueError(f"the checkpoint in {found} is of a different model: {saved['model_config']}")
        state = checkpoint.load(found, self.model, self.optimizer)
        self.step = self.saved_step = state["step"]
        self.train_time_s = state["train_time_s"]
        if "best" in state:
            self.best = {**state["best"], "valid_bits_per_dim": float(state["best"]["valid_bits_per_dim"])}
            self.best_weights = checkpoint.load_best_weights(found, self.device)
        self.notes.append(f"resuming from {found} at step {self.step}.")

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        """Train to the last step, then write the final checkpoint and model; 0, or 1 on a NaN/inf loss."""
        try:
            return self.train()
        finally:
            if self.log is not None:
                self.log.close()

    def train(self) -> int:
        self.log_start()
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            desc=self.args.model,
            unit="step",
            disable=not self.world.is_main,
            dynamic_ncols=True,
        )
        try:
            self.train_steps(bar)
        except NonFiniteLoss as error:
            self.report_non_finite(error)
            return 1
        finally:
            bar.close()
        return self.finish()

    def log_start(self) -> None:
        if not self.world.is_main:
            return
        for note in self.notes:
            print(f"note: {note}", file=sys.stderr)
        self.log.log(
            "start", step=self.step, total_steps=self.total_steps, steps_per_epoch=self.steps_per_epoch,
            model_config=self.model.config, parameters=sum(p.numel() for p in self.model.parameters()),
            train_images=len(self.train_split), test_images=len(self.test_split),
            valid_images=len(self.valid_split) if self.valid_split is not None else 0, dataset=self.dataset, classes=self.classes,
            world_size=self.world.world_size, device=str(self.device), args=vars(self.args),
        )  # fmt: skip

    def train_steps(self, bar: tqdm) -> None:
        """Step to the last step, or until --time-limit or --stop-after, with the periodic work between steps."""
        started, elapsed_before = time.perf_counter(), self.train_time_s
        # Seconds of this sitting spent on periodic work (evaluation, checkpoints, samples): not training time.
        other_work = 0.0
        throughput = Throughput(self.args.batch_size * self.world.world_size)
        batches = self.batches()
        while self.step < self.total_steps:
            throughput.add(self.train_step(next(batches)))
            self.step += 1
            bar.update(1)
            if self.step % self.args.log_every == 0 or self.step == self.total_steps:
                self.log_train(bar, *throughput.read())
            paused = time.perf_counter()
            self.train_time_s = elapsed_before + paused - started - other_work
            if self.sitting_ends(bar, paused - started):
                break
            self.periodic_work(bar)
            spent = time.perf_counter() - paused
            other_work += spent
            throughput.exclude(spent)  # images/s counts training time only
        self.train_time_s = elapsed_before + time.perf_counter() - started - other_work

    def batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """The batches ``(images, labels or None)`` from the current step on, epoch after epoch."""
        while True:
            epoch, position = divmod(self.step, self.steps_per_epoch)
            yield from self.epoch_batches(epoch, position)

    def log_train(self, bar: tqdm, loss: float, images_per_s: float) -> None:
        bar.set_postfix({"bits/dim": f"{loss:.4f}", "img/s": f"{images_per_s:.1f}"})
        if self.world.is_main:
            self.log.log(
                "train", step=self.step, epoch=self.step / self.steps_per_epoch, loss_bits_per_dim=loss,
                lr=self.optimizer.param_groups[0]["lr"], images_per_s=images_per_s,
            )  # fmt: skip

    def sitting_ends(self, bar: tqdm, wall_s: float) -> bool:
        """Whether training stops after this step: --time-limit ends the run (:meth:`finish` then writes the
        checkpoint, evaluates and saves), --stop-after only this sitting."""
        if self.out_of_time():
            self.total_steps = self.step
            if self.world.is_main:
                bar.write(f"--time-limit {self.args.time_limit:g} s reached at step {self.step}")
            return True
        if self.sitting_over(wall_s):
            if self.world.is_main:
                why = "a stop signal (SIGTERM)" if self.stop_requested else f"--stop-after {self.args.stop_after:g} s"
                bar.write(f"{why}: stopping at step {self.step}; --resume continues")
            return True
        return False

    def report_non_finite(self, error: NonFiniteLoss) -> None:
        if self.saved_step is None:
            kept = "no checkpoint had been written yet"
        else:
            kept = f"the last good checkpoint (step {self.saved_step}) is in {self.out / 'checkpoint'}"
        if self.world.is_main:
            self.log.log("stopped", step=self.step, reason=str(error))
            print(
                f"error: training stopped: {error}; {kept}. Try a lower --lr, --clip or running without --amp.", file=sys.stderr
            )

    def epoch_batches(self, epoch: int, start: int) -> DataLoader:
        """Batches ``start, start + 1, ...`` of ``epoch``: the seeded shuffle of (this rank's shard of) the images."""
        self.sampler.set_epoch(epoch)
        order = torch.tensor(list(self.sampler), dtype=torch.long)
        size = self.args.batch_size
        batches = order[: self.steps_per_epoch * size].view(self.steps_per_epoch, size)[start:]
        pin = self.device.type == "cuda" and self.train_split.images.device.type == "cpu"
        return DataLoader(
            IndexedBatches(self.train_split, batches), batch_size=None, num_workers=self.args.num_workers, pin_memory=pin
        )

    def schedule_steps(self) -> int:
        """The steps the learning-rate schedule spans.

        ``--steps``/``--epochs``; with ``--time-limit``, no more than the steps that fit in
        the time left at the average speed so far, so that the schedule (cosine) still ends
        at zero when the clock, not the step count, ends the run.
        """
        limit, elapsed = self.args.time_limit, self.train_time_s
        if not limit or self.step == 0 or elapsed <= 0:
            return self.total_steps
        return min(self.total_steps, max(self.step + 1, round(self.step * limit / elapsed)))

    def out_of_time(self) -> bool:
        """Whether ``--time-limit`` is reached; all processes agree, on rank 0's clock."""
        if not self.args.time_limit:
            return False
        spent = torch.tensor([self.train_time_s if self.world.is_main else 0.0], dtype=torch.float64, device=self.device)
        self.train_time_s = float(self.world.sum(spent))
        return self.train_time_s >= self.args.time_limit

    def sitting_over(self, wall_s: float) -> bool:
        """Whether this sitting ends now: rank 0 has run for ``--stop-after`` seconds, or any process got
        SIGTERM (:attr:`stop_requested`); all processes agree."""
        if not (self.args.stop_after or self.stop_requested or self.world.enabled):
            return False
        due = self.stop_requested or (self.world.is_main and bool(self.args.stop_after) and wall_s >= self.args.stop_after)
        return bool(self.world.sum(torch.tensor([float(due)], device=self.device)))

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor | None]) -> float:
        """One optimizer step on ``batch`` (images, labels or None); returns the loss in bits/dim, averaged over
        the processes."""
        args = self.args
        lr = learning_rate(self.step, args.lr, args.lr_schedule, args.warmup, self.schedule_steps())
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        images, labels = batch
        x = images.to(self.device, non_blocking=True).long()
        y = None if labels is None else labels.to(self.device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16) if self.amp else contextlib.nullcontext():
            loss = self.loss(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        value = float(self.world.mean(loss.detach().float()))
        if not math.isfinite(value):
            raise NonFiniteLoss(f"the loss is {value} at step {self.step + 1}")
        if args.clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), args.clip)
        self.optimizer.step()
        return value

    # ------------------------------------------------------------------ periodic work
    def periodic_work(self, bar: tqdm) -> None:
        args, step, last = self.args, self.step, self.step == self.total_steps
        if args.eval_every and step % args.eval_every == 0 and not last:
            if self.valid_split is None:
                test = self.held_out_bits_per_dim(self.test_split)
                if self.world.is_main:
                    self.log.log("eval", step=step, test_bits_per_dim=test)
                    bar.write(f"step {step}: test {test:.4f} bits/dim")
            else:
                self.validate()
        if args.sample_every and (step % args.sample_every == 0 or last):
            self.save_samples()
        if args.checkpoint_every and step % args.checkpoint_every == 0 and not last:
            self.save_checkpoint()

    def held_out_bits_per_dim(self, split: Split) -> float:
        """Exact bits/dim on a held-out ``split`` (its first --eval-batches batches), shared out over the processes."""
        size = self.args.batch_size
        subset = split[: self.args.eval_batches * size] if self.args.eval_batches else split
        shard = subset[self.world.rank :: self.world.world_size]
        nats, count = 0.0, 0
        if len(shard):
            result = evaluate(self.model, shard.images, size, self.device, progress=self.world.is_main, labels=shard.labels)
            nats, count = result["nats_per_image"] * result["images"], result["images"]
        nats, count = self.world.sum(torch.tensor([nats, count], dtype=torch.float64, device=self.device)).tolist()
        return nats / (count * math.prod(self.model.image_shape) * math.log(2.0))

    def validate(self) -> None:
        """Log the validation bits/dim of the current weights, and keep the weights (in memory and in
        the next checkpoint) when they are the best so far."""
        valid = self.held_out_bits_per_dim(self.valid_split)
        improved = valid < self.best["valid_bits_per_dim"]
        if improved:
            self.best = {"valid_bits_per_dim": valid, "step": self.step}
            self.best_weights = {name: t.detach().clone() for name, t in self.model.state_dict().items()}
        if self.world.is_main:
            self.log.log("eval", step=self.step, valid_bits_per_dim=valid, best=improved)
            tqdm.write(f"step {self.step}: validation {valid:.4f} bits/dim{' (best so far)' if improved else ''}")

    def save_samples(self) -> None:
        if self.world.is_main:
            # A conditional model's grid goes through the classes in turn, one per position.
            labels = torch.arange(SAMPLES_PER_GRID) % len(self.classes) if self.classes else None
            images = pixelrnn.sample(self.model, n=SAMPLES_PER_GRID, seed=self.args.seed, label=labels)
            path = save_grid(images, self.model.levels, self.out / "samples" / f"step_{self.step:07d}.png")
            self.log.log("samples", step=self.step, path=str(path.relative_to(self.out)))

    def save_checkpoint(self) -> None:
        if self.world.is_main:
            epoch, position = divmod(self.step, self.steps_per_epoch)
            state = {
                "step": self.step, "epoch": epoch, "position": position, "steps_per_epoch": self.steps_per_epoch,
                "total_steps": self.total_steps, "world_size": self.world.world_size, "dataset": self.dataset,
                "train_time_s": self.train_time_s, "model_config": self.model.config, "args": vars(self.args),
            }  # fmt: skip
            if self.best_weights is not None:
                state["best"] = self.best
            checkpoint.save(self.out / "checkpoint", self.model, self.optimizer, state, self.best_weights)
            self.log.log("checkpoint", step=self.step, path="checkpoint")
        self.saved_step = self.step
        self.world.barrier()

    def finish(self) -> int:
        """Final checkpoint, test bits/dim, the model in OUT/model, and the Hub upload when asked for; the exit code.

        With a validation split, the final weights are validated too, and the model saved and
        tested is the best one by validation bits/dim.
        """
        selection = {}
        if self.valid_split is not None and self.best["step"] != self.step:
            self.validate()
        if self.saved_step != self.step:
            self.save_checkpoint()
        if self.best_weights is not None:
            # The checkpoint keeps the final weights, to train on from; the model is the best one.
            self.model.load_state_dict(self.best_weights)
            selection = {"selected_step": self.best["step"], "valid_bits_per_dim": self.best["valid_bits_per_dim"]}
        test = self.held_out_bits_per_dim(self.test_split)
        test_nats = test * math.prod(self.model.image_shape) * math.log(2.0)
        digests = self.world.weight_digests(self.model)
        if not self.world.is_main:
            return 0
        metadata = {
            "dataset": self.dataset, "test_bits_per_dim": test, "test_nats_per_image": test_nats, **selection,
            "train_steps": self.step, "epochs": round(self.step / self.steps_per_epoch, 2),
            "train_time_s": round(self.train_time_s, 1), "hardware": hardware_name(self.device, self.world.world_size),
        }  # fmt: skip
        if self.classes:  # the app's class picker and the model card name the labels
            metadata["classes"] = list(self.classes)
        # What it takes to train the same model again: the arguments that shape the run, and its length.
        recorded = (*TRAJECTORY_ARGS, "steps", "epochs", "time_limit")
        metadata["train_args"] = {
            key: getattr(self.args, key) for key in recorded if getattr(self.args, key) not in (None, False)
        }
        self.model.metadata.update(metadata)  # so that push_to_hub's model card has them too
        self.model.save_pretrained(self.out / "model")
        self.log.log("end", step=self.step, **metadata, weight_sha256=digests, replicas_agree=len(set(digests)) == 1)
        print(
            f"{self.dataset} test: {test:.4f} bits/dim after {self.step} steps; model saved to {self.out / 'model'}",
            file=sys.stderr,
        )
        if len(set(digests)) != 1:
            print("warning: the processes ended with different weights (see weight_sha256 in metrics.jsonl)", file=sys.stderr)
        if self.args.push_to_hub:
            try:
                url = self.model.push_to_hub(self.args.push_to_hub)
            except Exception as error:  # whatever the Hub client raises: the trained model is safe on disk
                print(
                    f"error: could not push to the Hub repo {self.args.push_to_hub}: {error}\n"
                    f"The model is saved in {self.out / 'model'}; push it later with pixelrnn.load(...).push_to_hub(...)",
                    file=sys.stderr,
                )
                return 1
            self.log.log("push_to_hub", repo=self.args.push_to_hub, url=str(url))
        return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()
    try:
        world = setup(args.device)
    except ValueError as error:
        parser.error(str(error))
    try:
        try:
            trainer = Trainer(args, world)
        except (ValueError, FileNotFoundError) as error:
            parser.error(str(error))
        previous = signal.signal(signal.SIGTERM, lambda *_: setattr(trainer, "stop_requested", True))
        try:
            code = trainer.run()
        finally:
            signal.signal(signal.SIGTERM, previous)
        # Rank 0 writes the model while the others are done: had they torn down their end of the
        # process group meanwhile, gloo could abort one of them (seen once in CI, 1 of 2 ranks).
        world.barrier()
        return code
    finally:
        world.close()
