"""The images a training run uses: its train, test and validation splits, and one step's batch at a time."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from pixelrnn import data

from .evaluate import dataset_levels

#: Fraction of a folder's images held out as its test set when it has no test/ folder.
HELD_OUT_FRACTION = 0.05


class IndexedBatches(Dataset):
    """Item ``k`` is the whole batch ``images[batches[k]]``, so a DataLoader with ``batch_size=None``
    yields one step's batch at a time (``batches``: ``LongTensor[steps, batch_size]``)."""

    def __init__(self, images: torch.Tensor, batches: torch.Tensor):
        self.images, self.batches = images, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, k: int) -> torch.Tensor:
        return self.images[self.batches[k].to(self.images.device)]


def load_data(args) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, int, str | None]:
    """Train, test and validation images (uint8 ``[N, C, H, W]``; validation None when the data set
    has no such split), levels, and a note when the test set is held out."""
    levels = dataset_levels(args.data)
    options = dict(image_size=args.image_size, channels=args.channels)
    train = data.load_dataset(args.data, split="train", **options)
    try:
        valid = data.load_dataset(args.data, split="valid", **options)
    except ValueError:
        valid = None
    note = None
    try:
        test = data.load_dataset(args.data, split="test", **options)
    except ValueError as error:
        if args.data in data.DATASETS:
            raise
        # A fixed permutation (not --seed), so that every run on this folder tests on the same images.
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
        held_out = max(1, round(len(train) * HELD_OUT_FRACTION))
        if held_out >= len(train):
            raise ValueError(
                f"{args.data} has {len(train)} image(s): too few to hold out a test set; add a test/ folder"
            ) from error
        train, test = train[order[held_out:]], train[order[:held_out]]
        note = f"{error}. Holding out {held_out} of its images (a fixed {HELD_OUT_FRACTION:.0%}) as the test set."
    if args.max_train_images is not None:
        train = train[: args.max_train_images]
    return train, test, valid, levels, note


def on_device_if_it_fits(images: torch.Tensor, device: torch.device, num_workers: int) -> torch.Tensor:
    """``images`` moved to the GPU when they take under a quarter of its free memory and no workers load them."""
    if device.type != "cuda" or num_workers > 0:
        return images
    free, _ = torch.cuda.mem_get_info(device)
    return images.to(device) if images.numel() * images.element_size() < free // 4 else images
