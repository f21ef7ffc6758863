"""python -m train.classifier and python -m train.class_agreement: the judge trains, saves and loads exactly
(never unpickling), and class agreement counts what a conditional model draws, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO
from PIL import Image

import pixelrnn
from train import class_agreement
from train import classifier as classifier_module
from train import train as train_module
from train.classifier import Classifier, accuracy, load_classifier, save_classifier, train_classifier
from train.datasets import Split

#: Three classes of 8x8 greyscale noise that the mean brightness tells apart, in label (sorted) order.
BANDS = {"dark": (0, 64), "light": (192, 256), "mid": (96, 160)}
SMALL = ["--width", "4", "--batch-size", "16", "--threads", "1"]
TINY_PIXELCNN = ["--model", "pixelcnn", "--hparams", '{"hidden": 8, "layers": 1, "out_hidden": 8}', "--threads", "1"]
QUIET = ["--eval-every", "0", "--sample-every", "0", "--checkpoint-every", "0"]
SHIPPED = REPO / "checkpoints" / "classifiers"
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder for the module's files, with the decoded-image cache in it and the Hub out of reach."""
    root = tmp_path_factory.mktemp("classifier")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIXELRNN_DATA", str(root / "cache"))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield root


@pytest.fixture(scope="module")
def bands(workspace):
    """train/ (40 images a class) and test/ (10 a class) folders of the three :data:`BANDS` classes."""
    rng = np.random.default_rng(0)
    root = workspace / "bands"
    for split, count in (("train", 40), ("test", 10)):
        for name, (low, high) in BANDS.items():
            (root / split / name).mkdir(parents=True)
            for k in range(count):
                pixels = rng.integers(low, high, (8, 8)).astype(np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{k:02d}.png")
    return root


@pytest.fixture(scope="module")
def judge(bands, workspace):
    """A classifier of the bands trained by ``python -m train.classifier``: its folder."""
    out = workspace / "judge"
    assert classifier_module.main(["--data", str(bands), "--out", str(out), "--epochs", "10", "--augment", *SMALL]) == 0
    return out


@pytest.fixture(scope="module")
def conditional_model(bands, workspace):
    """A tiny PixelCNN trained by ``python -m train --conditional`` on the bands until it draws them: its folder."""
    out = workspace / "pixelcnn"
    args = [*TINY_PIXELCNN, *QUIET, "--data", bands, "--conditional", "--steps", 300, "--batch-size", 16, "--lr", 0.01]
    assert train_module.main([str(a) for a in [*args, "--out", out]]) == 0
    return out / "model"


def test_the_classifier_learns_the_classes_and_says_so_in_its_config(judge, bands):
    assert sorted(p.name for p in judge.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((judge / "config.json").read_text())
    assert config["format"] == "pixelrnn-classifier" and config["image_shape"] == [1, 8, 8] and config["num_classes"] == 3
    metadata = config["metadata"]
    assert metadata["classes"] == ["dark", "light", "mid"] and metadata["dataset"] == "bands"
    assert metadata["test_accuracy"] >= 0.9 and metadata["test_images"] == 30
    assert metadata["train_time_s"] > 0 and "thread" in metadata["hardware"]
    assert metadata["train_args"]["augment"] is True
    # The accuracy recorded is the loaded classifier's on the test images.
    classifier = load_classifier(judge)
    images = pixelrnn.data.load_dataset(bands, split="test")
    labels = pixelrnn.data.load_labels(bands, split="test")
    measured = accuracy(classifier, Split(images, labels))
    assert measured["accuracy"] == pytest.approx(metadata["test_accuracy"])
    assert measured["per_class"] == pytest.approx(metadata["test_accuracy_per_class"])


def test_the_classifier_needs_labels(workspace, tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    for k in range(4):
        Image.fromarray(np.full((8, 8), 60 * k, np.uint8)).save(flat / f"{k}.png")
    with pytest.raises(SystemExit) as exit_info:
        classifier_module.main(["--data", str(flat), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "has no labels to learn" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_save_and_load_give_the_same_logits(tmp_path):
    torch.manual_seed(0)
    classifier = Classifier((3, 6, 5), levels=16, num_classes=4, width=3)
    images = torch.randint(0, 16, (24, 3, 6, 5), generator=torch.Generator().manual_seed(0))
    train_classifier(classifier, Split(images, torch.arange(24) % 4), epochs=2, batch_size=8, lr=0.01, progress=False)
    classifier.metadata = {"classes": ["a", "b", "c", "d"]}
    loaded = load_classifier(save_classifier(classifier, tmp_path / "saved"))
    with torch.no_grad():
        assert torch.equal(classifier(images), loaded(images))
    assert loaded.config == classifier.config and loaded.classes == ("a", "b", "c", "d")
    assert not loaded.training


def test_loading_refuses_pickles_and_anything_but_a_classifier(tmp_path, judge):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save(load_classifier(judge).state_dict(), pickled / "model.pt")
    with pytest.raises(ValueError, match="refusing to load .*model.pt"):
        load_classifier(pickled)
    with pytest.raises(ValueError, match="refusing to load"):
        load_classifier(pickled / "model.pt")

    def saved_with(config_text: str):
        folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes((judge / "model.safetensors").read_bytes())
        (folder / "config.json").write_text(config_text)
        return folder

    config = json.loads((judge / "config.json").read_text())
    with pytest.raises(ValueError, match="not valid JSON"):
        load_classifier(saved_with("{format: classifier"))
    with pytest.raises(ValueError, match=r"is a PixelRNN model's \(pixelcnn\), not a classifier's"):
        load_classifier(saved_with(json.dumps({"model": "pixelcnn", "image_shape": [1, 8, 8], "levels": 256})))
    with pytest.raises(ValueError, match="lacks width"):
        load_classifier(saved_with(json.dumps({k: v for k, v in config.items() if k != "width"})))
    with pytest.raises(ValueError, match="does not hold this classifier's weights"):
        load_classifier(saved_with(json.dumps({**config, "width": 5})))
    with pytest.raises(ValueError, match="levels must be an integer >= 2"):
        load_classifier(saved_with(json.dumps({**config, "levels": "256"})))
    broken = saved_with(json.dumps(config))
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="does not hold this classifier's weights"):
        load_classifier(broken)


def test_the_classifier_takes_integer_images_of_its_shape_and_levels():
    classifier = Classifier((1, 8, 8), levels=256, num_classes=3, width=2).eval()
    with pytest.raises(ValueError, match="integer images in \\[0, 256\\), got dtype torch.float32"):
        classifier(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"images \[B, 1x8x8\] \(C, H, W\), got shape \[2, 3, 8, 8\]"):
        classifier(torch.zeros(2, 3, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match=r"must lie in \[0, 256\), got \[256, 256\]"):
        classifier(torch.full((1, 1, 8, 8), 256))
    with pytest.raises(ValueError, match="H, W >= 4"):
        Classifier((1, 2, 8), levels=256, num_classes=3)


def test_augment_flips_and_shifts_each_image_within_bounds():
    x = torch.arange(4 * 5 * 6).view(1, 4, 5, 6).repeat(64, 1, 1, 1)
    flipped_only = classifier_module.augment(x, 0, torch.Generator().manual_seed(0))
    is_plain = (flipped_only == x).flatten(1).all(1)
    assert (is_plain | (flipped_only == x.flip(-1)).flatten(1).all(1)).all() and 0 < int(is_plain.sum()) < 64
    shifted = classifier_module.augment(x, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape and not torch.equal(shifted, flipped_only)
    assert set(shifted.unique().tolist()) <= set(x.unique().tolist()) | {0}


def test_class_agreement_of_a_model_that_learned_the_classes(conditional_model, judge, tmp_path, capsys):
    grid = tmp_path / "agreement.png"
    args = ["--model", conditional_model, "--classifier", judge, "--per-class", 12, "--batch-size", 8, "--threads", 1]
    assert class_agreement.main([str(a) for a in [*args, "--json", "--grid", grid]]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [row["class"] for row in result["classes"]] == ["dark", "light", "mid"]
    assert [row["samples"] for row in result["classes"]] == [12, 12, 12] and result["samples"] == 36
    assert result["chance"] == pytest.approx(1 / 3)
    assert result["agreement"] >= 0.9, "the model draws the class it is asked for, and the judge sees it"
    assert result["classifier_test_accuracy"] == json.loads((judge / "config.json").read_text())["metadata"]["test_accuracy"]
    assert Image.open(grid).size == (10 * 9 + 1, 3 * 9 + 1)  # one row per class, 10 samples of 8x8 each


def test_class_agreement_counts_the_judged_classes_exactly(conditional_model, judge, monkeypatch, capsys):
    """A stand-in sampler that draws "mid" when asked for "light": light's agreement is 0, the rest 1."""
    centre = {0: 32, 1: 128, 2: 128}  # dark, light (drawn as mid), mid

    def sample(model, n, temperature, seed, label):
        return torch.stack([torch.full(model.image_shape, centre[int(k)]) for k in label])

    monkeypatch.setattr(pixelrnn, "sample", sample)
    args = ["--model", conditional_model, "--classifier", judge, "--per-class", 5, "--batch-size", 4]
    assert class_agreement.main([str(a) for a in args]) == 0
    table = capsys.readouterr().out
    assert "| dark | 5 | 100.0% | 100.0% |" in table
    assert "| light | 5 | 0.0% | 100.0% |" in table
    assert "| mid | 5 | 100.0% | 100.0% |" in table
    assert "| **all** | 15 | **66.7%** | 100.0% |" in table and "chance: 33.3%" in table


def test_class_agreement_refuses_models_it_cannot_judge(judge, tmp_path, capsys):
    def saved(name, **options):
        torch.manual_seed(0)
        model = pixelrnn.build_model("pixelcnn", levels=256, hidden=4, layers=1, out_hidden=4, **options)
        return str(model.save_pretrained(tmp_path / name))

    cases = [
        (saved("plain", image_shape=(1, 8, 8)), "the model is unconditional"),
        (saved("two", image_shape=(1, 8, 8), num_classes=2), "the model has 2 classes but the classifier 3"),
        (
            saved("small", image_shape=(1, 6, 6), num_classes=3),
            "draws 1x6x6 images with 256 levels, but the classifier takes 1x8x8",
        ),
        (str(judge), "lacks model"),
    ]
    for model, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            class_agreement.main(["--model", model, "--classifier", str(judge)])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    named = pixelrnn.build_model("pixelcnn", (1, 8, 8), levels=256, hidden=4, layers=1, out_hidden=4, num_classes=3)
    named.save_pretrained(tmp_path / "named", classes=["cat", "dog", "frog"])
    with pytest.raises(SystemExit):
        class_agreement.main(["--model", str(tmp_path / "named"), "--classifier", str(judge)])
    assert "the model's classes ['cat', 'dog', 'frog'] are not the classifier's" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        class_agreement.main(["--model", str(tmp_path / "named"), "--classifier", str(tmp_path / "named")])
    assert "is a PixelRNN model's (pixelcnn), not a classifier's" in capsys.readouterr().err


@pytest.mark.parametrize("name, shape, least", [("fashion_mnist", (1, 28, 28), 0.9), ("cifar10", (3, 32, 32), 0.7)])
def test_shipped_classifier(name, shape, least):
    folder = SHIPPED / name
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    assert (folder / "model.safetensors").stat().st_size < 5e6, "each classifier stays under 5 MB"
    classifier = load_classifier(folder)
    assert classifier.image_shape == shape and classifier.levels == 256 and len(classifier.classes) == 10
    metadata = classifier.metadata
    assert metadata["test_accuracy"] >= least and metadata["test_images"] == 10000 and "thread" in metadata["hardware"]
    if name == "cifar10":
        assert "JPEG" in metadata["data"], "the metadata says the CIFAR-10 copy is lossy"


@pytest.mark.skipif(not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_the_shipped_fashion_mnist_classifier_classifies_real_test_images():
    classifier = load_classifier(SHIPPED / "fashion_mnist")
    assert classifier.classes == pixelrnn.data.class_names("fashion_mnist")
    split = Split(
        pixelrnn.data.load_dataset("fashion_mnist", "test")[:1000], pixelrnn.data.load_labels("fashion_mnist", "test")[:1000]
    )
    # The first 1000 test images: within about 3.5 standard errors of the accuracy over all 10,000.
    assert accuracy(classifier, split)["accuracy"] == pytest.approx(classifier.metadata["test_accuracy"], abs=0.03)
