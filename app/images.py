"""Pictures in and out: user images to model tensors, model tensors to crisp upscaled pictures.

Model images are ``LongTensor[C, H, W]`` with values in ``[0, levels)``; pictures shown
to the user are ``uint8`` arrays ``[h, w, 3]`` (or ``[h, w, 4]`` with transparency),
upscaled with nearest neighbour so that every model pixel is a sharp square.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image, ImageOps

from pixelrnn.pictures import quantize

#: Upscaled images are about this many screen pixels wide.
DISPLAY_SIZE = 256
#: The live view's samples side by side fill about this box, ``(width, height)`` in screen pixels.
STRIP_BOX = (512, 300)


def display_scale(image_shape) -> int:
    """Nearest-neighbour zoom factor that makes an image ``(C, H, W)`` about :data:`DISPLAY_SIZE` wide."""
    _, h, w = image_shape
    return max(1, DISPLAY_SIZE // max(h, w))


def to_rgb_mode(image: Image.Image) -> Image.Image:
    """Any PIL image (palette, alpha, 16-bit, float, CMYK, EXIF-rotated) -> an 8-bit RGB image.

    Transparent areas become black, the background of both data sets.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        image = Image.fromarray(scaled.round().astype(np.uint8), "L")
    if image.mode == "P" or "A" in image.getbands():
        rgba = image.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, rgba)
    return image.convert("RGB")


def to_model_image(image: Image.Image | np.ndarray, image_shape, levels: int) -> torch.Tensor:
    """A picture of any size and mode -> ``LongTensor[C, H, W]`` in ``[0, levels)``.

    Centre-cropped to the model's aspect ratio, area-averaged down (or up) to ``H x W``,
    converted to grey or RGB, quantized from 256 to ``levels`` values (:func:`pixelrnn.pictures.quantize`).
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    c, h, w = image_shape
    rgb = ImageOps.fit(to_rgb_mode(image), (w, h), method=Image.Resampling.BOX)
    values = np.asarray(rgb.convert("L") if c == 1 else rgb, dtype=np.float64).reshape(h, w, c)
    return torch.from_numpy(quantize(values, levels)).permute(2, 0, 1).contiguous()


def upscale(pixels: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour zoom of ``[H, W, ...]`` by an integer factor."""
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


@functools.lru_cache(maxsize=8)
def hatch(shape: tuple[int, int]) -> np.ndarray:
    """A grey diagonal hatch ``uint8 [h, w, 3]`` (read-only): how a pixel still to be generated is shown."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    stripes = ((xx + yy) // 4) % 2 == 0
    pattern = np.where(stripes[..., None], np.uint8(72), np.uint8(56)).repeat(3, axis=2)
    pattern.flags.writeable = False
    return pattern


def outline(picture: np.ndarray, i: int, j: int, scale: int, color, width: int = 2) -> None:
    """Draw, in place, a ``width``-pixel frame around cell ``(i, j)`` of an upscaled ``[h, w, 3|4]`` picture.

    The frame lies on the cell's border pixels, so the cell's own colour stays visible.
    """
    top, left = i * scale, j * scale
    bottom, right = top + scale, left + scale
    w = min(width, max(1, scale // 4))
    color = np.asarray(color, dtype=np.uint8)[: picture.shape[2]]
    picture[top : top + w, left:right] = color
    picture[bottom - w : bottom, left:right] = color
    picture[top:bottom, left : left + w] = color
    picture[top:bottom, right - w : right] = color


def gap_for(scale: int) -> int:
    """Transparent gap between samples side by side: one and a half model pixels."""
    return max(2, 3 * scale // 2)


def side_by_side(pictures: list[np.ndarray], gap: int) -> np.ndarray:
    """Equal-sized ``[h, w, 3]`` pictures in a row, separated by transparent gaps: ``uint8 [h, W, 4]``."""
    h, w, _ = pictures[0].shape
    strip = np.zeros((h, len(pictures) * (w + gap) - gap, 4), dtype=np.uint8)
    for k, picture in enumerate(pictures):
        x = k * (w + gap)
        strip[:, x : x + w, :3] = picture[..., :3]
        strip[:, x : x + w, 3] = 255
    return strip


def strip_scale(image_shape, count: int) -> int:
    """Zoom for :func:`side_by_side` of ``count`` images: the strip fills about :data:`STRIP_BOX`.

    The strip is drawn at the size it is shown at: gradio maps clicks on an image assuming
    the browser never enlarges it.
    """
    _, h, w = image_shape
    box_w, box_h = STRIP_BOX
    return max(1, min(box_h // h, int(box_w / (count * w + 1.5 * (count - 1)))))


def locate(x: int, y: int, image_shape, count: int, scale: int) -> tuple[int, int, int] | None:
    """Point ``(x, y)`` on a :func:`side_by_side` strip of ``count`` images zoomed by ``scale`` -> ``(sample, i, j)``.

    ``None`` when the point lies in a gap or outside the strip.
    """
    _, h, w = image_shape
    gap = gap_for(scale)
    width = w * scale
    sample, offset = divmod(int(x), width + gap)
    i, j = int(y) // scale, offset // scale
    if not 0 <= sample < count or offset >= width or not 0 <= i < h:
        return None
    return sample, i, j
