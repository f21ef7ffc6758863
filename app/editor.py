"""The occlusion editor: an upscaled image as background, the user's brush strokes as the mask.

``gr.ImageEditor(type="numpy", image_mode="RGBA")`` hands over a dict with ``background``
(``uint8 [h, w, 4]``), ``layers`` (a list of ``[h, w, 4]``: the strokes) and ``composite``.
Painted = unknown: a model pixel is to be generated when strokes cover at least
:data:`COVERAGE` of its area.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageOps

from pixelrnn.pictures import to_uint8

from .images import display_scale, to_model_image, upscale

#: Fraction of a model pixel that strokes must cover for it to count as occluded.
COVERAGE = 0.25
#: The brush: one translucent colour, so the user sees what they cover.
BRUSH_COLOR = ("#ff2d55", 0.75)


def lower_half(image_shape) -> torch.Tensor:
    """The preset hole: ``BoolTensor[H, W]``, True on the lower half of an image ``(C, H, W)``."""
    _, h, w = image_shape
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[h // 2 :] = True
    return mask


def editor_value(image: torch.Tensor, levels: int, mask: torch.Tensor | None = None) -> dict:
    """The editor showing ``LongTensor[C, H, W]`` upscaled, with ``mask`` (bool ``[H, W]``) pre-painted."""
    scale = display_scale(image.shape)
    background = upscale(to_uint8(image, levels), scale)
    layers = []
    if mask is not None and bool(mask.any()):
        painted = upscale(mask.numpy(), scale)
        layer = np.zeros((*painted.shape, 4), dtype=np.uint8)
        layer[painted] = (255, 45, 85, round(255 * BRUSH_COLOR[1]))
        layers.append(layer)
    alpha = np.full((*background.shape[:2], 1), 255, dtype=np.uint8)
    background = np.concatenate([background, alpha], axis=2)
    composite = Image.fromarray(background, "RGBA")
    for layer in layers:
        composite = Image.alpha_composite(composite, Image.fromarray(layer, "RGBA"))
    return {"background": background, "layers": layers, "composite": np.asarray(composite)}


def read_picture(value: dict | None, image_shape, levels: int) -> torch.Tensor:
    """Editor value -> what it shows, strokes included: ``LongTensor[C, H, W]``."""
    if value is None or (value.get("composite") is None and value.get("background") is None):
        raise ValueError("There is no image in the editor: pick one from the gallery or upload one.")
    picture = value["composite"] if value.get("composite") is not None else value["background"]
    return to_model_image(np.asarray(picture), image_shape, levels)


def read_editor(value: dict | None, image_shape, levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Editor value -> (image ``LongTensor[C, H, W]``, mask ``BoolTensor[H, W]``, True = to generate)."""
    if value is None or value.get("background") is None:
        raise ValueError("There is no image in the editor: pick one from the gallery, upload one, or press Blank.")
    background = np.asarray(value["background"])
    image = to_model_image(background, image_shape, levels)
    coverage = np.zeros(background.shape[:2], dtype=np.float64)
    for layer in value.get("layers") or []:
        layer = np.asarray(layer)
        if layer.ndim == 3 and layer.shape[2] == 4 and layer.shape[:2] == background.shape[:2]:
            coverage = np.maximum(coverage, (layer[..., 3] > 0).astype(np.float64))
    _, h, w = image_shape
    fitted = ImageOps.fit(Image.fromarray((coverage * 255).astype(np.uint8), "L"), (w, h), method=Image.Resampling.BOX)
    mask = np.asarray(fitted, dtype=np.float64) / 255.0 >= COVERAGE
    return image, torch.from_numpy(mask)
