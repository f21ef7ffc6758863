"""``python -m train.classifier``: a small CNN that tells a data set's classes apart, the judge that
``python -m train.class_agreement`` asks which class a conditional model's samples show.

    python -m train.classifier --data fashion_mnist --out checkpoints/classifiers/fashion_mnist
    python -m train.classifier --data ../shared/data/cifar10-jpeg.tar.gz --augment --out checkpoints/classifiers/cifar10

It trains on the data set's training split (Adam, a cosine learning-rate schedule; ``--augment``:
random horizontal flips and shifts), measures its accuracy on the test split, overall and per
class, and saves two files into ``--out``, each written atomically:

    config.json        "format", the network's arguments (image_shape, levels, num_classes, width) and
                       "metadata": data set, class names, test accuracy, training time, hardware, arguments
    model.safetensors  the weights

Loading reads JSON and safetensors only: nothing is ever unpickled. The network takes what the
PixelRNN models take, integer images ``LongTensor[B, C, H, W]`` in ``[0, levels)``, and the data
is split as ``python -m train`` splits it (a folder without test/ loses the same 5% to the test set).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm import tqdm

from pixelrnn import data
from pixelrnn.hardware import hardware_name
from pixelrnn.hub import CONFIG_NAME, WEIGHTS_NAME, locate
from pixelrnn.storage import atomic_write

from .datasets import Split, load_data
from .distributed import resolve_device
from .options import _positive_float, _positive_int
from .train import learning_rate, seed_everything

#: The ``format`` of a classifier's config.json, which tells it from a PixelRNN model's.
FORMAT = "pixelrnn-classifier"
#: The network's arguments, as config.json holds them.
ARCHITECTURE_KEYS = ("image_shape", "levels", "num_classes", "width")


class Classifier(nn.Module):
    """Images ``LongTensor[B, C, H, W]`` in ``[0, levels)`` -> class logits ``[B, num_classes]``.

    Three stages of two 3x3 convolutions (batch norm, ReLU) with ``width``, ``2 * width`` and
    ``4 * width`` channels, the first two followed by 2x2 max pooling, then a global average and a
    linear layer: small enough to train in minutes on a CPU, and any image size of at least 4x4.
    """

    def __init__(self, image_shape: tuple[int, int, int], levels: int, num_classes: int, width: int = 32):
        super().__init__()
        image_shape = tuple(image_shape)
        if len(image_shape) != 3 or not all(isinstance(s, int) and s > 0 for s in image_shape) or min(image_shape[1:]) < 4:
            raise ValueError(f"image_shape must be (C, H, W) with H, W >= 4, got {image_shape!r}")
        for name, value, least in (("levels", levels, 2), ("num_classes", num_classes, 2), ("width", width, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        self.image_shape, self.levels, self.num_classes = image_shape, levels, num_classes
        self.config = {"image_shape": list(image_shape), "levels": levels, "num_classes": num_classes, "width": width}
        #: What is known about the training (JSON values): data set, class names, test accuracy, ...
        self.metadata: dict = {}
        layers, channels = [], image_shape[0]
        for stage, out in enumerate((width, 2 * width, 4 * width)):
            for _ in range(2):
                layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
                channels = out
            if stage < 2:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        scaled = x.float() * (2.0 / (self.levels - 1)) - 1.0  # [-1, 1] whatever the levels
        return self.head(self.features(scaled).mean(dim=(2, 3)))

    def check_input(self, x: torch.Tensor) -> None:
        if x.is_floating_point() or x.dtype == torch.bool:
            raise ValueError(f"the classifier takes integer images in [0, {self.levels}), got dtype {x.dtype}")
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            shape = "x".join(map(str, self.image_shape))
            raise ValueError(f"the classifier takes images [B, {shape}] (C, H, W), got shape {list(x.shape)}")
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.levels):
            raise ValueError(f"image values must lie in [0, {self.levels}), got [{int(x.min())}, {int(x.max())}]")

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names from the metadata, in label order (``()`` when unknown)."""
        return tuple(self.metadata.get("classes", ()))


def save_classifier(classifier: Classifier, directory: Path) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``directory``, each atomically; returns it."""
    directory = Path(directory)
    try:
        config = json.dumps({"format": FORMAT, **classifier.config, "metadata": classifier.metadata}, indent=2, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the classifier's metadata must be plain JSON: {error}") from error
    weights = {name: tensor.detach().cpu().contiguous() for name, tensor in classifier.state_dict().items()}
    with atomic_write(directory / WEIGHTS_NAME) as temp:
        save_file(weights, str(temp), metadata={"format": "pt"})
    with atomic_write(directory / CONFIG_NAME) as temp:
        temp.write_text(config + "\n", encoding="utf-8")
    return directory


def load_classifier(reference: str | Path, device: torch.device | str | None = None) -> Classifier:
    """The classifier saved by :func:`save_classifier` in a folder (or a Hub repo), in eval mode.

    ``ValueError`` for anything else: pickled weights (refused, never read), a missing or foreign
    config.json (a PixelRNN model's, say), weights that do not fit the config.
    """
    config_path, weights_path = locate(reference, None, None)
    if not config_path.is_file():
        raise ValueError(f"{config_path} is missing: a classifier is a folder with {CONFIG_NAME} and {WEIGHTS_NAME}")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{config_path} is not valid JSON: {error}") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        what = f"a PixelRNN model's ({config['model']})" if isinstance(config, dict) and "model" in config else "not one"
        raise ValueError(
            f"{config_path} is {what}, not a classifier's config (format {FORMAT!r}, written by python -m train.classifier)"
        )
    missing = [key for key in ARCHITECTURE_KEYS if key not in config]
    if missing:
        raise ValueError(f"{config_path} lacks {', '.join(missing)}: a classifier's config holds {', '.join(ARCHITECTURE_KEYS)}")
    metadata = config.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{config_path}: metadata must be a JSON object, got {type(metadata).__name__}")
    try:
        classifier = Classifier(**{key: config[key] for key in ARCHITECTURE_KEYS})
    except TypeError as error:
        raise ValueError(f"{config_path}: {error}") from error
    try:
        weights = load_file(weights_path)
        classifier.load_state_dict(weights)
    except (SafetensorError, RuntimeError) as error:
        raise ValueError(f"{weights_path} does not hold this classifier's weights ({config_path}): {error}") from error
    classifier.metadata = metadata
    return classifier.to(device).eval() if device is not None else classifier.eval()


@torch.no_grad()
def predict(classifier: Classifier, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The class ``classifier`` gives each of ``images`` (integer ``[N, C, H, W]``, any device): ``LongTensor[N]`` on the CPU."""
    was_training = classifier.training
    classifier.eval()
    try:
        batches = [classifier(batch.to(classifier.device).long()).argmax(dim=1).cpu() for batch in images.split(batch_size)]
    finally:
        classifier.train(was_training)
    return torch.cat(batches) if batches else torch.zeros(0, dtype=torch.long)


def accuracy(classifier: Classifier, split: Split) -> dict:
    """``{"accuracy": fraction of split.images classified as their label, "per_class": [fraction of each class]}``;
    a class without images in the split counts as None."""
    right = predict(classifier, split.images) == split.labels
    per_class = [
        float(right[split.labels == k].double().mean()) if (split.labels == k).any() else None
        for k in range(classifier.num_classes)
    ]
    return {"accuracy": float(right.double().mean()), "per_class": per_class}


def augment(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """``x`` (``[B, C, H, W]``), each image flipped left-right at random and moved by up to ``shift`` pixels each
    way (the edge filled with zeros)."""
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None].to(x.device), x.flip(-1), x)
    padded = F.pad(x, (shift, shift, shift, shift))
    offsets = torch.randint(0, 2 * shift + 1, (b, 2), generator=generator).to(x.device)
    rows = offsets[:, :1] + torch.arange(h, device=x.device)  # [B, H]
    cols = offsets[:, 1:] + torch.arange(w, device=x.device)  # [B, W]
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def train_classifier(
    classifier: Classifier,
    split: Split,
    epochs: int,
    batch_size: int,
    lr: float,
    augment_shift: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> None:
    """Train ``classifier`` on ``split`` (images and labels) for ``epochs`` epochs with Adam, the learning rate
    falling from ``lr`` to 0 on a cosine; ``augment_shift``: flip and shift the images (see :func:`augment`)."""
    batch_size = min(batch_size, len(split))
    steps_per_epoch = len(split) // batch_size
    total = epochs * steps_per_epoch
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    classifier.train()
    with tqdm(total=total, desc="classifier", unit="step", disable=not progress, dynamic_ncols=True) as bar:
        for epoch in range(epochs):
            order = torch.randperm(len(split), generator=generator)[: steps_per_epoch * batch_size]
            right = seen = 0
            for indices in order.view(steps_per_epoch, batch_size):
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(bar.n, lr, "cosine", 0, total)
                x = split.images[indices].to(classifier.device).long()
                y = split.labels[indices].to(classifier.device)
                if augment_shift is not None:
                    x = augment(x, augment_shift, generator)
                logits = classifier(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                right += int((logits.argmax(dim=1) == y).sum())
                seen += len(y)
                bar.update(1)
                bar.set_postfix({"epoch": epoch + 1, "loss": f"{loss.item():.3f}", "train acc": f"{right / seen:.3f}"})
    classifier.eval()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train.classifier", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--data", required=True, help=f"{', '.join(data.DATASETS)}, or a folder / archive with one folder per class")
    add("--out", required=True, type=Path, help="the folder to save config.json and model.safetensors into")
    add("--epochs", type=_positive_int, default=4, help="epochs to train for (default 4)")
    add("--batch-size", type=_positive_int, default=128, help="images per step (default 128)")
    add("--lr", type=_positive_float, default=2e-3, help="Adam's learning rate at the start (default 2e-3)")
    add("--width", type=_positive_int, default=32, help="channels of the first convolutions; 2x and 4x after (default 32)")
    add("--augment", action="store_true", help="flip the training images left-right and shift them by up to 1/8 of their size")
    add("--image-size", type=_positive_int, help="resize / centre-crop images to N x N, as python -m train does")
    add("--channels", type=int, choices=(1, 3), help="1 (greyscale) or 3 (RGB); default: as stored")
    add("--max-train-images", type=_positive_int, help="train on the first N training images only")
    add("--note", help="a note on the data for the metadata, e.g. that the images are a lossy copy")
    add("--seed", type=int, default=0)
    add("--device", default="auto", help="auto (default), cpu or cuda")
    add("--threads", type=_positive_int, help="CPU threads (torch.set_num_threads)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
        if not data.class_names(args.data):
            raise ValueError(
                f"{args.data} has no labels to learn: use a labelled set (mnist, fashion_mnist, cifar10) or a folder "
                "with one sub-folder of images per class"
            )
        # The splits python -m train makes of the same data, with their labels.
        splits = load_data(argparse.Namespace(**vars(args), conditional=True, valid_images=None))
        classifier = Classifier(tuple(splits.train.images.shape[1:]), splits.levels, len(splits.classes), args.width)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    for note in splits.notes:
        print(f"note: {note}", file=sys.stderr)
    seed_everything(args.seed)
    classifier.to(device)
    shift = max(1, classifier.image_shape[1] // 8) if args.augment else None
    started, cpu_started = time.perf_counter(), time.process_time()
    train_classifier(classifier, splits.train, args.epochs, args.batch_size, args.lr, shift, args.seed)
    train_time_s, train_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    test = accuracy(classifier, splits.test)
    dataset = args.data if args.data in data.DATASETS else Path(args.data).name
    recorded = ("epochs", "batch_size", "lr", "width", "augment", "image_size", "channels", "max_train_images", "seed")
    classifier.metadata = {
        "dataset": dataset, "classes": list(splits.classes), "test_accuracy": test["accuracy"],
        "test_accuracy_per_class": test["per_class"], "test_images": len(splits.test), "train_images": len(splits.train),
        "parameters": sum(p.numel() for p in classifier.parameters()), "train_time_s": round(train_time_s, 1),
        "train_cpu_s": round(train_cpu_s, 1), "hardware": hardware_name(device),
        "train_args": {key: getattr(args, key) for key in recorded if getattr(args, key) not in (None, False)},
    }  # fmt: skip
    if args.note:
        classifier.metadata["data"] = args.note
    save_classifier(classifier, args.out)
    print(
        f"{dataset} test accuracy: {test['accuracy']:.2%} over {len(splits.test)} images after {args.epochs} epoch(s), "
        f"{train_time_s / 60:.1f} min of training; saved to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
