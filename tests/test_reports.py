"""python -m train.results, train.figures and train.curves: the README's table, grids and training curves."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

import pixelrnn
from pixelrnn.codec.baselines import picture_sizes
from train import curves, figures, results
from train import train as train_module


def shipped(root, dataset="toy"):
    """Two tiny 'trained' models for ``dataset`` in ``root``, as the training CLI saves them."""
    for k, name in enumerate(["row_lstm", "pixelcnn"]):
        torch.manual_seed(k)
        model = pixelrnn.build_model(name, image_shape=(1, 8, 8), levels=256, hidden=4, layers=1, out_hidden=8)
        model.save_pretrained(
            root / f"{dataset}-{name}",
            dataset=dataset,
            test_bits_per_dim=1.5 + k,
            train_steps=100 * (k + 1),
            train_time_s=120.0,
            hardware="Some CPU, 1 thread",
        )


def test_results_table_has_one_row_per_checkpoint_in_model_order(tmp_path, capsys):
    shipped(tmp_path)
    (tmp_path / "not-a-checkpoint").mkdir()
    results.main(["--checkpoints", str(tmp_path)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + 2
    assert lines[2].startswith("| toy | `pixelcnn` | 2.500 | – |"), "pixelcnn comes first, as in pixelrnn.MODELS"
    assert "| 200 | 2 min | Some CPU, 1 thread |" in lines[2]
    assert lines[3].startswith("| toy | `row_lstm` | 1.500 |")
    parameters = sum(p.numel() for p in pixelrnn.load(tmp_path / "toy-row_lstm").parameters())
    assert f"| {parameters:,} |" in lines[3]


def test_codecs_columns_measure_the_test_images_as_lossless_files(tmp_path, capsys):
    """--codecs: the data set's test images, one WebP (and JPEG XL) file each, in bits/dim beside every row of
    that data set; a conditional model's row says its bits/dim are given the class."""
    shipped(tmp_path / "checkpoints")
    torch.manual_seed(0)
    conditional = pixelrnn.build_model("gated_pixelcnn", (1, 8, 8), levels=256, hidden=4, layers=1, out_hidden=8, num_classes=2)
    conditional.save_pretrained(tmp_path / "checkpoints" / "toy-conditional", dataset="toy", test_bits_per_dim=1.0)
    pictures = tmp_path / "pictures" / "test"
    pictures.mkdir(parents=True)
    for k in range(3):
        Image.fromarray(np.full((8, 8), 40 * k, np.uint8)).save(pictures / f"{k}.png")
    results.main(["--checkpoints", str(tmp_path / "checkpoints"), "--codecs", "--data", f"toy={pictures.parent}"])
    lines = capsys.readouterr().out.strip().splitlines()
    header = [cell.strip() for cell in lines[0].split("|")[1:-1]]
    assert header[:5] == ["data set", "model", "test bits/dim", "JPEG XL", "WebP"]
    webp = sum(picture_sizes(torch.full((1, 8, 8), 40 * k), 256)["WebP"] for k in range(3)) * 8 / (3 * 64)
    rows = [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines[2:]]
    assert [row[1] for row in rows] == ["`pixelcnn`", "`row_lstm`", "`gated_pixelcnn`, given the class"]
    assert all(row[4] == f"{webp:.3f}" for row in rows)
    with pytest.raises(SystemExit):
        results.main(["--checkpoints", str(tmp_path / "checkpoints"), "--codecs"])
    assert "--data NAME=PATH" in capsys.readouterr().err


def test_binarized_mnist_gets_a_table_in_nats_beside_the_papers(tmp_path, capsys):
    for name, layers, hidden, nats in (
        ("diagonal_bilstm", 7, 4, 85.0),
        ("diagonal_bilstm", 1, 4, 90.5),
        ("gated_pixelcnn", 2, 4, 88.0),
    ):
        torch.manual_seed(0)
        model = pixelrnn.build_model(name, image_shape=(1, 8, 8), levels=2, hidden=hidden, layers=layers, out_hidden=4)
        model.save_pretrained(
            tmp_path / f"binarized_mnist-{name}-{layers}", dataset="binarized_mnist", test_bits_per_dim=0.2,
            test_nats_per_image=nats, epochs=2.5, train_time_s=600.0, hardware="Some CPU, 1 thread",
        )  # fmt: skip
    results.main(["--checkpoints", str(tmp_path)])
    bits_table, nats_table = capsys.readouterr().out.strip().split("\n\n")
    assert len(bits_table.splitlines()) == 2, "binarized MNIST rows appear only in their own table"
    rows = nats_table.splitlines()[2:]
    assert rows[0].startswith("| binarized_mnist-diagonal_bilstm-1 | `diagonal_bilstm` | 1, 4 | 90.50 | 80.75 | +9.75 |")
    assert rows[1].startswith("| binarized_mnist-diagonal_bilstm-7 | `diagonal_bilstm` | 7, 4 | 85.00 | 79.20 | +5.80 |")
    assert rows[2].startswith("| binarized_mnist-gated_pixelcnn-2 | `gated_pixelcnn` | 2, 4 | 88.00 | – | – |")
    assert rows[0].endswith("| 2.5 | 10 min | Some CPU, 1 thread |")


def test_published_numbers_are_the_papers_cifar10_ones():
    assert results.PUBLISHED[("cifar10", "diagonal_bilstm")] == 3.00
    assert set(results.PUBLISHED) == {("cifar10", m) for m in ["pixelcnn", "row_lstm", "diagonal_bilstm", "gated_pixelcnn"]}
    assert results.PUBLISHED_MNIST_NATS[("diagonal_bilstm", 7)] == 79.20


def test_figures_draw_a_row_per_model_and_a_completion_column_per_model(tmp_path):
    checkpoints, images, out = tmp_path / "checkpoints", tmp_path / "images", tmp_path / "docs"
    checkpoints.mkdir()
    shipped(checkpoints)
    # A class-conditional model gets no row: it draws the class asked for, and its figure is class agreement's grid.
    conditional = pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), levels=256, num_classes=3, hidden=4, layers=1)
    conditional.save_pretrained(checkpoints / "toy-pixelcnn-conditional", dataset="toy")
    (images / "test").mkdir(parents=True)
    for k in range(5):
        Image.fromarray(np.full((16, 16), 60 * k, np.uint8)).save(images / "test" / f"{k}.png")
    figures.main(
        [
            "--checkpoints",
            str(checkpoints),
            "--out",
            str(out),
            "--test-data",
            f"toy={images}",
            "--samples",
            "3",
            "--completions",
            "2",
            "--scale",
            "2",
        ]
    )
    tile, gap = 8 * 2, 2
    samples = Image.open(out / "samples-toy.png")
    assert samples.size == (3 * (tile + gap) + gap, 2 * (tile + gap) + gap), "3 samples from each of 2 models"
    completions = np.asarray(Image.open(out / "completions-toy.png").convert("L"))
    assert completions.shape == (2 * (tile + gap) + gap, (2 + 2) * (tile + gap) + gap), "original, occluded, 2 models"
    first_original = completions[gap : gap + tile, gap : gap + tile]
    first_completion = completions[gap : gap + tile, 2 * (tile + gap) + gap : 3 * (tile + gap)]
    assert np.array_equal(first_original[: tile // 2], first_completion[: tile // 2]), "the upper half is kept"


def test_figures_of_one_data_set_leave_the_others_alone(tmp_path):
    checkpoints, out = tmp_path / "checkpoints", tmp_path / "docs"
    checkpoints.mkdir()
    shipped(checkpoints)
    shipped(checkpoints, dataset="other")
    out.mkdir()
    (out / "samples-other.png").write_bytes(b"drawn before")
    images = tmp_path / "images" / "test"
    images.mkdir(parents=True)
    for k in range(2):
        Image.fromarray(np.full((8, 8), 90 * k, np.uint8)).save(images / f"{k}.png")
    figures.main(
        ["--checkpoints", str(checkpoints), "--out", str(out), "--test-data", f"toy={images.parent}"]
        + ["--dataset", "toy", "--samples", "1", "--completions", "2"]
    )
    assert sorted(p.name for p in out.iterdir()) == ["completions-toy.png", "samples-other.png", "samples-toy.png"]
    assert (out / "samples-other.png").read_bytes() == b"drawn before"


@pytest.mark.parametrize("problem", ["bad --test-data", "missing test data", "no checkpoints", "unknown --dataset"])
def test_figures_explain_bad_input_before_sampling(tmp_path, capsys, problem):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    if problem != "no checkpoints":
        shipped(checkpoints)
    test_data = {"bad --test-data": "toy", "missing test data": f"toy={tmp_path / 'nowhere'}"}.get(problem, "toy=x")
    only = ["--dataset", "cifar10"] if problem == "unknown --dataset" else []
    with pytest.raises(SystemExit) as stopped:
        figures.main(["--checkpoints", str(checkpoints), "--out", str(tmp_path / "docs"), "--test-data", test_data, *only])
    assert stopped.value.code == 2
    message = capsys.readouterr().err
    expected = {
        "bad --test-data": "DATASET=PATH",
        "missing test data": "nowhere",
        "no checkpoints": "no saved models",
        "unknown --dataset": "no unconditional models of cifar10",
    }[problem]
    assert expected in message and "Traceback" not in message
    assert not (tmp_path / "docs").exists(), "nothing is drawn"


def write_log(path, events):
    path.mkdir(parents=True, exist_ok=True)
    (path / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def start(step, valid_images=100):
    config = {"model": "diagonal_bilstm", "image_shape": [1, 28, 28], "levels": 2, "hidden": 16, "layers": 7}
    return {"event": "start", "step": step, "args": {"batch_size": 4}, "world_size": 2, "valid_images": valid_images,
            "model_config": config}  # fmt: skip


def test_curve_hours_count_training_steps_only_and_the_surviving_history(tmp_path):
    """Hours come from each stretch's images over its images/s; a killed sitting's lost steps and a
    run started over do not count; an end that scored its own weights is a point too."""
    write_log(tmp_path / "run", [
        start(0),  # a run started over in the same folder: what came before is not this run's
        {"event": "train", "step": 10, "images_per_s": 1.0},
        {"event": "eval", "step": 10, "valid_bits_per_dim": 9.0},
        start(0),
        {"event": "train", "step": 10, "images_per_s": 80 / 3600},  # 10 steps of 8 images: 1 hour
        {"event": "eval", "step": 15, "valid_bits_per_dim": 0.5},
        {"event": "train", "step": 20, "images_per_s": 80 / 7200},  # 2 hours
        {"event": "end", "step": 20, "selected_step": 20, "valid_bits_per_dim": 0.4},
        start(20),  # a sitting resumed; between sittings no time passes
        {"event": "train", "step": 30, "images_per_s": 80 / 3600},
        {"event": "train", "step": 40, "images_per_s": 80 / 3600},
        {"event": "eval", "step": 40, "valid_bits_per_dim": 0.1},  # lost: the next sitting resumes at step 30
        start(30),
        {"event": "train", "step": 40, "images_per_s": 80 / 36000},  # 10 hours
        {"event": "eval", "step": 40, "valid_bits_per_dim": 0.3},
        {"event": "end", "step": 40, "selected_step": 20, "valid_bits_per_dim": 0.4},  # scores step 20's weights
    ])  # fmt: skip
    curve = curves.read_curve(tmp_path / "run")
    assert curve.split == "valid"
    assert curve.hours == pytest.approx([2.0, 3.0, 14.0])  # step 15 halfway through the 2-hour stretch
    assert curve.bits_per_dim == [0.5, 0.4, 0.3]
    assert curve.nats_per_image()[0] == pytest.approx(0.5 * 784 * math.log(2))
    assert curve.published_nats() == 79.20


def test_curves_of_a_real_run_draw_a_png(tmp_path, monkeypatch, capsys):
    """The log python -m train writes is the one train.curves reads: evaluations, then the end's test."""
    monkeypatch.setenv("PIXELRNN_DATA", str(tmp_path / "cache"))
    root = tmp_path / "images"
    root.mkdir()
    rng = np.random.default_rng(0)
    for k in range(24):
        Image.fromarray((rng.random((8, 8)) < 0.5).astype(np.uint8) * 255).save(root / f"{k:02d}.png")
    run = tmp_path / "run"
    args = ["--model", "pixelcnn", "--hparams", '{"hidden": 8, "layers": 1, "out_hidden": 8}', "--threads", "1",
            "--data", root, "--batch-size", 4, "--steps", 6, "--eval-every", 2, "--eval-batches", 1,
            "--sample-every", 0, "--log-every", 1, "--out", run]  # fmt: skip
    assert train_module.main([str(a) for a in args]) == 0
    curve = curves.read_curve(run)
    assert curve.split == "test" and len(curve.hours) == 3  # steps 2 and 4, and the end's test at step 6
    assert 0 < curve.hours[0] < curve.hours[1] < curve.hours[2]
    write_log(tmp_path / "fresh", [start(0)])
    out = tmp_path / "curves.png"
    curves.main([str(run), str(tmp_path / "fresh"), "--out", str(out)])
    assert "fresh: no evaluation yet, left out" in capsys.readouterr().out
    assert Image.open(out).size == (960, 600)
    with pytest.raises(SystemExit) as exit_info:
        curves.main([str(tmp_path / "images"), "--out", str(out)])
    assert exit_info.value.code == 2
    assert "has no metrics.jsonl" in capsys.readouterr().err
