"""``python -m pixelrnn.codec``: compress image files with a model, and decompress them.

python -m pixelrnn.codec compress --model PATH_OR_REPO IMAGE... -o DIR     # DIR/<name>.prnn for each image
python -m pixelrnn.codec compress --model PATH --label "Ankle boot" boot.png -o DIR  # a class-conditional model
python -m pixelrnn.codec decompress --model PATH_OR_REPO FILE... -o DIR    # DIR/<name>.png for each file
python -m pixelrnn.codec bench --model PATH_OR_REPO... [--data NAME_OR_PATH]  # a table against PNG, WebP, JPEG XL, xz

Each image is its own file, coded alone: the model must be the one that decompresses it. A class-conditional
model codes an image given its class (``--label``: a class name from the model's metadata, or a number),
which the file keeps: decompressing needs no label.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from ..likelihood import bits_per_dim
from ..models import load
from ..storage import atomic_write
from . import bench, compress, decompress
from .image_files import read_image_file, write_image_file

#: The suffix of compressed files.
SUFFIX = ".prnn"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pixelrnn.codec", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, inputs, what in (
        ("compress", "IMAGE", f"image files (PNG, ...) to compress into DIR/<name>{SUFFIX}"),
        ("decompress", "FILE", f"{SUFFIX} files to decompress into DIR/<name>.png"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("--model", required=True, metavar="PATH_OR_REPO", help="a save_pretrained folder or Hub repo id")
        command.add_argument("inputs", nargs="+", metavar=inputs, help=what)
        command.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="folder to write into")
        if name == "compress":
            command.add_argument("--label", help="the images' class, for a class-conditional model: a class name or number")
    bench.add_arguments(commands.add_parser("bench", help=bench.__doc__.split("\n\n")[0].split(": ", 1)[1]))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "bench":
        bench.run(args, parser.error)
        return 0
    suffix = SUFFIX if args.command == "compress" else ".png"
    outputs = [args.output / (Path(source).stem + suffix) for source in args.inputs]
    if len(set(outputs)) < len(outputs):
        parser.error(f"two inputs have the same name, and would both be written to one file in {args.output}")
    try:
        model = load(args.model)
        if args.command == "compress":
            label = class_index(model, args.label)
            model.check_label(label, 1)
            # Every input is read (and checked) before the first file is written.
            images = [read_image_file(source, model.image_shape, model.levels) for source in args.inputs]
            for source, image, output in zip(args.inputs, images, outputs):
                _write_bytes(output, compress(model, image, label=label))
                print(f"{source} -> {output}: {_size_report(model, image, label, output)}")
        else:
            blobs = [Path(source).read_bytes() for source in args.inputs]
            for source, blob, output in zip(args.inputs, blobs, outputs):
                try:
                    image = decompress(model, blob)
                except ValueError as error:
                    raise ValueError(f"{source}: {error}") from None
                write_image_file(output, image, model.levels)
                print(f"{source} -> {output}")
    except (ValueError, OSError, ConnectionError) as error:
        parser.error(str(error))
    return 0


def _write_bytes(path: Path, blob: bytes) -> None:
    with atomic_write(path) as temp:
        temp.write_bytes(blob)


def class_index(model, label: str | None) -> int | None:
    """``--label`` as a class number: a name from the model's metadata ``classes``, or a number; None for None."""
    if label is None:
        return None
    names = list(model.metadata.get("classes", []))
    if label in names:
        return names.index(label)
    if label.isdigit():
        return int(label)
    known = f"; its classes: {', '.join(names)}" if names else ""
    raise ValueError(f"--label {label!r} is neither a class of the model nor a class number{known}")


def _size_report(model, image: torch.Tensor, label: int | None, output: Path) -> str:
    """The file's size and bits/dim beside the model's -log2 p(image) (given its label) in bits/dim."""
    size = output.stat().st_size
    with torch.no_grad():
        log_prob = model.log_prob(image[None].to(model.device), None if label is None else [label])
        model_bits = float(bits_per_dim(log_prob, model.image_shape)[0])
    file_bits = size * 8 / math.prod(model.image_shape)
    return f"{size} bytes, {file_bits:.3f} bits/dim (the model's -log2 p: {model_bits:.3f} bits/dim)"


if __name__ == "__main__":
    sys.exit(main())
