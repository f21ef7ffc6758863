"""The lossless codecs people use, as the yardstick for :mod:`pixelrnn.codec`: PNG, WebP and JPEG XL.

JPEG XL comes from ``imagecodecs`` (``pip install "pixelrnn[bench]"``); without it, it is left out.
"""

from __future__ import annotations

import io

import torch
from PIL import Image

from ..pictures import to_uint8

try:
    import imagecodecs
except ImportError:  # an optional extra
    imagecodecs = None

#: The codecs :func:`picture_sizes` measures, in order; JPEG XL only where ``imagecodecs`` is installed.
NAMES = ("PNG", "WebP", "JPEG XL")


def picture_sizes(image: torch.Tensor, levels: int) -> dict[str, int]:
    """Sizes in bytes of ``image`` (``LongTensor[C, H, W]``) as a PNG, a WebP and a JPEG XL file, each lossless
    and at its strongest setting (binary images as 1-bit PNG)."""
    pixels = to_uint8(image, levels)
    if image.shape[0] == 1:
        pixels = pixels[..., 0]
    picture = Image.fromarray(pixels)
    if levels == 2:
        picture = picture.convert("1")
    sizes = {}
    for name, options in (("PNG", dict(optimize=True)), ("WebP", dict(lossless=True, quality=100, method=6))):
        buffer = io.BytesIO()
        picture.save(buffer, format=name, **options)
        sizes[name] = buffer.tell()
    if imagecodecs is not None:
        sizes["JPEG XL"] = len(imagecodecs.jpegxl_encode(pixels, lossless=True, effort=9))
    return sizes
