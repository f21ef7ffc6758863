"""``python -m pixelrnn.codec bench``: the models as lossless codecs against the codecs people use, on a test set.

Per model: the bits/dim of the actual compressed files (the images in files of ``--batch-size``,
headers included), the model's -log2 p(x) in bits/dim, PNG, WebP lossless and JPEG XL lossless
files of each image (:mod:`.baselines`), and xz over the raw bytes of the whole set; then the
codec's encode and decode speed. Every file the codec writes is decoded and checked against its
images. A class-conditional model codes each image given its label (the files keep the labels). Prints a
markdown table, a row per model as it is measured.
"""

from __future__ import annotations

import argparse
import lzma
import math
import time
from pathlib import Path

import torch

from .. import data
from ..hardware import hardware_name
from ..models import load
from . import compress, decompress
from .baselines import NAMES, imagecodecs, picture_sizes

#: The table's bits/dim columns.
COLUMNS = ("codec", "model", *NAMES, "xz")


def measure(model, images: torch.Tensor, batch_size: int, labels: torch.Tensor | None = None) -> dict[str, float]:
    """Bits/dim of each way of storing ``images`` (``LongTensor[N, C, H, W]``, with their ``labels``, ``LongTensor[N]``,
    for a conditional model), and the codec's images per second.

    Encoding and decoding are timed apart from the checks and the other codecs.
    """
    totals = dict.fromkeys(COLUMNS[:-1], 0.0)
    if imagecodecs is None:
        totals["JPEG XL"] = math.nan
    encode_s = decode_s = 0.0
    label_batches = labels.split(batch_size) if labels is not None else [None] * math.ceil(len(images) / batch_size)
    for batch, batch_labels in zip(images.split(batch_size), label_batches):
        start = time.perf_counter()
        blob = compress(model, batch, label=batch_labels)
        encode_s += time.perf_counter() - start
        start = time.perf_counter()
        decoded = decompress(model, blob)
        decode_s += time.perf_counter() - start
        if not torch.equal(decoded.cpu(), batch):
            raise AssertionError("the codec did not give the images back exactly")
        totals["codec"] += 8 * len(blob)
        with torch.no_grad():
            totals["model"] += float(-model.log_prob(batch.to(model.device), batch_labels).sum()) / math.log(2)
        for image in batch:
            for name, size in picture_sizes(image, model.levels).items():
                totals[name] += 8 * size
    dims = images.numel()
    result = {name: bits / dims for name, bits in totals.items()}
    raw = images.to(torch.uint8).numpy().tobytes()
    result["xz"] = 8 * len(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)) / dims
    result["encode/s"], result["decode/s"] = len(images) / encode_s, len(images) / decode_s
    return result


def add_arguments(parser: argparse.ArgumentParser, default_models=None) -> None:
    models = dict(nargs="+", metavar="PATH_OR_REPO", help="save_pretrained folders or Hub repo ids")
    if default_models:
        models.update(nargs="*", default=default_models, help=models["help"] + " (default: %(default)s)")
    parser.add_argument("--model", "--checkpoints", dest="models", required=not default_models, **models)
    parser.add_argument("--data", help="data set name or path (default: the one each model was trained on)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-images", type=int, help="at most this many images (after --every; default: all)")
    parser.add_argument("--every", type=int, default=1, metavar="K", help="every K-th image of the split (default: 1)")
    parser.add_argument("--batch-size", type=int, default=256, help="images per compressed file (default: 256)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")


def run(args: argparse.Namespace, error) -> None:
    """Print the table for ``args`` (from :func:`add_arguments`); ``error(message)`` reports bad arguments,
    a model that does not load and data that is not there."""
    if args.every < 1 or args.batch_size < 1:
        error("--every and --batch-size take a positive number")
    device = torch.device(args.device)
    print(f"Lossless compression, bits/dim (lower is better), on {hardware_name(device)}, torch {torch.__version__}\n")
    print(f"| data | model | images | {' | '.join(COLUMNS)} | encode images/s | decode images/s |")
    print("| --- | --- | ---: |" + " ---: |" * (len(COLUMNS) + 2), flush=True)
    for source in args.models:
        try:
            model = load(source, device=device)
            data_set = args.data or model.metadata.get("dataset")
            if data_set is None:
                raise ValueError(f"{source} does not say what it was trained on: pass --data")
            c, h, w = model.image_shape
            images = data.load_dataset(data_set, split=args.split, image_size=(h, w), channels=c)
            labels = data.load_labels(data_set, split=args.split) if model.num_classes else None
        except (ValueError, OSError, ConnectionError) as problem:
            error(str(problem))
        images = images[:: args.every][: args.max_images].long()
        if labels is not None:
            labels = labels[:: args.every][: args.max_images]
        result = measure(model, images, args.batch_size, labels)
        cells = " | ".join("n/a" if math.isnan(result[name]) else f"{result[name]:.3f}" for name in COLUMNS)
        print(
            f"| {Path(str(data_set)).name} | {Path(source).name} | {len(images):,} | {cells} "
            f"| {result['encode/s']:.1f} | {result['decode/s']:.1f} |",
            flush=True,
        )
