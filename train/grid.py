"""Sample grids as PNG images (numpy + PIL)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_grid(images: torch.Tensor, levels: int, padding: int = 1) -> Image.Image:
    """``LongTensor[n, C, H, W]`` with values in ``[0, levels)`` -> one PIL image, ``ceil(sqrt(n))`` columns.

    Values are scaled to 0..255 (so binary images show black and white); cells are separated
    by ``padding`` white pixels.
    """
    n, c, h, w = images.shape
    columns = math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    pixels = (images.detach().cpu().double() * (255.0 / (levels - 1))).round().to(torch.uint8).numpy()
    grid = np.full((c, rows * (h + padding) + padding, columns * (w + padding) + padding), 255, dtype=np.uint8)
    for k in range(n):
        top, left = padding + (k // columns) * (h + padding), padding + (k % columns) * (w + padding)
        grid[:, top : top + h, left : left + w] = pixels[k]
    return Image.fromarray(grid[0]) if c == 1 else Image.fromarray(grid.transpose(1, 2, 0))


def save_grid(images: torch.Tensor, levels: int, path: Path) -> Path:
    """Write :func:`image_grid` of ``images`` to ``path`` (PNG), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(images, levels).save(path)
    return path
