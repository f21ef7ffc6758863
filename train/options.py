"""``python -m train``: train a PixelRNN model on a standard data set or on your own images.

    python -m train --model row_lstm --data binarized_mnist --preset small --epochs 10
    python -m train --model pixelcnn --data ~/photos.zip --image-size 32 --steps 20000 --amp
    torchrun --nproc_per_node=8 -m train --model diagonal_bilstm --data cifar10 --preset paper

Everything goes into ``--out`` (default ``runs/MODEL``):

    metrics.jsonl        one JSON object per event: start, train (loss in bits/dim, lr, images/s),
                         eval (test bits/dim), samples, checkpoint, stopped, end
    samples/step_N.png   a grid of 16 samples every --sample-every steps and at the end
    checkpoint/          the training checkpoint (see train.checkpoint), every --checkpoint-every
                         steps and at the end; --resume continues a killed run exactly from it
    model/               the final model (save_pretrained) with its test bits/dim, ready for
                         pixelrnn.load and --push-to-hub; on a data set with a validation split
                         (binarized_mnist, folders with valid/), the weights with the best
                         validation likelihood, as the PixelRNN paper selects its models
    tensorboard/         the train and eval scalars, when the tensorboard package is installed

The loss is the exact negative log-likelihood in bits per sub-pixel. Folders and archives
without a test/ folder lose a fixed 5% of their images to a held-out test set. See
train.distributed for several GPUs or machines.
"""

from __future__ import annotations

import argparse
import json
import math

import pixelrnn
from pixelrnn import data

#: Arguments that shape the training trajectory: --resume refuses to continue with others.
#: (--steps / --epochs may change, to train a finished run for longer.)
TRAJECTORY_ARGS = (
    "model", "data", "preset", "hparams", "image_size", "channels", "batch_size", "lr",
    "lr_schedule", "warmup", "clip", "seed", "max_train_images", "amp", "conditional", "valid_images",
)  # fmt: skip


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f'must be a JSON object such as {{"hidden": 32}}, got {text}')
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m train``; this module's docstring heads its --help."""
    parser = argparse.ArgumentParser(
        prog="python -m train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--model", required=True, choices=pixelrnn.MODELS)
    add("--data", required=True, help=f"{', '.join(data.DATASETS)}, or a folder / .zip / .tar(.gz) of images")
    add("--preset", choices=list(pixelrnn.PRESETS), help="hyper-parameter preset (default: the model's defaults)")
    add(
        "--hparams",
        type=_json_object,
        default={},
        help="JSON object of hyper-parameters over the preset, e.g. '{\"hidden\": 32}'",
    )
    add(
        "--conditional",
        action="store_true",
        help="a class-conditional model (num_classes from the data): the labels of mnist, fashion_mnist and cifar10, "
        "or the class folders of an image folder (train/cat/1.png)",
    )
    add(
        "--valid-images",
        type=_positive_int,
        metavar="N",
        help="hold out N training images (a fixed choice) as a validation split, for a data set without one: the "
        "model saved is then the one with the best validation bits/dim",
    )
    add("--image-size", type=_positive_int, help="resize / centre-crop images to N x N")
    add("--channels", type=int, choices=(1, 3), help="1 (greyscale) or 3 (RGB); default: as stored")
    add("--batch-size", type=_positive_int, default=32, help="images per step and process (default 32)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_positive_int, help="optimizer steps to train for")
    length.add_argument("--epochs", type=_positive_int, help="epochs to train for (default 1)")
    add(
        "--time-limit",
        type=_positive_float,
        metavar="SECONDS",
        help="stop after this much training time (evaluation excluded), with the LR schedule fitted to it; "
        "the run ends as usual (checkpoint, test bits/dim, model)",
    )
    add(
        "--stop-after",
        type=_positive_float,
        metavar="SECONDS",
        help="end this sitting after this much wall-clock time as a finished run ends (checkpoint, evaluation, "
        "model), without changing the LR schedule: --resume continues the run where it stopped. SIGTERM "
        "ends a sitting the same way",
    )
    add("--lr", type=_positive_float, default=1e-3, help="Adam's learning rate (default 1e-3)")
    add("--lr-schedule", choices=("cosine", "constant"), default="cosine", help="after warm-up (default cosine, to 0)")
    add("--warmup", type=_non_negative_int, default=0, help="linear warm-up steps (default 0)")
    add("--clip", type=_non_negative_float, default=1.0, help="clip the gradient norm to this (0: off; default 1)")
    add("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    add("--compile", action="store_true", help="torch.compile the model")
    add("--seed", type=int, default=0)
    add("--device", default="auto", help="auto (default), cpu or cuda")
    add("--out", help="output folder (default runs/MODEL)")
    add("--checkpoint-every", type=_non_negative_int, default=1000, help="steps between checkpoints (0: only at the end)")
    add("--eval-every", type=_non_negative_int, default=1000, help="steps between test evaluations (0: only at the end)")
    add("--eval-batches", type=_positive_int, help="evaluate on this many test batches (default: the whole test set)")
    add("--sample-every", type=_non_negative_int, default=1000, help="steps between sample grids (0: none)")
    add("--log-every", type=_positive_int, default=10, help="steps between train log lines (default 10)")
    add("--resume", action="store_true", help="continue from the checkpoint in --out, if there is one")
    add("--push-to-hub", metavar="REPO", help="publish the final model to this Hugging Face Hub repo")
    add("--num-workers", type=_non_negative_int, default=0, help="DataLoader worker processes (default 0)")
    add("--max-train-images", type=_positive_int, help="train on the first N training images only")
    add("--threads", type=_positive_int, help="CPU threads per process (torch.set_num_threads)")
    return parser
