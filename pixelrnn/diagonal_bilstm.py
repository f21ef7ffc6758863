"""Diagonal BiLSTM (paper section 3.2): an LSTM along diagonals, in two directions.

One direction: skew the input (row ``i`` shifted right by ``i``), so that each column of
the skewed map is a diagonal of the image. Walk the diagonals left to right; at each one the
gates come from a 1x1 input-to-state convolution and a 2x1 convolution over the previous
column's hidden state. In image coordinates the state at ``(i, j)`` reads the states at
``(i - 1, j)`` (above) and ``(i, j - 1)`` (left), and so, recursively, every pixel above
and to the left of it.

The second direction is the same on the mirrored image: its state at ``(i, j)`` sees every
pixel above and to the right, *including the rest of row i*. Shifting its output down one
row before adding it to the first direction's removes that future, and leaves a context
that is every pixel before ``(i, j)`` in raster order: no blind spot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Cache, PixelModel
from .layers import MaskedConv2d, OutputHead, conditioned, image_window, lines_to_maps, maps_to_lines, skew, unskew
from .lstm import lstm_scan, lstm_update


class DiagonalLSTM(nn.Module):
    """The kernels of one direction; :class:`DiagonalBiLSTMLayer` runs both directions at once."""

    def __init__(self, hidden: int, colors: int):
        super().__init__()
        self.input_to_state = MaskedConv2d(hidden, 4 * hidden, 1, "B", colors, out_chunks=4)
        # Kernel tap 0 reads the previous diagonal's state one row up (the pixel above),
        # tap 1 the same row (the pixel to the left). Both are in the past: no mask.
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 2)


class DiagonalBiLSTMLayer(nn.Module):
    """Both directions and a residual connection: ``[B, h, H, W] -> [B, h, H, W]``."""

    def __init__(self, hidden: int, colors: int, cond_channels: int = 0):
        super().__init__()
        self.hidden = hidden
        self.forward_dir = DiagonalLSTM(hidden, colors)
        self.backward_dir = DiagonalLSTM(hidden, colors)
        self.cond_to_state = nn.Conv2d(cond_channels, 8 * hidden, 1) if cond_channels else None
        self.output = MaskedConv2d(hidden, hidden, 1, "B", colors)

    def cond_gates(self, cond: torch.Tensor | None) -> tuple[torch.Tensor | int, torch.Tensor | int]:
        """The conditioning's gate biases for the two directions (0 when unconditioned)."""
        if not conditioned(self.cond_to_state, cond):
            return 0, 0
        forward_bias, backward_bias = self.cond_to_state(cond).chunk(2, dim=1)
        return forward_bias, backward_bias

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None, backward_x: torch.Tensor | None = None) -> torch.Tensor:
        """``backward_x``: what the backward direction reads instead of ``x`` (see :class:`DiagonalBiLSTM`)."""
        b, _, h, w = x.shape
        directions = (self.forward_dir, self.backward_dir)
        # The backward direction is the forward one on the mirrored image.
        backward_in = x if backward_x is None else backward_x
        inputs = torch.stack([x, backward_in.flip(-1)])
        # The 1x1 input-to-state convolutions as one matrix per direction, [2, 4h, channels]:
        # the scan applies them, with the state-to-state kernels, one step at a time.
        weight_in = torch.stack([d.input_to_state.masked_weight() for d in directions])[..., 0, 0]
        bias = torch.stack([d.input_to_state.bias + d.state_to_state.bias for d in directions])
        if conditioned(self.cond_to_state, cond):
            inputs = torch.cat([inputs, torch.stack([cond, cond.flip(-1)])], dim=2)
            weight_in = torch.cat([weight_in, self.cond_to_state.weight[..., 0, 0].view(2, 4 * self.hidden, -1)], dim=2)
            bias = bias + self.cond_to_state.bias.view(2, -1)
        # One step per diagonal, the H positions of a diagonal are the LSTM's line:
        # [2, W + H - 1, H, B, channels].
        lines = skew(maps_to_lines(inputs))
        # Diagonal t holds the pixels (i, t - i) with max(0, t - W + 1) <= i <= min(t, H - 1).
        # Positions off the image keep a zero state, so that the border of the image looks the
        # same here as in the pixel-by-pixel cache.
        on_image = [(max(0, t - w + 1), min(t + 1, h)) for t in range(w + h - 1)]
        weight = torch.stack([d.state_to_state.weight for d in directions])
        states = lstm_scan(lines, weight_in, weight, bias, padding=(1, 0), spans=on_image)
        forward_states, backward_states = lines_to_maps(unskew(states))
        # Row i - 1's right-to-left states are in the past for every pixel of row i.
        backward_from_above = F.pad(backward_states.flip(-1), (0, 0, 1, 0))[:, :, :-1]
        return x + self.output(forward_states + backward_from_above)


class DiagonalBiLSTM(PixelModel):
    """7x7 mask-A convolution, ``layers`` Diagonal BiLSTM layers of ``hidden`` units, output head.

    The first layer's backward direction also reads each pixel itself through a 1x1
    convolution (``pixel_to_backward``). That is causal, because the backward direction
    only reaches the next row, and it is needed for a truly full context: the mask-A input
    convolution hides a row's last sub-pixel from every feature of that row, so without it
    the pixels of the next row beyond the 7x7 kernel's reach would never see it.
    """

    name = "diagonal_bilstm"

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
        self.pixel_to_backward = nn.Conv2d(c, hidden, 1)
        self.layers = nn.ModuleList(DiagonalBiLSTMLayer(hidden, c, cond_channels) for _ in range(layers))
        self.head = OutputHead(hidden, out_hidden, c, levels)

    def network(self, x, cond=None):
        features = self.input_conv(x)
        backward_x = features + self.pixel_to_backward(x)
        for layer in self.layers:
            features = layer(features, cond, backward_x)
            backward_x = None
        return self.head(features)

    def new_cache(self, batch, cond=None):
        return DiagonalBiLSTMCache(self, batch, cond)


class DiagonalBiLSTMCache(Cache):
    """Forward direction pixel by pixel; backward direction one whole row at a time.

    Per layer it keeps the layer's input, the forward direction's hidden and cell states,
    and the backward direction's hidden states. The backward direction of row ``i`` runs
    right to left, so it can only start once row ``i`` is complete; nothing in row ``i``
    needs it (it enters shifted down a row), so it runs when row ``i + 1`` begins.
    """

    def __init__(self, model: DiagonalBiLSTM, batch: int, cond: torch.Tensor | None):
        super().__init__(model, batch)
        c, h, w = model.image_shape
        hid = model.layers[0].hidden if model.layers else 0
        self.inputs = [self.zeros(hid, h, w) for _ in model.layers]
        # Forward states of pixel (i, j) live at [i + 1, j + 1]: a zero row above, a zero column left.
        self.forward_hidden = [self.zeros(hid, h + 1, w + 1) for _ in model.layers]
        self.forward_cell = [self.zeros(hid, h, w + 1) for _ in model.layers]
        # Backward hidden states of pixel (i, j) live at [i + 1, j]: row 0 is the zero state
        # above the image, which is also what row 0 of the image receives from above.
        self.backward_hidden = [self.zeros(hid, h + 1, w) for _ in model.layers]
        with torch.no_grad():
            self.cond_gates = [layer.cond_gates(cond) for layer in model.layers]

    def step(self, x, i, j, color):
        m, conv = self.model, self.conv
        self.finish_rows_before(x, i)
        features = conv(m.input_conv).at(image_window(x, m.embed, i, j, m.input_conv.padding), 0, 0)
        for n, layer in enumerate(m.layers):
            self.inputs[n][:, :, i, j] = features
            direction = layer.forward_dir
            hidden, cell = self.forward_hidden[n], self.forward_cell[n]
            neighbours = torch.stack([hidden[:, :, i, j + 1], hidden[:, :, i + 1, j]], dim=-1)
            gates = conv(direction.input_to_state)(features) + conv(direction.state_to_state)(neighbours.flatten(1))
            forward_bias = self.cond_gates[n][0]
            if torch.is_tensor(forward_bias):
                gates = gates + forward_bias[:, :, i, j]
            h, c = lstm_update(gates, cell[:, :, i, j])
            hidden[:, :, i + 1, j + 1] = h
            cell[:, :, i, j + 1] = c
            features = features + conv(layer.output)(h + self.backward_hidden[n][:, :, i, j])
        return self.head(features, color)

    def finish_row(self, x: torch.Tensor, i: int) -> None:
        """Run every layer's backward direction along the completed row ``i``, right to left."""
        m = self.model
        for n, layer in enumerate(m.layers):
            direction = layer.backward_dir
            row = self.inputs[n][:, :, i]  # [B, h, W]
            if n == 0:
                row = row + m.pixel_to_backward(m.embed(x[:, :, i : i + 1]))[:, :, 0]
            gates_in = direction.input_to_state(row[:, :, None])[:, :, 0]
            backward_bias = self.cond_gates[n][1]
            if torch.is_tensor(backward_bias):
                gates_in = gates_in + backward_bias[:, :, i]
            above_weight, right_weight = direction.state_to_state.weight.unbind(-1)
            # The state above is known for the whole row: apply its half of the kernel at once.
            gates_in = gates_in + torch.einsum("oc,bcw->bow", above_weight, self.backward_hidden[n][:, :, i])
            gates_in = gates_in + direction.state_to_state.bias[:, None]
            w = row.shape[-1]
            hidden = row.new_zeros(row.shape[:2])
            cell = row.new_zeros(row.shape[:2])
            for j in reversed(range(w)):
                hidden, cell = lstm_update(gates_in[:, :, j] + hidden @ right_weight.T, cell)
                self.backward_hidden[n][:, :, i + 1, j] = hidden
