"""Sample and completion grids of trained models, as in the README.

    python -m train.figures --checkpoints checkpoints --out docs \
        --test-data cifar10=../shared/data/cifar10-jpeg.tar.gz

For each data set among the checkpoints' unconditional models (or each ``--dataset``): ``samples-DATASET.png`` (one row of samples per
model) and ``completions-DATASET.png`` (test images with their lower half hidden; the
first two columns are the original and the occluded image, then one completion per model).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

import pixelrnn
from pixelrnn.pictures import to_uint8

from .evaluate import dataset_levels
from .grid import tile
from .results import saved_models


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", default="checkpoints")
    parser.add_argument("--out", default="docs")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--completions", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument(
        "--test-data",
        action="append",
        default=[],
        metavar="DATASET=PATH",
        help="read DATASET's test images from PATH (a folder or archive) instead of the standard loader",
    )
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="DATASET",
        help="draw only DATASET's figures (repeatable), e.g. after retraining its models; default: every data set",
    )
    args = parser.parse_args(argv)
    # Everything that can fail on the user's input (paths, data sets) fails here, with a
    # message, before minutes go into sampling.
    try:
        test_data = dict(_dataset_and_path(item) for item in args.test_data)
        by_dataset = _models_by_dataset(Path(args.checkpoints), args.dataset)
        tests = {
            dataset: _test_images(models, test_data.get(dataset, dataset), args.completions)
            for dataset, models in by_dataset.items()
        }
    except (ValueError, FileNotFoundError, ConnectionError) as error:
        parser.error(str(error))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for dataset, models in by_dataset.items():
        levels = models[0].levels
        samples = [to_uint8(pixelrnn.sample(m, args.samples, seed=args.seed), levels) for m in models]
        tile(samples, args.scale, gap=2).save(out / f"samples-{dataset}.png")

        originals = tests[dataset]
        _, h, w = models[0].image_shape
        mask = torch.zeros(h, w, dtype=torch.bool)
        mask[h // 2 :] = True
        occluded = originals.clone()
        occluded[:, :, mask] = 0
        columns = [to_uint8(originals, levels), to_uint8(occluded, levels)]
        columns += [to_uint8(pixelrnn.sample(m, args.completions, originals, mask, seed=args.seed), levels) for m in models]
        rows = [np.stack([column[k] for column in columns]) for k in range(args.completions)]
        tile(rows, args.scale, gap=2).save(out / f"completions-{dataset}.png")
        print(f"{dataset}: rows of {', '.join(m.name for m in models)} -> {out}/samples-{dataset}.png, completions-{dataset}.png")


def _dataset_and_path(item: str) -> tuple[str, str]:
    """``"cifar10=/data/cifar.tar.gz"`` -> ``("cifar10", "/data/cifar.tar.gz")``."""
    dataset, sep, path = item.partition("=")
    if not sep or not dataset or not path:
        raise ValueError(f"--test-data takes DATASET=PATH, e.g. cifar10=/data/cifar10.tar.gz; got {item!r}")
    return dataset, path


def _models_by_dataset(checkpoints: Path, only: list[str]) -> dict[str, list]:
    """The unconditional saved models under ``checkpoints``, grouped by data set, in :data:`pixelrnn.MODELS` order;
    only the data sets in ``only``, if any are named.
    A class-conditional model draws a class it is asked for: its figure is ``python -m train.class_agreement --grid``,
    one row per class."""
    if not checkpoints.is_dir():
        raise FileNotFoundError(f"{checkpoints} is not a directory of saved models")
    by_dataset: dict[str, list] = {}
    for directory, model in saved_models(checkpoints):
        if model.num_classes:
            continue
        by_dataset.setdefault(model.metadata.get("dataset", directory.name.split("-")[0]), []).append(model)
    if not by_dataset:
        raise FileNotFoundError(f"no saved models (folders with a config.json) in {checkpoints}")
    missing = [dataset for dataset in only if dataset not in by_dataset]
    if missing:
        raise FileNotFoundError(
            f"no unconditional models of {', '.join(missing)} in {checkpoints}; its data sets: {', '.join(by_dataset)}"
        )
    return {dataset: models for dataset, models in by_dataset.items() if not only or dataset in only}


def _test_images(models: list, source: str, count: int) -> torch.Tensor:
    """``count`` test images of ``source``, evenly spread, sized for ``models``: ``LongTensor[count, C, H, W]``."""
    levels = models[0].levels
    if dataset_levels(source) != levels:
        raise ValueError(f"the models have {levels} levels per sub-pixel but {source} has {dataset_levels(source)}")
    _, h, w = models[0].image_shape
    test = pixelrnn.data.load_dataset(source, split="test", image_size=(h, w), channels=models[0].colors)
    return test[torch.linspace(0, len(test) - 1, count).long()].long()


if __name__ == "__main__":
    main()
