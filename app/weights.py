"""Getting weights in and out of the app: Hub repos, uploaded files, downloads, publishing.

Everything goes through :func:`pixelrnn.load`, ``save_pretrained`` and ``push_to_hub``
(safetensors + JSON only; pickles are refused). Hub failures come back as ``ValueError``
with a message for the user, and the app keeps working. A token is used for one push and
appears in no message, log or file.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import pixelrnn
from pixelrnn.hub import CARD_NAME, CONFIG_NAME, PICKLE_SUFFIXES, WEIGHTS_NAME, model_card

from .catalog import ModelEntry


def load_from_hub(repo_id: str) -> ModelEntry:
    """The model in Hub repo ``repo_id`` (or in the local HF cache when offline)."""
    repo_id = (repo_id or "").strip()
    if not repo_id:
        raise ValueError("Type a Hub repo id, like org/pixelrnn-row-lstm.")
    if Path(repo_id).exists():
        raise ValueError(f"{repo_id} is a path on the server; load a Hub repo id here, or upload the files below.")
    try:
        model = pixelrnn.load(repo_id)
    except (ValueError, ConnectionError) as error:
        raise ValueError(f"Could not load {repo_id}: {error}") from None
    entry = ModelEntry.from_model(model, f"hub:{repo_id}")
    entry.label += f" ({repo_id})"
    return entry


def load_from_files(paths: list[str]) -> ModelEntry:
    """The model in uploaded files: one ``.safetensors`` and its ``config.json``."""
    paths = [Path(p) for p in paths or []]
    pickles = [p.name for p in paths if p.suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise ValueError(
            f"Refusing {', '.join(pickles)}: pickled weights can run arbitrary code when loaded. "
            "Upload model.safetensors and config.json (what save_pretrained writes)."
        )
    weights = [p for p in paths if p.suffix.lower() == ".safetensors"]
    configs = [p for p in paths if p.suffix.lower() == ".json"]
    if len(weights) != 1 or len(configs) != 1:
        raise ValueError(
            f"Upload exactly one .safetensors file and one config.json together (got {len(weights)} and {len(configs)})."
        )
    with tempfile.TemporaryDirectory(prefix="pixelrnn-upload-") as folder:
        shutil.copyfile(weights[0], Path(folder) / WEIGHTS_NAME)
        shutil.copyfile(configs[0], Path(folder) / CONFIG_NAME)
        try:
            model = pixelrnn.load(folder)
        except ValueError as error:
            raise ValueError(f"Those files are not a pixelrnn model: {error}".replace(folder, "the upload")) from None
    entry = ModelEntry.from_model(model, f"upload:{weights[0].name}")
    entry.label += " (uploaded)"
    return entry


def card(entry: ModelEntry) -> str:
    """The model card (Markdown, without its YAML header): the folder's README.md, else one written now."""
    readme = Path(entry.source) / CARD_NAME
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
    else:
        model = entry.model()
        text = model_card(model.config, getattr(model, "metadata", {}))
    return re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL).strip()


def export(entry: ModelEntry) -> list[str]:
    """Files to download: a zip of the model folder, then its ``model.safetensors`` and ``config.json``."""
    name = entry.file_stem
    folder = Path(tempfile.mkdtemp(prefix="pixelrnn-download-")) / name
    entry.model().save_pretrained(folder)
    archive = folder.parent / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in (WEIGHTS_NAME, CONFIG_NAME, CARD_NAME):
            zf.write(folder / file, f"{name}/{file}")
    return [str(archive), str(folder / WEIGHTS_NAME), str(folder / CONFIG_NAME)]


def publish(entry: ModelEntry, repo_id: str, token: str, private: bool = False) -> str:
    """Push the model to Hub repo ``repo_id`` with ``token``; returns the commit URL."""
    repo_id, token = (repo_id or "").strip(), (token or "").strip()
    if not repo_id:
        raise ValueError("Type the repo id to publish to, like your-name/pixelrnn-row-lstm.")
    if not token:
        raise ValueError("Paste a Hugging Face access token with write permission (hf.co/settings/tokens).")
    try:
        return entry.model().push_to_hub(repo_id, token=token, private=private)
    except (ValueError, ConnectionError, OSError) as error:
        raise ValueError(f"Publishing failed: {error}".replace(token, "[token]")) from None
