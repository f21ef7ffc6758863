"""The model registry: names, presets, :func:`build_model` and :func:`load`."""

from __future__ import annotations

import inspect
import os

from safetensors import SafetensorError
from safetensors.torch import load_model

from .base import PixelModel
from .diagonal_bilstm import DiagonalBiLSTM
from .gated_pixelcnn import GatedPixelCNN
from .hub import locate, read_config
from .multiscale import MultiScalePixelRNN
from .pixelcnn import PixelCNN
from .row_lstm import RowLSTM

_CLASSES = {cls.name: cls for cls in (PixelCNN, RowLSTM, DiagonalBiLSTM, GatedPixelCNN, MultiScalePixelRNN)}

#: The names :func:`build_model` accepts.
MODELS = tuple(_CLASSES)

#: Hyper-parameters by preset and model. ``small`` trains on a laptop CPU in minutes to hours;
#: ``paper`` is the CIFAR-10 configuration of the PixelRNN paper (table 5 and section 5) and,
#: for the Gated PixelCNN, of van den Oord et al. 2016b; ``paper_mnist`` and ``paper_mnist_1layer``
#: the binarized-MNIST models of its table 4.
PRESETS: dict[str, dict[str, dict]] = {
    "small": {
        "pixelcnn": dict(hidden=64, layers=5, out_hidden=128),
        "row_lstm": dict(hidden=32, layers=3, out_hidden=128),
        "diagonal_bilstm": dict(hidden=32, layers=2, out_hidden=128),
        "gated_pixelcnn": dict(hidden=48, layers=5, out_hidden=128),
        "multiscale": dict(base="row_lstm", hidden=32, layers=2, out_hidden=128, cond_channels=32),
    },
    "paper": {
        # PixelCNN: 15 residual blocks with 2h = 256 feature maps, 1024 output feature maps.
        "pixelcnn": dict(hidden=256, layers=15, out_hidden=1024),
        "row_lstm": dict(hidden=128, layers=12, out_hidden=1024),
        "diagonal_bilstm": dict(hidden=128, layers=12, out_hidden=1024),
        "gated_pixelcnn": dict(hidden=384, layers=20, out_hidden=1024, kernel=5),
        "multiscale": dict(base="diagonal_bilstm", hidden=128, layers=12, out_hidden=1024, cond_channels=128),
    },
    "paper_mnist": {
        # The paper gives h = 16 and 7 layers for its Diagonal BiLSTM and no sizes for the other
        # models on MNIST: they get the same h and depth (PixelCNN's residual blocks have 2h = 32 maps).
        "pixelcnn": dict(hidden=32, layers=7, out_hidden=32),
        "row_lstm": dict(hidden=16, layers=7, out_hidden=32),
        "diagonal_bilstm": dict(hidden=16, layers=7, out_hidden=32),
        "gated_pixelcnn": dict(hidden=16, layers=7, out_hidden=32),
        "multiscale": dict(base="diagonal_bilstm", hidden=16, layers=7, out_hidden=32, cond_channels=16),
    },
    # The paper's other binarized-MNIST Diagonal BiLSTM (table 4): one layer, h = 32.
    "paper_mnist_1layer": {
        "diagonal_bilstm": dict(hidden=32, layers=1, out_hidden=32),
    },
}


def build_model(name: str, image_shape, levels: int = 256, preset: str | None = None, **hparams) -> PixelModel:
    """Build model ``name`` for images of ``image_shape = (C, H, W)`` with ``levels`` values per sub-pixel.

    ``preset`` (a key of :data:`PRESETS`) supplies hyper-parameters; ``hparams`` override them.
    The returned model's ``config`` holds the name (key ``"model"``) and every argument,
    defaults included: ``build_model(config["model"], **rest)`` builds the same architecture.
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    cls = _CLASSES[name]
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known presets: {', '.join(PRESETS)}")
        if name not in PRESETS[preset]:
            has = [p for p in PRESETS if name in PRESETS[p]]
            raise ValueError(f"preset {preset!r} has no configuration for {name!r}; its presets: {', '.join(has)}")
        hparams = {**PRESETS[preset][name], **hparams}
    signature = inspect.signature(cls.__init__)
    unknown = sorted(set(hparams) - set(signature.parameters) - {"self"})
    if unknown:
        accepted = [p for p in signature.parameters if p not in ("self", "image_shape", "levels")]
        raise ValueError(f"{name} does not take {', '.join(unknown)}; its hyper-parameters: {', '.join(accepted)}")
    return cls(image_shape, levels, **hparams)


def load(path_or_repo_id: str | os.PathLike, device=None, revision: str | None = None, token: str | None = None) -> PixelModel:
    """Load a model saved by ``save_pretrained``, in eval mode, with its ``metadata``.

    ``path_or_repo_id`` is a folder holding ``config.json`` and ``model.safetensors``, a
    ``.safetensors`` file with a ``config.json`` beside it, or a Hugging Face Hub model repo id
    (``"org/name"``, at ``revision``; downloaded into the HF cache, or read from it when the Hub
    cannot be reached or ``HF_HUB_OFFLINE=1``). ``token`` is for private repos.

    Raises ``ValueError`` for anything that is not a loadable model (no such path or repo, pickled
    weights, a bad config.json, weights that do not fit it) and ``ConnectionError`` when the Hub
    cannot be reached and the HF cache has no copy.
    """
    config_path, weights_path = locate(path_or_repo_id, revision, token)
    config, metadata = read_config(config_path)
    hparams = {k: v for k, v in config.items() if k != "model"}
    try:
        model = build_model(config["model"], **hparams)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{config_path} does not describe a pixelrnn model: {e}") from e
    try:
        load_model(model, weights_path, strict=True)
    except SafetensorError as e:
        raise ValueError(f"{weights_path} is not a readable safetensors file: {e}") from e
    except RuntimeError as e:
        raise ValueError(
            f"{weights_path} does not fit the {config['model']} model that {config_path} describes "
            f"(were they saved together?): {e}"
        ) from e
    model.metadata = metadata
    if device is not None:
        model.to(device)
    return model.eval()
