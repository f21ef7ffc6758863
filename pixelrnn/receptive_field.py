"""Which inputs a conditional actually depends on, read off the real model by gradients."""

from __future__ import annotations

import torch


def receptive_field(model, c: int, i: int, j: int, trials: int = 2, seed: int = 0, label: int | None = None) -> torch.Tensor:
    """``BoolTensor[C, H, W]``: the sub-pixels that the logits of sub-pixel ``(c, i, j)`` depend on (given the
    class ``label`` for a class-conditional model, class 0 by default: the label is no pixel, and the
    field is the same for every class).

    The gradient of a random projection of those logits with respect to the (embedded)
    input image, at ``trials`` random images; a sub-pixel is in the field when any gradient
    is non-zero. This shows the blind spot of PixelCNN and the triangle of the Row LSTM as
    the trained (or untrained) network has them, not as a drawing.
    """
    channels, h, w = model.image_shape
    if not (0 <= c < channels and 0 <= i < h and 0 <= j < w):
        raise ValueError(f"position (c={c}, i={i}, j={j}) is outside the image shape {model.image_shape}")
    generator = torch.Generator().manual_seed(seed)
    field = torch.zeros(channels, h, w, dtype=torch.bool)
    if model.num_classes and label is None:
        label = 0
    cond = model.label_map(model.check_label(label, 1))
    for _ in range(trials):
        x = torch.randint(0, model.levels, (1, channels, h, w), generator=generator)
        embedded = model.embed(x.to(model.device)).requires_grad_(True)
        logits = model.network(embedded, cond).view(1, channels, model.levels, h, w)
        projection = torch.randn(model.levels, generator=generator).to(model.device)
        (logits[0, c, :, i, j] * projection).sum().backward()
        field |= embedded.grad[0].cpu() != 0
    return field
