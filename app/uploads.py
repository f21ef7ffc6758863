"""Files users upload: size-limited, and only images (any mode) get through."""

from __future__ import annotations

import os
import warnings

from PIL import Image, UnidentifiedImageError

#: Largest upload gradio accepts at all, in bytes: model weights (``launch(max_file_size=...)``).
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
#: Largest image accepted, in bytes.
MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: Largest decoded image, in pixels: a small file can decode to a huge bitmap.
MAX_IMAGE_PIXELS = 4096 * 4096


def open_image(path: str | os.PathLike) -> Image.Image:
    """The uploaded file as a fully decoded PIL image; ``ValueError`` saying why when it is not one."""
    size = os.path.getsize(path)
    if size > MAX_IMAGE_BYTES:
        raise ValueError(f"That file is {size / 2**20:.1f} MB; images are limited to {MAX_IMAGE_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise ValueError(f"That image is {image.width}x{image.height}; the limit is {MAX_IMAGE_PIXELS} pixels.")
                image.load()
                return image.copy()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
    ) as error:
        # The reader's message names the server's temporary copy of the file; the user knows it by its own name.
        name = os.path.basename(path)
        why = "" if isinstance(error, UnidentifiedImageError) else f": {str(error).replace(os.fspath(path), name)}"
        raise ValueError(f"{name} is not an image this app can read (PNG, JPEG, GIF, BMP, WebP, TIFF...){why}") from None
