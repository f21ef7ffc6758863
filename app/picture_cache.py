"""Pictures in gradio's file cache are written whole, once.

Gradio 6 saves every picture an event returns (a frame, the editor's layers) to its cache under the
hash of its bytes, and ``processing_utils.save_pil_to_cache`` writes the file over itself each time
the same picture comes again: truncated, then refilled. A live view sends the same picture many
times (a paused or slow run, the editor's background and composite), and a browser still fetching
the earlier copy gets a short file: the server logs "Too little data for declared Content-Length"
and the picture is not shown. Measured with one thread re-saving a 96x96 picture while another
fetched it for 5 s: 299 of 477 fetches broken, none with :func:`install`. Gradio's own
``save_file_to_cache`` already keeps a file that exists and writes new ones whole; this does the same
for pictures.
"""

from __future__ import annotations

import os
from pathlib import Path

from gradio import processing_utils
from PIL import Image

from pixelrnn.storage import atomic_write


def save_pil_to_cache(img: Image.Image, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """What gradio's function of that name does (same arguments, same path), without writing over a file
    that may be being read: the path is the hash of the bytes, so a file that is there already holds them."""
    data = processing_utils.encode_pil_to_bytes(img, format)
    path = Path(cache_dir) / processing_utils.hash_bytes(data) / f"{name}.{format}"
    if path.exists():
        # Gradio's delete_cache ages files by ctime: a picture handed out again must not expire on its first one's.
        os.utime(path)
    else:
        with atomic_write(path, durable=False) as temp:
            temp.write_bytes(data)
    return str(path.resolve())


def install() -> None:
    """Make gradio save pictures with :func:`save_pil_to_cache` (its array and PIL savers both call it)."""
    processing_utils.save_pil_to_cache = save_pil_to_cache
