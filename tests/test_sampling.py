"""Sampling: cached sampling is exact, completions keep what is known, arguments are checked."""

import math

import pytest
import torch
from conftest import with_large_weights

import pixelrnn
from pixelrnn.layers import MaskedConv2d, PixelConv, pad_like

SHAPES = [(1, 6, 5), (3, 5, 4)]


def tiny(name, shape, levels=6, num_classes=0):
    torch.manual_seed(0)
    model = pixelrnn.build_model(
        name, image_shape=shape, levels=levels, hidden=6, layers=2, out_hidden=12, num_classes=num_classes
    )
    return with_large_weights(model)


def hole(shape):
    """A mask with a few unknown pixels in the middle and the last row partly unknown."""
    _, h, w = shape
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[1:3, 1:3] = True
    mask[h - 1, w - 2] = True
    return mask


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_cached_steps_are_exact(name, shape, masked, conditional):
    """Every step's distribution equals the softmax of a full forward pass over the final image (given
    each image's own label, for a class-conditional model: the label is part of the cache)."""
    model = tiny(name, shape, num_classes=3 if conditional else 0)
    labels = torch.tensor([2, 0]) if conditional else None
    known = torch.randint(0, 6, shape)
    mask = hole(shape) if masked else torch.ones(shape[1:], dtype=torch.bool)
    generation = pixelrnn.generate(model, 2, known, mask, seed=3, label=labels)
    steps = [(s.position, s.probs.clone(), s.value.clone()) for s in generation]
    final = pixelrnn.sample(model, 2, known, mask, seed=3, label=labels)
    with torch.no_grad():
        probs = torch.softmax(model(final, labels), dim=1)
    assert len(steps) == int(mask.sum()) * shape[0]
    rank = model.generation_order()
    assert [rank[p].item() for p, _, _ in steps] == sorted(rank[p].item() for p, _, _ in steps), "generation order"
    for (c, i, j), step_probs, value in steps:
        assert mask[i, j]
        torch.testing.assert_close(step_probs, probs[:, :, c, i, j], atol=1e-4, rtol=0)
        assert torch.equal(final[:, c, i, j], value)
    assert torch.equal(final[:, :, ~mask], known[None].expand(2, *shape)[:, :, ~mask]), "known pixels unchanged"


@pytest.mark.parametrize("cached", [True, False])
@pytest.mark.parametrize("name", ["row_lstm", "multiscale"])
def test_a_generation_announces_its_order_and_numbers_its_steps(name, cached):
    """What a viewer needs before and during the run: the order, the total, each step's index."""
    model = tiny(name, (3, 5, 4))
    mask, known = hole((3, 5, 4)), torch.zeros(3, 5, 4, dtype=torch.long)
    generation = pixelrnn.generate(model, 2, known, mask, seed=0, cached=cached)
    assert generation.total == len(generation.order) == 3 * int(mask.sum())
    order = [tuple(p) for p in generation.order.tolist()]
    steps = [(s.position, s.index, s.total) for s in generation]
    assert [position for position, _, _ in steps] == order
    assert [(index, total) for _, index, total in steps] == [(k, generation.total) for k in range(generation.total)]
    assert torch.equal(generation.image, pixelrnn.sample(model, 2, known, mask, seed=0, cached=cached))


def test_pixel_conv_is_its_centre_tap_plus_the_rest():
    """The split that lets the PixelCNN cache redo only the centre tap for each colour of a pixel."""
    torch.manual_seed(0)
    conv = MaskedConv2d(6, 9, 3, "B", colors=3)
    x = torch.randn(2, 6, 5, 5)
    full, pixel, padded = conv(x), PixelConv(conv), pad_like(conv, x)
    for i, j in [(0, 0), (2, 3), (4, 4)]:
        around = pixel.around(padded, i, j)
        assert torch.allclose(pixel.centre(x[:, :, i, j], around), full[:, :, i, j], atol=1e-5)
        assert torch.allclose(pixel.at(padded, i, j), full[:, :, i, j], atol=1e-5)
    changed = padded.clone()
    changed[:, :, 2 + 1, 3 + 1] += 1  # the centre of pixel (2, 3)
    assert torch.equal(pixel.around(changed, 2, 3), pixel.around(padded, 2, 3))
    assert not torch.equal(pixel.around(changed, 2, 4), pixel.around(padded, 2, 4))


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_cached_and_reference_samplers_agree(name, conditional):
    """Same seed, same draws: the O(HW) sampler and the O((HW)^2) reference give the same images."""
    model = tiny(name, (3, 4, 5), num_classes=4 if conditional else 0)
    label, labels = (3, [1, 3, 0]) if conditional else (None, None)
    mask = hole((3, 4, 5))
    known = torch.randint(0, 6, (3, 4, 5))
    fast = pixelrnn.sample(model, 3, known, mask, seed=7, label=labels)
    slow = pixelrnn.sample(model, 3, known, mask, seed=7, cached=False, label=labels)
    assert torch.equal(fast, slow)
    assert torch.equal(
        pixelrnn.sample(model, 2, seed=1, label=label), pixelrnn.sample(model, 2, seed=1, cached=False, label=label)
    )


def test_seed_and_temperature():
    model = tiny("row_lstm", (1, 6, 5))
    assert torch.equal(pixelrnn.sample(model, 2, seed=5), pixelrnn.sample(model, 2, seed=5))
    assert not torch.equal(pixelrnn.sample(model, 2, seed=5), pixelrnn.sample(model, 2, seed=6))
    cold = next(iter(pixelrnn.generate(model, 1, temperature=0.25, seed=0))).probs
    warm = next(iter(pixelrnn.generate(model, 1, temperature=4.0, seed=0))).probs
    assert cold.max() > warm.max(), "lower temperature sharpens the distribution"


def test_generation_leaves_autograd_alone_wherever_it_is_resumed():
    """A half-consumed generator must not switch autograd off for its caller, and the
    steps it runs, even when resumed from another thread (as the app does), build no graph."""
    import threading

    model = tiny("row_lstm", (1, 6, 5))
    steps = pixelrnn.generate(model, 1, seed=0)
    first = next(steps)
    assert torch.is_grad_enabled(), "a paused generator must leave grad mode as it found it"
    assert not first.probs.requires_grad
    resumed = []
    thread = threading.Thread(target=lambda: resumed.append(next(steps)))
    thread.start()
    thread.join()
    assert not resumed[0].probs.requires_grad
    loss = -model.log_prob(torch.zeros(1, 1, 6, 5, dtype=torch.long)).mean()
    loss.backward()


@pytest.mark.parametrize("name", ["pixelcnn", "multiscale"])
def test_sampled_images_are_ordinary_tensors(name):
    """Sampling runs in inference mode, but what it returns can be edited and trained on."""
    model = tiny(name, (3, 5, 4))
    images = pixelrnn.sample(model, 2, seed=0)
    images[0, 0, 0, 0] = 1
    *_, last = pixelrnn.generate(model, 1, seed=0)
    last.image[0, 0, 0, 0] = 1
    (-model.log_prob(torch.cat([images, last.image])).mean()).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_samples_follow_the_distribution_they_are_drawn_from():
    """The first sub-pixel has no context, so 20,000 draws of it share one distribution;
    their frequencies must match it (each within about 6 standard deviations)."""
    model = tiny("gated_pixelcnn", (1, 3, 3))
    for temperature in (1.0, 0.5):
        first = next(iter(pixelrnn.generate(model, 20_000, temperature=temperature, seed=0)))
        probs = first.probs[0]
        assert torch.allclose(first.probs, probs.expand_as(first.probs))
        counts = torch.bincount(first.value, minlength=model.levels).float()
        torch.testing.assert_close(counts / counts.sum(), probs, atol=0.016, rtol=0)


def test_complete_ranks_by_exact_likelihood():
    model = tiny("gated_pixelcnn", (1, 6, 5))
    image = torch.randint(0, 6, (1, 6, 5))
    mask = hole((1, 6, 5))
    result = pixelrnn.complete(model, image, mask, k=5, seed=0)
    assert result.images.shape == (5, 1, 6, 5) and result.log_probs.shape == (5,)
    assert (result.log_probs[:-1] >= result.log_probs[1:]).all()
    torch.testing.assert_close(result.log_probs, model.log_prob(result.images).detach())
    assert torch.equal(result.images[:, :, ~mask], image[None].expand(5, 1, 6, 5)[:, :, ~mask])


def test_pixel_bits_sum_to_the_log_likelihood():
    model = tiny("diagonal_bilstm", (3, 4, 5))
    images = torch.randint(0, 6, (2, 3, 4, 5))
    bits = pixelrnn.pixel_bits(model, images)
    assert bits.shape == (2, 3, 4, 5) and (bits >= 0).all()
    torch.testing.assert_close(bits.sum((1, 2, 3)), -model.log_prob(images).detach() / math.log(2))
    torch.testing.assert_close(pixelrnn.pixel_bits(model, images[0]), bits[0])


def test_multiscale_samples_the_small_image_first():
    model = tiny("multiscale", (1, 6, 6))
    positions = [s.position for s in pixelrnn.generate(model, 1, seed=0)]
    on_grid = [i % 2 == 0 and j % 2 == 0 for _, i, j in positions]
    assert on_grid == [True] * 9 + [False] * 27


def test_greyscale_image_for_rgb_model_is_converted_with_a_note():
    model = tiny("pixelcnn", (3, 4, 4))
    grey = torch.randint(0, 6, (1, 4, 4))
    mask = torch.zeros(4, 4, dtype=torch.bool)
    mask[3, 3] = True
    with pytest.warns(UserWarning, match="greyscale image given to an RGB model"):
        out = pixelrnn.sample(model, 1, grey, mask, seed=0)
    assert torch.equal(out[0, :, 0, 0], grey[0, 0, 0].repeat(3))
    with pytest.warns(UserWarning, match="RGB image given to a greyscale model"):
        pixelrnn.sample(tiny("pixelcnn", (1, 4, 4)), 1, torch.randint(0, 6, (3, 4, 4)), mask, seed=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n must be a positive integer"),
        (dict(temperature=0.0), "temperature must be > 0"),
        (dict(temperature=-1.0), "temperature must be > 0"),
        (dict(image=torch.zeros(1, 5, 5, dtype=torch.long), mask=torch.ones(5, 5, dtype=torch.bool)), "resize or crop"),
        (
            dict(image=torch.zeros(1, 4, 4, dtype=torch.long), mask=torch.ones(3, 4, dtype=torch.bool)),
            r"mask must have shape \[4, 4\]",
        ),
        (dict(image=torch.zeros(1, 4, 4, dtype=torch.long), mask=torch.ones(4, 4)), "mask must be a bool"),
        (dict(image=torch.full((1, 4, 4), 9), mask=torch.ones(4, 4, dtype=torch.bool)), r"values must lie in \[0, 6\)"),
        (dict(image=torch.zeros(1, 4, 4)), "quantize"),
        (dict(image=torch.zeros(2, 4, 4), n=1), "integers"),
        (dict(image=torch.zeros(1, 4, 4, dtype=torch.long)), "an image needs a mask"),
        (dict(mask=torch.ones(4, 4, dtype=torch.bool)), "needs an image"),
        (dict(image=torch.zeros(2, 1, 4, 4, dtype=torch.long), mask=torch.ones(4, 4, dtype=torch.bool), n=3), "batch of 2"),
        (dict(image=torch.zeros(1, 2, 4, 4, dtype=torch.long), mask=torch.ones(4, 4, dtype=torch.bool)), "2 channels"),
    ],
)
def test_bad_arguments(kwargs, message):
    model = tiny("pixelcnn", (1, 4, 4))
    with pytest.raises(ValueError, match=message):
        pixelrnn.sample(model, **kwargs)


@pytest.mark.parametrize("name", ["gated_pixelcnn", "diagonal_bilstm"])
def test_generations_batched_together_draw_what_each_draws_alone(name):
    """generate_many: one step for every request, each request's rows as generate() draws them, its own seed and temperature."""
    model = tiny(name, (3, 5, 4))
    mask, known = hole((3, 5, 4)), torch.randint(0, 6, (2, 3, 5, 4), generator=torch.Generator().manual_seed(1))
    requests = [
        pixelrnn.SamplingRequest(n=2, image=known[0], temperature=0.7, seed=1),
        pixelrnn.SamplingRequest(n=1, image=known[1], temperature=1.0, seed=2),
    ]
    together = pixelrnn.generate_many(model, requests, mask)
    probs = [step.probs.clone() for step in together]
    assert together.count == together.total == 3 * int(mask.sum())
    rows = 0
    for request in requests:
        alone = pixelrnn.generate(model, request.n, request.image, mask, request.temperature, request.seed)
        alone_probs = [step.probs for step in alone]
        assert torch.equal(together.image[rows : rows + request.n], alone.image)
        for batched, single in zip(probs, alone_probs):
            torch.testing.assert_close(batched[rows : rows + request.n], single, atol=1e-5, rtol=0)
        rows += request.n
    with pytest.raises(ValueError, match="a mask needs an image"):
        pixelrnn.generate_many(model, [pixelrnn.SamplingRequest()], mask)
