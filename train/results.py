"""The README's results table, read from the shipped checkpoints' config.json.

    python -m train.results --checkpoints checkpoints

One row per checkpoint, grouped by data set: the test bits/dim that training measured
on the full test set (the same function ``python -m train.evaluate`` runs), parameters,
optimizer steps, training time and hardware, and the published number where the
PixelRNN paper or the Gated PixelCNN paper gives one for that model and data set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pixelrnn
from pixelrnn.hub import saved_folders

#: Published CIFAR-10 test NLL in bits/dim: PixelRNN (van den Oord et al. 2016a, table 5)
#: and Gated PixelCNN (van den Oord et al. 2016b, table 1). Both on the original 8-bit images.
PUBLISHED = {
    ("cifar10", "pixelcnn"): 3.14,
    ("cifar10", "row_lstm"): 3.07,
    ("cifar10", "diagonal_bilstm"): 3.00,
    ("cifar10", "gated_pixelcnn"): 3.03,
}


def saved_models(checkpoints: Path) -> list[tuple[Path, pixelrnn.PixelModel]]:
    """``(folder, model)`` for every ``save_pretrained`` folder under ``checkpoints``, in data set
    (from the metadata) then :data:`pixelrnn.MODELS` order."""
    found = [(folder, pixelrnn.load(folder)) for folder in saved_folders(checkpoints)]
    order = {name: k for k, name in enumerate(pixelrnn.MODELS)}
    return sorted(found, key=lambda item: (item[1].metadata.get("dataset", ""), order[item[1].name]))


def rows(checkpoints: Path) -> list[dict]:
    """One dict per ``save_pretrained`` folder under ``checkpoints``, in data set then model order."""
    found = []
    for _, model in saved_models(checkpoints):
        meta = model.metadata
        dataset = meta.get("dataset", "?")
        found.append(
            {
                "dataset": dataset,
                "model": model.name,
                "bits_per_dim": meta.get("test_bits_per_dim"),
                "published": PUBLISHED.get((dataset, model.name)),
                "parameters": sum(p.numel() for p in model.parameters()),
                "steps": meta.get("train_steps"),
                "minutes": meta["train_time_s"] / 60 if "train_time_s" in meta else None,
                "hardware": meta.get("hardware", "?"),
            }
        )
    return found


def markdown(table: list[dict]) -> str:
    def shown(value, form):
        return "–" if value is None else format(value, form)

    lines = [
        "| data set | model | test bits/dim | published | parameters | steps | training | hardware |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in table:
        lines.append(
            f"| {row['dataset']} | `{row['model']}` | {shown(row['bits_per_dim'], '.3f')} | {shown(row['published'], '.2f')} "
            f"| {row['parameters']:,} | {shown(row['steps'], ',')} | {shown(row['minutes'], '.0f')} min | {row['hardware']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", default="checkpoints", type=Path)
    args = parser.parse_args(argv)
    if not args.checkpoints.is_dir():
        parser.error(f"{args.checkpoints} is not a folder of save_pretrained checkpoints")
    print(markdown(rows(args.checkpoints)))


if __name__ == "__main__":
    main()
