"""The models as lossless codecs (:mod:`pixelrnn.codec`) against the codecs people use, on a test set.

    python bench/compression.py                                          # the shipped Fashion-MNIST models
    python bench/compression.py --checkpoints checkpoints/cifar10-pixelcnn --every 5 --max-images 500
    python bench/compression.py --checkpoints MODEL_FOLDER --data binarized_mnist --batch-size 1000

The same as ``python -m pixelrnn.codec bench`` (:mod:`pixelrnn.codec.bench`), with the shipped
Fashion-MNIST models as the default. JPEG XL needs ``imagecodecs`` (``pip install -e ".[bench]"``);
without it that column says n/a.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pixelrnn.codec import bench

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_arguments(parser, default_models=sorted(str(folder) for folder in (REPO / "checkpoints").glob("fashion_mnist-*")))
    bench.run(parser.parse_args(), parser.error)


if __name__ == "__main__":
    main()
