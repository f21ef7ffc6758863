"""The benchmark scripts run and print the tables the README quotes (tiny sizes: a smoke test)."""

import subprocess
import sys

import pytest
from conftest import REPO

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
    assert header.split("|")[1:-1] == [" model ", " parameters ", " ms / step ", " ratio to PixelCNN "]
    assert [row.split("|")[1].strip() for row in rows] == ["pixelcnn", "row_lstm", "diagonal_bilstm"]
    assert rows[0].split("|")[-2].strip() == "1.00x"
    for row in rows[1:]:
        assert float(row.split("|")[-2].strip()[:-1]) > 0
