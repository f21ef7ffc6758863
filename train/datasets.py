"""The images a training run uses: its train, test and validation splits, and one step's batch at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset

from pixelrnn import data

from .evaluate import dataset_levels

#: Fraction of a folder's images held out as its test set when it has no test/ folder.
HELD_OUT_FRACTION = 0.05


@dataclass
class Split:
    """The images of one split, uint8 ``[N, C, H, W]``, and their labels (``LongTensor[N]``; None when unlabelled)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> Split:
        return Split(self.images[index], None if self.labels is None else self.labels[index])


@dataclass
class TrainingData:
    """What a run trains and tests on: its splits (``valid`` None without a validation split), the levels
    per sub-pixel, the class names (empty unless ``--conditional``) and notes for the user."""

    train: Split
    test: Split
    valid: Split | None
    levels: int
    classes: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


class IndexedBatches(Dataset):
    """Item ``k`` is the whole batch ``(images[batches[k]], labels[batches[k]] or None)``, so a DataLoader with
    ``batch_size=None`` yields one step's batch at a time (``batches``: ``LongTensor[steps, batch_size]``)."""

    def __init__(self, split: Split, batches: torch.Tensor):
        self.split, self.batches = split, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch = self.split[self.batches[k].to(self.split.images.device)]
        return batch.images, batch.labels


def load_data(args) -> TrainingData:
    """The train, test and validation splits of ``--data``, with labels under ``--conditional``.

    A folder without a test/ folder loses a fixed 5% of its images to a test set; ``--valid-images N``
    holds out N training images (a fixed choice too) as the validation split of a set that has none.
    """
    levels = dataset_levels(args.data)
    options = dict(image_size=args.image_size, channels=args.channels)
    notes = []
    classes = data.class_names(args.data) if args.conditional else ()
    if args.conditional and not classes:
        raise ValueError(
            f"--conditional needs labels, and {args.data} has none: use a labelled set (mnist, fashion_mnist, cifar10) "
            "or a folder with one sub-folder of images per class"
        )

    def split(name: str) -> Split:
        labels = data.load_labels(args.data, split=name) if args.conditional else None
        return Split(data.load_dataset(args.data, split=name, **options), labels)

    train = split("train")
    try:
        valid = split("valid")
    except ValueError:
        valid = None
    try:
        test = split("test")
    except ValueError as error:
        if args.data in data.DATASETS:
            raise
        held_out = max(1, round(len(train) * HELD_OUT_FRACTION))
        train, test = hold_out(
            train, held_out, f"{args.data} has {len(train)} image(s): too few to hold out a test set; add a test/ folder"
        )
        notes.append(f"{error}. Holding out {held_out} of its images (a fixed {HELD_OUT_FRACTION:.0%}) as the test set.")
    if args.valid_images is not None:
        if valid is not None:
            raise ValueError(f"{args.data} has a validation split of its own: leave out --valid-images")
        train, valid = hold_out(
            train, args.valid_images, f"--valid-images {args.valid_images} leaves no training images (of {len(train)})"
        )
    if args.max_train_images is not None:
        train = train[: args.max_train_images]
    return TrainingData(train, test, valid, levels, classes, notes)


def hold_out(images: Split, count: int, too_few: str) -> tuple[Split, Split]:
    """``(rest, held_out)``: ``count`` images chosen by a fixed permutation (not ``--seed``, so that every run
    on the same data holds out the same images), and the others."""
    if count >= len(images):
        raise ValueError(too_few)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    return images[order[count:]], images[order[:count]]


def on_device_if_it_fits(images: torch.Tensor, device: torch.device, num_workers: int) -> torch.Tensor:
    """``images`` moved to the GPU when they take under a quarter of its free memory and no workers load them."""
    if device.type != "cuda" or num_workers > 0:
        return images
    free, _ = torch.cuda.mem_get_info(device)
    return images.to(device) if images.numel() * images.element_size() < free // 4 else images
