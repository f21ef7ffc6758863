"""``python -m train.class_agreement``: does a class-conditional model draw the class it is asked for?

    python -m train.class_agreement --model runs/gated_pixelcnn/model --classifier checkpoints/classifiers/fashion_mnist
    python -m train.class_agreement --model MODEL --classifier CLASSIFIER --per-class 100 --grid agreement.png --json

It samples ``--per-class`` images of every class from the model (``pixelrnn.sample(..., label=)``,
in batches), has a classifier trained on the real images (``python -m train.classifier``) say
which class each sample shows, and prints per class the fraction judged to be the class asked
for, overall, and chance (1 / classes). Beside each, the classifier's own accuracy on the real
test images of that class, from its config: where the judge errs on real images, it errs on good
samples too. ``--grid`` saves the samples as a PNG, one row per class.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from tqdm import tqdm

import pixelrnn
from pixelrnn.pictures import to_uint8
from pixelrnn.storage import atomic_write

from .classifier import Classifier, load_classifier, predict
from .distributed import resolve_device
from .evaluate import load_model
from .grid import tile
from .options import _positive_float, _positive_int

#: Samples of each class that ``--grid`` shows in the class's row.
GRID_COLUMNS = 10


def check_compatible(model: pixelrnn.PixelModel, classifier: Classifier) -> None:
    """``ValueError`` unless ``classifier`` can judge ``model``'s samples: a conditional model, the same image
    shape, levels and classes."""
    if not model.num_classes:
        raise ValueError(
            "the model is unconditional (num_classes=0): class agreement needs a class-conditional model "
            "(python -m train --conditional)"
        )
    if model.num_classes != classifier.num_classes:
        raise ValueError(f"the model has {model.num_classes} classes but the classifier {classifier.num_classes}")
    if model.image_shape != classifier.image_shape or model.levels != classifier.levels:
        raise ValueError(
            f"the model draws {_shape(model.image_shape)} images with {model.levels} levels, but the classifier takes "
            f"{_shape(classifier.image_shape)} with {classifier.levels}: train the classifier on the model's data"
        )
    model_classes = tuple(model.metadata.get("classes", ()))
    if model_classes and classifier.classes and model_classes != classifier.classes:
        raise ValueError(
            f"the model's classes {list(model_classes)} are not the classifier's {list(classifier.classes)}: "
            "train the classifier on the model's data"
        )


def draw(
    model: pixelrnn.PixelModel, per_class: int, batch_size: int, seed: int, temperature: float, progress: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(samples LongTensor[K * per_class, C, H, W], labels LongTensor[K * per_class])``: ``per_class`` samples of
    each of the model's ``K`` classes in label order, drawn in batches of ``batch_size``, batch ``b`` from seed
    ``seed + b``."""
    labels = torch.arange(model.num_classes).repeat_interleave(per_class)
    batches = []
    with tqdm(total=len(labels), desc="sampling", unit="img", disable=not progress, dynamic_ncols=True) as bar:
        for b, batch in enumerate(labels.split(batch_size)):
            batches.append(pixelrnn.sample(model, n=len(batch), temperature=temperature, seed=seed + b, label=batch).cpu())
            bar.update(len(batch))
    return torch.cat(batches), labels


def agreement(labels: torch.Tensor, predicted: torch.Tensor, classifier: Classifier) -> dict:
    """The table of :func:`main` as a dict: per class the samples asked for, the fraction of them judged to be
    the class, and the classifier's test accuracy on the class (None when its config does not say); overall."""
    test_per_class = classifier.metadata.get("test_accuracy_per_class") or [None] * classifier.num_classes
    names = classifier.classes or tuple(str(k) for k in range(classifier.num_classes))
    right = predicted == labels
    rows = [
        {
            "class": names[k],
            "samples": int((labels == k).sum()),
            "agreement": float(right[labels == k].double().mean()),
            "classifier_test_accuracy": test_per_class[k],
        }
        for k in range(classifier.num_classes)
    ]
    return {
        "classes": rows,
        "samples": len(labels),
        "agreement": float(right.double().mean()),
        "chance": 1.0 / classifier.num_classes,
        "classifier_test_accuracy": classifier.metadata.get("test_accuracy"),
    }


def save_class_rows(samples: torch.Tensor, labels: torch.Tensor, levels: int, path: Path) -> None:
    """A PNG of ``samples``, one row per class: the first :data:`GRID_COLUMNS` of each (written atomically)."""
    rows = [to_uint8(samples[labels == k][:GRID_COLUMNS], levels) for k in labels.unique()]
    with atomic_write(path) as temp:
        tile(rows, gap=1).save(temp, format="PNG")


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def print_table(result: dict) -> None:
    print(f"class agreement of {result['model']}, judged by {result['classifier']}")
    print(f"{result['per_class']} samples per class, temperature {result['temperature']:g}, seed {result['seed']}\n")
    print("| class | samples | judged the class asked for | classifier on real test images |")
    print("| --- | ---: | ---: | ---: |")
    for row in result["classes"]:
        print(
            f"| {row['class']} | {row['samples']} | {_percent(row['agreement'])} | {_percent(row['classifier_test_accuracy'])} |"
        )
    print(
        f"| **all** | {result['samples']} | **{_percent(result['agreement'])}** | {_percent(result['classifier_test_accuracy'])} |"
    )
    print(f"\nchance: {_percent(result['chance'])}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train.class_agreement", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--model", required=True, help="a class-conditional model: save_pretrained folder, run folder, checkpoint or Hub id")
    add("--classifier", required=True, help="a classifier folder written by python -m train.classifier")
    add("--per-class", type=_positive_int, default=100, help="samples of each class (default 100)")
    add("--batch-size", type=_positive_int, default=100, help="samples drawn at once (default 100)")
    add("--seed", type=int, default=0, help="batch b is drawn from seed + b (default 0)")
    add("--temperature", type=_positive_float, default=1.0, help="sampling temperature (default 1.0)")
    add("--grid", type=Path, metavar="PATH", help=f"save a PNG of the samples, one row per class ({GRID_COLUMNS} each)")
    add("--device", default="auto", help="auto (default), cpu or cuda")
    add("--threads", type=_positive_int, help="CPU threads (torch.set_num_threads)")
    add("--json", action="store_true", help="print one JSON object instead of the table")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
        model = load_model(args.model, device)
        classifier = load_classifier(args.classifier, device)
        check_compatible(model, classifier)
    except (ValueError, FileNotFoundError, ConnectionError) as error:
        parser.error(str(error))
    samples, labels = draw(model, args.per_class, args.batch_size, args.seed, args.temperature, progress=not args.json)
    result = {
        "model": args.model, "classifier": args.classifier, "per_class": args.per_class, "seed": args.seed,
        "temperature": args.temperature, **agreement(labels, predict(classifier, samples), classifier),
    }  # fmt: skip
    if args.grid:
        save_class_rows(samples, labels, model.levels, args.grid)
        result["grid"] = str(args.grid)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
        if args.grid:
            print(f"samples: {args.grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
