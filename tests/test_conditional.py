"""Class-conditional models: the label reaches every sub-pixel, is checked, and travels through
sampling, completion, batching, the codec and save/load. (Causality and cached exactness with
labels are in test_models.py and test_sampling.py.)"""

import math

import pytest
import torch
from conftest import with_large_weights

import pixelrnn
from pixelrnn.codec import HEADER

SHAPE = (3, 4, 5)


def conditional(name, shape=SHAPE, num_classes=4, hidden=6, out_hidden=12, large_weights=True):
    torch.manual_seed(0)
    model = pixelrnn.build_model(name, shape, levels=6, hidden=hidden, layers=2, out_hidden=out_hidden, num_classes=num_classes)
    return (with_large_weights(model) if large_weights else model).eval()


@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_the_label_reaches_every_sub_pixel(name):
    """Another label changes the distribution of every sub-pixel, the very first one included. (Wide, with
    the default initialisation: large random weights saturate some gates and ReLUs, which silences the
    label here and there.)"""
    model = conditional(name, hidden=24, out_hidden=48, large_weights=False).double()
    x = torch.randint(0, 6, (2, *SHAPE), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = model(x, torch.tensor([0, 0])), model(x, torch.tensor([3, 3]))
    assert ((a - b).abs().amax(dim=1) > 1e-9).all()
    assert model.config["num_classes"] == 4


@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_unconditional_models_have_no_label_parameters(name):
    """num_classes=0 builds exactly the unconditional architecture of before."""
    plain = pixelrnn.build_model(name, SHAPE, levels=6, hidden=6, layers=2, out_hidden=12)
    assert plain.num_classes == 0 and plain.config["num_classes"] == 0
    with_labels = conditional(name)
    extra = set(with_labels.state_dict()) - set(plain.state_dict())
    assert extra and all("cond" in key for key in extra)


def test_label_errors_are_clear():
    model = conditional("gated_pixelcnn")
    x = torch.zeros(2, *SHAPE, dtype=torch.long)
    with pytest.raises(ValueError, match=r"class-conditional \(4 classes\): pass a label"):
        model(x)
    with pytest.raises(ValueError, match=r"class-conditional"):
        pixelrnn.sample(model, 1)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\), got values in \[0, 4\]"):
        model(x, torch.tensor([0, 4]))
    with pytest.raises(ValueError, match=r"one label or 2 \(one per image\)"):
        model(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels must be integers"):
        model.log_prob(x, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="an int or a sequence of ints"):
        pixelrnn.sample(model, 1, label="boot")
    plain = pixelrnn.build_model("gated_pixelcnn", SHAPE, levels=6, hidden=6, layers=1, out_hidden=12)
    with pytest.raises(ValueError, match=r"unconditional \(num_classes=0\): call it without a label"):
        pixelrnn.sample(plain, 1, label=1)
    with pytest.raises(ValueError, match="num_classes must be 0"):
        pixelrnn.build_model("pixelcnn", SHAPE, num_classes=1)


def test_one_label_for_all_is_the_same_as_one_per_image():
    model = conditional("row_lstm")
    assert torch.equal(pixelrnn.sample(model, 3, seed=2, label=1), pixelrnn.sample(model, 3, seed=2, label=[1, 1, 1]))
    assert not torch.equal(pixelrnn.sample(model, 3, seed=2, label=1), pixelrnn.sample(model, 3, seed=2, label=2))
    generation = pixelrnn.generate(model, 2, seed=0, label=3)
    assert generation.labels.tolist() == [3, 3]


def test_complete_ranks_given_the_label():
    model = conditional("gated_pixelcnn")
    image = torch.randint(0, 6, SHAPE, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(SHAPE[1:], dtype=torch.bool)
    mask[2:] = True
    result = pixelrnn.complete(model, image, mask, k=4, seed=0, label=2)
    torch.testing.assert_close(result.log_probs, model.log_prob(result.images, 2).detach())
    assert torch.equal(result.images[:, :, ~mask], image[None].expand(4, *SHAPE)[:, :, ~mask])


def test_batched_generations_keep_their_own_labels():
    model = conditional("diagonal_bilstm")
    requests = [pixelrnn.SamplingRequest(n=2, seed=1, label=0), pixelrnn.SamplingRequest(n=1, seed=2, label=3)]
    together = pixelrnn.generate_many(model, requests)
    for _ in together:
        pass
    assert together.labels.tolist() == [0, 0, 3]
    assert torch.equal(together.image[:2], pixelrnn.sample(model, 2, seed=1, label=0))
    assert torch.equal(together.image[2:], pixelrnn.sample(model, 1, seed=2, label=3))
    with pytest.raises(ValueError, match="class-conditional"):
        pixelrnn.generate_many(model, [pixelrnn.SamplingRequest(n=1)])


@pytest.mark.parametrize("name", ["gated_pixelcnn", "multiscale"])
def test_the_codec_keeps_the_label_in_the_file(name):
    model = conditional(name)
    images = torch.randint(0, 6, (3, *SHAPE), generator=torch.Generator().manual_seed(2))
    labels = torch.tensor([1, 0, 3])
    blob = pixelrnn.compress(model, images, label=labels)
    assert blob[HEADER.size : HEADER.size + 3] == bytes([1, 0, 3])
    assert torch.equal(pixelrnn.decompress(model, blob), images)
    single = pixelrnn.compress(model, images[0], label=2)
    assert torch.equal(pixelrnn.decompress(model, single), images[0])
    # The file's bits are those of the image given its label: another label is another code.
    assert pixelrnn.compress(model, images, label=[2, 2, 2]) != blob
    altered = bytearray(blob)
    altered[HEADER.size] = 2
    with pytest.raises(ValueError, match="another model"):
        pixelrnn.decompress(model, bytes(altered))
    with pytest.raises(ValueError, match="class-conditional"):
        pixelrnn.compress(model, images)


def test_a_conditional_model_saves_and_loads(tmp_path):
    model = conditional("pixelcnn")
    loaded = pixelrnn.load(model.save_pretrained(tmp_path / "model"))
    assert loaded.num_classes == 4
    x = torch.randint(0, 6, (2, *SHAPE))
    torch.testing.assert_close(loaded.log_prob(x, [1, 2]), model.log_prob(x, [1, 2]))


def test_per_pixel_bits_and_the_receptive_field_of_a_conditional_model():
    model = conditional("diagonal_bilstm", hidden=12)
    image = torch.randint(0, 6, SHAPE, generator=torch.Generator().manual_seed(3))
    bits = pixelrnn.pixel_bits(model, image, label=1)
    torch.testing.assert_close(bits.sum(), -model.log_prob(image[None], 1).detach()[0] / math.log(2))
    assert not torch.allclose(bits, pixelrnn.pixel_bits(model, image, label=2))
    field = pixelrnn.receptive_field(model, 0, 2, 2)
    rank = model.generation_order()
    assert torch.equal(field, rank < rank[0, 2, 2]), "the label changes nothing about which pixels are seen"
    assert torch.equal(pixelrnn.receptive_field(model, 0, 2, 2, label=3), field)
