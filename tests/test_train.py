"""python -m train and python -m train.evaluate: runs, checkpoints, exact resume, NaN stop, DDP, argument errors."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO
from PIL import Image
from safetensors.torch import load_file

import pixelrnn
from pixelrnn import data
from train import checkpoint
from train import evaluate as evaluate_module
from train import train as train_module
from train.distributed import weights_sha256

TINY = ["--model", "pixelcnn", "--hparams", '{"hidden": 8, "layers": 1, "out_hidden": 8}', "--threads", "1"]
QUIET = ["--eval-every", "0", "--sample-every", "0", "--eval-batches", "1"]


@pytest.fixture(autouse=True)
def offline_cache(tmp_path, monkeypatch):
    """Decoded-image cache in the test's folder; never reach for the Hub."""
    monkeypatch.setenv("PIXELRNN_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def folder(tmp_path) -> Path:
    """40 greyscale 8x8 PNGs: a white left half and random right half, no test/ folder."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    root.mkdir()
    for k in range(40):
        pixels = (rng.random((8, 8)) < 0.5).astype(np.uint8) * 255
        pixels[:, :4] = 255
        Image.fromarray(pixels).save(root / f"{k:02d}.png")
    return root


def run(args) -> int:
    return train_module.main([str(a) for a in args])


def events(out: Path, kind: str) -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def test_training_writes_metrics_samples_checkpoint_and_model(folder, tmp_path, capsys):
    out = tmp_path / "run"
    args = [*TINY, "--data", folder, "--out", out, "--batch-size", 4, "--steps", 4, "--log-every", 2]
    code = run([*args, "--eval-every", 2, "--sample-every", 2, "--checkpoint-every", 2, "--amp"])
    assert code == 0
    assert "bf16 autocast on CUDA only" in capsys.readouterr().err

    assert [e["step"] for e in events(out, "train")] == [2, 4]
    assert all(math.isfinite(e["loss_bits_per_dim"]) and e["images_per_s"] > 0 for e in events(out, "train"))
    assert [e["step"] for e in events(out, "eval")] == [2]
    assert [e["step"] for e in events(out, "checkpoint")] == [2, 4]
    grids = sorted((out / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["step_0000002.png", "step_0000004.png"]
    assert Image.open(grids[0]).size == (4 * 9 + 1, 4 * 9 + 1)  # 16 samples of 8x8, 1-pixel borders

    state = checkpoint.read_state(out / "checkpoint")
    assert (state["step"], state["epoch"], state["position"]) == (4, 0, 4)
    assert state["model_config"]["hidden"] == 8 and state["args"]["batch_size"] == 4

    # The final model: the checkpoint's weights, with the test bits/dim of the held-out images.
    model = pixelrnn.load(out / "model")
    weights = load_file(out / "checkpoint" / "model.safetensors")
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    end = events(out, "end")[0]
    assert model.metadata["train_steps"] == 4 and model.metadata["dataset"] == "images"
    recorded = model.metadata["train_args"]
    assert recorded["model"] == "pixelcnn" and recorded["steps"] == 4 and recorded["batch_size"] == 4 and "resume" not in recorded
    assert model.metadata["test_bits_per_dim"] == pytest.approx(end["test_bits_per_dim"])
    data_args = train_module.build_parser().parse_args([*TINY, "--data", str(folder)])
    splits = train_module.load_data(data_args)
    assert splits.valid is None and splits.test.labels is None
    assert (len(splits.train), len(splits.test)) == (38, 2)
    with torch.no_grad():
        expected = pixelrnn.bits_per_dim(model.log_prob(splits.test.images.long()), model.image_shape).mean()
    assert end["test_bits_per_dim"] == pytest.approx(float(expected), rel=1e-5)


def test_resume_after_a_kill_matches_an_uninterrupted_run(folder, tmp_path, monkeypatch):
    # 16 images, batch 4: 4 steps an epoch, so the resumed half crosses an epoch boundary.
    common = [*TINY, *QUIET, "--data", folder, "--batch-size", 4, "--steps", 6, "--max-train-images", 16, "--warmup", 2]
    assert run([*common, "--out", tmp_path / "whole", "--checkpoint-every", 3]) == 0

    class Killed(Exception):
        pass

    real_save = checkpoint.save

    def save_then_die(directory, model, optimizer, state, best_weights=None):
        real_save(directory, model, optimizer, state, best_weights)
        raise Killed

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(Killed):
        run([*common, "--out", tmp_path / "split", "--checkpoint-every", 3])
    monkeypatch.setattr(checkpoint, "save", real_save)
    assert checkpoint.read_state(tmp_path / "split" / "checkpoint")["step"] == 3
    assert run([*common, "--out", tmp_path / "split", "--checkpoint-every", 3, "--resume"]) == 0

    for name in ("model.safetensors", "optimizer.safetensors"):
        whole = load_file(tmp_path / "whole" / "checkpoint" / name)
        split = load_file(tmp_path / "split" / "checkpoint" / name)
        assert whole.keys() == split.keys()
        assert all(torch.equal(whole[k], split[k]) for k in whole), name
    assert checkpoint.read_state(tmp_path / "split" / "checkpoint")["step"] == 6
    # A checkpoint moved to .old by a swap that a kill interrupted is still found.
    (tmp_path / "split" / "checkpoint").rename(tmp_path / "split" / "checkpoint.old")
    assert checkpoint.find(tmp_path / "split" / "checkpoint") == tmp_path / "split" / "checkpoint.old"


def test_time_limit_ends_the_run_with_the_schedule_fitted_to_it(folder, tmp_path, monkeypatch):
    """--time-limit stops training on the clock and still anneals the learning rate to (near) zero."""
    clock = iter(range(10**6))
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: float(next(clock)))  # one "second" per reading
    out = tmp_path / "run"
    args = [*TINY, *QUIET, "--data", folder, "--batch-size", 4, "--steps", 10**6, "--warmup", 2, "--lr", 0.01]
    assert run([*args, "--time-limit", 60, "--log-every", 1, "--out", out]) == 0
    (end,) = events(out, "end")
    train = events(out, "train")
    assert 5 < end["train_steps"] < 60 and 60 <= end["train_time_s"] < 70
    assert train[-1]["lr"] < 0.01 * 0.1, "the cosine schedule reached its end with the clock"
    assert max(e["lr"] for e in train) > 0.01 * 0.5
    assert (out / "model" / "model.safetensors").exists()
    assert checkpoint.read_state(out / "checkpoint")["step"] == end["train_steps"]


def test_training_time_leaves_out_evaluation_and_checkpoints(folder, tmp_path, monkeypatch):
    """train_time_s (and so --time-limit and the README's training times) counts training steps only."""
    clock = [0.0]

    def perf_counter() -> float:
        clock[0] += 1.0  # one "second" per reading
        return clock[0]

    periodic_work = train_module.Trainer.periodic_work

    def slow_periodic_work(self, bar):
        periodic_work(self, bar)
        clock[0] += 1000.0  # an evaluation or a checkpoint that takes long

    monkeypatch.setattr(train_module.time, "perf_counter", perf_counter)
    monkeypatch.setattr(train_module.Trainer, "periodic_work", slow_periodic_work)
    out = tmp_path / "run"
    assert run([*TINY, *QUIET, "--data", folder, "--batch-size", 4, "--steps", 5, "--log-every", 1, "--out", out]) == 0
    (end,) = events(out, "end")
    assert end["train_steps"] == 5 and 0 < end["train_time_s"] < 100


def test_stop_after_ends_a_sitting_that_resume_continues_on_the_same_schedule(folder, tmp_path, monkeypatch):
    common = [*TINY, *QUIET, "--data", folder, "--batch-size", 4, "--steps", 12, "--max-train-images", 16, "--log-every", 1]
    assert run([*common, "--out", tmp_path / "whole"]) == 0
    clock = iter(range(10**6))
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: float(next(clock)))
    assert run([*common, "--out", tmp_path / "sittings", "--stop-after", 20]) == 0
    stopped = checkpoint.read_state(tmp_path / "sittings" / "checkpoint")["step"]
    assert 0 < stopped < 12 and (tmp_path / "sittings" / "model" / "model.safetensors").exists()
    assert run([*common, "--out", tmp_path / "sittings", "--resume"]) == 0
    lrs = {tuple(e["lr"] for e in events(tmp_path / name, "train")) for name in ("whole", "sittings")}
    assert len(lrs) == 1, "the learning-rate schedule did not change across the sittings"
    whole = load_file(tmp_path / "whole" / "checkpoint" / "model.safetensors")
    sittings = load_file(tmp_path / "sittings" / "checkpoint" / "model.safetensors")
    assert all(torch.equal(whole[k], sittings[k]) for k in whole)


def test_sigterm_ends_the_sitting_cleanly_and_resume_continues(folder, tmp_path, monkeypatch):
    """A session's end or a scheduler sends SIGTERM: the step finishes, then checkpoint, evaluation and model."""
    common = [*TINY, *QUIET, "--data", folder, "--batch-size", 4, "--steps", 8, "--max-train-images", 16]
    real_step = train_module.Trainer.train_step

    def step_then_signal(self, batch):
        loss = real_step(self, batch)
        if self.step == 2:  # the third step: the signal arrives while it runs
            os.kill(os.getpid(), signal.SIGTERM)
        return loss

    monkeypatch.setattr(train_module.Trainer, "train_step", step_then_signal)
    out = tmp_path / "run"
    assert run([*common, "--out", out]) == 0
    assert checkpoint.read_state(out / "checkpoint")["step"] == 3
    assert pixelrnn.load(out / "model").metadata["train_steps"] == 3
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, "the handler is removed after the run"
    monkeypatch.setattr(train_module.Trainer, "train_step", real_step)
    assert run([*common, "--out", out, "--resume"]) == 0
    assert checkpoint.read_state(out / "checkpoint")["step"] == 8


def test_resume_refuses_changed_arguments_and_fresh_runs_refuse_an_existing_checkpoint(folder, tmp_path, capsys):
    common = [*TINY, *QUIET, "--data", folder, "--batch-size", 4, "--steps", 1, "--out", tmp_path / "run"]
    assert run(common) == 0
    with pytest.raises(SystemExit) as exit_info:
        run(common)
    assert exit_info.value.code == 2
    assert "pass --resume" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run([*common, "--resume", "--lr", "0.01"])
    assert exit_info.value.code == 2
    assert "--lr 0.001 -> 0.01" in capsys.readouterr().err


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(folder, tmp_path, monkeypatch, capsys):
    calls = []
    real_bits_per_dim = train_module.bits_per_dim

    def nan_from_the_fourth_step(log_prob, image_shape):
        calls.append(1)
        bits = real_bits_per_dim(log_prob, image_shape)
        return bits * float("nan") if len(calls) >= 4 else bits

    monkeypatch.setattr(train_module, "bits_per_dim", nan_from_the_fourth_step)
    out = tmp_path / "run"
    code = run([*TINY, *QUIET, "--data", folder, "--out", out, "--batch-size", 4, "--steps", 6, "--checkpoint-every", 2])
    assert code == 1
    err = capsys.readouterr().err
    assert "the loss is nan at step 4" in err and "last good checkpoint (step 2)" in err
    assert checkpoint.read_state(out / "checkpoint")["step"] == 2
    weights = load_file(out / "checkpoint" / "model.safetensors")
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert events(out, "stopped")[0]["step"] == 3
    assert not (out / "model").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        (["--model", "pixel_transformer"], "invalid choice: 'pixel_transformer'"),
        (["--data", "no/such/folder"], "neither a standard data set"),
        (["--preset", "huge"], "invalid choice: 'huge'"),
        (["--preset", "paper_mnist_1layer"], "preset 'paper_mnist_1layer' has no configuration for 'pixelcnn'"),
        (["--hparams", "{hidden: 8}"], "not valid JSON"),
        (["--hparams", '{"depth": 3}'], "pixelcnn does not take depth"),
        (["--batch-size", "0"], "must be a positive integer"),
        (["--batch-size", "64"], "lower --batch-size"),
        (["--device", "tpu"], "unknown device 'tpu'"),
    ],
)
def test_bad_arguments_exit_with_code_2_and_a_message(folder, tmp_path, capsys, change, message):
    args = [*TINY, "--data", str(folder), "--out", str(tmp_path / "run"), "--steps", "1"]
    for k in range(0, len(change), 2):
        if change[k] in args:
            args[args.index(change[k]) + 1] = change[k + 1]
        else:
            args += change[k : k + 2]
    with pytest.raises(SystemExit) as exit_info:
        train_module.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_push_to_hub_failure_keeps_the_model_and_says_so(folder, tmp_path, capsys):
    out = tmp_path / "run"
    args = [*TINY, *QUIET, "--data", folder, "--out", out, "--batch-size", 4, "--steps", 1]
    code = run([*args, "--push-to-hub", "someone/tiny"])
    assert code == 1
    assert "could not push to the Hub repo someone/tiny" in capsys.readouterr().err
    assert (out / "model" / "model.safetensors").is_file()


@pytest.fixture
def class_folders(tmp_path) -> Path:
    """Two classes of 8x8 greyscale PNGs, 12 each: "dark" (all 20) and "light" (all 230)."""
    root = tmp_path / "classes"
    for name, value in (("dark", 20), ("light", 230)):
        (root / name).mkdir(parents=True)
        for k in range(12):
            Image.fromarray(np.full((8, 8), value, np.uint8)).save(root / name / f"{k:02d}.png")
    return root


def test_conditional_training_learns_the_classes_and_evaluates_given_the_label(class_folders, tmp_path, capsys):
    """--conditional on class folders: a model with num_classes, class names in its metadata, a test
    bits/dim that is conditional (each image given its label), and samples of the class asked for."""
    out = tmp_path / "run"
    gated = ["--model", "gated_pixelcnn", *TINY[2:]]
    args = [*gated, *QUIET, "--data", class_folders, "--out", out, "--batch-size", 8, "--steps", 100, "--lr", "0.02"]
    assert run([*args, "--conditional", "--valid-images", 4]) == 0
    model = pixelrnn.load(out / "model")
    assert model.num_classes == 2 and model.metadata["classes"] == ["dark", "light"]
    assert events(out, "start")[0]["valid_images"] == 4
    splits = train_module.load_data(
        train_module.build_parser().parse_args([*TINY, "--data", str(class_folders), "--conditional"])
    )
    test = splits.test
    with torch.no_grad():
        given = pixelrnn.bits_per_dim(model.log_prob(test.images.long(), test.labels), model.image_shape).mean()
        swapped = pixelrnn.bits_per_dim(model.log_prob(test.images.long(), 1 - test.labels), model.image_shape).mean()
    assert model.metadata["test_bits_per_dim"] == pytest.approx(float(given), rel=1e-5)
    # The first pixel is the one that cannot be read off the pixels before it: only the label says which it is.
    assert swapped > given + 0.05, "the label tells dark from light"
    samples = pixelrnn.sample(model, 4, seed=0, label=[0, 0, 1, 1]).float()
    assert samples[:2].mean() < 128 < samples[2:].mean()
    capsys.readouterr()
    evaluated = ["--checkpoint", str(out / "model"), "--data", str(class_folders), "--split", "train", "--json"]
    assert evaluate_module.main(evaluated) == 0
    result = json.loads(capsys.readouterr().out)
    images, labels = data.load_dataset(class_folders).long(), data.load_labels(class_folders)
    with torch.no_grad():
        expected = pixelrnn.bits_per_dim(model.log_prob(images, labels), model.image_shape).mean()
    assert result["conditional"] and result["bits_per_dim"] == pytest.approx(float(expected), rel=1e-5)


def test_conditional_needs_labels_and_valid_images_needs_a_set_without_validation(folder, tmp_path, capsys):
    args = [*TINY, *QUIET, "--out", tmp_path / "run", "--steps", 1, "--batch-size", 4]
    with pytest.raises(SystemExit):
        run([*args, "--data", folder, "--conditional"])
    assert "--conditional needs labels" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run([*args, "--data", folder, "--valid-images", 38])
    assert "leaves no training images" in capsys.readouterr().err


def test_learning_rate_warms_up_then_decays_to_zero():
    lr = [train_module.learning_rate(s, 1.0, "cosine", 2, 10) for s in range(10)]
    assert lr[:3] == [0.5, 1.0, 1.0]
    assert all(a > b for a, b in zip(lr[2:], lr[3:])) and lr[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 7 / 8)))
    assert train_module.learning_rate(9, 1.0, "constant", 2, 10) == 1.0


def test_optimizer_state_round_trips_through_safetensors(tmp_path):
    model = pixelrnn.build_model("row_lstm", image_shape=(3, 4, 4), levels=4, hidden=4, layers=1, out_hidden=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    x = torch.randint(0, 4, (2, 3, 4, 4))
    for _ in range(2):
        optimizer.zero_grad()
        (-model.log_prob(x).mean()).backward()
        optimizer.step()
    checkpoint.save(tmp_path / "checkpoint", model, optimizer, {"step": 2, "model_config": model.config})
    names = set(load_file(tmp_path / "checkpoint" / "optimizer.safetensors"))
    assert names == {f"{name}.{key}" for name, _ in model.named_parameters() for key in ("step", "exp_avg", "exp_avg_sq")}

    fresh = pixelrnn.build_model("row_lstm", image_shape=(3, 4, 4), levels=4, hidden=4, layers=1, out_hidden=8)
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=0.5)
    torch.manual_seed(123)  # overwritten by the checkpoint's RNG state
    checkpoint.load(tmp_path / "checkpoint", fresh, fresh_optimizer)
    saved, loaded = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert saved["param_groups"] == loaded["param_groups"]
    for index, per_parameter in saved["state"].items():
        assert all(torch.equal(v, loaded["state"][index][k]) for k, v in per_parameter.items())
    saved_rng = torch.Generator().set_state(load_file(tmp_path / "checkpoint" / "rng.safetensors")["cpu"])
    assert torch.rand(1) == torch.rand(1, generator=saved_rng)
    rebuilt = checkpoint.load_model(tmp_path / "checkpoint").state_dict()
    assert all(torch.equal(rebuilt[k], v) for k, v in model.state_dict().items())


@pytest.mark.slow  # three Python processes importing torch
def test_two_gloo_processes_end_with_identical_weights(folder, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
        "-m", "train", *TINY, *QUIET, "--data", str(folder), "--out", str(out), "--batch-size", "4", "--epochs", "1",
        "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    # 38 training images (2 held out), 19 per process, batches of 4: 4 steps in the epoch.
    end = events(out, "end")[0]
    assert end["step"] == 4 and end["hardware"].startswith("2 x ")
    assert len(end["weight_sha256"]) == 2 and end["replicas_agree"]
    state = checkpoint.read_state(out / "checkpoint")
    assert (state["step"], state["world_size"]) == (4, 2)
    saved = checkpoint.load_model(out / "checkpoint")
    assert weights_sha256(saved).hex() == end["weight_sha256"][0] == end["weight_sha256"][1]
    assert len(events(out, "start")) == 1  # rank 1 wrote nothing


@pytest.fixture
def binarized_mnist_copy(tmp_path, monkeypatch) -> None:
    """A local "binarized_mnist" of a few random images, where the loader looks first."""
    folder = tmp_path / "cache" / "binarized_mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for split, count in (("train", 8), ("valid", 2), ("test", 5)):
        lines = [" ".join(map(str, rng.integers(0, 2, 784))) for _ in range(count)]
        (folder / f"binarized_mnist_{split}.amat").write_text("\n".join(lines) + "\n")


def test_evaluate_reports_exact_nats_per_image_for_binarized_data(binarized_mnist_copy, tmp_path, capsys):
    out = tmp_path / "run"
    assert run([*TINY, *QUIET, "--data", "binarized_mnist", "--out", out, "--batch-size", 4, "--steps", 2]) == 0
    model = pixelrnn.load(out / "model")
    assert model.levels == 2 and model.image_shape == (1, 28, 28)
    images = pixelrnn.data.load_dataset("binarized_mnist", split="test").long()
    with torch.no_grad():
        log_prob = model.log_prob(images)
    capsys.readouterr()

    for reference in (out, out / "model", out / "checkpoint"):
        argv = ["--checkpoint", str(reference), "--data", "binarized_mnist", "--batch-size", "2", "--json"]
        assert evaluate_module.main(argv) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["images"] == 5
        assert result["nats_per_image"] == pytest.approx(float(-log_prob.mean()), rel=1e-6)
        assert result["bits_per_dim"] == pytest.approx(float(pixelrnn.bits_per_dim(log_prob, (1, 28, 28)).mean()), rel=1e-6)

    assert evaluate_module.main(["--checkpoint", str(out), "--data", "binarized_mnist", "--max-images", "3"]) == 0
    text = capsys.readouterr().out
    assert "over 3 images" in text and "nats/image" in text


def test_evaluate_refuses_data_of_another_kind(binarized_mnist_copy, folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert run([*TINY, *QUIET, "--data", "binarized_mnist", "--out", out, "--batch-size", 4, "--steps", 1]) == 0
    with pytest.raises(SystemExit) as exit_info:
        evaluate_module.main(["--checkpoint", str(out), "--data", str(folder), "--split", "train"])
    assert exit_info.value.code == 2
    assert "the model has 2 levels per sub-pixel but" in capsys.readouterr().err


def test_with_a_validation_split_the_model_is_the_best_on_it_also_across_a_resume(binarized_mnist_copy, tmp_path, monkeypatch):
    common = [*TINY, "--data", "binarized_mnist", "--batch-size", 2, "--steps", 6, "--lr", 0.3,
              "--eval-every", 1, "--sample-every", 0, "--checkpoint-every", 3]  # fmt: skip
    assert run([*common, "--out", tmp_path / "whole"]) == 0
    valid = {e["step"]: e["valid_bits_per_dim"] for e in events(tmp_path / "whole", "eval")}
    # Every --eval-every step, and the final weights at the end; the model is whichever step was best.
    assert list(valid) == [1, 2, 3, 4, 5, 6] and not any("test_bits_per_dim" in e for e in events(tmp_path / "whole", "eval"))
    model = pixelrnn.load(tmp_path / "whole" / "model")
    images = pixelrnn.data.load_dataset("binarized_mnist", split="valid").long()
    with torch.no_grad():
        model_valid = float(pixelrnn.bits_per_dim(model.log_prob(images), model.image_shape).mean())
    best_step = min(valid, key=valid.get)
    assert model.metadata["selected_step"] == best_step
    assert model.metadata["valid_bits_per_dim"] == pytest.approx(model_valid, rel=1e-6)
    assert model_valid == pytest.approx(valid[best_step], rel=1e-6)
    if best_step != 6:  # the checkpoint keeps the final weights to train on, not the selected ones
        final = load_file(tmp_path / "whole" / "checkpoint" / "model.safetensors")
        assert not all(torch.equal(final[k], v) for k, v in model.state_dict().items())
    test_images = pixelrnn.data.load_dataset("binarized_mnist", split="test").long()
    with torch.no_grad():
        test_nats = float(-model.log_prob(test_images).mean())
    assert model.metadata["test_nats_per_image"] == pytest.approx(test_nats, rel=1e-6)

    class Killed(Exception):
        pass

    real_save = checkpoint.save

    def save_then_die(*args):
        real_save(*args)
        raise Killed

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(Killed):
        run([*common, "--out", tmp_path / "split"])
    monkeypatch.setattr(checkpoint, "save", real_save)
    assert run([*common, "--out", tmp_path / "split", "--resume"]) == 0
    resumed = pixelrnn.load(tmp_path / "split" / "model")
    assert resumed.metadata["selected_step"] == best_step
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in model.state_dict().items())


#: Minor page faults of a training step of a small Diagonal BiLSTM, the fewest of steps 2 and 3.
STEP_FAULTS = """
import resource, sys, torch, pixelrnn
from train.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
torch.manual_seed(0)
model = pixelrnn.build_model("diagonal_bilstm", (1, 28, 28), levels=2, hidden=16, layers=2, out_hidden=32)
x = torch.randint(0, 2, (32, 1, 28, 28))
faults = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.nn.functional.cross_entropy(model(x), x).backward()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, min(faults[1:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_training_steps_reuse_freed_memory_instead_of_faulting_it_in_again():
    """By default glibc hands a step's large buffers back to the system and the next step faults them
    in again (about 16,000 pages here); keep_freed_memory(), which python -m train runs, keeps them."""
    faults = {}
    for mode in ("default", "keep"):
        out = subprocess.run([sys.executable, "-c", STEP_FAULTS, mode], cwd=REPO, capture_output=True, text=True, check=True)
        applied, count = out.stdout.split()
        assert applied == str(mode == "keep")
        faults[mode] = int(count)
    assert faults["keep"] < faults["default"] / 2, faults
