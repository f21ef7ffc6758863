"""Grids of images as PNG pictures (numpy + PIL), for the training run's samples and the README's figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pixelrnn.pictures import to_uint8


def tile(rows: list[np.ndarray], scale: int = 1, gap: int = 1) -> Image.Image:
    """Rows of ``uint8 [N, H, W, 3]`` tiles -> one RGB picture: tiles upscaled ``scale`` times, ``gap`` white pixels around each."""
    h, w = rows[0].shape[1:3]
    cols = max(len(r) for r in rows)
    canvas = np.full((len(rows) * (h * scale + gap) + gap, cols * (w * scale + gap) + gap, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            y, x = gap + r * (h * scale + gap), gap + c * (w * scale + gap)
            canvas[y : y + h * scale, x : x + w * scale] = picture.repeat(scale, 0).repeat(scale, 1)
    return Image.fromarray(canvas)


def image_grid(images: torch.Tensor, levels: int, padding: int = 1) -> Image.Image:
    """``LongTensor[n, C, H, W]`` with values in ``[0, levels)`` -> one picture, ``ceil(sqrt(n))`` columns.

    Levels are shown as :func:`pixelrnn.pictures.to_uint8` shows them (binary images in black
    and white); cells are separated by ``padding`` white pixels.
    """
    pictures = to_uint8(images, levels)
    columns = math.ceil(math.sqrt(len(pictures)))
    return tile([pictures[k : k + columns] for k in range(0, len(pictures), columns)], gap=padding)


def save_grid(images: torch.Tensor, levels: int, path: Path) -> Path:
    """Write :func:`image_grid` of ``images`` to ``path`` (PNG), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(images, levels).save(path)
    return path
