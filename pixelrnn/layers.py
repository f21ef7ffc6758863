"""Layers shared by every model: masked convolutions, skewing and the LSTM update.

Conventions used throughout the package:

* Feature maps are ``[B, channels, H, W]``.
* Every feature map is split into ``colors`` groups (1 for greyscale, 3 for R, G, B;
  the paper's section 3.4). Channel ``k`` of an ``n``-channel map laid out as ``chunks``
  equal chunks (the four gates of an LSTM, the two halves of a gated unit) belongs to
  colour ``(k % (n // chunks)) * colors // (n // chunks)``. Features of colour ``g`` at
  pixel ``(i, j)`` may depend on sub-pixels before ``(i, j)`` in raster order and on
  colours ``< g`` of pixel ``(i, j)`` itself: that is what the masks enforce.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def channel_colors(n: int, colors: int, chunks: int = 1) -> torch.Tensor:
    """Colour group of each of ``n`` channels laid out as ``chunks`` equal chunks: ``LongTensor[n]``."""
    per_chunk = n // chunks
    return (torch.arange(n) % per_chunk) * colors // per_chunk


def causal_mask(
    out_channels: int,
    in_channels: int,
    kernel_size: tuple[int, int],
    mask_type: str,
    colors: int,
    out_chunks: int = 1,
    in_chunks: int = 1,
) -> torch.Tensor:
    """The ``[out, in, kh, kw]`` 0/1 mask of a raster-order causal convolution.

    The kernel's centre ``(kh // 2, kw // 2)`` is the pixel being computed. Rows above
    the centre and the pixels left of it on the centre row are visible in every channel.
    At the centre, mask ``'A'`` lets colour ``g`` see input colours ``< g`` (first layer:
    a sub-pixel must not see itself) and mask ``'B'`` colours ``<= g`` (later layers,
    whose colour-``g`` features are already causal for sub-pixel ``g``).
    """
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    kh, kw = kernel_size
    ch, cw = kh // 2, kw // 2
    mask = torch.zeros(out_channels, in_channels, kh, kw)
    mask[:, :, :ch, :] = 1
    mask[:, :, ch, :cw] = 1
    out_color = channel_colors(out_channels, colors, out_chunks)[:, None]
    in_color = channel_colors(in_channels, colors, in_chunks)[None, :]
    centre = out_color > in_color if mask_type == "A" else out_color >= in_color
    mask[:, :, ch, cw] = centre.float()
    return mask


class MaskedConv2d(nn.Conv2d):
    """A 'same'-padded convolution whose weights are multiplied by :func:`causal_mask`.

    Besides the usual full-map ``forward``, :meth:`at` computes the output at a single
    pixel from a zero-padded input buffer, which is what cached sampling needs.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        mask_type: str,
        colors: int,
        out_chunks: int = 1,
        in_chunks: int = 1,
    ):
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        super().__init__(in_channels, out_channels, (kh, kw), padding=(kh // 2, kw // 2))
        mask = causal_mask(out_channels, in_channels, (kh, kw), mask_type, colors, out_chunks, in_chunks)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelConv:
    """A convolution prepared for evaluation at one pixel at a time, as sampling caches need it.

    The mask is applied and the kernel flattened and transposed once, when the cache is made
    (the weights do not change while sampling), so that each pixel costs a single matrix
    product. A spatial masked conv is also kept split into its centre tap and the rest:
    of a pixel's inputs, only the centre changes from one colour of the pixel to the next.
    """

    def __init__(self, conv: nn.Conv1d | nn.Conv2d):
        weight = conv.weight.detach()
        self.padding = conv.padding
        self.bias = conv.bias.detach()
        if isinstance(conv, MaskedConv2d):
            # Rows below the centre are masked out: drop them from the window altogether.
            ph, pw = conv.padding
            weight = (weight * conv.mask)[:, :, : ph + 1]
            around = weight.clone()
            around[:, :, ph, pw] = 0
            self.around_t = around.flatten(1).t().contiguous()
            self.centre_t = weight[:, :, ph, pw].t().contiguous()
        # addmm with a transposed copy is F.linear without its per-call transpose.
        self.weight_t = weight.flatten(1).t().contiguous()

    def __call__(self, window: torch.Tensor) -> torch.Tensor:
        """``[B, in * taps]`` (or ``[B, in]`` for a 1x1 conv) -> ``[B, out]``."""
        return torch.addmm(self.bias, window, self.weight_t)

    def window(self, padded: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """The flattened window ``[B, in * taps]`` that a masked conv reads at ``(i, j)``.

        ``padded`` is the input map zero-padded by ``padding`` on every side,
        ``[B, in, H + 2*ph, W + 2*pw]``. Only rows up to ``i`` are read.
        """
        ph, pw = self.padding
        return padded[:, :, i : i + ph + 1, j : j + 2 * pw + 1].flatten(1)

    def at(self, padded: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """Output ``[B, out]`` at pixel ``(i, j)`` of a masked conv; ``padded`` as for :meth:`window`."""
        return self(self.window(padded, i, j))

    def around(self, padded: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """What every tap but the centre adds to the output at ``(i, j)``, bias included: ``[B, out]``."""
        return torch.addmm(self.bias, self.window(padded, i, j), self.around_t)

    def centre(self, x: torch.Tensor, around: torch.Tensor) -> torch.Tensor:
        """The output ``[B, out]`` given the centre pixel's input ``x`` ``[B, in]`` and :meth:`around`."""
        return torch.addmm(around, x, self.centre_t)


def pad_like(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``x`` zero-padded for ``conv.at``: ``[B, C, H + 2*ph, W + 2*pw]``."""
    ph, pw = conv.padding
    return F.pad(x, (pw, pw, ph, ph))


def image_window(x: torch.Tensor, embed, i: int, j: int, padding: tuple[int, int]) -> torch.Tensor:
    """The zero-padded window of ``embed(x)`` that a causal conv with ``padding`` reads at ``(i, j)``.

    ``x``: ``LongTensor[B, C, H, W]``; returns ``[B, C, ph + 1, 2 * pw + 1]``, for ``PixelConv.at(window, 0, 0)``.
    Caches read the image through this rather than keeping a copy of it: the image gains
    its last colour at ``(i, j)`` only after the last step of that pixel.
    """
    ph, pw = padding
    h, w = x.shape[-2:]
    top, left, right = max(i - ph, 0), max(j - pw, 0), min(j + pw + 1, w)
    patch = embed(x[:, :, top : i + 1, left:right])
    return F.pad(patch, (left - (j - pw), j + pw + 1 - right, top - (i - ph), 0))


def skew(x: torch.Tensor) -> torch.Tensor:
    """Shift row ``i`` right by ``i``: ``[B, C, H, W] -> [B, C, H, W + H - 1]``.

    Column ``k`` of the result is the diagonal ``{(i, k - i)}`` of the input, so a
    recurrence over columns of the skewed map is a recurrence over diagonals.
    Positions outside the image are zero.
    """
    b, c, h, w = x.shape
    # With rows of length W + H laid end to end and re-cut into rows of length
    # W + H - 1, each row starts one element later than the one before it.
    flat = F.pad(x, (0, h)).flatten(2)[:, :, : h * (w + h - 1)]
    return flat.view(b, c, h, w + h - 1)


def unskew(x: torch.Tensor, width: int) -> torch.Tensor:
    """Inverse of :func:`skew`: ``[B, C, H, W + H - 1] -> [B, C, H, W]``."""
    b, c, h, _ = x.shape
    flat = F.pad(x.flatten(2), (0, h))
    return flat.view(b, c, h, width + h)[:, :, :, :width]


def lstm_update(gates: torch.Tensor, cell: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step from pre-activations, channels last.

    ``gates``: ``[..., 4h]``, the chunks (output, forget, input, content);
    ``cell``: ``[..., h]``, the previous cell state. Returns ``(hidden, cell)``.
    """
    h = cell.shape[-1]
    o, f, i = torch.sigmoid(gates[..., : 3 * h]).chunk(3, dim=-1)
    cell = f * cell + i * torch.tanh(gates[..., 3 * h :])
    return o * torch.tanh(cell), cell


def taps_as_matrix(conv: nn.Conv1d) -> torch.Tensor:
    """A ``Conv1d`` kernel ``[out, in, taps]`` as ``[out, taps * in]``, tap-major.

    The recurrences apply their state-to-state kernels as one matrix product over the
    neighbouring states concatenated along the channels, which is much faster than a
    convolution call per step on a CPU.
    """
    return torch.cat(conv.weight.unbind(-1), dim=1)


class OutputHead(nn.Module):
    """ReLU, 1x1 mask-B conv, ReLU, 1x1 mask-B conv to ``colors * levels`` logits.

    The logits come out colour-major: channels ``[c * levels, (c + 1) * levels)`` are the
    softmax of colour ``c``, so colour ``c``'s logits see colours ``<= c`` of the features
    (which themselves see colours ``< c`` of the current pixel).
    """

    def __init__(self, hidden: int, out_hidden: int, colors: int, levels: int):
        super().__init__()
        self.hidden = MaskedConv2d(hidden, out_hidden, 1, "B", colors)
        self.logits = MaskedConv2d(out_hidden, colors * levels, 1, "B", colors)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``[B, hidden, H, W] -> [B, colors * levels, H, W]``."""
        return self.logits(F.relu(self.hidden(F.relu(features))))
