"""Image data sets as uint8 tensors [N, C, H, W]: MNIST, binarized MNIST, Fashion-MNIST, CIFAR-10,
and any folder or .tar / .tar.gz / .tgz / .zip archive of images.

    from pixelrnn import data
    images = data.load_dataset("cifar10", split="test")           # uint8 [10000, 3, 32, 32], 0..255
    images = data.load_dataset("binarized_mnist", split="valid")  # uint8 [10000, 1, 28, 28], 0/1
    images = data.load_dataset("faces.zip", image_size=64)        # uint8 [N, 3, 64, 64]
    data.dataset_info("cifar10")                                  # {"image_shape": (3, 32, 32), "levels": 256}

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
`<root>/decoded/`, keyed by the source's path, size and modification time and the options.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import json
import os
import pickle
import re
import struct
import tarfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from .storage import atomic_write, default_root

try:
    from numpy._core.multiarray import _reconstruct as _numpy_reconstruct  # numpy >= 2
except ImportError:
    from numpy.core.multiarray import _reconstruct as _numpy_reconstruct  # numpy 1.x

DATASETS = ("mnist", "binarized_mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class _Download:
    """One file of a standard set at its official address(es), with its published checksum."""

    filename: str
    urls: tuple[str, ...]
    algorithm: str  # hashlib name: "md5" or "sha256"
    digest: str


@dataclass(frozen=True)
class _StandardSet:
    image_shape: tuple[int, int, int]
    levels: int
    downloads: dict[str, _Download]  # split -> the file holding it
    system_dirs: tuple[Path, ...] = ()


def _mirrored(filename: str, mirrors: tuple[str, ...], algorithm: str, digest: str) -> _Download:
    return _Download(filename, tuple(mirror + filename for mirror in mirrors), algorithm, digest)


_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
# Larochelle & Murray's fixed binarization (AISTATS 2011); checksums as recorded by tensorflow_datasets.
_BINARIZED_MIRRORS = ("http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/",)
# The three .amat files in one archive, as ../shared/data and some mirrors keep them.
_BINARIZED_ARCHIVE = "binarized_mnist-amat.tar.gz"
_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_DOWNLOAD = _mirrored(
    _CIFAR_ARCHIVE, ("https://www.cs.toronto.edu/~kriz/",), "md5", "c58f30108f718f92721af3b95e74349a"
)

_STANDARD = {
    "mnist": _StandardSet(
        (1, 28, 28),
        256,
        {
            "train": _mirrored("train-images-idx3-ubyte.gz", _MNIST_MIRRORS, "md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            "test": _mirrored("t10k-images-idx3-ubyte.gz", _MNIST_MIRRORS, "md5", "9fb629c4189551a2d022fa330f9573f3"),
        },
    ),
    "binarized_mnist": _StandardSet(
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
    "fashion_mnist": _StandardSet(
        (1, 28, 28),
        256,
        {
            "train": _mirrored(
                "train-images-idx3-ubyte.gz", _FASHION_MIRRORS, "md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
            ),
            "test": _mirrored("t10k-images-idx3-ubyte.gz", _FASHION_MIRRORS, "md5", "bef4ecab320f06d8554ea6380940ec79"),
        },
        # Debian re-compresses the .gz files (different checksums, same images), so local copies
        # are read as they are and only downloads are checked against the published digests.
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    ),
    "cifar10": _StandardSet((3, 32, 32), 256, {"train": _CIFAR_DOWNLOAD, "test": _CIFAR_DOWNLOAD}),
}

_IDX_STEMS = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
_CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm")
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_DOWNLOAD_TIMEOUT_S = 30
_CHUNK_BYTES = 1 << 20
_DECODED_CACHE_VERSION = 1


def dataset_info(name: str) -> dict:
    """{"image_shape": (C, H, W), "levels": L} of a standard set; pixel values lie in [0, L)."""
    spec = _standard(name)
    return {"image_shape": spec.image_shape, "levels": spec.levels}


def standard_name(name_or_path: str | os.PathLike) -> str | None:
    """The standard set that ``name_or_path`` names or whose files it is or holds, else None.

    ``standard_name("../data/binarized_mnist-amat.tar.gz") == "binarized_mnist"``; a folder of
    IDX files is ``"mnist"`` (MNIST and Fashion-MNIST share one format).
    """
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        return name_or_path
    path = Path(name_or_path).expanduser()
    return _standard_layout(path) if path.exists() else None


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
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        _check_split(name_or_path, split)
        images = _load_standard(name_or_path, split, root, download)
        return _to_tensor(_conform(name_or_path, images, size, channels))
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise ValueError(
            f"{str(name_or_path)!r} is neither a standard data set ({', '.join(DATASETS)}) "
            "nor an existing folder or archive of images"
        )
    layout = _standard_layout(path)
    if layout is None:
        images = _load_image_collection(path, split, root or default_root(), size, channels)
        return _to_tensor(images)
    _check_split(layout, split)
    found = path if path.is_file() else _locate(layout, split, path)
    if found is None:
        expected = _expected_files(layout, split)
        raise FileNotFoundError(f"{path} holds {layout} files but not the {split} split's {expected}")
    return _to_tensor(_conform(layout, _read_standard(layout, split, found), size, channels))


def _standard(name: str) -> _StandardSet:
    if name not in _STANDARD:
        raise ValueError(f"unknown data set {name!r}: expected one of {', '.join(DATASETS)}")
    return _STANDARD[name]


def _check_split(name: str, split: str) -> None:
    splits = tuple(_standard(name).downloads)
    if split not in splits:
        raise ValueError(f"{name} has the splits {', '.join(splits)}, not {split!r}")


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


# --- standard sets -------------------------------------------------------------------------------


def _load_standard(name: str, split: str, root: Path | None, download: bool) -> np.ndarray:
    spec = _STANDARD[name]
    base = root or default_root()
    cache = base / name
    folders = [base, cache, *spec.system_dirs]
    for folder in folders:
        found = _locate(name, split, folder)
        if found is not None:
            return _read_standard(name, split, found)
    remote = spec.downloads[split]
    target = cache / remote.filename
    if not download:
        raise FileNotFoundError(_missing_message(name, split, folders, target, remote, "download=False"))
    try:
        _download(remote, target)
    except RuntimeError as error:
        raise FileNotFoundError(_missing_message(name, split, folders, target, remote, str(error))) from error
    return _read_standard(name, split, target)


def _missing_message(name: str, split: str, folders: list[Path], target: Path, remote: _Download, why: str) -> str:
    return (
        f"{name} ({split} split) is not on this machine and was not downloaded ({why}).\n"
        f"Looked in: {', '.join(str(folder) for folder in folders)}.\n"
        f"Put {remote.filename} at {target} (from {remote.urls[0]}), or pass as root=, or in place of "
        f"the data set's name, a directory that holds {_expected_files(name, split)}."
    )


def _expected_files(name: str, split: str) -> str:
    if name == "cifar10":
        return f"{_CIFAR_ARCHIVE} or its extracted {_CIFAR_FOLDER}/"
    return _STANDARD[name].downloads[split].filename


def _locate(name: str, split: str, folder: Path) -> Path | None:
    """The file (for CIFAR-10: batch folder or archive) in `folder` that holds `split` of `name`."""
    if name == "cifar10":
        for batches in (folder / _CIFAR_FOLDER, folder):
            if all((batches / batch).is_file() for batch in _CIFAR_BATCHES[split]):
                return batches
        candidates = [folder / _CIFAR_ARCHIVE]
    elif name == "binarized_mnist":
        candidates = [folder / f"binarized_mnist_{split}.amat", folder / _BINARIZED_ARCHIVE]
    else:
        stem = _IDX_STEMS[split]
        candidates = [folder / f"{stem}.gz", folder / stem]
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def _standard_layout(path: Path) -> str | None:
    """Which standard set's files `path` is or holds, if any (MNIST and Fashion-MNIST share one format)."""
    if path.is_file():
        return {_CIFAR_ARCHIVE: "cifar10", _BINARIZED_ARCHIVE: "binarized_mnist"}.get(path.name)
    for name in ("cifar10", "binarized_mnist", "mnist"):
        if any(_locate(name, split, path) is not None for split in _STANDARD[name].downloads):
            return name
    return None


def _read_standard(name: str, split: str, found: Path) -> np.ndarray:
    if name == "cifar10":
        return _read_cifar(found, split)
    if name == "binarized_mnist":
        if found.name == _BINARIZED_ARCHIVE:
            return _read_amat(_archive_member(found, f"binarized_mnist_{split}.amat"), f"{found}:{split}")
        return _read_amat(found.read_bytes(), str(found))
    return _read_idx(found)


def _archive_member(archive_path: Path, filename: str) -> bytes:
    """The bytes of the member called ``filename`` (in any folder) of a .tar(.gz) archive."""
    try:
        with tarfile.open(archive_path) as archive:
            for member in archive:
                if member.isfile() and Path(member.name).name == filename:
                    return _read_member(archive, member)
    except (OSError, EOFError, tarfile.TarError) as error:
        raise ValueError(f"cannot read {archive_path}: {error}") from error
    raise ValueError(f"{archive_path} holds no {filename}")


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file of uint8 images (MNIST's format), gzipped or not -> uint8 [N, 1, H, W]."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    if raw[:4] != b"\x00\x00\x08\x03" or len(raw) < 16:
        raise ValueError(f"{path} is not an IDX file of uint8 images (it must start with 0x00000803)")
    count, height, width = struct.unpack(">III", raw[4:16])
    if len(raw) != 16 + count * height * width:
        raise ValueError(
            f"{path} is truncated or corrupt: its header announces {count} images of {height}x{width} "
            f"({16 + count * height * width} bytes), the file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, np.uint8, offset=16).reshape(count, 1, height, width)


def _read_amat(text: bytes, where: str) -> np.ndarray:
    """Binarized MNIST .amat (one image a line: 784 space-separated 0/1) -> uint8 [N, 1, 28, 28]."""
    raw = np.frombuffer(text, np.uint8)
    digits = (raw == ord("0")) | (raw == ord("1"))
    newlines = raw == ord("\n")
    whitespace = newlines | (raw == ord(" ")) | (raw == ord("\r"))
    per_line = np.diff(np.concatenate(([0], np.cumsum(digits)[np.flatnonzero(newlines)], [digits.sum()])))
    per_line = per_line[per_line > 0]  # blank lines, e.g. after the last newline, hold no image
    if not np.all(digits | whitespace) or np.any(digits[1:] & digits[:-1]) or np.any(per_line != 28 * 28):
        raise ValueError(
            f"{where} is not a binarized MNIST .amat file: each line must hold 784 space-separated 0s and 1s"
        )
    if not per_line.size:
        raise ValueError(f"{where} holds no images")
    return (raw[digits] - ord("0")).reshape(-1, 1, 28, 28)


def _plain_dtype(*args) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError("arrays of Python objects are refused")
    return dtype


class _ArrayUnpickler(pickle.Unpickler):
    """Reads CIFAR-10's python batches, rebuilding nothing but builtins and plain numpy arrays.

    The batches come from the data set's authors, but unpickling calls whatever callables a file
    names, so a tampered or mislabelled file could run code. Dicts, lists, strings, bytes and
    numbers are built by opcodes that call nothing; numpy arrays pickle to the three callables
    below, and any other name in the file is refused.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,  # written by numpy 1.x (the official files)
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,  # written by numpy 2.x
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _plain_dtype,
    }

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed") from None


def _unpickle_batch(raw: bytes, where: str) -> np.ndarray:
    """One CIFAR-10 python batch -> uint8 [N, 3, 32, 32]."""
    try:
        # latin1 turns the Python 2 strings of the official files into str keys and array bytes.
        batch = _ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as error:  # malformed pickles fail in many ways (EOFError, TypeError, ...)
        raise ValueError(f"{where} is not a CIFAR-10 python batch: {error}") from error
    images = batch.get("data") if isinstance(batch, dict) else None
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.shape[1:] != (3 * 32 * 32,):
        raise ValueError(f"{where} is not a CIFAR-10 python batch: expected a dict whose 'data' is uint8 [N, 3072]")
    # Each row holds the 1024 red, then green, then blue values of one image, rows of 32 each.
    return images.reshape(-1, 3, 32, 32)


def _read_cifar(found: Path, split: str) -> np.ndarray:
    """CIFAR-10 batches from `cifar-10-batches-py/` or `cifar-10-python.tar.gz` -> uint8 [N, 3, 32, 32]."""
    names = _CIFAR_BATCHES[split]
    if found.is_dir():
        return np.concatenate([_unpickle_batch((found / name).read_bytes(), str(found / name)) for name in names])
    try:
        with tarfile.open(found) as archive:
            raws = [archive.extractfile(f"{_CIFAR_FOLDER}/{name}").read() for name in names]
    except (tarfile.TarError, KeyError, OSError, EOFError) as error:
        raise ValueError(f"cannot read the {split} batches {', '.join(names)} from {found}: {error}") from error
    return np.concatenate([_unpickle_batch(raw, f"{found}:{name}") for name, raw in zip(names, raws)])


def _download(remote: _Download, target: Path) -> None:
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


def _conform(name: str, images: np.ndarray, size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """A standard set's images resized / colour-converted like folder images, when asked to."""
    stored_channels, height, width = images.shape[1:]
    if channels in (None, stored_channels) and size in (None, (height, width)):
        return images
    if _STANDARD[name].levels == 2:
        raise ValueError(f"{name} is binary data fixed at 1x28x28: leave image_size and channels unset")
    mode = "L" if (channels or stored_channels) == 1 else "RGB"
    as_pil = (Image.fromarray(image[0] if stored_channels == 1 else image.transpose(1, 2, 0)) for image in images)
    return np.stack([_fit(image, mode, size) for image in as_pil])


def _fit(image: Image.Image, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """A PIL image in mode L or RGB, scaled to cover size=(H, W) and centre-cropped -> uint8 [C, H, W]."""
    if image.mode.startswith("I;16"):
        # PIL clips 16-bit values to 255 when converting to 8 bits; keep the top byte instead.
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    image = image.convert(mode)
    if size is not None:
        height, width = size
        scale = max(height / image.height, width / image.width)
        scaled = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
        if scaled != image.size:
            image = image.resize(scaled, Image.Resampling.BICUBIC)
        left, top = (scaled[0] - width) // 2, (scaled[1] - height) // 2
        image = image.crop((left, top, left + width, top + height))
    pixels = np.asarray(image)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


# --- folders and archives of images --------------------------------------------------------------


def _load_image_collection(
    path: Path, split: str, root: Path, size: tuple[int, int] | None, channels: int | None
) -> np.ndarray:
    """Decoded images of a folder or archive, through the .npy cache under `root/decoded/`."""
    path = path.resolve()
    options = json.dumps([_DECODED_CACHE_VERSION, str(path), split, size, channels])
    stem = f"{re.sub(r'[^A-Za-z0-9._-]', '_', path.name)}-{_sha256(options)[:16]}"
    cache_file = root / "decoded" / f"{stem}-{_sha256(json.dumps(_stamp(path)))[:16]}.npy"
    if cache_file.is_file():
        return np.load(cache_file, allow_pickle=False)
    with _image_entries(path) as entries:
        images = _decode_images(_select_split(entries, split, path), path, size, channels)
    try:
        with atomic_write(cache_file) as temp, open(temp, "wb") as out:
            np.save(out, images, allow_pickle=False)
        for stale in cache_file.parent.glob(f"{stem}-*.npy"):  # decoded from an older version of the source
            if stale != cache_file:
                stale.unlink(missing_ok=True)
    except OSError as error:
        warnings.warn(f"could not cache the decoded images at {cache_file}: {error}", stacklevel=3)
    return images


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _stamp(path: Path) -> list:
    """What changes when the source's contents change: size and mtime of the archive or of each file."""
    if path.is_file():
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]
    stats = ((file.relative_to(path).as_posix(), file.stat()) for file in sorted(path.rglob("*")) if file.is_file())
    return [[name, stat.st_size, stat.st_mtime_ns] for name, stat in stats]


def _clean_name(name: str) -> str:
    """An archive member's path without empty and "." parts (`tar czf x.tgz .` writes ./train/a.png)."""
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def _is_image_name(name: str) -> bool:
    parts = name.split("/")
    hidden = any(part.startswith(".") or part == "__MACOSX" for part in parts)  # e.g. macOS resource forks in zips
    return not hidden and parts[-1].lower().endswith(_IMAGE_SUFFIXES)


@contextlib.contextmanager
def _image_entries(path: Path):
    """Yields [(name, read)] for the image files of a folder or archive in storage order: name is
    the /-separated path inside it, read() returns the file's bytes."""
    if path.is_dir():
        files = sorted(file for file in path.rglob("*") if file.is_file())
        named = ((file.relative_to(path).as_posix(), file.read_bytes) for file in files)
        yield [(name, read) for name, read in named if _is_image_name(name)]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            named = ((_clean_name(info.filename), info) for info in archive.infolist() if not info.is_dir())
            yield [(name, functools.partial(archive.read, info)) for name, info in named if _is_image_name(name)]
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            # Members are read in archive order: a compressed tar can only seek forward cheaply.
            named = ((_clean_name(member.name), member) for member in archive.getmembers() if member.isfile())
            yield [(name, functools.partial(_read_member, archive, m)) for name, m in named if _is_image_name(name)]
    else:
        raise ValueError(
            f"{path} is neither a folder nor a .zip/.tar/.tar.gz/.tgz archive of images; for MNIST-style "
            "IDX files or CIFAR-10 batches, pass the directory that holds them"
        )


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    return archive.extractfile(member).read()


def _select_split(entries: list, split: str, source: Path) -> list:
    """The entries of `split`: those under a train/ valid/ test/ folder at the top level or under
    the single top-level folder; without such folders, all entries form the train split."""
    if not entries:
        raise ValueError(f"{source} holds no images ({', '.join(_IMAGE_SUFFIXES)})")
    parts = [name.split("/") for name, _ in entries]
    for depth in (0, 1):
        if depth == 1 and len({part[0] for part in parts}) != 1:
            break
        found = sorted({part[depth] for part in parts if len(part) > depth + 1 and part[depth] in SPLITS})
        if found:
            if split not in found:
                raise ValueError(
                    f"{source} has the split folders {', '.join(s + '/' for s in found)} but no {split}/; "
                    f"use split= one of {found}"
                )
            return [entry for entry, part in zip(entries, parts) if len(part) > depth + 1 and part[depth] == split]
    if split != "train":
        raise ValueError(
            f"{source} has no train/ and test/ folders, so all its images form the train split; "
            f"to use split={split!r}, put those images in a {split}/ folder beside train/"
        )
    return entries


def _decode_images(entries: list, source: Path, size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """Decode (name, read) entries -> uint8 [N, C, H, W], ordered by name."""
    decoded = []
    for name, read in tqdm(entries, desc=f"decoding {source.name}", unit="img", disable=None):
        try:
            with Image.open(io.BytesIO(read())) as image:
                image.load()
                mode = "L" if channels == 1 or (channels is None and image.mode in _GREY_MODES) else "RGB"
                decoded.append((name, _fit(image, mode, size)))
        except (OSError, EOFError, SyntaxError, ValueError, Image.DecompressionBombError, zipfile.BadZipFile) as error:
            raise ValueError(f"cannot decode the image {name} in {source}: {error}") from error
    decoded.sort(key=lambda item: item[0])
    if channels is None and any(pixels.shape[0] == 3 for _, pixels in decoded):
        # Same as PIL's L -> RGB conversion: the grey value in all three channels.
        decoded = [(name, np.repeat(pixels, 3, axis=0) if pixels.shape[0] == 1 else pixels) for name, pixels in decoded]
    sizes = {pixels.shape[1:]: name for name, pixels in decoded}
    if len(sizes) > 1:
        examples = ", ".join(f"{name} is {h}x{w}" for (h, w), name in list(sizes.items())[:3])
        raise ValueError(
            f"the images in {source} differ in size ({examples}); pass image_size=(H, W) to scale and "
            "centre-crop them all to one size"
        )
    return np.stack([pixels for _, pixels in decoded])
