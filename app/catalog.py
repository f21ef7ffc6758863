"""The models the app serves: found in checkpoint folders (or Hub repos), named for people, loaded lazily."""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pixelrnn
from pixelrnn.hub import CONFIG_NAME, read_config, saved_folders

MODEL_NAMES = {
    "pixelcnn": "PixelCNN",
    "gated_pixelcnn": "Gated PixelCNN",
    "row_lstm": "Row LSTM",
    "diagonal_bilstm": "Diagonal BiLSTM",
    "multiscale": "Multi-Scale PixelRNN",
}
DATASET_NAMES = {
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "mnist": "MNIST",
    "binarized_mnist": "Binarized MNIST",
}
#: The shipped weights inside an installed wheel, which carries checkpoints/ in the app package.
_INSTALLED_CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
#: Where the app looks for weights when no ``--checkpoint`` is given: the installed copy, else the
#: checkout's checkpoints/ beside app/.
DEFAULT_CHECKPOINTS = (
    _INSTALLED_CHECKPOINTS if _INSTALLED_CHECKPOINTS.is_dir() else Path(__file__).resolve().parents[1] / "checkpoints"
)


@dataclass
class ModelEntry:
    """One servable model: its label, its config (``config.json``), where it comes from."""

    label: str
    config: dict
    source: str
    _model: object = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def dataset(self) -> str | None:
        return dataset_of(self.config)

    @property
    def group(self) -> str:
        """Models of one group take the same images: the data set, or the image shape when it is unknown."""
        return self.dataset or "x".join(str(s) for s in self.image_shape)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.config["image_shape"])

    @property
    def levels(self) -> int:
        return int(self.config.get("levels", 256))

    @property
    def num_classes(self) -> int:
        """Classes a class-conditional model draws from; 0 for an unconditional one."""
        return int(self.config.get("num_classes", 0))

    @property
    def class_names(self) -> list[str]:
        """The class of each label, by name: the model's metadata ``classes``, else ``class 0``, ``class 1``...
        (none for an unconditional model)."""
        names = (self.config.get("metadata") or {}).get("classes")
        if isinstance(names, list) and len(names) == self.num_classes and all(isinstance(n, str) for n in names):
            return list(names)
        return [f"class {k}" for k in range(self.num_classes)]

    @property
    def file_stem(self) -> str:
        """The label as a file name: ``Fashion-MNIST · Row LSTM`` -> ``fashion-mnist-row-lstm``."""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.label).strip("-").lower()

    @property
    def kind(self) -> str:
        """The model's name for people, e.g. ``Row LSTM``."""
        return MODEL_NAMES.get(self.config.get("model"), str(self.config.get("model")))

    def model(self):
        """The :class:`pixelrnn.PixelModel`, loaded on first use, in eval mode."""
        with self._lock:
            if self._model is None:
                self._model = pixelrnn.load(self.source).eval()
            return self._model

    @classmethod
    def from_model(cls, model, source: str, label: str | None = None) -> ModelEntry:
        """An entry for a model already in memory (loaded from the Hub or from uploaded files)."""
        config = {**model.config, "metadata": dict(getattr(model, "metadata", {}))}
        entry = cls(label or describe(config), config, source)
        entry._model = model.eval()
        return entry


def dataset_of(config: dict) -> str | None:
    """The data set a ``config.json`` says the model was trained on (under ``metadata``), if any."""
    metadata = config.get("metadata")
    return (metadata.get("dataset") if isinstance(metadata, dict) else None) or config.get("dataset")


def group_name(group: str) -> str:
    """``fashion_mnist`` -> ``Fashion-MNIST``; image shapes and unknown names stay as they are."""
    return DATASET_NAMES.get(group, group)


def describe(config: dict) -> str:
    """``Fashion-MNIST · Row LSTM`` (or ``1x28x28 · Row LSTM`` when the data set is unknown), then
    ``· class-conditional`` for a model that draws the class it is given."""
    group = dataset_of(config) or "x".join(str(s) for s in config.get("image_shape", ()))
    label = f"{group_name(group)} · {MODEL_NAMES.get(config.get('model'), config.get('model'))}"
    return f"{label} · class-conditional" if config.get("num_classes") else label


def _sort_key(entry: ModelEntry):
    """Data sets in a fixed order; inside one, the best model first, so the app opens on it: unconditional
    models by their measured test bits/dim, then class-conditional ones (whose bits/dim are given the class,
    another quantity), models not measured last, ties in the order of ``pixelrnn.MODELS``."""
    datasets = list(DATASET_NAMES)
    models = list(pixelrnn.MODELS)
    measured = (entry.config.get("metadata") or {}).get("test_bits_per_dim")
    return (
        datasets.index(entry.dataset) if entry.dataset in datasets else len(datasets),
        str(entry.dataset),
        entry.num_classes > 0,
        float(measured) if isinstance(measured, (int, float)) else math.inf,
        models.index(entry.config.get("model")) if entry.config.get("model") in models else len(models),
        entry.label,
    )


def discover(sources: list[str | Path]) -> tuple[list[ModelEntry], list[str]]:
    """Entries for every model in ``sources``, and a message for each source that failed.

    A source is a ``save_pretrained`` folder (it has ``config.json``), a folder of such
    folders (like ``checkpoints/``), or a Hugging Face Hub repo id (loaded right away).
    """
    entries, problems = [], []
    for source in sources:
        path = Path(source)
        folders = saved_folders(path)
        if path == DEFAULT_CHECKPOINTS and not folders:
            problems.append(
                f"the shipped weights are not in {path} (this copy of the app came without them). Start the app with "
                "--checkpoint PATH_OR_REPO: a save_pretrained folder, a folder of them, or a Hugging Face Hub repo id"
            )
            continue
        if path.is_dir() and not folders:
            problems.append(f"no model folders (with config.json) in {path}")
        for folder in folders:
            try:
                config, metadata = read_config(folder / CONFIG_NAME)
                config["metadata"] = metadata
                entries.append(ModelEntry(describe(config), config, str(folder)))
            except (OSError, ValueError) as error:
                problems.append(f"skipped {folder}: {error}")
        if path.exists():
            continue
        if _looks_like_path(str(source)):
            problems.append(f"{source}: no such folder")
            continue
        try:
            entries.append(ModelEntry.from_model(pixelrnn.load(str(source)), str(source)))
        except (ValueError, ConnectionError, OSError) as error:
            problems.append(f"could not load {source}: {error}")
    return _unique_labels(sorted(entries, key=_sort_key)), problems


def _looks_like_path(source: str) -> bool:
    """A missing local path rather than a Hub repo id (``name`` or ``org/name``)."""
    return source.startswith(("/", ".", "~")) or source.count("/") > 1 or "\\" in source


def _unique_labels(entries: list[ModelEntry]) -> list[ModelEntry]:
    """Append the folder name to labels that two entries share."""
    labels = [e.label for e in entries]
    for entry in entries:
        if labels.count(entry.label) > 1:
            entry.label = f"{entry.label} ({Path(entry.source).name})"
    return entries
