"""Ordinary image files (PNG, ...) as model images and back, for the codec: every pixel kept, or a refusal."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..image_folders import fit
from ..pictures import quantize, to_uint8
from ..storage import atomic_write


def read_image_file(path: str | os.PathLike, image_shape, levels: int) -> torch.Tensor:
    """The picture in ``path`` as ``LongTensor[C, H, W]`` with values in ``[0, levels)``.

    Raises ``ValueError`` unless :func:`write_image_file` would give every pixel of it back: a
    lossless codec neither resizes nor converts. It refuses pictures of another size, colour for a
    greyscale model, transparency, and values between the model's levels.
    """
    c, h, w = image_shape
    try:
        with Image.open(path) as picture:
            picture.load()
            pixels = fit(picture, "L" if c == 1 else "RGB", None)  # uint8 [C, H, W]
            shown = np.asarray(picture.convert("RGBA"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValueError(f"{path} is not an image that Pillow can read: {error}") from None
    if pixels.shape[1:] != (h, w):
        raise ValueError(
            f"{path} is {pixels.shape[2]}x{pixels.shape[1]} pixels but the model codes {w}x{h} images; "
            "the codec keeps every pixel, so crop or scale the picture first"
        )
    image = torch.from_numpy(quantize(pixels, levels))
    if not np.array_equal(np.asarray(_picture(image, levels).convert("RGBA")), shown):
        if (shown[..., 3] < 255).any():
            reason = "it has transparent pixels"
        elif c == 1 and not (shown[..., :1] == shown[..., :3]).all():
            reason = "it is in colour and the model is greyscale"
        else:
            reason = f"its values are not all among the model's {levels} levels"
        raise ValueError(f"{path} would not come back exactly from this model's codec: {reason}")
    return image


def write_image_file(path: str | os.PathLike, image: torch.Tensor, levels: int) -> Path:
    """Write ``image`` (``LongTensor[C, H, W]`` in ``[0, levels)``) to ``path`` as a PNG, whole or not at all."""
    with atomic_write(Path(path)) as temp:
        _picture(image, levels).save(temp, format="PNG")
    return Path(path)


def _picture(image: torch.Tensor, levels: int) -> Image.Image:
    """``LongTensor[C, H, W]`` -> a PIL image, grey (mode L) for one channel, else RGB."""
    pixels = to_uint8(image, levels)
    return Image.fromarray(pixels[..., 0] if image.shape[0] == 1 else pixels)
