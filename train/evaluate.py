"""Exact negative log-likelihood of a trained model on a data set: bits/dim, and nats/image.

    python -m train.evaluate --checkpoint runs/row_lstm/model --data cifar10
    python -m train.evaluate --checkpoint user/pixelrnn-binarized-mnist --data binarized_mnist --json

``--checkpoint`` is a directory written by ``save_pretrained`` (``OUT/model``), a run's ``--out``
folder (its ``model/`` is used), a training checkpoint (``OUT/checkpoint``) or a Hugging Face
Hub repo id. The likelihood is exact (the models' autoregressive factorisation, no bounds),
computed in float32. Nats per image is the unit the PixelRNN paper reports for binarized MNIST.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from tqdm import tqdm

import pixelrnn
from pixelrnn import data

from . import checkpoint
from .distributed import resolve_device


def evaluate(
    model: pixelrnn.PixelModel,
    images: torch.Tensor,
    batch_size: int = 64,
    device=None,
    progress: bool = False,
    labels: torch.Tensor | None = None,
) -> dict:
    """Exact NLL of ``images`` (integer ``[N, C, H, W]``, any device) under ``model``; a class-conditional
    model scores each image given its label (``labels``, ``LongTensor[N]``): the conditional likelihood.

    Returns ``{"bits_per_dim": float, "nats_per_image": float, "images": N}``; both averages
    are over all ``N`` images (bits/dim: over all ``N * C * H * W`` sub-pixels). ``device``
    defaults to the model's.
    """
    if len(images) == 0:
        raise ValueError("no images to evaluate on")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    device = torch.device(device) if device is not None else model.device
    was_training = model.training
    model.eval()
    total_nats = 0.0
    try:
        with torch.no_grad(), tqdm(total=len(images), desc="evaluating", unit="img", disable=not progress, leave=False) as bar:
            for start in range(0, len(images), batch_size):
                batch = images[start : start + batch_size].to(device).long()
                y = None if labels is None else labels[start : start + batch_size].to(device)
                total_nats -= float(model.log_prob(batch, y).double().sum())
                bar.update(len(batch))
    finally:
        model.train(was_training)
    nats_per_image = total_nats / len(images)
    return {
        "bits_per_dim": nats_per_image / (math.prod(model.image_shape) * math.log(2.0)),
        "nats_per_image": nats_per_image,
        "images": len(images),
    }


def dataset_levels(name_or_path: str) -> int:
    """Values per sub-pixel of a data set: a standard set's own (also given by path), 256 for images."""
    name = data.standard_name(name_or_path)
    return data.dataset_info(name)["levels"] if name is not None else 256


def load_model(reference: str, device=None) -> pixelrnn.PixelModel:
    """A model from a training checkpoint, a run folder, a ``save_pretrained`` directory or a Hub repo id."""
    path = Path(reference)
    if (path / "state.json").is_file():
        return checkpoint.load_model(path, device)
    if path.is_dir() and not (path / "config.json").is_file() and (path / "model" / "config.json").is_file():
        path = path / "model"
    return pixelrnn.load(str(path), device=device)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--checkpoint", required=True, help="save_pretrained directory, run folder, training checkpoint or Hub repo id"
    )
    parser.add_argument("--data", required=True, help=f"{', '.join(data.DATASETS)}, or a folder / archive of images")
    parser.add_argument("--split", default="test", choices=data.SPLITS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--max-images", type=int, default=None, help="evaluate on the first N images only")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be a positive integer, got {args.batch_size}")
    if args.max_images is not None and args.max_images < 1:
        parser.error(f"--max-images must be a positive integer, got {args.max_images}")
    try:
        device = resolve_device(args.device)
        model = load_model(args.checkpoint, device)
        levels = dataset_levels(args.data)
        if levels != model.levels:
            raise ValueError(
                f"the model has {model.levels} levels per sub-pixel but {args.data} has {levels}: "
                "evaluate it on data of the kind it was trained on"
            )
        channels, height, width = model.image_shape
        images = data.load_dataset(args.data, split=args.split, image_size=(height, width), channels=channels)
        labels = data.load_labels(args.data, split=args.split)[: args.max_images] if model.num_classes else None
        if labels is not None and len(data.class_names(args.data)) != model.num_classes:
            raise ValueError(
                f"the model is conditional on {model.num_classes} classes but {args.data} has "
                f"{len(data.class_names(args.data))}: evaluate it on the data set it was trained on"
            )
    except (ValueError, FileNotFoundError, ConnectionError) as error:
        parser.error(str(error))
    images = images[: args.max_images]
    result = evaluate(model, images, args.batch_size, device, progress=not args.json, labels=labels)
    result = {"checkpoint": args.checkpoint, "data": args.data, "split": args.split, **result}
    if labels is not None:
        result["conditional"] = True  # each image scored given its label
    if args.json:
        print(json.dumps(result))
        return 0
    given = ", each given its label (conditional)" if labels is not None else ""
    print(f"{args.data} {args.split}: {result['bits_per_dim']:.4f} bits/dim over {result['images']} images{given}")
    if model.levels == 2:
        print(f"{args.data} {args.split}: {result['nats_per_image']:.2f} nats/image")
    return 0


if __name__ == "__main__":
    sys.exit(main())
