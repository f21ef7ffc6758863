"""Layers shared by every model: masked convolutions, skewing, the output head (the LSTM is in lstm.py).

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

    def masked_weight(self) -> torch.Tensor:
        """The kernel as the convolution applies it, ``[out, in, kh, kw]``: the weights times the mask."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.masked_weight(), self.bias, padding=self.padding)


class PixelConv:
    """A convolution prepared for evaluation at one pixel at a time, as sampling caches need it.

    The mask is applied and the kernel flattened and transposed once, when the cache is made
    (the weights do not change while sampling), so that each pixel costs a single matrix
    product. A spatial masked conv is also kept split into its centre tap and the rest:
    of a pixel's inputs, only the centre changes from one colour of the pixel to the next.
    """

    def __init__(self, conv: nn.Conv1d | nn.Conv2d):
        masked = isinstance(conv, MaskedConv2d)
        weight = (conv.masked_weight() if masked else conv.weight).detach()
        self.padding = conv.padding
        self.bias = conv.bias.detach()
        if masked:
            # Rows below the centre are masked out: drop them from the window altogether.
            ph, pw = conv.padding
            weight = weight[:, :, : ph + 1]
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


def conditioned(cond_to_state: nn.Module | None, cond: torch.Tensor | None) -> bool:
    """Whether a layer with the conditioning convolution ``cond_to_state`` (None: the layer takes
    no conditioning) is to add a conditioning map; a clear error if it needs one and has none."""
    if cond_to_state is None:
        return False
    if cond is None:
        raise ValueError("this layer was built with cond_channels > 0 and needs a conditioning map")
    return True


def maps_to_lines(maps: torch.Tensor) -> torch.Tensor:
    """Feature maps ``[..., B, C, H, W]`` to rows of pixels ``[..., H, W, B, C]``, contiguous: the
    layout of :func:`pixelrnn.lstm.lstm_scan`, whose steps are the rows (or, after :func:`skew`,
    the diagonals) and whose positions hold the batch's channel vectors side by side.

    Moving the channels innermost is a transpose with a long stride that a direct copy does
    slowly on a CPU; going through the channels-last format first (one optimised copy, then
    one that moves whole pixels) is about twice as fast, and so is its backward pass.
    """
    return _WithAdjoint.apply(maps, _to_lines, _to_maps)


def lines_to_maps(lines: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`maps_to_lines`: ``[..., H, W, B, C]`` to ``[..., B, C, H, W]``, contiguous."""
    return _WithAdjoint.apply(lines, _to_maps, _to_lines)


def skew(rows: torch.Tensor) -> torch.Tensor:
    """Rows of pixels ``[..., H, W, B, C]`` to diagonals ``[..., W + H - 1, H, B, C]``.

    Diagonal ``t`` holds pixel ``(i, t - i)`` at position ``i`` (zero where that is off the
    image): the image with row ``i`` shifted right by ``i``, read column by column. So a
    recurrence over the diagonals sees, at each step, the pixel to the left and the pixel
    above as the previous step's positions ``i`` and ``i - 1``.
    """
    return _WithAdjoint.apply(rows, _skew, _unskew)


def unskew(diagonals: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`skew`: ``[..., W + H - 1, H, B, C]`` to ``[..., H, W, B, C]``."""
    return _WithAdjoint.apply(diagonals, _unskew, _skew)


def _to_lines(maps: torch.Tensor) -> torch.Tensor:
    *lead, b, c, h, w = maps.shape
    pixels = maps.reshape(-1, c, h, w).contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1)
    n = len(lead)
    return pixels.reshape(*lead, b, h, w, c).permute(*range(n), n + 1, n + 2, n, n + 3).contiguous()


def _to_maps(lines: torch.Tensor) -> torch.Tensor:
    n = lines.dim() - 4
    pixels = lines.permute(*range(n), n + 2, n, n + 1, n + 3).contiguous()  # [..., B, H, W, C]
    return pixels.movedim(-1, -3).contiguous()


def _skew(rows: torch.Tensor) -> torch.Tensor:
    h, w = rows.shape[-4:-2]
    diagonals = rows.new_zeros(*rows.shape[:-4], w + h - 1, h, *rows.shape[-2:])
    for i in range(h):
        diagonals[..., i : i + w, i, :, :] = rows[..., i, :, :, :]
    return diagonals


def _unskew(diagonals: torch.Tensor) -> torch.Tensor:
    steps, h = diagonals.shape[-4:-2]
    w = steps - h + 1
    return torch.stack([diagonals[..., i : i + w, i, :, :] for i in range(h)], dim=-4)


class _WithAdjoint(torch.autograd.Function):
    """A linear rearrangement ``apply`` whose backward pass is its adjoint ``adjoint``: for these
    (a permutation and its inverse; skew, and unskew that reads exactly what skew writes) one
    rearrangement, where autograd would record a copy per slice."""

    @staticmethod
    def forward(ctx, x, apply, adjoint):
        ctx.adjoint = adjoint
        return apply(x)

    @staticmethod
    def backward(ctx, grad):
        return ctx.adjoint(grad), None, None


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
