"""save_pretrained / load / push_to_hub: round trips, file contents, refusals, the HF cache, Hub failures."""

from __future__ import annotations

import json
import os
import pickle
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import free_port
from huggingface_hub import HfApi, ModelCard, constants

import pixelrnn
from pixelrnn import hub, load

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch, tmp_path):
    """Every test runs offline against its own empty HF cache.

    huggingface_hub reads its environment once, at import, so the constants are patched too.
    """
    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def online_hub(monkeypatch):
    """Hub access switched on; returns a function that points it at ``http://127.0.0.1:<port>``."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    def point_at(port: int) -> None:
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")

    return point_at


def tiny(name: str = "pixelcnn", seed: int = 0):
    """A model of ``name`` small enough to build and run in milliseconds (RGB, 4x4, 4 levels)."""
    torch.manual_seed(seed)
    extra = {"cond_channels": 4} if name == "multiscale" else {}
    return pixelrnn.build_model(name, image_shape=(3, 4, 4), levels=4, hidden=6, layers=1, out_hidden=8, **extra)


def images(model, n: int = 2) -> torch.Tensor:
    return torch.randint(0, model.levels, (n, *model.image_shape), generator=torch.Generator().manual_seed(1))


def cache_repo(cache: Path, repo_id: str, model, **metadata) -> Path:
    """Lay ``model`` out in the HF cache as huggingface_hub does after downloading ``repo_id`` at ``main``."""
    storage = cache / ("models--" + repo_id.replace("/", "--"))
    model.save_pretrained(storage / "snapshots" / COMMIT, **metadata)
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(COMMIT)
    return storage


def malicious_pickle(marker: Path) -> bytes:
    """Pickle bytes that create ``marker`` when unpickled: the proof that a file was unpickled."""

    class CreatesMarker:
        def __reduce__(self):
            return Path.touch, (marker,)

    return pickle.dumps(CreatesMarker())


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_round_trip_gives_identical_logits(name, tmp_path):
    model = tiny(name)
    model.metadata = {"dataset": "cifar10"}
    x = images(model)
    model.save_pretrained(tmp_path / "saved", test_bits_per_dim=4.5)
    fresh = tiny(name, seed=1)
    assert not torch.equal(fresh(x), model(x)), "a freshly initialised model must differ, or the test proves nothing"

    loaded = load(tmp_path / "saved")

    assert type(loaded) is type(model)
    assert torch.equal(loaded(x), model(x))
    assert loaded.config == model.config
    assert loaded.metadata == {"dataset": "cifar10", "test_bits_per_dim": 4.5}
    assert not loaded.training


def test_a_model_built_from_its_class_saves_and_loads(tmp_path):
    from pixelrnn.multiscale import MultiScalePixelRNN

    torch.manual_seed(0)
    model = MultiScalePixelRNN((3, 4, 4), 4, hidden=6, layers=1, out_hidden=8, cond_channels=4)
    assert model.config == {
        "model": "multiscale", "image_shape": [3, 4, 4], "levels": 4, "base": "row_lstm", "factor": 2,
        "hidden": 6, "layers": 1, "out_hidden": 8, "cond_channels": 4, "num_classes": 0,
    }  # fmt: skip
    assert model.small.config["model"] == "row_lstm"  # a part records its own arguments, not its owner's
    model.save_pretrained(tmp_path)
    loaded = load(tmp_path)
    x = images(model)
    assert type(loaded) is MultiScalePixelRNN and loaded.config == model.config and torch.equal(loaded(x), model(x))


def test_loads_a_safetensors_file_with_its_config_beside_it(tmp_path):
    model = pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), levels=4, hidden=8, layers=1, out_hidden=8)
    model.save_pretrained(tmp_path)
    x = torch.randint(0, 4, (2, 1, 8, 8))
    assert torch.equal(load(str(tmp_path / "model.safetensors"))(x), model(x))


def test_load_moves_the_model_to_the_device(tmp_path):
    tiny().save_pretrained(tmp_path)
    assert load(tmp_path, device="meta").device.type == "meta"


def test_metadata_defaults_to_empty_and_saving_does_not_change_it(tmp_path):
    model, other = tiny(), tiny()
    assert model.metadata == {}
    model.metadata["dataset"] = "mnist"
    assert other.metadata == {}
    model.save_pretrained(tmp_path, train_steps=10)
    assert model.metadata == {"dataset": "mnist"}


# ---------------------------------------------------------------------------- files written


def test_config_json_holds_the_build_arguments_and_the_metadata(tmp_path):
    model = tiny("multiscale")
    model.metadata = {"dataset": "cifar10", "hardware": "laptop"}
    model.save_pretrained(tmp_path, test_bits_per_dim=3.5, train_steps=100, train_time_s=12.5, hardware="1x H100")
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == {
        "model": "multiscale",
        "image_shape": [3, 4, 4],
        "levels": 4,
        "base": "row_lstm",
        "factor": 2,
        "hidden": 6,
        "layers": 1,
        "out_hidden": 8,
        "cond_channels": 4,
        "num_classes": 0,
        "metadata": {
            "dataset": "cifar10",
            "hardware": "1x H100",
            "test_bits_per_dim": 3.5,
            "train_steps": 100,
            "train_time_s": 12.5,
        },
    }


def test_model_card_has_hub_metadata_and_the_bits_per_dim(tmp_path):
    tiny().save_pretrained(tmp_path, dataset="mnist", test_bits_per_dim=0.31, train_steps=20000)
    card = ModelCard.load(tmp_path / "README.md")
    assert card.content.startswith("---\n")
    assert card.data.library_name == "pixelrnn"
    assert {"pixelrnn", "pixelcnn"} <= set(card.data.tags)
    assert card.data.datasets == ["ylecun/mnist"]
    (result,) = card.data.eval_results
    assert (result.metric_type, result.metric_value, result.dataset_split) == ("bits_per_dim", 0.31, "test")
    assert result.dataset_type == "ylecun/mnist"
    assert "0.310 bits/dim**." in card.text and "nats" not in card.text
    assert "| train_steps | 20000 |" in card.text
    # Every table has a title row (an empty one renders as a blank row).
    assert "| setting | value |\n|---|---|\n| model | pixelcnn |" in card.text
    assert "| record | value |\n|---|---|\n| dataset | mnist |" in card.text


def test_model_card_gives_nats_per_image_when_measured(tmp_path):
    tiny().save_pretrained(tmp_path, dataset="binarized_mnist", test_bits_per_dim=0.16, test_nats_per_image=86.94)
    assert "**0.160 bits/dim** (**86.94 nats per image**" in ModelCard.load(tmp_path / "README.md").text


def test_the_card_of_a_conditional_model_samples_and_scores_with_a_label(tmp_path):
    """The card's example code runs as written: a conditional model takes a label in every call."""
    torch.manual_seed(0)
    model = pixelrnn.build_model("gated_pixelcnn", (1, 4, 4), levels=4, hidden=4, layers=1, out_hidden=8, num_classes=3)
    model.save_pretrained(tmp_path, dataset="fashion_mnist", test_bits_per_dim=2.9, classes=["cat", "dog", "cow"])
    text = ModelCard.load(tmp_path / "README.md").text
    assert "**2.900 bits/dim**, each image given its class." in text and "3 classes: cat, dog, cow" in text
    code = text.split("```python\n")[1].split("```")[0].replace("path/to/this/folder", str(tmp_path))
    namespace = {}
    exec(code, namespace)
    assert namespace["bits"].shape == (16,)


def test_model_card_without_a_measurement_has_no_model_index(tmp_path):
    tiny().save_pretrained(tmp_path, dataset="/home/someone/holiday-photos")
    card = ModelCard.load(tmp_path / "README.md")
    assert card.data.library_name == "pixelrnn"
    assert card.data.eval_results is None
    assert card.data.datasets is None
    assert "bits/dim" not in card.text
    assert "trained on holiday-photos," in card.text


def test_model_card_names_a_local_data_set_by_its_folder_name(tmp_path):
    tiny().save_pretrained(tmp_path, dataset="/home/someone/holiday-photos", test_bits_per_dim=4.0)
    card = ModelCard.load(tmp_path / "README.md")
    (result,) = card.data.eval_results
    assert (result.dataset_name, result.dataset_type) == ("holiday-photos", "custom")
    assert card.data.datasets is None


def test_metadata_that_is_not_json_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="metadata must be plain JSON"):
        tiny().save_pretrained(tmp_path, test_bits_per_dim=torch.tensor(1.0))
    with pytest.raises(ValueError, match="metadata must be plain JSON"):
        tiny().save_pretrained(tmp_path, test_bits_per_dim=float("nan"))
    assert list(tmp_path.iterdir()) == []


def test_saving_twice_leaves_exactly_the_three_files(tmp_path):
    model = tiny()
    model.save_pretrained(tmp_path)
    model.save_pretrained(tmp_path, dataset="mnist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "config.json", "model.safetensors"]


def test_an_interrupted_save_keeps_the_old_files_and_leaves_no_temp_file(tmp_path, monkeypatch):
    model = tiny()
    model.save_pretrained(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash_midway(model, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(hub, "save_model", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        tiny(seed=1).save_pretrained(tmp_path, dataset="mnist")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ---------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("filename", ["model.pt", "pytorch_model.bin", "weights.pth", "last.ckpt"])
def test_pickled_weights_are_refused_unopened(filename, tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / filename
    path.write_bytes(malicious_pickle(marker))
    with pytest.raises(ValueError, match=r"only safetensors .* pickles"):
        load(path)
    assert not marker.exists()


def test_a_folder_with_only_pickled_weights_is_refused(tmp_path):
    marker = tmp_path / "unpickled"
    tiny().save_pretrained(tmp_path / "repo")
    (tmp_path / "repo" / "model.safetensors").unlink()
    (tmp_path / "repo" / "pytorch_model.bin").write_bytes(malicious_pickle(marker))
    with pytest.raises(ValueError, match=r"pytorch_model.bin: pixelrnn loads only safetensors"):
        load(tmp_path / "repo")
    assert not marker.exists()


def test_a_pickle_named_safetensors_is_refused_unopened(tmp_path):
    marker = tmp_path / "unpickled"
    tiny().save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(malicious_pickle(marker))
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load(tmp_path)
    assert not marker.exists()


def edit_config(folder: Path, change) -> None:
    config = json.loads((folder / "config.json").read_text())
    change(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.pop("levels"), "lacks levels"),
        (lambda c: c.update(model="pixelgan"), "unknown model 'pixelgan'"),
        (lambda c: c.update(hidden=0), "does not describe a pixelrnn model: .*hidden"),
        (lambda c: c.update(depth=3), "does not take depth"),
        (lambda c: c.update(metadata=[1, 2]), "metadata must be a JSON object"),
        (lambda c: c.update(hidden=7), "does not fit the pixelcnn model"),
        (lambda c: c.update(image_shape=[1, 4, 4]), "does not fit the pixelcnn model"),
    ],
)
def test_a_bad_config_is_refused(change, message, tmp_path):
    tiny().save_pretrained(tmp_path)
    edit_config(tmp_path, change)
    with pytest.raises(ValueError, match=message):
        load(tmp_path)


@pytest.mark.parametrize("text, message", [("{model: pixelcnn", "not valid JSON"), ("[1, 2]", "JSON object")])
def test_a_config_that_is_not_a_json_object_is_refused(text, message, tmp_path):
    tiny().save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError, match=message):
        load(tmp_path)


def test_weights_without_a_config_are_refused(tmp_path):
    tiny().save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(ValueError, match="config.json is missing"):
        load(tmp_path / "model.safetensors")


@pytest.mark.parametrize(
    "source, message",
    [
        ("missing/model.safetensors", "no such file"),
        ("./not here", "neither an existing file or folder nor a Hub repo id"),
        ("a/b/c", "neither an existing file or folder nor a Hub repo id"),
    ],
)
def test_a_path_that_does_not_exist_is_refused(source, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message):
        load(source)


def test_a_revision_for_a_local_folder_is_refused(tmp_path):
    tiny().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="revision='v1' applies to Hub repos"):
        load(tmp_path, revision="v1")


# ---------------------------------------------------------------------------- the HF cache and the Hub


def test_loads_a_repo_from_the_offline_hf_cache(offline_hub):
    model = tiny("row_lstm")
    cache_repo(offline_hub, "someone/tiny-row-lstm", model, dataset="mnist", test_bits_per_dim=1.25)
    x = images(model)
    for revision in (None, "main", COMMIT):
        loaded = load("someone/tiny-row-lstm", revision=revision)
        assert torch.equal(loaded(x), model(x))
        assert loaded.metadata == {"dataset": "mnist", "test_bits_per_dim": 1.25}


def test_a_repo_missing_from_the_offline_cache_names_the_remedies(offline_hub):
    cache_repo(offline_hub, "someone/other", tiny())
    start = time.monotonic()
    with pytest.raises(ConnectionError) as error:
        load("someone/missing")
    assert time.monotonic() - start < 2
    message = str(error.value)
    assert "HF_HUB_OFFLINE is set" in message and str(offline_hub) in message
    assert "hf download someone/missing" in message


def test_a_cached_repo_without_safetensors_weights_is_refused(offline_hub):
    storage = cache_repo(offline_hub, "someone/old-format", tiny())
    (storage / "snapshots" / COMMIT / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="has no model.safetensors. pixelrnn loads only safetensors"):
        load("someone/old-format")


def test_an_unreachable_hub_fails_fast_with_a_clear_error(online_hub):
    online_hub(free_port())
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=r"the Hub at http://127\.0\.0\.1:\d+ cannot be reached"):
        load("someone/tiny")
    assert time.monotonic() - start < 3


def test_an_unreachable_hub_falls_back_to_the_cache(online_hub, offline_hub):
    model = tiny()
    cache_repo(offline_hub, "someone/tiny", model)
    online_hub(free_port())
    x = images(model)
    assert torch.equal(load("someone/tiny")(x), model(x))


def test_a_hub_that_never_answers_times_out(online_hub, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections into the backlog, never reads or answers
        online_hub(silent.getsockname()[1])
        start = time.monotonic()
        with pytest.raises(ConnectionError, match="cannot be reached .*Timeout"):
            load("someone/tiny")
        assert time.monotonic() - start < 5


class RepoNotFoundHandler(BaseHTTPRequestHandler):
    """Answers every request as the Hub answers for a repo that does not exist."""

    def do_GET(self):
        self.send_response(404)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_repo_the_hub_does_not_have_is_a_clear_error(online_hub):
    server = ThreadingHTTPServer(("127.0.0.1", 0), RepoNotFoundHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        online_hub(server.server_address[1])
        with pytest.raises(ValueError, match="the Hub has no model repo someone/nothing"):
            load("someone/nothing")
    finally:
        server.shutdown()
        server.server_close()


def test_push_to_hub_uploads_the_three_files(monkeypatch):
    calls = []

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", repo_id, kwargs))
        return SimpleNamespace(repo_id=repo_id)

    def upload_folder(self, *, repo_id, folder_path, **kwargs):
        folder = Path(folder_path)
        files = {p.name: p.read_text() for p in folder.iterdir() if p.suffix in (".json", ".md")}
        calls.append(("upload_folder", repo_id, sorted(p.name for p in folder.iterdir()), files, kwargs))
        return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/{COMMIT}")

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    model = tiny()
    model.metadata = {"dataset": "cifar10"}

    url = model.push_to_hub("someone/tiny", private=True, commit_message="first weights", test_bits_per_dim=5.0)

    assert url == f"https://huggingface.co/someone/tiny/commit/{COMMIT}"
    (create, upload) = calls
    assert create == ("create_repo", "someone/tiny", {"private": True, "exist_ok": True, "repo_type": "model"})
    _, repo_id, names, files, kwargs = upload
    assert repo_id == "someone/tiny"
    assert names == ["README.md", "config.json", "model.safetensors"]
    assert kwargs["commit_message"] == "first weights"
    assert json.loads(files["config.json"])["metadata"] == {"dataset": "cifar10", "test_bits_per_dim": 5.0}
    assert 'pixelrnn.load("someone/tiny")' in files["README.md"]
    assert "name: tiny" in files["README.md"]


def test_push_to_hub_offline_is_a_clear_error():
    with pytest.raises(ConnectionError, match="cannot push to 'someone/tiny': HF_HUB_OFFLINE is set. To publish, unset it"):
        tiny().push_to_hub("someone/tiny")


def test_push_to_an_unreachable_hub_says_what_failed_and_not_offline_mode(online_hub):
    online_hub(free_port())
    with pytest.raises(ConnectionError) as error:
        tiny().push_to_hub("someone/tiny", token="hf_test")
    message = str(error.value)
    assert re.search(r"cannot push to 'someone/tiny': the Hub at http://127\.0\.0\.1:\d+ cannot be reached \(\w+", message)
    assert "HF_HUB_OFFLINE" not in message and "check the connection" in message


def test_saved_files_get_ordinary_permissions(tmp_path):
    """The atomic write goes through a private temporary file; the result must not stay private."""
    old = os.umask(0o022)
    try:
        tiny().save_pretrained(tmp_path)
    finally:
        os.umask(old)
    for name in ("model.safetensors", "config.json", "README.md"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
