"""Folders and .tar / .tar.gz / .tgz / .zip archives of images: their splits, decoding, and the cache of
decoded images (``.npy`` under ``<root>/decoded/``, keyed by the source's path, size, modification
time and the options)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import re
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .file_formats import read_member
from .storage import atomic_write

SPLITS = ("train", "valid", "test")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm")
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_DECODED_CACHE_VERSION = 1


def fit(image: Image.Image, mode: str, size: tuple[int, int] | None) -> np.ndarray:
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


def load_image_collection(path: Path, split: str, root: Path, size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """Decoded images of a folder or archive, through the .npy cache under `root/decoded/`."""
    path = path.resolve()
    options = json.dumps([_DECODED_CACHE_VERSION, str(path), split, size, channels])
    stem = f"{re.sub(r'[^A-Za-z0-9._-]', '_', path.name)}-{_sha256(options)[:16]}"
    cache_file = root / "decoded" / f"{stem}-{_sha256(json.dumps(_stamp(path)))[:16]}.npy"
    if cache_file.is_file():
        return np.load(cache_file, allow_pickle=False)
    with _image_entries(path) as entries:
        images = decode_images(_select_split(entries, split, path), path, size, channels)
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
            yield [(name, functools.partial(read_member, archive, m)) for name, m in named if _is_image_name(name)]
    else:
        raise ValueError(
            f"{path} is neither a folder nor a .zip/.tar/.tar.gz/.tgz archive of images; for MNIST-style "
            "IDX files or CIFAR-10 batches, pass the directory that holds them"
        )


def load_folder_labels(path: Path, split: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The labels (uint8 [N], in the order :func:`load_image_collection` returns the images) of a folder or
    archive whose images sit in one folder per class (``train/cat/1.png``, or ``cat/1.png`` without
    split folders), and the class names: the folder names of every split, sorted."""
    path = path.resolve()
    with _image_entries(path) as entries:
        names = [name for name, _ in entries]
        chosen = sorted(name for name, _ in _select_split(entries, split, path))
    depth = _split_depth(names)
    classes = sorted({name.split("/")[depth] for name in names if name.count("/") > depth})
    loose = [name for name in chosen if name.count("/") <= depth]
    if loose or not classes:
        example = f" ({loose[0]} is not)" if loose else ""
        raise ValueError(
            f"{path} has no class folders: for labels, every image must sit in a folder named after its class, "
            f"such as train/cat/0001.png or cat/0001.png{example}"
        )
    if len(classes) > 256:
        raise ValueError(f"{path} has {len(classes)} class folders; at most 256 classes are supported")
    index = {name: k for k, name in enumerate(classes)}
    return np.array([index[name.split("/")[depth]] for name in chosen], dtype=np.uint8), tuple(classes)


def _split_depth(names: list[str]) -> int:
    """How many leading path parts of the image names are split folders (and the one top folder above them)."""
    parts = [name.split("/") for name in names]
    for depth in (0, 1):
        if depth == 1 and len({part[0] for part in parts}) != 1:
            break
        if any(len(part) > depth + 1 and part[depth] in SPLITS for part in parts):
            return depth + 1
    return 0


def _select_split(entries: list, split: str, source: Path) -> list:
    """The entries of `split`: those under a train/ valid/ test/ folder at the top level or under
    the single top-level folder; without such folders, all entries form the train split."""
    if not entries:
        raise ValueError(f"{source} holds no images ({', '.join(_IMAGE_SUFFIXES)})")
    parts = [name.split("/") for name, _ in entries]
    depth = _split_depth([name for name, _ in entries])
    if depth:
        at = depth - 1  # the split folder's place in a name
        found = sorted({part[at] for part in parts if len(part) > depth and part[at] in SPLITS})
        if split not in found:
            raise ValueError(
                f"{source} has the split folders {', '.join(s + '/' for s in found)} but no {split}/; use split= one of {found}"
            )
        return [entry for entry, part in zip(entries, parts) if len(part) > depth and part[at] == split]
    if split != "train":
        raise ValueError(
            f"{source} has no train/ and test/ folders, so all its images form the train split; "
            f"to use split={split!r}, put those images in a {split}/ folder beside train/"
        )
    return entries


def decode_images(entries: list, source: Path, size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """Decode (name, read) entries -> uint8 [N, C, H, W], ordered by name."""
    decoded = []
    for name, read in tqdm(entries, desc=f"decoding {source.name}", unit="img", disable=None):
        try:
            with Image.open(io.BytesIO(read())) as image:
                image.load()
                mode = "L" if channels == 1 or (channels is None and image.mode in _GREY_MODES) else "RGB"
                decoded.append((name, fit(image, mode, size)))
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
