"""The README's results tables, read from the shipped checkpoints' config.json.

    python -m train.results --checkpoints checkpoints

One row per checkpoint, grouped by data set: the test bits/dim that training measured
on the full test set (the same function ``python -m train.evaluate`` runs), parameters,
optimizer steps, training time and hardware, and the published number where the
PixelRNN paper or the Gated PixelCNN paper gives one for that model and data set.
Binarized MNIST gets a table of its own in the paper's unit, nats per image, beside the
paper's table 4 and the gap to it. A class-conditional model's bits/dim are given its class.

``--codecs`` adds the yardstick of the standard lossless codecs: the bits/dim of the same test
images, each a lossless WebP and JPEG XL file (:mod:`pixelrnn.codec.baselines`), measured on the
spot (minutes per data set). ``--data NAME=PATH`` says where a data set is read from when its
name is not enough (``--data cifar10=../shared/data/cifar10-jpeg.tar.gz``).

    python -m train.results --checkpoints checkpoints --codecs --data cifar10=../shared/data/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

import pixelrnn
from pixelrnn import data
from pixelrnn.codec.baselines import picture_sizes
from pixelrnn.hub import saved_folders

#: The codecs of ``--codecs``, as :func:`pixelrnn.codec.baselines.picture_sizes` names them.
CODECS = ("JPEG XL", "WebP")

#: Published CIFAR-10 test NLL in bits/dim: PixelRNN (van den Oord et al. 2016a, table 5)
#: and Gated PixelCNN (van den Oord et al. 2016b, table 1). Both on the original 8-bit images.
PUBLISHED = {
    ("cifar10", "pixelcnn"): 3.14,
    ("cifar10", "row_lstm"): 3.07,
    ("cifar10", "diagonal_bilstm"): 3.00,
    ("cifar10", "gated_pixelcnn"): 3.03,
}


#: Binarized MNIST test NLL in nats per image, PixelRNN paper table 4, by model and number of
#: layers (None: the one configuration the paper reports for that model).
PUBLISHED_MNIST_NATS = {
    ("pixelcnn", None): 81.30,
    ("row_lstm", None): 80.54,
    ("diagonal_bilstm", 1): 80.75,
    ("diagonal_bilstm", 7): 79.20,
}


def published_mnist_nats(model: pixelrnn.PixelModel) -> float | None:
    """The paper's binarized-MNIST number for this model's kind and depth, if it has one."""
    layers = model.config.get("layers")
    return PUBLISHED_MNIST_NATS.get((model.name, layers), PUBLISHED_MNIST_NATS.get((model.name, None)))


def saved_models(checkpoints: Path) -> list[tuple[Path, pixelrnn.PixelModel]]:
    """``(folder, model)`` for every ``save_pretrained`` folder under ``checkpoints``, in data set
    (from the metadata) then :data:`pixelrnn.MODELS` order."""
    found = [(folder, pixelrnn.load(folder)) for folder in saved_folders(checkpoints)]
    order = {name: k for k, name in enumerate(pixelrnn.MODELS)}
    return sorted(found, key=lambda item: (item[1].metadata.get("dataset", ""), order[item[1].name]))


def rows(checkpoints: Path) -> list[dict]:
    """One dict per ``save_pretrained`` folder under ``checkpoints``, in data set then model order."""
    found = []
    for folder, model in saved_models(checkpoints):
        meta = model.metadata
        dataset = meta.get("dataset", "?")
        found.append(
            {
                "dataset": dataset,
                "folder": folder.name,
                "model": model.name,
                "conditional": model.num_classes > 0,
                "image_shape": model.image_shape,
                "levels": model.levels,
                "layers": model.config.get("layers"),
                "hidden": model.config.get("hidden"),
                "nats": meta.get("test_nats_per_image"),
                "published_nats": published_mnist_nats(model),
                "epochs": meta.get("epochs"),
                "bits_per_dim": meta.get("test_bits_per_dim"),
                "published": PUBLISHED.get((dataset, model.name)),
                "parameters": sum(p.numel() for p in model.parameters()),
                "steps": meta.get("train_steps"),
                "minutes": meta["train_time_s"] / 60 if "train_time_s" in meta else None,
                "hardware": meta.get("hardware", "?"),
            }
        )
    return found


def shown(value, form: str) -> str:
    return "–" if value is None else format(value, form)


def codec_bits(source: str, image_shape, levels: int) -> dict[str, float]:
    """Bits/dim of the test split of ``source`` (a data set name or path) stored one lossless file per image,
    by each codec of :data:`CODECS`; a codec that is not installed is left out."""
    c, h, w = image_shape
    images = data.load_dataset(source, split="test", image_size=(h, w), channels=c).long()
    totals: dict[str, int] = {}
    for image in tqdm(images, desc=f"codecs on {Path(source).name}", unit="img", leave=False, disable=None):
        for name, size in picture_sizes(image, levels).items():
            totals[name] = totals.get(name, 0) + 8 * size
    return {name: totals[name] / images.numel() for name in CODECS if name in totals}


def markdown(table: list[dict], codecs: dict[str, dict[str, float]] | None = None) -> str:
    """The bits/dim table, of every data set but binarized MNIST; ``codecs``: data set -> :func:`codec_bits`, as columns."""
    names = CODECS if codecs else ()
    lines = [
        "| data set | model | test bits/dim | "
        + "".join(f"{name} | " for name in names)
        + "published | parameters | steps | training | hardware |",
        "| --- | --- | ---: | " + "---: | " * len(names) + "---: | ---: | ---: | ---: | --- |",
    ]
    for row in table:
        if row["dataset"] == "binarized_mnist":
            continue
        model = f"`{row['model']}`" + (", given the class" if row["conditional"] else "")
        baselines = (codecs or {}).get(row["dataset"], {})
        cells = "".join(f"{shown(baselines.get(name), '.3f')} | " for name in names)
        lines.append(
            f"| {row['dataset']} | {model} | {shown(row['bits_per_dim'], '.3f')} | {cells}{shown(row['published'], '.2f')} "
            f"| {row['parameters']:,} | {shown(row['steps'], ',')} | {shown(row['minutes'], '.0f')} min | {row['hardware']} |"
        )
    return "\n".join(lines)


def binarized_markdown(table: list[dict]) -> str:
    """The binarized-MNIST table in nats per image, beside the paper's; empty when there is no such row."""
    binarized = [row for row in table if row["dataset"] == "binarized_mnist"]
    if not binarized:
        return ""
    lines = [
        "| checkpoint | model | layers, h | test NLL (nats) | paper | gap | parameters | epochs | training | hardware |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in binarized:
        gap = row["nats"] - row["published_nats"] if row["nats"] is not None and row["published_nats"] else None
        lines.append(
            f"| {row['folder']} | `{row['model']}` | {row['layers']}, {row['hidden']} | {shown(row['nats'], '.2f')} "
            f"| {shown(row['published_nats'], '.2f')} | {shown(gap, '+.2f')} | {row['parameters']:,} "
            f"| {shown(row['epochs'], '.1f')} | {shown(row['minutes'], '.0f')} min | {row['hardware']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", default="checkpoints", type=Path)
    parser.add_argument("--codecs", action="store_true", help=f"add the bits/dim of {' and '.join(CODECS)} on each test set")
    parser.add_argument(
        "--data", action="append", default=[], metavar="NAME=PATH", help="read data set NAME from PATH (for --codecs)"
    )
    args = parser.parse_args(argv)
    if not args.checkpoints.is_dir():
        parser.error(f"{args.checkpoints} is not a folder of save_pretrained checkpoints")
    sources = {}
    for pair in args.data:
        name, _, path = pair.partition("=")
        if not path:
            parser.error(f"--data takes NAME=PATH, got {pair!r}")
        sources[name] = path
    table = rows(args.checkpoints)
    codecs = None
    if args.codecs:
        first = {}  # one row per data set gives its image shape and levels
        for row in table:
            if row["dataset"] != "binarized_mnist":
                first.setdefault(row["dataset"], row)
        try:
            codecs = {name: codec_bits(sources.get(name, name), row["image_shape"], row["levels"]) for name, row in first.items()}
        except (ValueError, FileNotFoundError) as error:
            parser.error(f"{error} (say where a data set is with --data NAME=PATH)")
    print(markdown(table, codecs))
    if binarized := binarized_markdown(table):
        print()
        print(binarized)


if __name__ == "__main__":
    main()
