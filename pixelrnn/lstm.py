"""The LSTM of the Row LSTM and the Diagonal BiLSTM: one cell update, and a whole recurrence.

Both models run LSTMs whose state is a line of positions (a row of the image, or a diagonal
of the skewed image) and whose state-to-state kernel is a 1-D convolution along that line.
:func:`lstm_update` is one step of the cell, as the sampling caches take it pixel by pixel.
:func:`lstm_scan` runs the whole recurrence for training and scoring as one autograd node
with a hand-written backward pass (back-propagation through time). Written with autograd,
each step of the recurrence is a dozen small tensor operations whose backward pass slices,
pads and accumulates full-size gradient tensors; for the small states of these models the
time went to that memory traffic, not to arithmetic. The scan does each step's arithmetic once
in each direction, on preallocated buffers: a matrix product for the inputs and one per kernel
tap over shifted views of the previous states, and the cell's element-wise work.
"""

from __future__ import annotations

import torch


def lstm_update(gates: torch.Tensor, cell: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step from pre-activations, channels last.

    ``gates``: ``[..., 4h]``, the chunks (output, forget, input, content);
    ``cell``: ``[..., h]``, the previous cell state. Returns ``(hidden, cell)``.
    """
    h = cell.shape[-1]
    o, f, i = torch.sigmoid(gates[..., : 3 * h]).chunk(3, dim=-1)
    cell = f * cell + i * torch.tanh(gates[..., 3 * h :])
    return o * torch.tanh(cell), cell


def lstm_scan(
    inputs: torch.Tensor,
    input_weight: torch.Tensor,
    state_weight: torch.Tensor,
    bias: torch.Tensor,
    padding: tuple[int, int],
    spans: list[tuple[int, int]] | None = None,
) -> torch.Tensor:
    """``D`` independent LSTMs over ``T`` steps, each step a line of ``L`` positions: hidden states ``[D, T, L, N, h]``.

    inputs: ``[D, T, L, N, c]``, what each position reads at each step (``N`` is the batch).
    input_weight: ``[D, 4h, c]``, the input-to-state matrix; the gate pre-activations are
        ``input_weight @ input + state-to-state + bias``, in the chunks (output, forget,
        input, content) of :func:`lstm_update`.
    state_weight: ``[D, 4h, h, taps]``, each LSTM's state-to-state kernel: a 1-D convolution
        along ``L`` over the previous step's hidden states, zero-padded by ``padding =
        (before, after)`` (``before + after = taps - 1``), so that tap ``k`` at position ``l``
        reads position ``l + k - before``. bias: ``[D, 4h]``.
    spans: optional ``(start, stop)`` for each step: only positions ``start <= l < stop`` are
        computed; the states elsewhere stay zero (the off-image positions of a skewed map).

    The states start at zero. Equal, up to float rounding, to stepping :func:`lstm_update` with
    ``input_weight @ inputs[:, t] + conv1d(hidden[:, t - 1], state_weight) + bias``.
    """
    device_type = inputs.device.type
    if torch.is_autocast_enabled(device_type):
        # Under autocast (bf16 on a CPU, fp16 or bf16 on a GPU) the recurrence still runs in float32, its
        # states accumulate over every step, with autocast off inside so that its products stay float32
        # (the backward pass turns it off for itself).
        with torch.autocast(device_type, enabled=False):
            return lstm_scan(inputs.float(), input_weight.float(), state_weight.float(), bias.float(), padding, spans)
    d, steps, length = inputs.shape[:3]
    spans = [(0, length)] * steps if spans is None else [(int(a), int(b)) for a, b in spans]
    # Inside the Function's forward, grad mode is always off: decide here whether to keep
    # what the backward pass needs.
    training = torch.is_grad_enabled() and any(t.requires_grad for t in (inputs, input_weight, state_weight, bias))
    return _LSTMScan.apply(inputs, input_weight, state_weight, bias, tuple(padding), spans, training)


class _LSTMScan(torch.autograd.Function):
    """Forward and backward of :func:`lstm_scan`.

    Each step computes its gates, over that step's span alone, in place in the activations buffer:
    one matrix product for the inputs (and bias), then one per kernel tap over a shifted view of
    the previous states, with nothing concatenated; then the cell's element-wise work. (One
    product over all steps' inputs before the loop is slower for the Diagonal BiLSTM: the skewed
    map is half padding, and a buffer that size is fresh memory on every call.) Nothing of the
    size of all steps' gates is stored but the gates' activations and slopes. The layout
    ``[D, T, L, N, ...]`` makes each step's span one contiguous block. The hidden states live in a
    zero-padded buffer, whose shifted views are the next step's windows; the cell states in a
    zero-initialised one: both are zero outside the spans.

    Autocast: :func:`lstm_scan` runs the forward pass in float32 with autocast off, and the
    backward pass turns it off for itself, on every device.
    """

    @staticmethod
    def forward(ctx, inputs, input_weight, state_weight, bias, padding, spans, training):
        d, steps, length, n, c = inputs.shape
        _, four_h, h, taps = state_weight.shape
        before = padding[0]
        # [D, taps, h, 4h]: a window of previous states times tap k's matrix adds to the gates.
        state_kernels = state_weight.permute(0, 3, 2, 1).contiguous()
        # tanh(x) = 2 sigmoid(2x) - 1, and this CPU's sigmoid is several times faster than its
        # tanh: with the content gate's pre-activation doubled, one sigmoid serves all four gates.
        doubling = torch.ones(four_h, dtype=inputs.dtype, device=inputs.device)
        doubling[3 * h :] = 2
        doubled_bias = (bias * doubling)[:, None]
        doubled_input_kernel = (input_weight * doubling[:, None]).transpose(1, 2).contiguous()
        doubled_kernels = state_kernels * doubling
        # Each step's gates are computed in place here: pre-activations, then sigmoid(o, f, i), tanh(content).
        activations = inputs.new_empty(d, steps, length, n, four_h)
        # Step t's hidden states at [:, t + 1]; [:, 0] is the zero state before the first step.
        padded = inputs.new_zeros(d, steps + 1, length + taps - 1, n, h)
        hiddens = padded[:, :, before : before + length]
        cells = inputs.new_zeros(d, steps + 1, length, n, h)
        # What backward needs: d activation / d pre-activation of each gate, d hidden / d cell,
        # and tanh(cell) (d hidden / d output gate).
        slopes = inputs.new_empty(d, steps, length, n, four_h + 2 * h) if training else None
        for t, (start, stop) in enumerate(spans):
            size = (stop - start) * n
            act = activations[:, t, start:stop].view(d, size, four_h)
            torch.baddbmm(doubled_bias, inputs[:, t, start:stop].view(d, size, c), doubled_input_kernel, out=act)
            for k in range(taps):
                act.baddbmm_(padded[:, t, start + k : stop + k].view(d, size, h), doubled_kernels[:, k])
            act.sigmoid_()
            o, f, i, g = act.split(h, dim=-1)
            g.mul_(2).sub_(1)
            cell = cells[:, t + 1, start:stop].view(d, size, h)
            torch.addcmul(f * cells[:, t, start:stop].view(d, size, h), i, g, out=cell)
            slope = slopes[:, t, start:stop].view(d, size, four_h + 2 * h) if training else None
            tanh_cell = torch.sigmoid(2 * cell, out=slope[..., 5 * h :] if training else None).mul_(2).sub_(1)
            torch.mul(o, tanh_cell, out=hiddens[:, t + 1, start:stop].view(d, size, h))
            if training:
                # sigmoid' = s (1 - s), tanh' = 1 - g^2; d hidden / d cell = o (1 - tanh(cell)^2).
                sigmoids = act[..., : 3 * h]
                torch.addcmul(sigmoids, sigmoids, sigmoids, value=-1, out=slope[..., : 3 * h])
                torch.addcmul(torch.ones_like(g), g, g, value=-1, out=slope[..., 3 * h : 4 * h])
                torch.addcmul(o, o * tanh_cell, tanh_cell, value=-1, out=slope[..., 4 * h : 5 * h])
        ctx.save_for_backward(inputs, input_weight, state_kernels, padded, activations, cells, slopes)
        ctx.before, ctx.spans = before, spans
        return hiddens[:, 1:]

    @staticmethod
    def backward(ctx, grad_hiddens):
        # A backward pass run inside an autocast block would round its products to the autocast dtype.
        with torch.autocast(grad_hiddens.device.type, enabled=False):
            return _scan_backward(ctx, grad_hiddens)


def _scan_backward(ctx, grad_hiddens):
    """:meth:`_LSTMScan.backward`: back-propagation through time, the steps in reverse."""
    inputs, input_weight, state_kernels, padded, activations, cells, slopes = ctx.saved_tensors
    before = ctx.before
    d, steps, length, n, c = inputs.shape
    taps, h = state_kernels.shape[1:3]
    grad_hiddens = grad_hiddens.contiguous()
    grad_inputs = torch.zeros_like(inputs)
    grad_input_kernel = input_weight.new_zeros(d, c, 4 * h)
    grad_bias = input_weight.new_zeros(d, 4 * h)
    grad_state_kernels = torch.zeros_like(state_kernels)
    # What step t + 1 sends back to step t's states, through the kernel and the forget gate.
    grad_hidden = cells.new_zeros(d, length + taps - 1, n, h)
    grad_cell = cells.new_zeros(d, length, n, h)
    for t in reversed(range(steps)):
        start, stop = ctx.spans[t]
        size = (stop - start) * n
        o, f, i, g = activations[:, t, start:stop].view(d, size, 4 * h).split(h, dim=-1)
        slope = slopes[:, t, start:stop].view(d, size, 6 * h)
        grad_h = grad_hiddens[:, t, start:stop].view(d, size, h) + grad_hidden[:, before + start : before + stop].view(d, size, h)
        grad_c = torch.addcmul(grad_cell[:, start:stop].view(d, size, h), grad_h, slope[..., 4 * h : 5 * h])
        previous_cell = cells[:, t, start:stop].view(d, size, h)
        # d loss / d activation of each gate, then through the activations: d loss / d pre-activation.
        grad_act = torch.cat([grad_h * slope[..., 5 * h :], grad_c * previous_cell, grad_c * g, grad_c * i], dim=-1)
        grad_step = grad_act.mul_(slope[..., : 4 * h])
        step_inputs = inputs[:, t, start:stop].view(d, size, c)
        torch.bmm(grad_step, input_weight, out=grad_inputs[:, t, start:stop].view(d, size, c))
        grad_input_kernel.baddbmm_(step_inputs.transpose(1, 2), grad_step)
        grad_bias += grad_step.sum(1)
        grad_cell.zero_()
        torch.mul(grad_c, f, out=grad_cell[:, start:stop].view(d, size, h))
        # Window tap k at position l read the previous states at l + k - before.
        grad_hidden.zero_()
        for k in range(taps):
            window = padded[:, t, start + k : stop + k].view(d, size, h)
            grad_state_kernels[:, k].baddbmm_(window.transpose(1, 2), grad_step)
            grad_hidden[:, start + k : stop + k].view(d, size, h).baddbmm_(grad_step, state_kernels[:, k].transpose(1, 2))
    grad_input_weight = grad_input_kernel.transpose(1, 2)
    grad_state_weight = grad_state_kernels.permute(0, 3, 2, 1)
    return grad_inputs, grad_input_weight, grad_state_weight, grad_bias, None, None, None
