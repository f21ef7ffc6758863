"""Cached against reference (one forward pass per sub-pixel) sampling, side by side.

    python bench/sampling.py                      # CPU, every variant, 28x28x1 and 32x32x3, batch 1 and 16
    python bench/sampling.py --device cuda
    python bench/sampling.py --models row_lstm --shapes 1x28x28 --batches 1

The reference sampler costs C*H*W full forward passes, all alike: each of its first
``--reference-steps`` sub-pixels is timed on its own and the median step, times C*H*W, is
its time per image. The cached sampler draws whole images, ``--repeats`` times, and its
median counts. Medians, because on a shared machine other processes' bursts hit single
timings hard. Both run in the same process, one after the other per row, so the ratio is
robust to the machine's speed drifting. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import statistics
import time

import torch

import pixelrnn
from pixelrnn.hardware import hardware_name


def timed(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def median_time(fn, device, repeats: int) -> float:
    return statistics.median(timed(fn, device) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(pixelrnn.MODELS), choices=pixelrnn.MODELS)
    parser.add_argument("--shapes", nargs="+", default=["1x28x28", "3x32x32"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--reference-steps", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)

    print(f"Sampling, `{args.preset}` preset, 256 levels, on {hardware_name(device)}, torch {torch.__version__}\n")
    print("| model | image | batch | cached ms/image | reference ms/image | speed-up |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for name, shape_text, batch in itertools.product(args.models, args.shapes, args.batches):
        shape = tuple(int(s) for s in shape_text.split("x"))
        model = pixelrnn.build_model(name, image_shape=shape, levels=256, preset=args.preset).to(device).eval()
        sub_pixels = shape[0] * shape[1] * shape[2]
        pixelrnn.sample(model, batch, seed=0)  # warm-up
        cached = median_time(functools.partial(pixelrnn.sample, model, batch, seed=0), device, args.repeats) / batch
        steps = pixelrnn.generate(model, batch, seed=0, cached=False)
        next(steps)  # warm-up
        step = median_time(functools.partial(next, steps), device, min(args.reference_steps, sub_pixels - 1))
        reference = step * sub_pixels / batch
        print(
            f"| {name} | {shape_text} | {batch} | {cached * 1e3:,.0f} | {reference * 1e3:,.0f} | {reference / cached:,.0f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
