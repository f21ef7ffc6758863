"""The benchmark scripts run and print the tables the README quotes (tiny sizes: a smoke test)."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, tiny_checkpoints
from PIL import Image

#: A third of the suite's time: deselect with -m "not slow" while working.
pytestmark = pytest.mark.slow


def run(script, *args):
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args], capture_output=True, text=True, timeout=300, check=True
    )
    return [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]


def test_sampling_benchmark_prints_a_row_per_configuration():
    header, *rows = run(
        "sampling.py",
        "--models",
        "row_lstm",
        "pixelcnn",
        "--shapes",
        "1x6x5",
        "--batches",
        "1",
        "2",
        "--reference-steps",
        "3",
        "--repeats",
        "1",
    )
    assert header.split("|")[1:-1] == [
        " model ",
        " image ",
        " batch ",
        " cached ms/image ",
        " reference ms/image ",
        " speed-up ",
    ]
    assert [row.split("|")[1:4] for row in rows] == [
        [" row_lstm ", " 1x6x5 ", " 1 "],
        [" row_lstm ", " 1x6x5 ", " 2 "],
        [" pixelcnn ", " 1x6x5 ", " 1 "],
        [" pixelcnn ", " 1x6x5 ", " 2 "],
    ]
    for row in rows:
        cached, reference, ratio = (cell.strip() for cell in row.split("|")[4:7])
        assert float(cached.replace(",", "")) > 0 and float(reference.replace(",", "")) > 0 and ratio.endswith("x")


def test_training_throughput_benchmark_prints_a_row_per_shape():
    header, *rows = run(
        "train_throughput.py", "--models", "gated_pixelcnn", "--batch-size", "2", "--seconds", "0.1", "--rounds", "0"
    )
    assert "images / s" in header and "fraction" in header
    assert [row.split("|")[1:3] for row in rows] == [[" gated_pixelcnn ", " 28x28x1 "], [" gated_pixelcnn ", " 32x32x3 "]]
    for row in rows:
        fraction = row.split("|")[-2].strip()
        assert fraction.endswith("%") and float(fraction[:-1]) > 0


def test_training_throughput_benchmark_compares_the_recurrent_layers_with_pixelcnn():
    header, *rows = run("train_throughput.py", "--recurrent-ratios", "--rounds", "1")
    assert [cell.strip() for cell in header.split("|")[1:-1]] == [
        "model",
        "parameters",
        "ms / step",
        "ratio to PixelCNN",
        "CPU ms / step",
        "CPU-time ratio",
    ]
    assert [row.split("|")[1].strip() for row in rows] == ["pixelcnn", "row_lstm", "diagonal_bilstm"]
    assert rows[0].split("|")[-2].strip() == "1.00x"
    for row in rows[1:]:
        assert float(row.split("|")[-2].strip()[:-1]) > 0


def test_compression_benchmark_prints_a_row_per_model(tmp_path):
    """On a folder of pictures: four in test/, of which the first three are compressed, in files of two."""
    fashion, _ = tiny_checkpoints(tmp_path)
    (tmp_path / "pictures" / "test").mkdir(parents=True)
    for k in range(4):
        pixels = np.random.default_rng(k).integers(0, 256, (8, 8), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / "pictures" / "test" / f"{k}.png")
    header, row = run(
        "compression.py", "--checkpoints", fashion, "--data", str(tmp_path / "pictures"), "--max-images", "3", "--batch-size", "2"
    )
    assert [cell.strip() for cell in header.split("|")[1:-1]] == [
        "data",
        "model",
        "images",
        "codec",
        "model",
        "PNG",
        "WebP",
        "JPEG XL",
        "xz",
        "encode images/s",
        "decode images/s",
    ]
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[:3] == ["pictures", "fashion_mnist-pixelcnn", "3"]
    codec, model = float(cells[3]), float(cells[4])
    files, header_bits, last_words_bits, dims = 2, 26 * 8, 64, 3 * 64
    assert model < codec < model + files * (header_bits + last_words_bits) / dims
    assert all(cell == "n/a" or float(cell) > 0 for cell in cells[5:])
