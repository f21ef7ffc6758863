"""What several test files share: where things are, a free port, tiny models."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch

import pixelrnn

REPO = Path(__file__).resolve().parents[1]
#: The real data sets kept beside the repository (../shared/data), or wherever $PIXELRNN_SHARED_DATA says;
#: tests that need them skip when they are absent.
SHARED_DATA = Path(os.environ.get("PIXELRNN_SHARED_DATA") or REPO.parent / "shared" / "data")
#: Hyper-parameters small enough to build and run a model in milliseconds.
TINY = dict(hidden=8, layers=1, out_hidden=8)


def free_port() -> int:
    """A loopback port that nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_checkpoints(root: Path) -> list[str]:
    """Two tiny random models in ``root``: a greyscale PixelCNN and an RGB Row LSTM, 8x8, 256 levels."""
    folders = []
    for name, shape, dataset in (("pixelcnn", (1, 8, 8), "fashion_mnist"), ("row_lstm", (3, 8, 8), "cifar10")):
        torch.manual_seed(0)
        model = pixelrnn.build_model(name, image_shape=shape, levels=256, **TINY)
        folders.append(str(model.save_pretrained(root / f"{dataset}-{name}", dataset=dataset)))
    return folders


def tiny_conditional_checkpoint(root: Path) -> str:
    """A tiny random class-conditional greyscale PixelCNN in ``root``, 8x8, 256 levels, Fashion-MNIST's ten
    classes by name; its weights large, so that the class changes what it draws."""
    torch.manual_seed(0)
    model = with_large_weights(pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), levels=256, num_classes=10, **TINY))
    classes = list(pixelrnn.data.class_names("fashion_mnist"))
    return str(model.save_pretrained(root / "fashion_mnist-pixelcnn-conditional", dataset="fashion_mnist", classes=classes))


def with_large_weights(model: pixelrnn.PixelModel) -> pixelrnn.PixelModel:
    """``model`` with weights drawn larger than the default initialisation, so that every dependency is visible."""
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.4)
    return model
