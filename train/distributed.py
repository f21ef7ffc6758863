"""Process-group setup for training on several processes, GPUs or machines.

``python -m train`` runs as one process unless it is started by ``torchrun``, which sets
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` for every process it launches::

    # one machine, 4 GPUs (or 4 CPU processes)
    torchrun --nproc_per_node=4 -m train --model row_lstm --data cifar10 --preset small

    # two machines with 8 GPUs each: run on both, with the first machine's address
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d \\
        --rdzv_endpoint=HOST_OF_FIRST_MACHINE:29400 --rdzv_id=my-run \\
        -m train --model row_lstm --data cifar10 --preset paper --out /shared/runs/row_lstm

Every process holds a full replica (DistributedDataParallel averages the gradients), reads
its own shard of each epoch (DistributedSampler), and uses ``--batch-size`` images per
step, so a step sees ``batch_size * world_size`` images. NCCL connects GPUs, gloo CPUs.
Rank 0 alone writes logs, samples and checkpoints; with several machines ``--out`` must
be on a file system they share, so that ``--resume`` finds the checkpoint on every rank.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Distributed:
    """Where this process stands among the training processes."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and draws the progress bar."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Elementwise sum of ``tensor`` over all processes (``tensor`` itself when alone)."""
        if self.enabled:
            tensor = tensor.clone()
            dist.all_reduce(tensor)
        return tensor

    def mean(self, tensor: torch.Tensor) -> torch.Tensor:
        return self.sum(tensor) / self.world_size

    def weight_digests(self, module: torch.nn.Module) -> list[str]:
        """SHA-256 of ``module``'s weights on every rank, rank order: equal when the replicas agree."""
        digest = torch.tensor(list(weights_sha256(module)), dtype=torch.uint8, device=self.device)
        if not self.enabled:
            return [digest.cpu().numpy().tobytes().hex()]
        gathered = [torch.empty_like(digest) for _ in range(self.world_size)]
        dist.all_gather(gathered, digest)
        return [d.cpu().numpy().tobytes().hex() for d in gathered]

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


def weights_sha256(module: torch.nn.Module) -> bytes:
    """SHA-256 of the raw bytes of ``module.state_dict()``, in key order."""
    sha = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        sha.update(name.encode())
        sha.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return sha.digest()


def resolve_device(name: str) -> torch.device:
    """``auto`` | ``cpu`` | ``cuda`` | ``cuda:N`` -> a device, checking that it exists."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"unknown device {name!r}: use auto, cpu or cuda") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but PyTorch sees no CUDA GPU: use --device cpu (or auto)")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {name!r}: use auto, cpu or cuda")
    return device


def setup(device_name: str) -> Distributed:
    """Join the process group when launched by torchrun; otherwise a world of one.

    Under torchrun each process takes GPU ``LOCAL_RANK`` of its machine when training on CUDA.
    """
    device = resolve_device(device_name)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed(rank=0, world_size=1, local_rank=0, device=device)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    return Distributed(rank=rank, world_size=world_size, local_rank=local_rank, device=device)
