"""The standard data sets: where their files are looked for, how they are read, and their download
from the official addresses with the published checksums."""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

import numpy as np
from PIL import Image
from tqdm import tqdm

from .file_formats import archive_member, read_amat, read_idx, unpickle_cifar_batch
from .image_folders import fit
from .storage import atomic_write, default_root


@dataclass(frozen=True)
class Download:
    """One file of a standard set at its official address(es), with its published checksum."""

    filename: str
    urls: tuple[str, ...]
    algorithm: str  # hashlib name: "md5" or "sha256"
    digest: str


@dataclass(frozen=True)
class StandardSet:
    image_shape: tuple[int, int, int]
    levels: int
    downloads: dict[str, Download]  # split -> the file holding it
    system_dirs: tuple[Path, ...] = ()
    #: The names of the classes, in label order; empty for a set without labels.
    classes: tuple[str, ...] = ()
    #: split -> the file holding its labels, where they are not in the images' file.
    label_downloads: dict[str, Download] = field(default_factory=dict)


def _mirrored(filename: str, mirrors: tuple[str, ...], algorithm: str, digest: str) -> Download:
    return Download(filename, tuple(mirror + filename for mirror in mirrors), algorithm, digest)


_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
# Larochelle & Murray's fixed binarization (AISTATS 2011); checksums as recorded by tensorflow_datasets.
_BINARIZED_MIRRORS = ("http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/",)
# The three .amat files in one archive, as ../shared/data and some mirrors keep them.
BINARIZED_ARCHIVE = "binarized_mnist-amat.tar.gz"
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_DOWNLOAD = _mirrored(CIFAR_ARCHIVE, ("https://www.cs.toronto.edu/~kriz/",), "md5", "c58f30108f718f92721af3b95e74349a")

STANDARD = {
    "mnist": StandardSet(
        (1, 28, 28),
        256,
        {
            "train": _mirrored("train-images-idx3-ubyte.gz", _MNIST_MIRRORS, "md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            "test": _mirrored("t10k-images-idx3-ubyte.gz", _MNIST_MIRRORS, "md5", "9fb629c4189551a2d022fa330f9573f3"),
        },
        classes=tuple(str(digit) for digit in range(10)),
        label_downloads={
            "train": _mirrored("train-labels-idx1-ubyte.gz", _MNIST_MIRRORS, "md5", "d53e105ee54ea40749a09fcbcd1e9432"),
            "test": _mirrored("t10k-labels-idx1-ubyte.gz", _MNIST_MIRRORS, "md5", "ec29112dd5afa0611ce80d1b7f02629c"),
        },
    ),
    "binarized_mnist": StandardSet(
        (1, 28, 28),
        2,
        {
            "train": _mirrored(
                "binarized_mnist_train.amat",
                _BINARIZED_MIRRORS,
                "sha256",
                "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d",
            ),
            "valid": _mirrored(
                "binarized_mnist_valid.amat",
                _BINARIZED_MIRRORS,
                "sha256",
                "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2",
            ),
            "test": _mirrored(
                "binarized_mnist_test.amat",
                _BINARIZED_MIRRORS,
                "sha256",
                "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
            ),
        },
    ),
    "fashion_mnist": StandardSet(
        (1, 28, 28),
        256,
        {
            "train": _mirrored("train-images-idx3-ubyte.gz", _FASHION_MIRRORS, "md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            "test": _mirrored("t10k-images-idx3-ubyte.gz", _FASHION_MIRRORS, "md5", "bef4ecab320f06d8554ea6380940ec79"),
        },
        # Debian re-compresses the .gz files (different checksums, same images), so local copies
        # are read as they are and only downloads are checked against the published digests.
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        label_downloads={
            "train": _mirrored("train-labels-idx1-ubyte.gz", _FASHION_MIRRORS, "md5", "25c81989df183df01b3e8a0aad5dffbe"),
            "test": _mirrored("t10k-labels-idx1-ubyte.gz", _FASHION_MIRRORS, "md5", "bb300cfdad3c16e7a12a480ee83cd310"),
        },
    ),
    "cifar10": StandardSet(
        (3, 32, 32),
        256,
        {"train": _CIFAR_DOWNLOAD, "test": _CIFAR_DOWNLOAD},
        classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    ),
}

DATASETS = tuple(STANDARD)

_IDX_STEMS = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
_IDX_LABEL_STEMS = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_DOWNLOAD_TIMEOUT_S = 30
_CHUNK_BYTES = 1 << 20


def standard_set(name: str) -> StandardSet:
    if name not in STANDARD:
        raise ValueError(f"unknown data set {name!r}: expected one of {', '.join(DATASETS)}")
    return STANDARD[name]


def check_split(name: str, split: str) -> None:
    splits = tuple(standard_set(name).downloads)
    if split not in splits:
        raise ValueError(f"{name} has the splits {', '.join(splits)}, not {split!r}")


def check_labels(name: str) -> None:
    """``ValueError`` unless the standard set ``name`` has labels."""
    if not standard_set(name).classes:
        with_labels = ", ".join(n for n, spec in STANDARD.items() if spec.classes)
        raise ValueError(f"{name} has no class labels; the standard sets with labels are {with_labels}")


def load_standard(name: str, split: str, root: Path | None, download: bool, labels: bool = False) -> np.ndarray:
    """The images (uint8 [N, C, H, W]) of ``split``, or with ``labels=True`` their labels (uint8 [N])."""
    spec = STANDARD[name]
    base = root or default_root()
    cache = base / name
    folders = [base, cache, *spec.system_dirs]
    for folder in folders:
        found = locate(name, split, folder, labels)
        if found is not None:
            return read_standard(name, split, found, labels)
    remote = spec.label_downloads.get(split, spec.downloads[split]) if labels else spec.downloads[split]
    target = cache / remote.filename
    if not download:
        raise FileNotFoundError(_missing_message(name, split, folders, target, remote, "download=False"))
    try:
        _download(remote, target)
    except RuntimeError as error:
        raise FileNotFoundError(_missing_message(name, split, folders, target, remote, str(error))) from error
    return read_standard(name, split, target, labels)


def _missing_message(name: str, split: str, folders: list[Path], target: Path, remote: Download, why: str) -> str:
    return (
        f"{name} ({split} split) is not on this machine and was not downloaded ({why}).\n"
        f"Looked in: {', '.join(str(folder) for folder in folders)}.\n"
        f"Put {remote.filename} at {target} (from {remote.urls[0]}), or pass as root=, or in place of "
        f"the data set's name, a directory that holds {expected_files(name, split)}."
    )


def expected_files(name: str, split: str) -> str:
    if name == "cifar10":
        return f"{CIFAR_ARCHIVE} or its extracted {CIFAR_FOLDER}/"
    return STANDARD[name].downloads[split].filename


def locate(name: str, split: str, folder: Path, labels: bool = False) -> Path | None:
    """The file (for CIFAR-10: batch folder or archive) in `folder` that holds `split` of `name` (its labels,
    with `labels=True`: for CIFAR-10 the same file)."""
    if name == "cifar10":
        for batches in (folder / CIFAR_FOLDER, folder):
            if all((batches / batch).is_file() for batch in CIFAR_BATCHES[split]):
                return batches
        candidates = [folder / CIFAR_ARCHIVE]
    elif name == "binarized_mnist":
        candidates = [folder / f"binarized_mnist_{split}.amat", folder / BINARIZED_ARCHIVE]
    else:
        stem = (_IDX_LABEL_STEMS if labels else _IDX_STEMS)[split]
        candidates = [folder / f"{stem}.gz", folder / stem]
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def standard_layout(path: Path) -> str | None:
    """Which standard set's files `path` is or holds, if any (MNIST and Fashion-MNIST share one format)."""
    if path.is_file():
        return {CIFAR_ARCHIVE: "cifar10", BINARIZED_ARCHIVE: "binarized_mnist"}.get(path.name)
    for name in ("cifar10", "binarized_mnist", "mnist"):
        if any(locate(name, split, path) is not None for split in STANDARD[name].downloads):
            return name
    return None


def read_standard(name: str, split: str, found: Path, labels: bool = False) -> np.ndarray:
    if name == "cifar10":
        return read_cifar(found, split, labels)
    if labels:
        return read_idx(found, ndim=1)
    if name == "binarized_mnist":
        if found.name == BINARIZED_ARCHIVE:
            return read_amat(archive_member(found, f"binarized_mnist_{split}.amat"), f"{found}:{split}")
        return read_amat(found.read_bytes(), str(found))
    return read_idx(found, ndim=3)[:, None]


def read_cifar(found: Path, split: str, labels: bool = False) -> np.ndarray:
    """CIFAR-10 batches from `cifar-10-batches-py/` or `cifar-10-python.tar.gz` -> uint8 [N, 3, 32, 32]
    (with `labels=True`, their labels: uint8 [N])."""
    names = CIFAR_BATCHES[split]
    if found.is_dir():
        return np.concatenate([unpickle_cifar_batch((found / name).read_bytes(), str(found / name), labels) for name in names])
    try:
        with tarfile.open(found) as archive:
            raws = [archive.extractfile(f"{CIFAR_FOLDER}/{name}").read() for name in names]
    except (tarfile.TarError, KeyError, OSError, EOFError) as error:
        raise ValueError(f"cannot read the {split} batches {', '.join(names)} from {found}: {error}") from error
    return np.concatenate([unpickle_cifar_batch(raw, f"{found}:{name}", labels) for name, raw in zip(names, raws)])


def _download(remote: Download, target: Path) -> None:
    """Fetch `remote` into `target`, trying each mirror; RuntimeError listing every mirror's failure."""
    failures = []
    for url in remote.urls:
        try:
            with atomic_write(target) as temp, open(temp, "wb") as out, urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
                digest = hashlib.new(remote.algorithm, usedforsecurity=False)
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename, disable=None) as progress:
                    while chunk := response.read(_CHUNK_BYTES):
                        out.write(chunk)
                        digest.update(chunk)
                        progress.update(len(chunk))
                if digest.hexdigest() != remote.digest:
                    raise ValueError(
                        f"checksum mismatch: expected {remote.algorithm} {remote.digest}, "
                        f"got {digest.hexdigest()}; the file was discarded"
                    )
            return
        except (OSError, ValueError) as error:  # URLError and timeouts are OSErrors
            failures.append(f"{url}: {error}")
    raise RuntimeError("; ".join(failures))


def conform(name: str, images: np.ndarray, size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """A standard set's images resized / colour-converted like folder images, when asked to."""
    stored_channels, height, width = images.shape[1:]
    if channels in (None, stored_channels) and size in (None, (height, width)):
        return images
    if STANDARD[name].levels == 2:
        raise ValueError(f"{name} is binary data fixed at 1x28x28: leave image_size and channels unset")
    mode = "L" if (channels or stored_channels) == 1 else "RGB"
    as_pil = (Image.fromarray(image[0] if stored_channels == 1 else image.transpose(1, 2, 0)) for image in images)
    return np.stack([fit(image, mode, size) for image in as_pil])
