"""What a :class:`~app.live.LiveGeneration` looks like: the samples side by side, and a status line."""

from __future__ import annotations

import numpy as np

from pixelrnn.pictures import to_uint8

from .images import gap_for, hatch, outline, side_by_side, strip_scale, upscale
from .live import LiveGeneration
from .plots import CHANNELS, distribution_data

#: Frame around the pixel just generated, and around a pixel the user clicked.
CURRENT = (255, 59, 48)
SELECTED = (34, 211, 238)


def samples_picture(run: LiveGeneration, selected: tuple[int, int, int] | None = None) -> np.ndarray:
    """``uint8 [h, w, 4]``: every sample upscaled, pixels still to generate hatched, the current one framed.

    ``selected`` = ``(sample, i, j)`` frames that pixel of that sample in :data:`SELECTED`.
    """
    scale = strip_scale(run.model.image_shape, run.n)
    pending = upscale((~run.done.all(0) & run.unknown).numpy(), scale)
    image = run.image
    pictures = []
    for k in range(run.n):
        picture = np.where(pending[..., None], hatch(pending.shape), upscale(to_uint8(image[k], run.model.levels), scale))
        if run.position is not None and not run.finished:
            outline(picture, run.position[1], run.position[2], scale, CURRENT)
        if selected is not None and selected[0] == k:
            outline(picture, selected[1], selected[2], scale, SELECTED)
        pictures.append(picture)
    return side_by_side(pictures, gap_for(scale))


def pixel_distribution(run: LiveGeneration, sample: int, c: int, i: int, j: int) -> dict | None:
    """The chart data (:func:`~app.plots.distribution_data`) of sub-pixel ``(c, i, j)`` of ``sample``; ``None`` if not generated."""
    if not run.done[c, i, j]:
        return None
    return distribution_data(run.probs[sample, c, i, j], int(run.image[sample, c, i, j]), run.model.levels)


def pixel_distributions(run: LiveGeneration, sample: int, i: int, j: int) -> list[dict]:
    """The chart data of every colour of pixel ``(i, j)`` of ``sample``; all zero for colours not generated."""
    empty = distribution_data(None, None, run.model.levels)
    return [pixel_distribution(run, sample, c, i, j) or empty for c in range(run.model.colors)]


def pixel_summary(run: LiveGeneration, sample: int, i: int, j: int) -> str:
    """``R 143 (p 0.21) · G 120 (p 0.05) …`` for the generated colours of that pixel."""
    done, image = run.done, run.image
    parts = []
    for c, (name, _) in enumerate(CHANNELS[run.model.colors]):
        if done[c, i, j]:
            value = int(image[sample, c, i, j])
            parts.append(f"{name} **{value}** (p {float(run.probs[sample, c, i, j, value]):.3f})")
    return " · ".join(parts)


def status(run: LiveGeneration, state: str, note: str = "") -> str:
    """Markdown status: what is happening, progress, the current pixel's drawn values (or why it failed), ``note`` below."""
    head = f"**{state}** · {run.count} / {run.total} sub-pixels"
    if run.error is not None:
        head = f"{head} · ⚠ {run.error}"
    elif run.position is not None:
        _, i, j = run.position
        head = f"{head} · pixel ({i}, {j}) of sample 1: {pixel_summary(run, 0, i, j)}"
    return f"{head}\n\n{note}" if note else head
