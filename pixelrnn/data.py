"""Image data sets as uint8 tensors [N, C, H, W]: MNIST, binarized MNIST, Fashion-MNIST, CIFAR-10,
and any folder or .tar / .tar.gz / .tgz / .zip archive of images.

    from pixelrnn import data
    images = data.load_dataset("cifar10", split="test")           # uint8 [10000, 3, 32, 32], 0..255
    images = data.load_dataset("binarized_mnist", split="valid")  # uint8 [10000, 1, 28, 28], 0/1
    images = data.load_dataset("faces.zip", image_size=64)        # uint8 [N, 3, 64, 64]
    data.dataset_info("cifar10")                                  # {"image_shape": (3, 32, 32), "levels": 256, "classes": (...)}
    labels = data.load_labels("fashion_mnist", split="test")      # long [10000], 0..9, in the images' order
    data.class_names("fashion_mnist")                             # ("T-shirt/top", "Trouser", ..., "Ankle boot")

A standard set is looked for, in order: in `root` (default: the cache directory `default_root()`,
`$PIXELRNN_DATA`) itself and in `root/<name>/`; then in a system copy (Debian's
`dataset-fashion-mnist` package); then it is downloaded from its official address into
`<root or default_root()>/<name>/`, checksum verified. A directory holding a standard set's files
(IDX `.gz` files, `binarized_mnist_*.amat` or `binarized_mnist-amat.tar.gz` holding all three,
CIFAR-10's `cifar-10-python.tar.gz` or `cifar-10-batches-py/`) can also be passed as
`name_or_path` itself.

Folders and archives of images: a `train/`, `valid/` or `test/` folder at the top, or under the
one top-level folder (`cifar10-jpeg/test/cat/0001.jpg`), holds that split; without such folders
every image belongs to the train split. Decoded images are cached as `.npy` under
`<root>/decoded/`, keyed by the source's path, size and modification time and the options. Their
labels are the names of the folders they sit in, one per class (`train/cat/0001.jpg`), sorted.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .image_folders import SPLITS, load_folder_labels, load_image_collection
from .standard_sets import (
    DATASETS,
    check_labels,
    check_split,
    conform,
    expected_files,
    load_standard,
    locate,
    read_standard,
    standard_layout,
    standard_set,
)
from .storage import default_root

__all__ = ["DATASETS", "SPLITS", "class_names", "dataset_info", "default_root", "load_dataset", "load_labels", "standard_name"]


def dataset_info(name: str) -> dict:
    """{"image_shape": (C, H, W), "levels": L, "classes": names} of a standard set; pixel values lie in
    [0, L); ``classes`` is empty for a set without labels."""
    spec = standard_set(name)
    return {"image_shape": spec.image_shape, "levels": spec.levels, "classes": spec.classes}


def standard_name(name_or_path: str | os.PathLike) -> str | None:
    """The standard set that ``name_or_path`` names or whose files it is or holds, else None.

    ``standard_name("../data/binarized_mnist-amat.tar.gz") == "binarized_mnist"``; a folder of
    IDX files is ``"mnist"`` (MNIST and Fashion-MNIST share one format).
    """
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        return name_or_path
    path = Path(name_or_path).expanduser()
    return standard_layout(path) if path.exists() else None


def load_dataset(
    name_or_path: str | os.PathLike,
    split: str = "train",
    root: str | os.PathLike | None = None,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
    download: bool = True,
) -> torch.Tensor:
    """Images of a standard set or of a folder / archive of images -> uint8 tensor [N, C, H, W].

    name_or_path: one of DATASETS, or a folder, .tar/.tar.gz/.tgz/.zip of images, or a folder
        holding a standard set's files.
    split: "train" or "test" ("valid" too for binarized_mnist and for folders with a valid/).
    root: cache directory (default `default_root()`); for standard sets also a place to look in.
    image_size: int or (H, W): scale each image to cover H x W, then cut out its centre.
    channels: 1 or 3 (greyscale / RGB); default: as stored for standard sets, for images 1 if
        all of them are greyscale else 3.
    download: fetch a missing standard set from its official address.
    """
    size = _as_size(image_size)
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 (greyscale), 3 (RGB) or None (as stored), got {channels!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root).expanduser() if root is not None else None
    name, path = _standard_source(name_or_path, split)
    if path is None:
        return _to_tensor(conform(name, load_standard(name, split, root, download), size, channels))
    if name is None:
        return _to_tensor(load_image_collection(path, split, root or default_root(), size, channels))
    found = path if path.is_file() else locate(name, split, path)
    if found is None:
        raise FileNotFoundError(f"{path} holds {name} files but not the {split} split's {expected_files(name, split)}")
    return _to_tensor(conform(name, read_standard(name, split, found), size, channels))


def load_labels(
    name_or_path: str | os.PathLike, split: str = "train", root: str | os.PathLike | None = None, download: bool = True
) -> torch.Tensor:
    """The class of each image of ``split``, in the order :func:`load_dataset` returns them: ``LongTensor[N]``
    in ``[0, len(class_names(name_or_path)))``. ``ValueError`` for a set without labels (binarized MNIST;
    a folder whose images are not in one folder per class). Arguments as for :func:`load_dataset`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root).expanduser() if root is not None else None
    name, path = _standard_source(name_or_path, split)
    if name is None:
        return torch.from_numpy(load_folder_labels(path, split)[0].astype(np.int64))
    check_labels(name)
    if path is None:
        labels = load_standard(name, split, root, download, labels=True)
    else:
        found = path if path.is_file() else locate(name, split, path, labels=True)
        if found is None:
            raise FileNotFoundError(f"{path} holds {name} images but not the labels of their {split} split")
        labels = read_standard(name, split, found, labels=True)
    return torch.from_numpy(np.asarray(labels, dtype=np.int64))


def class_names(name_or_path: str | os.PathLike) -> tuple[str, ...]:
    """The names of the classes of a standard set or of a folder / archive of class folders, in label order;
    ``()`` for a set without labels."""
    name, path = _standard_source(name_or_path, None)
    if name is None:
        try:
            return load_folder_labels(path, "train")[1]
        except ValueError:
            return ()
    return standard_set(name).classes


def _standard_source(name_or_path, split: str | None) -> tuple[str | None, Path | None]:
    """``(standard set name or None, path or None)``: a standard set by name ``(name, None)``, a folder of a
    standard set's files ``(layout, path)``, any other folder or archive ``(None, path)``."""
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        if split is not None:
            check_split(name_or_path, split)
        return name_or_path, None
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise ValueError(
            f"{str(name_or_path)!r} is neither a standard data set ({', '.join(DATASETS)}) "
            "nor an existing folder or archive of images"
        )
    layout = standard_layout(path)
    if layout is not None and split is not None:
        check_split(layout, split)
    return layout, path


def _as_size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"image_size must be a positive int or a pair (H, W) of them, got {image_size!r}")
    return size


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    # IDX and pickle readers return views of read-only bytes; torch wants writable memory.
    return torch.from_numpy(np.require(images, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"]))
