"""Saving, loading and publishing weights: safetensors + JSON, in a folder or on the Hugging Face Hub.

A saved model is a folder of three files, the same locally and in a Hub repo:

- ``model.safetensors``: the state dict.
- ``config.json``: ``model.config`` (the :func:`pixelrnn.build_model` arguments: ``model``,
  ``image_shape``, ``levels`` and every hyper-parameter) plus ``"metadata"``: ``model.metadata``,
  free-form JSON about training (``dataset``, ``test_bits_per_dim``, ``train_steps``, ...).
  Metadata sits under its own key so that it can never be mistaken for a hyper-parameter.
- ``README.md``: the model card, whose YAML header is the Hub's metadata (library, tags, data
  set, and a ``model-index`` entry with the test bits/dim when it is known).

Weights are only ever read from safetensors: ``.bin``/``.pt``/``.pth``/``.ckpt`` files are
Python pickles, and unpickling runs whatever code the file carries, so they are refused.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import httpx2
from huggingface_hub import EvalResult, HfApi, ModelCardData, constants, snapshot_download
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id
from safetensors.torch import save_model

from .storage import atomic_write

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CARD_NAME = "README.md"

#: Keys every config.json must hold; the rest are the model's hyper-parameters.
REQUIRED_CONFIG_KEYS = ("model", "image_shape", "levels")

#: Suffixes of pickled PyTorch weights, which are never loaded.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")

#: Hub data set ids of the standard data sets, for the model card's ``datasets`` field.
HUB_DATASETS = {
    "mnist": "ylecun/mnist",
    "binarized_mnist": "ylecun/mnist",
    "fashion_mnist": "zalando-datasets/fashion_mnist",
    "cifar10": "uoft-cs/cifar10",
}

PAPER_URL = "https://arxiv.org/abs/1601.06759"


class HubMixin:
    """``save_pretrained``, ``push_to_hub`` and ``metadata`` for :class:`pixelrnn.PixelModel`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: Facts about training to publish with the weights (JSON values), e.g.
        #: ``{"dataset": "mnist", "test_bits_per_dim": 0.31, "train_steps": 20000}``.
        self.metadata: dict = {}

    def save_pretrained(self, directory: str | os.PathLike, **metadata) -> Path:
        """Write ``model.safetensors``, ``config.json`` and ``README.md`` into ``directory``.

        ``metadata`` adds to (and overrides) ``self.metadata`` in the written files, without
        changing ``self.metadata``. Each file is written to a temporary file and renamed into
        place, so a crash never leaves a half-written file. Returns the directory.
        """
        directory = Path(directory)
        _write_pretrained(self, directory, {**self.metadata, **metadata})
        return directory

    def push_to_hub(
        self,
        repo_id: str,
        token: str | None = None,
        private: bool = False,
        commit_message: str = "Upload pixelrnn model",
        **metadata,
    ) -> str:
        """Create the model repo ``repo_id`` if needed and upload the three files; returns the commit URL.

        ``token`` defaults to the one saved by ``hf auth login`` (or ``HF_TOKEN``).
        ``metadata`` is as in :meth:`save_pretrained`.
        """
        api = HfApi(token=token)
        try:
            repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            with tempfile.TemporaryDirectory(prefix="pixelrnn-upload-") as folder:
                _write_pretrained(self, Path(folder), {**self.metadata, **metadata}, repo_id=repo.repo_id)
                commit = api.upload_folder(
                    repo_id=repo.repo_id, repo_type="model", folder_path=folder, commit_message=commit_message
                )
        except (OfflineModeIsEnabled, httpx2.TransportError) as e:
            remedy = "unset it" if isinstance(e, OfflineModeIsEnabled) else "check the connection"
            raise ConnectionError(
                f"cannot push to {repo_id!r}: {_unreachable(e)}. To publish, {remedy}, or save the model "
                "with save_pretrained and upload the folder later."
            ) from e
        except HfHubHTTPError as e:
            raise ValueError(
                f"the Hub refused the push to {repo_id!r} ({e}). Check the repo id and that the token "
                "(token=..., HF_TOKEN or `hf auth login`) has write access."
            ) from e
        return commit.commit_url


def _write_pretrained(model, directory: Path, metadata: dict, repo_id: str | None = None) -> None:
    """Write the three files of ``model`` with ``metadata`` into ``directory`` (``repo_id`` goes in the card)."""
    if not model.name:
        raise ValueError(
            f"{type(model).__name__} has no name: give the class a `name` under which pixelrnn.build_model knows it, "
            "so that the saved model can be rebuilt on load"
        )
    try:
        config_text = json.dumps({**model.config, "metadata": metadata}, indent=2, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise ValueError(f"metadata must be plain JSON (strings, finite numbers, lists, dicts): {e}") from e
    card_text = model_card(model.config, metadata, repo_id)
    with atomic_write(directory / WEIGHTS_NAME) as temp:
        save_model(model, str(temp), metadata={"format": "pt"})
    for name, text in ((CONFIG_NAME, config_text), (CARD_NAME, card_text)):
        with atomic_write(directory / name) as temp:
            temp.write_text(text, encoding="utf-8")


def model_card(config: dict, metadata: dict, repo_id: str | None = None) -> str:
    """The ``README.md`` model card: Hub YAML metadata, a description, the numbers, how to load it."""
    name = config["model"]
    dataset = metadata.get("dataset")
    hub_dataset = HUB_DATASETS.get(str(dataset).lower().replace("-", "_")) if dataset is not None else None
    # A data set given as a local path is named by its last part in the card's prose and model-index.
    dataset_label = Path(str(dataset)).name if dataset is not None else None
    bits = metadata.get("test_bits_per_dim")
    model_name = repo_id.split("/")[-1] if repo_id else f"pixelrnn-{name}"
    eval_results = None
    if bits is not None:
        eval_results = [
            EvalResult(
                task_type="unconditional-image-generation",
                task_name="Density estimation",
                dataset_type=hub_dataset or "custom",
                dataset_name=dataset_label or "custom",
                dataset_split="test",
                metric_type="bits_per_dim",
                metric_name="Test NLL (bits/dim)",
                metric_value=bits,
            )
        ]
    card_data = ModelCardData(
        library_name="pixelrnn",
        pipeline_tag="unconditional-image-generation",
        tags=["pixelrnn", name, "autoregressive", "image-generation", "density-estimation"],
        datasets=[hub_dataset] if hub_dataset else None,
        model_name=model_name if eval_results else None,
        eval_results=eval_results,
    )
    c, h, w = config["image_shape"]
    hparams = {k: v for k, v in config.items() if k not in REQUIRED_CONFIG_KEYS}
    trained_on = f" trained on {dataset_label}" if dataset_label else ""
    nats = metadata.get("test_nats_per_image")
    per_image = f" (**{nats:.2f} nats per image**, the unit of the PixelRNN paper's MNIST table)" if nats is not None else ""
    classes = config.get("num_classes", 0)
    given = ", each image given its class" if classes else ""
    result = f"Test negative log-likelihood: **{bits:.3f} bits/dim**{per_image}{given}.\n\n" if bits is not None else ""
    load_from = repo_id or "path/to/this/folder"
    # A class-conditional model samples and scores given a label per image.
    label, given_label = (", label=0", ", 0") if classes else ("", "")
    conditional = (
        f"\nThe model is class-conditional ({classes} classes{': ' + ', '.join(metadata['classes']) if metadata.get('classes') else ''}): "
        "every call takes a label, one class for all images or one per image.\n"
        if classes
        else ""
    )
    model_table = _table({"model": name, "image_shape": config["image_shape"], "levels": config["levels"], **hparams}, "setting")
    training_table = _table(metadata, "record") if metadata else "Not recorded.\n"
    return f"""---
{card_data.to_yaml()}
---

# {model_name}

A `{name}` model{trained_on}, from [Pixel Recurrent Neural Networks]({PAPER_URL}) (van den Oord et al.
2016): an exact autoregressive distribution over {c}x{h}x{w} images with {config["levels"]} levels per
sub-pixel, made with the `pixelrnn` library.

{result}## Model

{model_table}
## Training

{training_table}
## Use
{conditional}
```python
import pixelrnn

model = pixelrnn.load("{load_from}")
images = pixelrnn.sample(model, n=16{label})  # LongTensor[16, {c}, {h}, {w}], values in [0, {config["levels"]})
bits = pixelrnn.bits_per_dim(model.log_prob(images{given_label}), model.image_shape)
```
"""


def _table(rows: dict, header: str) -> str:
    """A Markdown table of ``rows`` under the column titles ``header`` and ``value``; values that are not strings are JSON."""
    lines = [f"| {header} | value |", "|---|---|"]
    for key, value in rows.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"| {key} | {shown.replace('|', '&#124;')} |")
    return "\n".join(lines) + "\n"


def locate(source: str | os.PathLike, revision: str | None, token: str | None) -> tuple[Path, Path]:
    """``(config.json, model.safetensors)`` paths of a local folder, a local file, or a Hub repo."""
    path = Path(source).expanduser()
    if revision is not None and path.exists():
        raise ValueError(f"revision={revision!r} applies to Hub repos, but {source} is a local path")
    if path.is_dir():
        weights = path / WEIGHTS_NAME
        if not weights.is_file():
            pickles = sorted(p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
            if pickles:
                raise ValueError(_pickle_refusal(path / pickles[0]))
            raise ValueError(f"{path} has no {WEIGHTS_NAME}; expected a folder written by model.save_pretrained")
        return path / CONFIG_NAME, weights
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ValueError(_pickle_refusal(path))
    if path.is_file():
        if path.suffix != ".safetensors":
            raise ValueError(
                f"{path} is not a .safetensors file; pass a folder written by model.save_pretrained, "
                f"a .safetensors file with its {CONFIG_NAME} beside it, or a Hub repo id"
            )
        return path.parent / CONFIG_NAME, path
    if path.suffix in (".safetensors", ".json"):
        raise ValueError(f"{source}: no such file")
    try:
        validate_repo_id(str(source))
    except ValueError as e:
        raise ValueError(f"{source!r} is neither an existing file or folder nor a Hub repo id ('org/name'): {e}") from e
    folder = _hub_snapshot(str(source), revision, token)
    if not (folder / WEIGHTS_NAME).is_file():
        raise ValueError(
            f"the Hub repo {source!r} has no {WEIGHTS_NAME}. pixelrnn loads only safetensors weights, "
            "never pickled .bin/.pt files (unpickling runs any code the file carries)"
        )
    return folder / CONFIG_NAME, folder / WEIGHTS_NAME


def saved_folders(path: Path) -> list[Path]:
    """The ``save_pretrained`` folders (those with a config.json) at ``path``: itself, or else its sub-folders, sorted."""
    path = Path(path)
    if (path / CONFIG_NAME).is_file():
        return [path]
    return sorted(folder for folder in path.glob("*") if (folder / CONFIG_NAME).is_file())


def read_config(path: Path) -> tuple[dict, dict]:
    """``(build_model arguments, metadata)`` from a config.json, checked for the keys every model needs."""
    if not path.is_file():
        raise ValueError(f"{path} is missing: the weights need the {CONFIG_NAME} that save_pretrained writes beside them")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(config).__name__}")
    missing = [key for key in REQUIRED_CONFIG_KEYS if key not in config]
    if missing:
        raise ValueError(
            f"{path} lacks {', '.join(missing)}: a pixelrnn {CONFIG_NAME} holds model, image_shape, levels, the "
            "model's hyper-parameters and optionally metadata, as written by model.save_pretrained"
        )
    metadata = config.pop("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: metadata must be a JSON object, got {type(metadata).__name__}")
    return config, metadata


def _pickle_refusal(path: Path) -> str:
    return (
        f"refusing to load {path}: pixelrnn loads only safetensors weights. {path.suffix} files are Python "
        "pickles, and unpickling runs whatever code the file carries. If you trust the file, convert it once "
        "with safetensors.torch.save_file(torch.load(path, weights_only=True), 'model.safetensors') "
        f"and put the model's {CONFIG_NAME} beside it"
    )


def _unreachable(error: Exception) -> str:
    """Why the Hub was not reached: offline mode, or what the connection (or the Hub) answered."""
    if isinstance(error, OfflineModeIsEnabled):
        return "HF_HUB_OFFLINE is set"
    return f"the Hub at {constants.ENDPOINT} cannot be reached ({type(error).__name__}: {error})"


def _hub_snapshot(repo_id: str, revision: str | None, token: str | None) -> Path:
    """Local folder with the repo's config.json and model.safetensors: downloaded, or from the HF cache."""
    unreachable: Exception | None = None
    try:
        # snapshot_download's first request has no timeout, so a Hub that accepts the connection but never
        # answers would hang it. This probe has one; when it fails, the HF cache is the only source.
        HfApi(token=token).repo_info(repo_id, revision=revision, timeout=constants.HF_HUB_ETAG_TIMEOUT)
    except (RepositoryNotFoundError, RevisionNotFoundError) as e:
        what = f"revision {revision!r} of {repo_id!r}" if isinstance(e, RevisionNotFoundError) else repo_id
        raise ValueError(
            f"the Hub has no model repo {what} (or it is private or gated and token=... is missing): "
            f"{str(e).splitlines()[0]}. Check the id; a local folder path must exist."
        ) from e
    except (OfflineModeIsEnabled, httpx2.TransportError) as e:
        unreachable = e
    except HfHubHTTPError as e:
        status = e.response.status_code
        if status < 500 and status != 429:
            raise ValueError(f"the Hub refused access to {repo_id!r}: {e}") from e
        unreachable = e
    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            token=token,
            allow_patterns=[CONFIG_NAME, WEIGHTS_NAME],
            local_files_only=unreachable is not None,
            etag_timeout=constants.HF_HUB_ETAG_TIMEOUT,
        )
    except LocalEntryNotFoundError as e:
        why = _unreachable(unreachable) if unreachable is not None else f"the download failed ({e})"
        connect = "unset HF_HUB_OFFLINE" if isinstance(unreachable, OfflineModeIsEnabled) else "check the connection"
        raise ConnectionError(
            f"cannot load {repo_id!r} (revision {revision or 'main'}): {why}, and the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}) has no copy of it. Connect to the Hub ({connect}), or fill "
            f"the cache where the Hub is reachable (`hf download {repo_id}`), or pass a local folder written by "
            "save_pretrained."
        ) from e
    except (httpx2.TransportError, HfHubHTTPError) as e:
        raise ConnectionError(f"downloading {repo_id!r} from {constants.ENDPOINT} failed ({e}); try again") from e
    return Path(folder)
