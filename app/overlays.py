"""Pictures of per-pixel numbers: bits heat maps, and receptive fields over an image."""

from __future__ import annotations

import numpy as np
import torch

from pixelrnn.pictures import to_uint8

from .images import display_scale, outline, upscale

#: Anchors of the heat map's colour scale (an inferno-like ramp: black, purple, red, orange, pale yellow).
HEAT_ANCHORS = ((0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164))
#: Receptive field colours: sub-pixels seen, earlier sub-pixels not seen (blind spot), the target.
SEEN = np.array((34, 211, 238))
BLIND = np.array((236, 72, 153))
TARGET = (255, 255, 255)


def heat_colors(steps: int = 256) -> np.ndarray:
    """``uint8 [steps, 3]``: the colour scale, low to high."""
    anchors = np.array(HEAT_ANCHORS, dtype=np.float64)
    where = np.linspace(0, len(anchors) - 1, steps)
    low = np.floor(where).astype(int).clip(0, len(anchors) - 2)
    frac = (where - low)[:, None]
    return np.round(anchors[low] * (1 - frac) + anchors[low + 1] * frac).astype(np.uint8)


def heat_css() -> str:
    """A CSS ``linear-gradient`` of the colour scale, for the legend."""
    stops = ", ".join(f"rgb{tuple(int(v) for v in c)}" for c in HEAT_ANCHORS)
    return f"linear-gradient(to right, {stops})"


def heat_map(values: torch.Tensor, vmax: float) -> np.ndarray:
    """``Tensor[H, W]`` of non-negative numbers -> ``uint8 [H*s, W*s, 3]`` coloured from 0 to ``vmax``, upscaled."""
    colors = heat_colors()
    index = (values.detach().float().cpu().numpy() / max(vmax, 1e-9) * 255).clip(0, 255).astype(int)
    h, w = values.shape
    return upscale(colors[index], display_scale((1, h, w)))


def receptive_overlay(
    image: torch.Tensor, levels: int, field: torch.Tensor, earlier: torch.Tensor, target: tuple[int, int, int]
) -> np.ndarray:
    """The image dimmed, tinted where the model sees it, pink where it could but does not.

    ``image`` ``LongTensor[C, H, W]``; ``field`` and ``earlier`` ``BoolTensor[C, H, W]``: the
    sub-pixels the target's logits depend on, and those before the target in the generation
    order; ``target`` = ``(c, i, j)``. Per pixel the tint is the fraction of its channels.
    """
    scale = display_scale(image.shape)
    base = to_uint8(image, levels).astype(np.float64) * 0.35
    seen = field.float().mean(0).numpy()[..., None]
    blind = (earlier & ~field).float().mean(0).numpy()[..., None]
    tinted = base * (1 - 0.7 * seen - 0.7 * blind) + 0.7 * seen * SEEN + 0.7 * blind * BLIND
    picture = upscale(np.round(tinted).clip(0, 255).astype(np.uint8), scale)
    outline(picture, target[1], target[2], scale, TARGET)
    return picture
