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
    "binarized_mnist": ((1, 28, 28), 2),
}


# checkpoints/runs/ holds the resumable state of training runs in progress, checkpoints/classifiers/ the
# judges of class agreement (tested in test_classifier.py): not models.
NOT_MODELS = ("runs", "classifiers")
SHIPPED = sorted(path.name for path in CHECKPOINTS.iterdir() if path.is_dir() and path.name not in NOT_MODELS)


@pytest.mark.parametrize("dataset", ["cifar10", "fashion_mnist"])
def test_every_variant_ships_for_each_data_set(dataset):
    missing = {f"{dataset}-{name}" for name in pixelrnn.MODELS} - set(SHIPPED)
    assert not missing, f"checkpoints/ lacks {sorted(missing)}"


def test_the_rows_of_the_papers_binarized_mnist_table_ship():
    paper = {"pixelcnn", "row_lstm", "diagonal_bilstm", "diagonal_bilstm-1layer"}
    missing = {f"binarized_mnist-{name}" for name in paper} - set(SHIPPED)
    assert not missing, f"checkpoints/ lacks {sorted(missing)}"
    one_layer = pixelrnn.load(CHECKPOINTS / "binarized_mnist-diagonal_bilstm-1layer").config
    seven_layers = pixelrnn.load(CHECKPOINTS / "binarized_mnist-diagonal_bilstm").config
    assert (one_layer["layers"], one_layer["hidden"], seven_layers["layers"], seven_layers["hidden"]) == (1, 32, 7, 16)


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
    assert 0 < bits < math.log2(levels), "trained: better than the uniform distribution"
    if dataset == "binarized_mnist":  # the paper's unit, measured on the same full test set
        assert model.metadata["test_nats_per_image"] == pytest.approx(bits * math.prod(shape) * math.log(2))
    assert (directory / "README.md").read_text().startswith("---"), "a model card with Hub metadata"
    # A class-conditional checkpoint names its classes, and every call takes one.
    label = 0 if model.num_classes else None
    if model.num_classes:
        assert len(model.metadata["classes"]) == model.num_classes
    x = torch.randint(0, levels, (2, *shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(x, label)
        log_prob = model.log_prob(x, label)
    assert logits.shape == (2, levels, *shape)
    assert torch.isfinite(log_prob).all()
    # A flat image (mid-grey; for binary digits, the blank background) is easy for any trained model.
    flat = torch.full((1, *shape), levels // 2 if levels > 2 else 0)
    with torch.no_grad():
        flat_bits = pixelrnn.bits_per_dim(model.log_prob(flat, label), shape).item()
    assert flat_bits < math.log2(levels)
