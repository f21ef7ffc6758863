"""Write the app's bundled gallery: a few dozen test images per data set, as PNGs.

    python -m app.make_gallery [--fashion-mnist DIR] [--cifar10 TAR] [--binarized-mnist TAR] [--per-class 3]

Reads the local copies (Fashion-MNIST's IDX ``.gz`` files, the CIFAR-10 JPEG tarball, the
binarized MNIST ``.amat`` archive), takes the first ``per-class`` test images of each class
in test-set order and writes them to ``app/gallery/<dataset>/<NN>_<class>.png``. Binarized
MNIST has no labels; its test split is sorted by digit, so evenly spaced images cover every
digit. The files are committed, so the app needs no data set at run time.
"""

from __future__ import annotations

import argparse
import io
import os
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from pixelrnn import data
from pixelrnn.file_formats import read_idx
from pixelrnn.storage import atomic_write

from .gallery import GALLERY_DIR

FASHION_MNIST_CLASSES = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle-boot",
)
DEFAULT_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
#: The shared data folder beside the repository (../shared/data), or $PIXELRNN_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("PIXELRNN_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
DEFAULT_CIFAR10 = SHARED_DATA / "cifar10-jpeg.tar.gz"
DEFAULT_BINARIZED_MNIST = SHARED_DATA / "binarized_mnist-amat.tar.gz"


def first_per_class(labels: list[str], per_class: int) -> list[int]:
    """Indices of the first ``per_class`` items of each label, interleaved class by class."""
    classes = sorted(set(labels), key=labels.index)
    chosen = []
    for rank in range(per_class):
        for name in classes:
            hits = [k for k, label in enumerate(labels) if label == name]
            if rank < len(hits):
                chosen.append(hits[rank])
    return chosen


def fashion_mnist(folder: Path, per_class: int) -> list[tuple[str, Image.Image]]:
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz", ndim=3)
    labels = [FASHION_MNIST_CLASSES[k] for k in read_idx(folder / "t10k-labels-idx1-ubyte.gz", ndim=1)]
    return [(labels[k], Image.fromarray(images[k], "L")) for k in first_per_class(labels, per_class)]


def cifar10(tarball: Path, per_class: int) -> list[tuple[str, Image.Image]]:
    with tarfile.open(tarball) as tar:
        members = sorted(
            (m for m in tar if m.isfile() and m.name.startswith("cifar10-jpeg/test/") and m.name.endswith(".jpg")),
            key=lambda m: m.name,
        )
        labels = [m.name.split("/")[2] for m in members]
        picked = []
        for k in first_per_class(labels, per_class):
            with Image.open(io.BytesIO(tar.extractfile(members[k]).read())) as image:
                picked.append((labels[k], image.convert("RGB")))
    return picked


def binarized_mnist(archive: Path, per_class: int) -> list[tuple[str, Image.Image]]:
    images = data.load_dataset(archive, split="test").numpy()[:, 0]
    picks = np.linspace(0, len(images) - 1, 10 * per_class).round().astype(int)
    return [("digit", Image.fromarray(images[k] * 255, "L")) for k in picks]


def write_gallery(dataset: str, items: list[tuple[str, Image.Image]], root: Path = GALLERY_DIR) -> Path:
    """Replace ``root/dataset`` with the items as ``NN_label.png``; returns the folder."""
    folder = root / dataset
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    for k, (label, image) in enumerate(items):
        with atomic_write(folder / f"{k:02d}_{label}.png") as temp:
            image.save(temp, format="PNG", optimize=True)
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-mnist", type=Path, default=DEFAULT_FASHION_MNIST, help="folder with the IDX .gz files")
    parser.add_argument("--cifar10", type=Path, default=DEFAULT_CIFAR10, help="cifar10-jpeg.tar.gz")
    parser.add_argument("--binarized-mnist", type=Path, default=DEFAULT_BINARIZED_MNIST, help="binarized_mnist-amat.tar.gz")
    parser.add_argument("--per-class", type=int, default=3, help="test images per class (default 3)")
    args = parser.parse_args(argv)
    for dataset, read, source in (
        ("fashion_mnist", fashion_mnist, args.fashion_mnist),
        ("cifar10", cifar10, args.cifar10),
        ("binarized_mnist", binarized_mnist, args.binarized_mnist),
    ):
        if not source.exists():
            raise SystemExit(f"{source} not found: give the local copy of {dataset} with --{dataset.replace('_', '-')}")
        folder = write_gallery(dataset, read(source, args.per_class))
        print(f"{dataset}: {len(list(folder.glob('*.png')))} images in {folder}")


if __name__ == "__main__":
    main()
