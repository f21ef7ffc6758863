"""The fused LSTM recurrence and the layout helpers of the recurrent models: the same function as
the step-by-step LSTM, forward and backward (autograd's numerical gradient check)."""

import pytest
import torch
import torch.nn.functional as F

from pixelrnn.layers import lines_to_maps, maps_to_lines, skew, unskew
from pixelrnn.lstm import lstm_scan, lstm_update


def stepwise(inputs, input_weight, state_weight, bias, padding, spans):
    """The recurrence written plainly: lstm_update at every step, zero states outside the spans."""
    d, steps, length, n, _ = inputs.shape
    h = state_weight.shape[2]
    hidden = inputs.new_zeros(d, n, h, length)
    cell = inputs.new_zeros(d, n, length, h)
    states = []
    for t in range(steps):
        start, stop = spans[t] if spans else (0, length)
        inside = torch.zeros(length, 1, dtype=inputs.dtype)
        inside[start:stop] = 1
        new_hidden, new_cell = [], []
        for k in range(d):
            recurrent = F.conv1d(F.pad(hidden[k], padding), state_weight[k]).transpose(1, 2)  # [N, L, 4h]
            gates = inputs[k, t].transpose(0, 1) @ input_weight[k].T + recurrent + bias[k]
            hk, ck = lstm_update(gates, cell[k])
            new_hidden.append((hk * inside).transpose(1, 2))
            new_cell.append(ck * inside)
        hidden, cell = torch.stack(new_hidden), torch.stack(new_cell)
        states.append(hidden.permute(0, 3, 1, 2))  # [D, L, N, h]
    return torch.stack(states, dim=1)


@pytest.mark.parametrize(
    "padding, spans",
    [
        ((1, 1), None),  # the Row LSTM's 3-wide kernel over the row above
        ((1, 0), [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4)]),  # the Diagonal LSTM's on a skewed 4x2 image
        ((0, 0), None),  # a 1-wide kernel
    ],
)
def test_lstm_scan_is_the_stepwise_lstm_forward_and_backward(padding, spans):
    torch.manual_seed(0)
    d, steps, length, n, h, c = 2, 5, 4, 3, 2, 3
    taps = sum(padding) + 1
    double = dict(dtype=torch.float64, requires_grad=True)
    args = (
        torch.randn(d, steps, length, n, c, **double),
        torch.randn(d, 4 * h, c, **double),
        torch.randn(d, 4 * h, h, taps, **double),
        torch.randn(d, 4 * h, **double),
    )
    expected = stepwise(*args, padding, spans)
    assert torch.allclose(lstm_scan(*args, padding, spans), expected, atol=1e-12)
    assert torch.autograd.gradcheck(lambda *a: lstm_scan(*a, padding, spans), args, fast_mode=True)
    with torch.no_grad():  # inference keeps nothing for a backward pass, and computes the same
        assert torch.allclose(lstm_scan(*args, padding, spans), expected, atol=1e-12)


def test_skew_puts_diagonals_in_columns_and_unskew_inverts_it():
    rows = torch.randn(2, 3, 4, 5, 2, dtype=torch.float64, requires_grad=True)  # [.., H=3, W=4, B=5, C=2]
    diagonals = skew(rows)
    assert diagonals.shape == (2, 6, 3, 5, 2)
    for t in range(6):
        for i in range(3):
            inside = 0 <= t - i < 4
            assert torch.equal(diagonals[:, t, i], rows[:, i, t - i] if inside else torch.zeros(2, 5, 2, dtype=rows.dtype))
    assert torch.equal(unskew(diagonals), rows)
    assert torch.autograd.gradcheck(skew, (rows,))
    assert torch.autograd.gradcheck(unskew, (diagonals.detach().requires_grad_(),))


def test_maps_to_lines_is_a_contiguous_permute_with_its_inverse():
    maps = torch.randn(2, 5, 3, 4, 6, dtype=torch.float64, requires_grad=True)  # [.., B, C, H, W]
    lines = maps_to_lines(maps)
    assert lines.is_contiguous() and torch.equal(lines, maps.permute(0, 3, 4, 1, 2))
    assert torch.equal(lines_to_maps(lines), maps) and lines_to_maps(lines).is_contiguous()
    assert torch.autograd.gradcheck(maps_to_lines, (maps,))
    assert torch.autograd.gradcheck(lines_to_maps, (lines.detach().requires_grad_(),))
