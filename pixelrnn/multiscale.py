"""Multi-Scale PixelRNN (paper section 3.5).

The image ``x`` is generated in two stages:

1. the *small image* ``s = x[:, ::f, ::f]`` (every ``f``-th pixel of every ``f``-th row)
   by an unconditional PixelRNN on the small image;
2. every other pixel, in raster order, by a conditional PixelRNN on the full image. The
   small image is upsampled by a small deconvolutional network into a ``cond_channels``
   map the size of the image, and each layer of the conditional network adds a 1x1
   convolution of that map to its input-to-state gates.

Because ``s`` is part of ``x``, ``p(x) = p(s) * prod over the other sub-pixels of
p(x_k | earlier sub-pixels, s)`` exactly. A class-conditional model conditions both networks
on the label: the small one through its one-hot label map, the large one through the label
map beside the upsampled small image. :meth:`forward` returns those factors: at grid
positions the small network's logits, elsewhere the conditional network's. The generation
order is therefore not raster order: grid sub-pixels come first (see
:meth:`generation_order`).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import PixelModel
from .diagonal_bilstm import DiagonalBiLSTM
from .row_lstm import RowLSTM

BASES = {"row_lstm": RowLSTM, "diagonal_bilstm": DiagonalBiLSTM}


class MultiScalePixelRNN(PixelModel):
    """Small unconditional and large conditional PixelRNN of kind ``base``."""

    name = "multiscale"

    def __init__(
        self,
        image_shape,
        levels,
        base: str = "row_lstm",
        factor: int = 2,
        hidden: int = 32,
        layers: int = 3,
        out_hidden: int = 128,
        cond_channels: int = 32,
        num_classes: int = 0,
    ):
        self.check_sizes(factor=factor, hidden=hidden, layers=layers, out_hidden=out_hidden, cond_channels=cond_channels)
        super().__init__(image_shape, levels, num_classes)
        if base not in BASES:
            raise ValueError(f"multiscale base must be one of {sorted(BASES)}, got {base!r}")
        if factor < 2:
            raise ValueError(f"multiscale factor must be at least 2, got {factor}")
        c, h, w = self.image_shape
        self.factor = factor
        small_shape = (c, -(-h // factor), -(-w // factor))
        # Both networks take the label map (if any) as a plain conditioning map, after the upsampled small image.
        sizes = dict(hidden=hidden, layers=layers, out_hidden=out_hidden)
        self.small = BASES[base](small_shape, levels, **sizes, cond_channels=num_classes)
        self.large = BASES[base](self.image_shape, levels, **sizes, cond_channels=cond_channels + num_classes)
        self.upsample = nn.Sequential(
            nn.Conv2d(c, cond_channels, 3, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(cond_channels, cond_channels, factor, stride=factor),
            nn.ReLU(),
            nn.Conv2d(cond_channels, cond_channels, 3, padding=1),
        )

    def on_grid(self) -> torch.Tensor:
        """``BoolTensor[H, W]``: the pixels that form the small image."""
        _, h, w = self.image_shape
        grid = torch.zeros(h, w, dtype=torch.bool)
        grid[:: self.factor, :: self.factor] = True
        return grid

    def condition(self, small: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Embedded small image ``[B, C, h, w]`` (and the label map ``cond`` ``[B, num_classes, H, W]``)
        -> the large network's conditioning map ``[B, cond_channels (+ num_classes), H, W]``."""
        _, h, w = self.image_shape
        upsampled = self.upsample(small)[:, :, :h, :w]
        return upsampled if cond is None else torch.cat([upsampled, cond], dim=1)

    def on_small(self, cond: torch.Tensor | None) -> torch.Tensor | None:
        """The label map ``[B, num_classes, H, W]`` at the small image's pixels (None for None)."""
        return None if cond is None else cond[:, :, :: self.factor, :: self.factor]

    def network(self, x, cond=None):
        f = self.factor
        small = x[:, :, ::f, ::f]
        logits = self.large.network(x, self.condition(small, cond))
        logits[:, :, ::f, ::f] = self.small.network(small, self.on_small(cond))
        return logits

    def generation_order(self) -> torch.Tensor:
        """Grid sub-pixels first (in raster order), then the others (in raster order)."""
        raster = super().generation_order()
        c, h, w = self.image_shape
        key = raster + (~self.on_grid()).long() * (c * h * w)
        rank = torch.empty(c * h * w, dtype=torch.long)
        rank[key.flatten().argsort()] = torch.arange(c * h * w)
        return rank.view(c, h, w)

    def sampling_stages(self, image: torch.Tensor, unknown: torch.Tensor, cond: torch.Tensor | None = None):
        """The small image with its network first, then the rest given it; see :meth:`PixelModel.sampling_stages`."""
        f = self.factor
        small = image[:, :, ::f, ::f]  # a view: sampling it fills the grid of `image`
        yield self.small, self.on_small(cond), small, unknown[::f, ::f], f
        large_cond = self.condition(self.embed(small), cond)
        yield self.large, large_cond, image, unknown & ~self.on_grid().to(unknown.device), 1
