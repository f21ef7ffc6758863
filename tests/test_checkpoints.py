"""The pretrained weights that ship in checkpoints/: present, well-formed, usable."""

import math

import pytest
import torch
from conftest import REPO

import pixelrnn

CHECKPOINTS = REPO / "checkpoints"
EXPECTED = {
    "fashion_mnist": ((1, 28, 28), 256),
    "cifar10": ((3, 32, 32), 256),
}


# checkpoints/runs/ holds the resumable state of training runs in progress, not models.
SHIPPED = sorted(path.name for path in CHECKPOINTS.iterdir() if path.is_dir() and path.name != "runs")


@pytest.mark.parametrize("dataset", sorted(EXPECTED))
def test_every_variant_ships_for_each_data_set(dataset):
    missing = {f"{dataset}-{name}" for name in pixelrnn.MODELS} - set(SHIPPED)
    assert not missing, f"checkpoints/ lacks {sorted(missing)}"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint(name):
    dataset, model_name = name.split("-")[:2]  # <data set>-<model>[-<variant>]
    directory = CHECKPOINTS / name
    assert (directory / "model.safetensors").stat().st_size < 20e6, "each checkpoint stays under 20 MB"
    model = pixelrnn.load(directory)
    shape, levels = EXPECTED[dataset]
    assert model.name == model_name and model.image_shape == shape and model.levels == levels
    assert model.metadata["dataset"] == dataset
    bits = model.metadata["test_bits_per_dim"]
    assert 0 < bits < 8, "trained: better than the uniform 8 bits/dim"
    assert (directory / "README.md").read_text().startswith("---"), "a model card with Hub metadata"
    x = torch.randint(0, levels, (2, *shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(x)
        log_prob = model.log_prob(x)
    assert logits.shape == (2, levels, *shape)
    assert torch.isfinite(log_prob).all()
    # A flat grey image is easy for any trained model; random noise is not.
    flat = torch.full((1, *shape), levels // 2)
    with torch.no_grad():
        flat_bits = pixelrnn.bits_per_dim(model.log_prob(flat), shape).item()
    assert flat_bits < math.log2(levels)
