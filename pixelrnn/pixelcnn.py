"""PixelCNN (paper section 3.3): a stack of masked convolutions.

A 7x7 mask-A convolution, residual blocks of 1x1 -> 3x3 -> 1x1 mask-B convolutions
(the paper's figure 5, left), and the shared output head. Every layer sees only the
pixels above and to the left within its kernel, so the receptive field grows by one
row upward and ``kernel // 2`` columns sideways per layer, and it never covers the
pixels up and to the right beyond that cone: the famous blind spot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Cache, PixelModel
from .layers import MaskedConv2d, OutputHead, conditioned, image_window, pad_like


class ResidualBlock(nn.Module):
    """``x + expand(relu(conv(relu(reduce(relu(x)))) + cond_to_conv(cond)))`` with mask-B convolutions; ``[B, h, H, W]``.

    ``cond_channels > 0`` adds a 1x1 convolution of a conditioning map (a class-conditional
    model's one-hot label map) to the spatial convolution: the map is known everywhere
    before any pixel, so it needs no mask.
    """

    def __init__(self, hidden: int, colors: int, kernel: int, cond_channels: int = 0):
        super().__init__()
        half = max(hidden // 2, colors)
        self.reduce = MaskedConv2d(hidden, half, 1, "B", colors)
        self.conv = MaskedConv2d(half, half, kernel, "B", colors)
        self.cond_to_conv = nn.Conv2d(cond_channels, half, 1) if cond_channels else None
        self.expand = MaskedConv2d(half, hidden, 1, "B", colors)

    def cond_bias(self, cond: torch.Tensor | None) -> torch.Tensor | int:
        """The conditioning's contribution to the spatial convolution, ``[B, half, H, W]`` (0 when unconditioned)."""
        return self.cond_to_conv(cond) if conditioned(self.cond_to_conv, cond) else 0

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        y = self.conv(F.relu(self.reduce(F.relu(x)))) + self.cond_bias(cond)
        return x + self.expand(F.relu(y))


class PixelCNN(PixelModel):
    """PixelCNN with ``layers`` residual blocks of width ``hidden``; ``num_classes > 0``: class-conditional."""

    name = "pixelcnn"

    def __init__(
        self,
        image_shape,
        levels,
        hidden: int = 64,
        layers: int = 6,
        out_hidden: int = 128,
        kernel: int = 3,
        num_classes: int = 0,
    ):
        self.check_sizes(hidden=hidden, layers=layers, out_hidden=out_hidden)
        self.check_kernel(kernel)
        super().__init__(image_shape, levels, num_classes)
        c = self.colors
        self.input_conv = MaskedConv2d(c, hidden, 7, "A", c)
        self.blocks = nn.ModuleList(ResidualBlock(hidden, c, kernel, num_classes) for _ in range(layers))
        self.head = OutputHead(hidden, out_hidden, c, levels)

    def network(self, x, cond=None):
        features = self.input_conv(x)
        for block in self.blocks:
            features = block(features, cond)
        return self.head(features)

    def new_cache(self, batch, cond=None):
        return PixelCNNCache(self, batch, cond)


class PixelCNNCache(Cache):
    """Per layer, the zero-padded input of its spatial convolution; a pixel computes each layer once per colour.

    This is the idea of Fast PixelCNN++ (Ramachandran et al. 2017) at pixel granularity:
    each layer's output at ``(i, j)`` needs only that layer's inputs in a window ending at
    ``(i, j)``, which earlier steps have already stored. Of that window, only the centre
    changes between the colours of a pixel, so each spatial conv's other taps are
    summed once per pixel (``around``) and a colour adds just the centre tap.
    """

    def __init__(self, model: PixelCNN, batch: int, cond: torch.Tensor | None):
        super().__init__(model, batch)
        c, h, w = model.image_shape
        # Looked up once: at one pixel a step is a few dozen tiny matrix products, so Python's
        # attribute lookups would cost as much as the arithmetic.
        self.input_conv = self.conv(model.input_conv)
        self.blocks = [(self.conv(b.reduce), self.conv(b.conv), self.conv(b.expand)) for b in model.blocks]
        self.conv_inputs = [pad_like(b.conv, self.zeros(b.conv.in_channels, h, w)) for b in model.blocks]
        with torch.no_grad():
            self.cond_biases = [b.cond_bias(cond) for b in model.blocks] if model.num_classes else []
        self.last_color = c - 1
        self.pixel = None

    def step(self, x, i, j, color):
        m = self.model
        if self.pixel != (i, j):  # a new pixel: everything before it is final
            self.pixel = (i, j)
            self.input_around = self.input_conv.around(image_window(x, m.embed, i, j, self.input_conv.padding), 0, 0)
            self.arounds = [conv.around(buffer, i, j) for (_, conv, _), buffer in zip(self.blocks, self.conv_inputs)]
            if self.cond_biases:  # the conditioning is the same for every colour: part of what surrounds the centre
                self.arounds = [around + bias[:, :, i, j] for around, bias in zip(self.arounds, self.cond_biases)]
        features = self.input_conv.centre(m.embed(x[:, :, i, j]), self.input_around)
        for (reduce, conv, expand), buffer, around in zip(self.blocks, self.conv_inputs, self.arounds):
            centre = reduce(torch.relu(features)).relu_()
            if color == self.last_color:  # later pixels read the centre only in its final form
                ph, pw = conv.padding
                buffer[:, :, i + ph, j + pw] = centre
            features = features + expand(conv.centre(centre, around).relu_())
        return self.head(features, color)
