"""The file formats of the standard data sets, read safely: IDX (MNIST), .amat (binarized MNIST),
CIFAR-10's pickled python batches (through an unpickler that builds nothing but plain arrays),
and single members of .tar archives."""

from __future__ import annotations

import gzip
import io
import math
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct as _numpy_reconstruct  # numpy >= 2
except ImportError:
    from numpy.core.multiarray import _reconstruct as _numpy_reconstruct  # numpy 1.x

_IDX_KINDS = {1: "labels", 3: "images"}


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file of uint8 values (MNIST's format), gzipped or not -> ``uint8 [N, H, W]`` (``ndim=3``:
    images) or ``uint8 [N]`` (``ndim=1``: labels)."""
    kind = _IDX_KINDS[ndim]
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError) as error:
        raise ValueError(f"cannot read {path}: {error}") from error
    header = 4 + 4 * ndim
    if raw[:4] != bytes((0, 0, 8, ndim)) or len(raw) < header:
        raise ValueError(f"{path} is not an IDX file of uint8 {kind} (it must start with 0x0000080{ndim})")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) != header + math.prod(shape):
        announced = f"{shape[0]} {kind}" + (f" of {shape[1]}x{shape[2]}" if ndim == 3 else "")
        raise ValueError(
            f"{path} is truncated or corrupt: its header announces {announced} "
            f"({header + math.prod(shape)} bytes), the file has {len(raw)} bytes"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def read_amat(text: bytes, where: str) -> np.ndarray:
    """Binarized MNIST .amat (one image a line: 784 space-separated 0/1) -> uint8 [N, 1, 28, 28]."""
    raw = np.frombuffer(text, np.uint8)
    digits = (raw == ord("0")) | (raw == ord("1"))
    newlines = raw == ord("\n")
    whitespace = newlines | (raw == ord(" ")) | (raw == ord("\r"))
    per_line = np.diff(np.concatenate(([0], np.cumsum(digits)[np.flatnonzero(newlines)], [digits.sum()])))
    per_line = per_line[per_line > 0]  # blank lines, e.g. after the last newline, hold no image
    if not np.all(digits | whitespace) or np.any(digits[1:] & digits[:-1]) or np.any(per_line != 28 * 28):
        raise ValueError(f"{where} is not a binarized MNIST .amat file: each line must hold 784 space-separated 0s and 1s")
    if not per_line.size:
        raise ValueError(f"{where} holds no images")
    return (raw[digits] - ord("0")).reshape(-1, 1, 28, 28)


def _plain_dtype(*args) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError("arrays of Python objects are refused")
    return dtype


class ArrayUnpickler(pickle.Unpickler):
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


def unpickle_cifar_batch(raw: bytes, where: str, labels: bool = False) -> np.ndarray:
    """One CIFAR-10 python batch -> uint8 [N, 3, 32, 32], or with ``labels=True`` its labels, uint8 [N]."""
    try:
        # latin1 turns the Python 2 strings of the official files into str keys and array bytes.
        batch = ArrayUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as error:  # malformed pickles fail in many ways (EOFError, TypeError, ...)
        raise ValueError(f"{where} is not a CIFAR-10 python batch: {error}") from error
    images = batch.get("data") if isinstance(batch, dict) else None
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.shape[1:] != (3 * 32 * 32,):
        raise ValueError(f"{where} is not a CIFAR-10 python batch: expected a dict whose 'data' is uint8 [N, 3072]")
    if labels:
        values = batch.get("labels")
        if (
            not isinstance(values, list)
            or len(values) != len(images)
            or not all(isinstance(v, int) and 0 <= v < 10 for v in values)
        ):
            raise ValueError(f"{where} is not a CIFAR-10 python batch: expected 'labels', one class 0-9 per image")
        return np.array(values, dtype=np.uint8)
    # Each row holds the 1024 red, then green, then blue values of one image, rows of 32 each.
    return images.reshape(-1, 3, 32, 32)


def archive_member(archive_path: Path, filename: str) -> bytes:
    """The bytes of the member called ``filename`` (in any folder) of a .tar(.gz) archive."""
    try:
        with tarfile.open(archive_path) as archive:
            for member in archive:
                if member.isfile() and Path(member.name).name == filename:
                    return read_member(archive, member)
    except (OSError, EOFError, tarfile.TarError) as error:
        raise ValueError(f"cannot read {archive_path}: {error}") from error
    raise ValueError(f"{archive_path} holds no {filename}")


def read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    return archive.extractfile(member).read()
