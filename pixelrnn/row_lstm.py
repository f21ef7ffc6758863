"""Row LSTM (paper section 3.1): an LSTM that runs down the image one row at a time.

Each layer computes the gates of a whole row at once from

* input-to-state: a 1x3 mask-B convolution over the layer's input along the current row
  (the pixel to the left and the pixel itself, colour-masked), and
* state-to-state: a width-3 convolution over the previous row's hidden state.

So the state at ``(i, j)`` sees ``(i - 1, j - 1 .. j + 1)``, which see one more column on
each side in the row above them, and so on: a triangle above the pixel. Pixels to the left
in the current row are seen only through the input-to-state kernel (one per layer, plus
the 7x7 mask-A input convolution), which is why the context is triangular, not full.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Cache, PixelModel
from .layers import MaskedConv2d, OutputHead, conditioned, image_window, lines_to_maps, maps_to_lines, pad_like
from .lstm import lstm_scan, lstm_update


class RowLSTMLayer(nn.Module):
    """One Row LSTM layer with a residual connection: ``[B, h, H, W] -> [B, h, H, W]``.

    ``cond_channels > 0`` adds a 1x1 convolution of a conditioning map to the input-to-state
    gates (the multi-scale model's biasing, paper section 3.5).
    """

    def __init__(self, hidden: int, colors: int, cond_channels: int = 0):
        super().__init__()
        self.hidden = hidden
        self.input_to_state = MaskedConv2d(hidden, 4 * hidden, (1, 3), "B", colors, out_chunks=4)
        # The previous row is entirely in the past, in every colour: no mask needed.
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 3, padding=1)
        self.cond_to_state = nn.Conv2d(cond_channels, 4 * hidden, 1) if cond_channels else None
        self.output = MaskedConv2d(hidden, hidden, 1, "B", colors)

    def cond_gates(self, cond: torch.Tensor | None) -> torch.Tensor | int:
        """The conditioning's contribution to the gates, ``[B, 4h, H, W]`` (0 when unconditioned)."""
        return self.cond_to_state(cond) if conditioned(self.cond_to_state, cond) else 0

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        # One step per row; a row's W positions are the LSTM's line: [H, W, B, h]. The layout
        # change happens here, on the layer's input, rather than on the four times larger gates.
        lines = maps_to_lines(x)
        # The 1x3 mask-B input-to-state convolution reads the pixel to the left and the pixel
        # itself (its right tap is masked out): one matrix over both, tap-major.
        conv = self.input_to_state
        weight_in = conv.masked_weight()[:, :, 0, :2].permute(0, 2, 1).flatten(1)
        windows = [F.pad(lines, (0, 0, 0, 0, 1, 0))[:, :-1], lines]
        bias = conv.bias + self.state_to_state.bias
        if conditioned(self.cond_to_state, cond):
            windows.append(maps_to_lines(cond))
            weight_in = torch.cat([weight_in, self.cond_to_state.weight[..., 0, 0]], dim=1)
            bias = bias + self.cond_to_state.bias
        inputs = torch.cat(windows, dim=-1)[None]
        row_states = lstm_scan(inputs, weight_in[None], self.state_to_state.weight[None], bias[None], padding=(1, 1))
        return x + self.output(lines_to_maps(row_states[0]))


class RowLSTM(PixelModel):
    """7x7 mask-A convolution, ``layers`` Row LSTM layers of ``hidden`` units, output head."""

    name = "row_lstm"

    def __init__(
        self,
        image_shape,
        levels,
        hidden: int = 32,
        layers: int = 4,
        out_hidden: int = 128,
        cond_channels: int = 0,
        num_classes: int = 0,
    ):
        self.check_sizes(hidden=hidden, layers=layers, out_hidden=out_hidden)
        self.check_sizes(0, cond_channels=cond_channels)
        super().__init__(image_shape, levels, num_classes)
        # The conditioning map: the multi-scale model's ``cond_channels``, then the one-hot label.
        cond_channels += num_classes
        c = self.colors
        self.input_conv = MaskedConv2d(c, hidden, 7, "A", c)
        self.layers = nn.ModuleList(RowLSTMLayer(hidden, c, cond_channels) for _ in range(layers))
        self.head = OutputHead(hidden, out_hidden, c, levels)

    def network(self, x, cond=None):
        features = self.input_conv(x)
        for layer in self.layers:
            features = layer(features, cond)
        return self.head(features)

    def new_cache(self, batch, cond=None):
        return RowLSTMCache(self, batch, cond)


class RowLSTMCache(Cache):
    """Per layer: its padded input, and the hidden and cell states of every pixel so far.

    A pixel needs, per layer, two input pixels of its own row and three hidden states of
    the previous row, all stored already.
    """

    def __init__(self, model: RowLSTM, batch: int, cond: torch.Tensor | None):
        super().__init__(model, batch)
        c, h, w = model.image_shape
        hid = model.layers[0].hidden if model.layers else 0
        self.inputs = [pad_like(layer.input_to_state, self.zeros(hid, h, w)) for layer in model.layers]
        # Row 0 of these holds the zero state "above" the image; pixel (i, j) lives at
        # row i + 1, and the hidden states have a zero column on either side.
        self.hiddens = [self.zeros(hid, h + 1, w + 2) for _ in model.layers]
        self.cells = [self.zeros(hid, h + 1, w) for _ in model.layers]
        with torch.no_grad():
            self.cond_gates = [layer.cond_gates(cond) for layer in model.layers]

    def step(self, x, i, j, color):
        m, conv = self.model, self.conv
        features = conv(m.input_conv).at(image_window(x, m.embed, i, j, m.input_conv.padding), 0, 0)
        for layer, inputs, hidden, cell, cond_gates in zip(m.layers, self.inputs, self.hiddens, self.cells, self.cond_gates):
            inputs[:, :, i, j + 1] = features
            gates = conv(layer.input_to_state).at(inputs, i, j) + conv(layer.state_to_state)(
                hidden[:, :, i, j : j + 3].flatten(1)
            )
            if torch.is_tensor(cond_gates):
                gates = gates + cond_gates[:, :, i, j]
            h, c = lstm_update(gates, cell[:, :, i, j])
            hidden[:, :, i + 1, j + 1] = h
            cell[:, :, i + 1, j] = c
            features = features + conv(layer.output)(h)
        return self.head(features, color)
