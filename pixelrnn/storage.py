"""Where pixelrnn keeps files, and how it writes them: whole, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def default_root() -> Path:
    """The data cache directory: $PIXELRNN_DATA, else ~/.cache/pixelrnn/data."""
    return Path(os.environ.get("PIXELRNN_DATA") or Path.home() / ".cache" / "pixelrnn" / "data").expanduser()


@contextlib.contextmanager
def atomic_write(path: Path, durable: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; once the block succeeds, it is flushed to disk and renamed
    to ``path`` in one step, so that other processes (DDP ranks, the app) and killed runs never see a
    partial file. On an exception the temporary file is removed and ``path`` is left as it was.

    ``durable=False`` skips the flush to disk, for files that need only be whole, not survive a crash
    (a server's cache, written many times a second)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(temp)
        if durable:
            with open(temp, "rb+") as written:
                os.fsync(written.fileno())
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
