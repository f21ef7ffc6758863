"""The occlusion editor: an upscaled image as background, the user's brush strokes as the hole, or as pixels drawn in.

``gr.ImageEditor(type="numpy", image_mode="RGBA")`` hands over a dict with ``background``
(``uint8 [h, w, 4]``), ``layers`` (a list of ``[h, w, 4]``: the strokes) and ``composite``.
The brush has two modes. :data:`HOLE`: painted = unknown, a model pixel is to be generated when
strokes cover at least :data:`COVERAGE` of its area. :data:`DRAW`: a model pixel that strokes cover
as much becomes known, of the strokes' colour there (quantised to the model's levels), and the model
fills in either every pixel not drawn (:data:`UNDRAWN`) or the rows below the last drawn one
(:data:`BELOW`, the image above kept).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageOps

from pixelrnn.pictures import to_uint8

from .images import display_scale, to_model_image, upscale

#: Fraction of a model pixel that strokes must cover for it to count as occluded (or drawn).
COVERAGE = 0.25
#: The hole brush: one translucent colour, so the user sees what they cover.
BRUSH_COLOR = ("#ff2d55", 0.75)
#: The brush modes: strokes mark the hole, or strokes are pixels drawn in.
HOLE, DRAW = "hole", "draw"
BRUSHES = [("Hole", HOLE), ("Draw", DRAW)]
#: What the model fills in around a drawing: every pixel not drawn, or the rows below the last drawn one.
UNDRAWN, BELOW = "undrawn", "below"
FILLS = [("Everything not drawn", UNDRAWN), ("Below the last drawn row", BELOW)]
#: The draw brush's colours for a greyscale model and for an RGB one (any other colour can be picked too).
DRAW_COLORS = {
    1: ["#ffffff", "#c0c0c0", "#808080", "#404040", "#000000"],
    3: ["#ffffff", "#000000", "#ff0000", "#00c000", "#0050ff", "#ffd000"],
}


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


def read_editor(
    value: dict | None, image_shape, levels: int, brush: str = HOLE, fill: str = UNDRAWN
) -> tuple[torch.Tensor, torch.Tensor]:
    """Editor value -> (image ``LongTensor[C, H, W]``, mask ``BoolTensor[H, W]``, True = to generate).

    ``brush``: what the strokes are, :data:`HOLE` or :data:`DRAW` (then ``fill`` says what the model
    fills in: :data:`UNDRAWN` or :data:`BELOW`); the image has the drawn pixels in.
    """
    if value is None or value.get("background") is None:
        raise ValueError("There is no image in the editor: pick one from the gallery, upload one, or press Blank.")
    background = np.asarray(value["background"])
    image = to_model_image(background, image_shape, levels)
    strokes = _strokes(value.get("layers") or [], background.shape[:2])
    _, h, w = image_shape
    fitted = ImageOps.fit(
        Image.fromarray(np.where(strokes[..., 3] > 0, 255, 0).astype(np.uint8), "L"), (w, h), Image.Resampling.BOX
    )
    covered = torch.from_numpy(np.asarray(fitted, dtype=np.float64) / 255.0 >= COVERAGE)
    if brush == HOLE:
        return image, covered
    if brush != DRAW:
        raise ValueError(f"brush must be {HOLE!r} or {DRAW!r}, got {brush!r}")
    # Resizing RGBA, PIL weighs each colour by its alpha: a model pixel gets the strokes' colour, not the background's.
    colours = ImageOps.fit(Image.fromarray(strokes, "RGBA"), (w, h), Image.Resampling.BOX).convert("RGB")
    image[:, covered] = to_model_image(colours, image_shape, levels)[:, covered]
    if fill == UNDRAWN:
        return image, ~covered
    if fill != BELOW:
        raise ValueError(f"fill must be {UNDRAWN!r} or {BELOW!r}, got {fill!r}")
    rows = covered.any(1).nonzero()
    if len(rows) == 0:
        raise ValueError("Nothing is drawn: draw on the image first; the model fills in the rows below your strokes.")
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[int(rows[-1]) + 1 :] = True
    return image, mask


def _strokes(layers: list, size: tuple[int, int]) -> np.ndarray:
    """Every layer of the editor's ``size`` ``(h, w)`` over a transparent canvas, in order: ``uint8 [h, w, 4]``."""
    canvas = Image.new("RGBA", (size[1], size[0]))
    for layer in layers:
        layer = np.asarray(layer)
        if layer.ndim == 3 and layer.shape[2] == 4 and layer.shape[:2] == size:
            canvas = Image.alpha_composite(canvas, Image.fromarray(layer.astype(np.uint8), "RGBA"))
    return np.asarray(canvas)
