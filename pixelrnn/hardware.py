"""What a run or a benchmark ran on, in words, for the metrics, the model card and the benchmark tables."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

import torch


def cpu_name() -> str:
    """The CPU's model name, e.g. "AMD EPYC 7B13" (from /proc/cpuinfo, else the platform's word for it)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def hardware_name(device: torch.device, world_size: int = 1) -> str:
    """E.g. "NVIDIA H100 80GB HBM3", "AMD EPYC, 2 threads", "8 x NVIDIA H100 80GB HBM3"."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        threads = torch.get_num_threads()
        name = f"{cpu_name()}, {threads} thread{'s' if threads > 1 else ''}"
    return f"{world_size} x {name}" if world_size > 1 else name
