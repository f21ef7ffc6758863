"""The models: shapes, causality, context, exact likelihoods, learning, argument checks."""

import math

import pytest
import torch
from conftest import with_large_weights

import pixelrnn
from pixelrnn.diagonal_bilstm import DiagonalBiLSTM
from pixelrnn.gated_pixelcnn import GatedPixelCNN
from pixelrnn.multiscale import MultiScalePixelRNN
from pixelrnn.pixelcnn import PixelCNN
from pixelrnn.row_lstm import RowLSTM

SHAPES = [(1, 6, 5), (3, 5, 6)]


def tiny(name, shape, levels=7, **hparams):
    torch.manual_seed(0)
    hparams = {"hidden": 6, "layers": 2, "out_hidden": 12, **hparams}
    return with_large_weights(pixelrnn.build_model(name, image_shape=shape, levels=levels, **hparams).double())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_logits_shape_and_log_prob(name, shape):
    model = tiny(name, shape)
    x = torch.randint(0, 7, (3, *shape))
    logits = model(x)
    assert logits.shape == (3, 7, *shape)
    by_hand = torch.log_softmax(logits, 1).gather(1, x[:, None])[:, 0].sum((1, 2, 3))
    torch.testing.assert_close(model.log_prob(x), by_hand)


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_causality(name, shape, conditional):
    """Changing any sub-pixels later in the generation order leaves earlier logits unchanged (for a
    class-conditional model, given the same label)."""
    model = tiny(name, shape, num_classes=3 if conditional else 0)
    label = 2 if conditional else None
    rank = model.generation_order()
    generator = torch.Generator().manual_seed(1)
    x = torch.randint(0, 7, (1, *shape), generator=generator)
    positions = [tuple(p) for p in torch.nonzero(torch.ones(shape)).tolist()]
    # One perturbed copy per position: every later sub-pixel redrawn.
    later = torch.stack([rank > rank[p] for p in positions])[:, None]
    noise = torch.randint(0, 7, (len(positions), *shape), generator=generator)
    perturbed = torch.where(later[:, 0], noise, x)
    # Also change a random half of the later sub-pixels only ("any set").
    half = later[:, 0] & (torch.rand(later[:, 0].shape, generator=generator) < 0.5)
    partly = torch.where(half, noise, x)
    with torch.no_grad():
        reference = model(x, label)[0]
        changed = model(perturbed, label)
        changed_partly = model(partly, label)
    for n, (c, i, j) in enumerate(positions):
        assert (changed[n, :, c, i, j] - reference[:, c, i, j]).abs().max() < 1e-9, (name, (c, i, j))
        assert (changed_partly[n, :, c, i, j] - reference[:, c, i, j]).abs().max() < 1e-9, (name, (c, i, j))
    # And the perturbation does reach the positions after it (the test could fail).
    assert (changed[0] - reference).abs().max() > 1e-3


def past_of(model, c, i, j):
    rank = model.generation_order()
    return rank < rank[c, i, j]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["diagonal_bilstm", "gated_pixelcnn"])
def test_full_context(name, shape):
    """No blind spot: every earlier sub-pixel influences every later one."""
    model = tiny(name, shape, layers=3, hidden=24)
    c_, h, w = shape
    for c, i, j in [(c_ - 1, h - 1, 0), (0, h - 1, w - 1), (c_ - 1, h // 2, w // 2), (0, 1, 0)]:
        field = pixelrnn.receptive_field(model, c, i, j)
        assert torch.equal(field, past_of(model, c, i, j)), (c, i, j)


def test_multiscale_context_follows_its_order():
    model = tiny("multiscale", (3, 6, 6), hidden=24)
    for position in [(0, 2, 2), (2, 5, 5), (1, 3, 0)]:
        field = pixelrnn.receptive_field(model, *position)
        assert not (field & ~past_of(model, *position)).any()
    # A non-grid pixel sees the whole small image, including its later grid pixels.
    assert pixelrnn.receptive_field(model, 0, 1, 1)[:, 4, 4].all()


def test_row_lstm_context_is_a_triangle():
    model = tiny("row_lstm", (1, 9, 16), layers=1)
    field = pixelrnn.receptive_field(model, 0, 8, 3)[0]
    assert not (field & ~past_of(model, 0, 8, 3)[0]).any()
    assert field[0, 3] and field[0, 12], "the recurrence reaches all the way up, widening as it goes"
    assert field[7, 6] and not field[7, 7], "one row up: three columns to the right (the 7x7 input layer)"
    assert field[1, 12] and not field[1, 13], "each row further up, one more column"
    assert field[8, 2] and field[8, 0]


def test_pixelcnn_has_a_blind_spot():
    model = tiny("pixelcnn", (1, 8, 14), layers=4)
    i, j = 6, 3
    field = pixelrnn.receptive_field(model, 0, i, j)[0]
    past = past_of(model, 0, i, j)[0]
    assert not (field & ~past).any()
    assert field[i - 5, j], "four 3x3 layers and the 7x7 input layer reach five rows up"
    # Four rows up it reaches six columns right, but one row up only three: the pixels
    # between, above and to the right of the current one, are never seen.
    assert field[i - 4, j + 6] and field[i - 1, j + 3]
    assert not field[i - 1, j + 4] and not field[i - 2, j + 5], "the upper-right wedge is blind"


def test_uniform_model_has_log2_levels_bits_per_dim():
    for levels in (2, 7, 256):
        model = pixelrnn.build_model("pixelcnn", image_shape=(3, 4, 5), levels=levels, hidden=6, layers=1, out_hidden=8)
        with torch.no_grad():
            model.head.logits.weight.zero_()
            model.head.logits.bias.zero_()
        x = torch.randint(0, levels, (2, 3, 4, 5))
        bpd = pixelrnn.bits_per_dim(model.log_prob(x), model.image_shape)
        torch.testing.assert_close(bpd, torch.full((2,), math.log2(levels)))


def test_bits_per_dim_units():
    lp = torch.tensor([-math.log(2) * 3 * 4 * 5 * 8.0])
    assert pixelrnn.bits_per_dim(lp, (3, 4, 5)).item() == pytest.approx(8.0)


def stripes(n, levels=4, size=8, generator=None):
    """Greyscale images of horizontal or vertical stripes of random period and phase."""
    images = torch.zeros(n, 1, size, size, dtype=torch.long)
    coords = torch.arange(size)
    for k in range(n):
        period = int(torch.randint(2, 4, (1,), generator=generator))
        phase = int(torch.randint(0, period, (1,), generator=generator))
        on = ((coords + phase) // 1 % period) == 0
        line = on.long() * (levels - 1)
        images[k, 0] = line[:, None].expand(size, size) if k % 2 else line[None, :].expand(size, size)
    return images


@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_training_lowers_bits_per_dim(name):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = pixelrnn.build_model(name, image_shape=(1, 8, 8), levels=4, hidden=8, layers=1, out_hidden=16)
    data = stripes(64, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(120):
        batch = data[torch.randint(0, 64, (16,), generator=generator)]
        loss = pixelrnn.bits_per_dim(model.log_prob(batch), model.image_shape).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        final = pixelrnn.bits_per_dim(model.log_prob(stripes(64, generator=generator)), model.image_shape).mean()
    assert final < 0.5, f"{name}: {final:.3f} bits/dim after training; uniform is 2.0"


def test_presets_build():
    for name in pixelrnn.MODELS:
        model = pixelrnn.build_model(name, image_shape=(1, 28, 28), levels=256, preset="small")
        assert model.config["model"] == name and model.config["image_shape"] == [1, 28, 28]
        config = dict(model.config)
        rebuilt = pixelrnn.build_model(config.pop("model"), **config)
        assert rebuilt.config == model.config
    paper = pixelrnn.build_model("diagonal_bilstm", image_shape=(3, 32, 32), preset="paper")
    assert paper.config["layers"] == 12 and paper.config["hidden"] == 128
    mnist = pixelrnn.build_model("diagonal_bilstm", image_shape=(1, 28, 28), levels=2, preset="paper_mnist")
    assert mnist.config["layers"] == 7 and mnist.config["hidden"] == 16


def test_the_binarized_mnist_presets_give_every_model_and_the_papers_two_diagonal_bilstms():
    x = torch.randint(0, 2, (2, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    for name in pixelrnn.MODELS:
        model = pixelrnn.build_model(name, image_shape=(1, 28, 28), levels=2, preset="paper_mnist")
        assert model.config["layers"] == 7 and model.config["hidden"] in (16, 32)  # PixelCNN's blocks: 2h maps
        with torch.no_grad():
            assert model(x).shape == (2, 2, 1, 28, 28)
    one_layer = pixelrnn.build_model("diagonal_bilstm", image_shape=(1, 28, 28), levels=2, preset="paper_mnist_1layer")
    assert (one_layer.config["layers"], one_layer.config["hidden"]) == (1, 32)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: pixelrnn.build_model("pixel_cnn", image_shape=(1, 8, 8)), "known models: pixelcnn, row_lstm"),
        (lambda: pixelrnn.build_model("pixelcnn", image_shape=(2, 8, 8)), "C=1 .* or C=3"),
        (lambda: pixelrnn.build_model("pixelcnn", image_shape=(8, 8)), r"\(C, H, W\)"),
        (lambda: pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), levels=1), "levels must be between 2"),
        (lambda: pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), depth=3), "does not take depth"),
        (lambda: pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), hidden=0), "hidden must be an integer >= 1"),
        (lambda: pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), preset="huge"), "unknown preset"),
        (lambda: pixelrnn.build_model("row_lstm", image_shape=(1, 8, 8), preset="paper_mnist_1layer"), "has no configuration"),
        (lambda: pixelrnn.build_model("multiscale", image_shape=(1, 8, 8), base="pixelcnn"), "base must be one of"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "cls, hparams, message",
    [
        (PixelCNN, dict(layers=-1), "pixelcnn: layers must be an integer >= 1, got -1"),
        (PixelCNN, dict(kernel=4), "pixelcnn: kernel must be odd"),
        (GatedPixelCNN, dict(hidden=2.5), "gated_pixelcnn: hidden must be an integer >= 1, got 2.5"),
        (RowLSTM, dict(cond_channels=-1), "row_lstm: cond_channels must be an integer >= 0"),
        (DiagonalBiLSTM, dict(out_hidden=0), "diagonal_bilstm: out_hidden must be an integer >= 1"),
        (MultiScalePixelRNN, dict(cond_channels=0), "multiscale: cond_channels must be an integer >= 1"),
    ],
)
def test_the_classes_check_their_own_arguments(cls, hparams, message):
    with pytest.raises(ValueError, match=message):
        cls((1, 8, 8), 4, **hparams)


@pytest.mark.parametrize(
    "x, message",
    [
        (torch.rand(2, 1, 6, 6), "integer pixel values"),
        (torch.zeros(2, 3, 6, 6, dtype=torch.long), r"shape \[B, 1, 6, 6\]"),
        (torch.zeros(1, 6, 6, dtype=torch.long), r"shape \[B, 1, 6, 6\]"),
        (torch.full((2, 1, 6, 6), 4), r"in \[0, 4\)"),
        (torch.full((2, 1, 6, 6), -1), r"in \[0, 4\)"),
    ],
)
def test_bad_input(x, message):
    model = pixelrnn.build_model("row_lstm", image_shape=(1, 6, 6), levels=4, hidden=4, layers=1, out_hidden=8)
    with pytest.raises(ValueError, match=message):
        model(x)
