"""Model images as 8-bit pictures and back: the one level mapping that every view of an image uses.

Level 0 is black, level ``levels - 1`` white and the others evenly between, so binary images
show black and white and 256-level images show as stored. :func:`quantize` is its inverse:
``quantize(to_uint8(x, levels), levels)`` gives ``x`` back for any ``levels`` in ``[2, 256]``.
"""

from __future__ import annotations

import numpy as np
import torch


def to_uint8(images: torch.Tensor, levels: int) -> np.ndarray:
    """``LongTensor[..., C, H, W]`` with values in ``[0, levels)`` -> ``uint8 [..., H, W, 3]``; grey fills R, G and B."""
    scaled = (images.detach().cpu().to(torch.float64) * (255.0 / (levels - 1))).round().clamp(0, 255).to(torch.uint8)
    pixels = scaled.movedim(-3, -1)
    if pixels.shape[-1] == 1:
        pixels = pixels.expand(*pixels.shape[:-1], 3)
    return pixels.contiguous().numpy()


def quantize(values: np.ndarray, levels: int) -> np.ndarray:
    """8-bit values (any shape) -> ``int64`` levels in ``[0, levels)``: each value's nearest level of :func:`to_uint8`."""
    return np.round(np.asarray(values, dtype=np.float64) * ((levels - 1) / 255.0)).astype(np.int64)
