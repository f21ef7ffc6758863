"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders").

Two stacks remove PixelCNN's blind spot:

* the vertical stack convolves ``(k // 2 + 1) x k`` windows that end at the current row,
  so it sees a widening rectangle of rows above (and the current row, which is why it is
  only ever read shifted down by one row);
* the horizontal stack convolves ``1 x k`` masked windows of the current row (pixels to the
  left, colour-masked at the pixel itself), and adds the vertical stack's output from the
  row above.

Together a pixel sees every row above it (within the stacks' reach, which grows with
depth) and everything to its left. Both stacks use gated units ``tanh(a) * sigmoid(b)``;
the horizontal stack has residual connections.

A class-conditional model adds ``V^T y`` to the pre-activations of both stacks' gates in
every layer: ``tanh(W_f * x + V_f^T y) * sigmoid(W_g * x + V_g^T y)`` (the paper's equation
4), with ``y`` the one-hot label map and ``V`` a 1x1 convolution of it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Cache, PixelModel
from .layers import MaskedConv2d, OutputHead, conditioned, image_window, pad_like


def gate(x: torch.Tensor) -> torch.Tensor:
    """``tanh(a) * sigmoid(b)`` for the halves ``a, b`` of the channels: ``[B, 2h, ...] -> [B, h, ...]``."""
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One layer of both stacks: ``(v, h) [B, in, H, W] -> (v, h) [B, hidden, H, W]``.

    The first layer (``first=True``) reads the image: its horizontal kernel uses mask A and
    it has no residual connection. ``cond_channels > 0``: the gates of both stacks add a 1x1
    convolution of a conditioning map (``cond_to_gates``, vertical half first).
    """

    def __init__(self, in_channels: int, hidden: int, colors: int, kernel: int, first: bool, cond_channels: int = 0):
        super().__init__()
        self.reach = kernel // 2
        self.vertical = nn.Conv2d(in_channels, 2 * hidden, (self.reach + 1, kernel))
        # The vertical stack's rows are all in the past once shifted down: no colour mask.
        self.vertical_to_horizontal = nn.Conv2d(2 * hidden, 2 * hidden, 1)
        self.horizontal = MaskedConv2d(in_channels, 2 * hidden, (1, kernel), "A" if first else "B", colors, out_chunks=2)
        self.horizontal_out = MaskedConv2d(hidden, hidden, 1, "B", colors)
        self.cond_to_gates = nn.Conv2d(cond_channels, 4 * hidden, 1) if cond_channels else None
        self.residual = not first

    def cond_gates(self, cond: torch.Tensor | None) -> tuple[torch.Tensor | int, torch.Tensor | int]:
        """The conditioning's ``[B, 2h, H, W]`` additions to the vertical and horizontal gates (0, 0 when unconditioned)."""
        if not conditioned(self.cond_to_gates, cond):
            return 0, 0
        vertical, horizontal = self.cond_to_gates(cond).chunk(2, dim=1)
        return vertical, horizontal

    def vertical_pre(self, v: torch.Tensor) -> torch.Tensor:
        """Vertical pre-activations ``[B, 2h, H, W]``: row ``i`` reads rows ``i - reach .. i``."""
        r = self.reach
        return self.vertical(F.pad(v, (r, r, r, 0)))

    def forward(self, v: torch.Tensor, h: torch.Tensor, cond: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        cond_vertical, cond_horizontal = self.cond_gates(cond)
        v_pre = self.vertical_pre(v)
        from_above = F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1]
        h_out = self.horizontal_out(gate(self.horizontal(h) + self.vertical_to_horizontal(from_above) + cond_horizontal))
        return gate(v_pre + cond_vertical), h + h_out if self.residual else h_out


class GatedPixelCNN(PixelModel):
    """A 7-wide first layer, ``layers`` more gated layers of width ``hidden``, output head;
    ``num_classes > 0``: class-conditional."""

    name = "gated_pixelcnn"

    def __init__(
        self,
        image_shape,
        levels,
        hidden: int = 32,
        layers: int = 5,
        out_hidden: int = 128,
        kernel: int = 3,
        num_classes: int = 0,
    ):
        self.check_sizes(hidden=hidden, layers=layers, out_hidden=out_hidden)
        self.check_kernel(kernel)
        super().__init__(image_shape, levels, num_classes)
        c = self.colors
        self.layers = nn.ModuleList(
            [GatedLayer(c, hidden, c, 7, first=True, cond_channels=num_classes)]
            + [GatedLayer(hidden, hidden, c, kernel, first=False, cond_channels=num_classes) for _ in range(layers)]
        )
        self.head = OutputHead(hidden, out_hidden, c, levels)

    def network(self, x, cond=None):
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h, cond)
        return self.head(h)

    def new_cache(self, batch, cond=None):
        return GatedPixelCNNCache(self, batch, cond)


class GatedPixelCNNCache(Cache):
    """Horizontal stack pixel by pixel; vertical stack one whole row at a time.

    The vertical stack of row ``i`` reads row ``i`` in full, so it runs once the row is
    complete (when row ``i + 1`` begins); the horizontal stack needs it only from row
    ``i + 1`` on. Per layer the cache keeps the vertical stack's padded input, the
    horizontal stack's padded input and what the vertical stack hands to each row, and the
    conditioning's additions to both stacks' gates.
    """

    def __init__(self, model: GatedPixelCNN, batch: int, cond: torch.Tensor | None):
        super().__init__(model, batch)
        c, h, w = model.image_shape
        self.vertical_inputs = [
            self.zeros(layer.vertical.in_channels, h + layer.reach, w + 2 * layer.reach) for layer in model.layers
        ]
        # Layer 0 reads the image itself; the others keep their padded input.
        self.horizontal_inputs = [
            pad_like(layer.horizontal, self.zeros(layer.horizontal.in_channels, h, w)) for layer in model.layers[1:]
        ]
        with torch.no_grad():
            self.cond_gates = [layer.cond_gates(cond) for layer in model.layers]
        # Row i: what the vertical stack (from row i - 1; the bias alone at row 0) and the conditioning
        # add to the horizontal stack's gates at row i.
        self.from_above = []
        for layer, (_, cond_horizontal) in zip(model.layers, self.cond_gates):
            v2h = layer.vertical_to_horizontal
            rows = self.zeros(v2h.out_channels, h, w)
            rows[:, :, 0] = v2h.bias.detach()[:, None]
            self.from_above.append(rows + cond_horizontal)

    def step(self, x, i, j, color):
        m, conv = self.model, self.conv
        self.finish_rows_before(x, i)
        h = None
        for n, (layer, from_above) in enumerate(zip(m.layers, self.from_above)):
            if n == 0:
                pre = conv(layer.horizontal).at(image_window(x, m.embed, i, j, layer.horizontal.padding), 0, 0)
            else:
                inputs = self.horizontal_inputs[n - 1]
                inputs[:, :, i, j + layer.horizontal.padding[1]] = h
                pre = conv(layer.horizontal).at(inputs, i, j)
            h_out = conv(layer.horizontal_out)(gate(pre + from_above[:, :, i, j]))
            h = h + h_out if layer.residual else h_out
        return self.head(h, color)

    def finish_row(self, x: torch.Tensor, i: int) -> None:
        """Run the vertical stack over the completed row ``i`` and hand it to row ``i + 1``."""
        v = self.model.embed(x[:, :, i])  # [B, C, W]
        h = x.shape[2]
        for layer, inputs, from_above, (cond_vertical, cond_horizontal) in zip(
            self.model.layers, self.vertical_inputs, self.from_above, self.cond_gates
        ):
            r = layer.reach
            inputs[:, :, i + r, r : r + v.shape[-1]] = v
            v_pre = layer.vertical(inputs[:, :, i : i + r + 1])[:, :, 0]
            if i + 1 < h:
                from_above[:, :, i + 1] = layer.vertical_to_horizontal(v_pre[:, :, None])[:, :, 0]
                if torch.is_tensor(cond_horizontal):
                    from_above[:, :, i + 1] += cond_horizontal[:, :, i + 1]
            v = gate(v_pre + cond_vertical[:, :, i] if torch.is_tensor(cond_vertical) else v_pre)
