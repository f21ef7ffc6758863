"""Training throughput of every model: images/s, and achieved FLOP/s as a fraction of the device's
dense matmul FLOP/s measured in the same run.

    python bench/train_throughput.py                          # CPU, batch 32
    python bench/train_throughput.py --device cuda            # batch 128
    python bench/train_throughput.py --device cuda --amp      # bf16 autocast, against bf16 matmul

    python bench/train_throughput.py --recurrent-ratios       # only the recurrent-vs-PixelCNN table

Each model uses its ``small`` preset on 28x28x1 and 32x32x3 images with 256 levels. A training
step is the one ``python -m train`` takes (loss in bits/dim, backward, Adam). Its FLOPs are
counted on the first (warm-up) step with ``torch.utils.flop_counter.FlopCounterMode`` (matmuls
and convolutions, forward and backward; elementwise work such as the LSTM gates is not
counted). Then steps are timed one by one for ``--seconds`` (at least 2) and the median step
time is reported, which resists other processes' bursts on a shared machine. The matmul
reference (``N x N`` by ``N x N`` in the training dtype) is measured right before each model,
so that each fraction compares the two under the same conditions; the load average is printed
too. Prints a markdown table on stdout, progress on stderr.

A second table compares the recurrent layers with convolutions at the same size: PixelCNN,
Row LSTM and Diagonal BiLSTM with hidden 16 and 7 layers on 28x28 binary images, batch 64
(the paper's binarized-MNIST size), one training step of each in turn, round after round,
so that a change in the machine's load hits all three alike; each model's step time is its
median over the rounds, and its ratio is to PixelCNN's. On a CPU it also gives each step's CPU
time (this process's user and system time): on a machine other processes share, wall time counts
the time the step waited for a core, and the CPU time does not.

Both tables run with freed memory kept in the process (:func:`train.allocator.keep_freed_memory`),
as ``python -m train`` does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

import pixelrnn
from pixelrnn.hardware import hardware_name
from train.allocator import keep_freed_memory
from train.train import NegativeLogLikelihood

SHAPES = ((1, 28, 28), (3, 32, 32))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops_per_s(device: torch.device, dtype: torch.dtype, size: int, seconds: float) -> float:
    """Dense ``size x size`` matmul throughput in FLOP/s (``2 size^3`` per product)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b
    synchronize(device)
    products, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:  # on CUDA this queues products; the wait below runs them all
        a @ b
        products += 1
    synchronize(device)
    return 2 * size**3 * products / (time.perf_counter() - start)


def measure(name: str, image_shape, batch: int, device: torch.device, amp: bool, seconds: float) -> dict:
    """Images/s and FLOP/s of training ``name`` (small preset) on random images of ``image_shape``."""
    torch.manual_seed(0)
    model = pixelrnn.build_model(name, image_shape=image_shape, levels=256, preset="small").to(device)
    loss_of = NegativeLogLikelihood(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randint(0, 256, (batch, *image_shape), device=device)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext():
            loss = loss_of(x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with FlopCounterMode(display=False) as counter:
        step()
    synchronize(device)
    times, start = [], time.perf_counter()
    while len(times) < 2 or time.perf_counter() - start < seconds:
        began = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - began)
    step_s = statistics.median(times)
    flops = counter.get_total_flops()
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "flops_per_step": flops,
        "step_s": step_s,
        "images_per_s": batch / step_s,
        "flops_per_s": flops / step_s,
    }


RECURRENT_RATIOS = ("pixelcnn", "row_lstm", "diagonal_bilstm")


def recurrent_ratios(device: torch.device, rounds: int) -> dict[str, dict]:
    """Median training-step time of each of :data:`RECURRENT_RATIOS` at hidden 16, 7 layers, 28x28x1,
    2 levels, batch 64, measured in alternation; plus its ratio to PixelCNN's."""
    steps = {}
    for name in RECURRENT_RATIOS:
        torch.manual_seed(0)
        model = pixelrnn.build_model(name, (1, 28, 28), levels=2, hidden=16, layers=7, out_hidden=32).to(device)
        loss_of, optimizer = NegativeLogLikelihood(model), torch.optim.Adam(model.parameters(), lr=1e-4)
        x = torch.randint(0, 2, (64, 1, 28, 28), device=device)

        def step(loss_of=loss_of, optimizer=optimizer, x=x) -> None:
            loss = loss_of(x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        steps[name] = (step, sum(p.numel() for p in model.parameters()))
    times = {name: [] for name in steps}
    cpu_times = {name: [] for name in steps}
    for round_ in range(rounds + 1):
        for name, (step, _) in steps.items():
            began, cpu_began = time.perf_counter(), time.process_time()
            step()
            synchronize(device)
            if round_:  # the first round warms up
                times[name].append(time.perf_counter() - began)
                cpu_times[name].append(time.process_time() - cpu_began)
    base, cpu_base = statistics.median(times["pixelcnn"]), statistics.median(cpu_times["pixelcnn"])
    return {
        name: {
            "parameters": steps[name][1],
            "step_s": statistics.median(times[name]),
            "ratio": statistics.median(times[name]) / base,
            "cpu_s": statistics.median(cpu_times[name]),
            "cpu_ratio": statistics.median(cpu_times[name]) / cpu_base,
        }
        for name in steps
    }


def print_recurrent_ratios(device: torch.device, rounds: int) -> None:
    print(f"Recurrent layers against PixelCNN: hidden 16, 7 layers, 28x28 binary, batch 64, float32, {rounds} rounds.\n")
    print("| model | parameters | ms / step | ratio to PixelCNN | CPU ms / step | CPU-time ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in recurrent_ratios(device, rounds).items():
        # A GPU step's CPU time is the time spent queueing its kernels: not the step's cost.
        cpu = f"{r['cpu_s'] * 1e3:.0f} | {r['cpu_ratio']:.2f}x" if device.type == "cpu" else "– | –"
        print(f"| {name} | {r['parameters']:,} | {r['step_s'] * 1e3:.0f} | {r['ratio']:.2f}x | {cpu} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, help="default: 32 on CPU, 128 on CUDA")
    parser.add_argument("--models", nargs="+", default=list(pixelrnn.MODELS), choices=pixelrnn.MODELS)
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per model and shape (at least 2 steps)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    parser.add_argument("--threads", type=int, help="CPU threads (torch.set_num_threads)")
    parser.add_argument(
        "--rounds", type=int, default=10, help="rounds of the recurrent-vs-PixelCNN table (default 10; 0: no such table)"
    )
    parser.add_argument("--recurrent-ratios", action="store_true", help="print only the recurrent-vs-PixelCNN table")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: PyTorch sees no CUDA GPU")
    if args.amp and args.device != "cuda":
        parser.error("--amp is bf16 autocast on CUDA only")
    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()
    device = torch.device(args.device)
    batch = args.batch_size or (128 if device.type == "cuda" else 32)
    dtype = torch.bfloat16 if args.amp else torch.float32
    size = 8192 if device.type == "cuda" else 1024

    began, load_before = time.perf_counter(), os.getloadavg()[0]
    if args.recurrent_ratios and args.rounds:
        print(f"Device: {hardware_name(device, 1)}; torch {torch.__version__}; load average {load_before:.1f}.")
        print_recurrent_ratios(device, args.rounds)
        return 0
    rows = []
    for name in args.models:
        for shape in SHAPES:
            print(f"{name} {shape}...", file=sys.stderr, flush=True)
            peak = matmul_flops_per_s(device, dtype, size, seconds=0.5)
            rows.append((name, shape, peak, measure(name, shape, batch, device, args.amp, args.seconds)))

    print(f"Training throughput, `small` preset, batch {batch}, {'bf16 autocast' if args.amp else 'float32'}.")
    print(f"Device: {hardware_name(device, 1)}; torch {torch.__version__}, Python {platform.python_version()}.")
    print(f"Load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.")
    print(f"Matmul: {size}x{size} by {size}x{size}, {str(dtype).removeprefix('torch.')}, measured before each row.\n")
    print("| model | image | parameters | GFLOP / step | ms / step | images / s | GFLOP/s | matmul GFLOP/s | fraction |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (c, h, w), peak, r in rows:
        print(
            f"| {name} | {h}x{w}x{c} | {r['parameters']:,} | {r['flops_per_step'] / 1e9:.2f} | {r['step_s'] * 1e3:.0f} "
            f"| {r['images_per_s']:.1f} | {r['flops_per_s'] / 1e9:.2f} | {peak / 1e9:.1f} | {r['flops_per_s'] / peak:.1%} |"
        )
    if args.rounds:
        print()
        print_recurrent_ratios(device, args.rounds)
    print(f"\nTotal benchmark time {time.perf_counter() - began:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
