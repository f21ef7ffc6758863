"""Data loaders: standard sets from local copies, the cache, the system copy and (monkeypatched)
downloads; folders and archives of images. Every file is made by the test in tmp_path, except the
real Fashion-MNIST and CIFAR-10 JPEG copies, which are used when this machine has them."""

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import shutil
import struct
import tarfile
import time
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA
from PIL import Image

from pixelrnn import data, image_folders, standard_sets

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
CIFAR10_JPEG_TAR = SHARED_DATA / "cifar10-jpeg.tar.gz"
BINARIZED_MNIST_TAR = SHARED_DATA / "binarized_mnist-amat.tar.gz"


def write_idx(path: Path, images: np.ndarray) -> Path:
    """uint8 [N, H, W] -> an IDX image file, gzipped when the name ends in .gz."""
    raw = struct.pack(">4BIII", 0, 0, 8, 3, *images.shape) + images.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def write_mnist_like(folder: Path, seed: int) -> dict:
    """Fake train (5) and test (3) IDX .gz files of 28x28 images; returns split -> uint8 [N, 1, 28, 28]."""
    rng = np.random.default_rng(seed)
    images = {"train": rng.integers(0, 256, (5, 28, 28), np.uint8), "test": rng.integers(0, 256, (3, 28, 28), np.uint8)}
    write_idx(folder / "train-images-idx3-ubyte.gz", images["train"])
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images["test"])
    return {split: array[:, None] for split, array in images.items()}


def cifar_batch(images: np.ndarray) -> bytes:
    """uint8 [N, 3, 32, 32] -> a CIFAR-10 python batch as the official files are laid out."""
    batch = {"batch_label": "fake batch", "labels": [3] * len(images), "data": images.reshape(len(images), -1)}
    # Protocol 3 keeps the GLOBAL opcodes of the official (protocol 2, Python 2) files but stores
    # bytes without the _codecs.encode call that Python 3 writes for bytes at protocol 2. The
    # official batches were written with numpy 1.x, whose arrays pickle under numpy.core.
    raw = pickle.dumps(batch, protocol=3)
    official = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"cnumpy.core.multiarray\n_reconstruct" in official
    return official


def write_cifar_batches(folder: Path) -> dict:
    """A fake cifar-10-batches-py/ in `folder` (2 images a batch); returns split -> uint8 [N, 3, 32, 32]."""
    rng = np.random.default_rng(7)
    batches = {f"data_batch_{i}": rng.integers(0, 256, (2, 3, 32, 32), np.uint8) for i in range(1, 6)}
    batches["test_batch"] = rng.integers(0, 256, (2, 3, 32, 32), np.uint8)
    (folder / "cifar-10-batches-py").mkdir(parents=True)
    for name, images in batches.items():
        (folder / "cifar-10-batches-py" / name).write_bytes(cifar_batch(images))
    train = np.concatenate([batches[f"data_batch_{i}"] for i in range(1, 6)])
    return {"train": train, "test": batches["test_batch"]}


def write_amat(path: Path, images: np.ndarray) -> None:
    """0/1 [N, 28, 28] -> one image a line, 784 space-separated digits (Larochelle's .amat format)."""
    path.write_text("".join(" ".join(map(str, image.ravel())) + "\n" for image in images))


def mode_of(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


def save_image(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


# --- standard sets -------------------------------------------------------------------------------


def test_dataset_info_of_every_standard_set():
    assert data.DATASETS == ("mnist", "binarized_mnist", "fashion_mnist", "cifar10")
    digits = tuple("0123456789")
    assert data.dataset_info("mnist") == {"image_shape": (1, 28, 28), "levels": 256, "classes": digits}
    assert data.dataset_info("binarized_mnist") == {"image_shape": (1, 28, 28), "levels": 2, "classes": ()}
    fashion = data.dataset_info("fashion_mnist")
    assert fashion["image_shape"] == (1, 28, 28) and fashion["levels"] == 256
    assert fashion["classes"][0] == "T-shirt/top" and fashion["classes"][9] == "Ankle boot" and len(fashion["classes"]) == 10
    cifar = data.dataset_info("cifar10")
    assert cifar["image_shape"] == (3, 32, 32) and cifar["classes"][0] == "airplane" and cifar["classes"][9] == "truck"
    with pytest.raises(ValueError, match="unknown data set 'svhn'"):
        data.dataset_info("svhn")


def test_idx_files_load_from_root_or_from_the_directory_itself(tmp_path):
    expected = write_mnist_like(tmp_path / "idx", seed=0)
    for split in ("train", "test"):
        by_root = data.load_dataset("mnist", split=split, root=tmp_path / "idx", download=False)
        by_path = data.load_dataset(tmp_path / "idx", split=split)
        assert by_root.dtype == torch.uint8 and by_root.shape == expected[split].shape
        assert np.array_equal(by_root.numpy(), expected[split])
        assert np.array_equal(by_path.numpy(), expected[split])


def write_idx_labels(path: Path, labels: np.ndarray) -> Path:
    """uint8 [N] -> an IDX label file, gzipped."""
    raw = struct.pack(">4BI", 0, 0, 8, 1, len(labels)) + labels.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw))
    return path


def test_idx_labels_load_beside_their_images(tmp_path):
    write_mnist_like(tmp_path / "idx", seed=0)
    write_idx_labels(tmp_path / "idx" / "train-labels-idx1-ubyte.gz", np.array([3, 1, 4, 1, 5]))
    labels = data.load_labels("fashion_mnist", split="train", root=tmp_path / "idx", download=False)
    assert labels.dtype == torch.long and labels.tolist() == [3, 1, 4, 1, 5]
    assert data.load_labels(tmp_path / "idx", split="train").tolist() == [3, 1, 4, 1, 5]
    with pytest.raises(FileNotFoundError, match="not the labels of their test split"):
        data.load_labels(tmp_path / "idx", split="test")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        data.load_labels("mnist", split="test", root=tmp_path / "idx", download=False)
    with pytest.raises(ValueError, match="binarized_mnist has no class labels"):
        data.load_labels("binarized_mnist")


def test_cifar10_labels_come_from_its_batches(tmp_path):
    write_cifar_batches(tmp_path / "extracted")
    labels = data.load_labels("cifar10", split="test", root=tmp_path / "extracted", download=False)
    assert labels.tolist() == [3, 3]  # cifar_batch labels every image "cat"
    assert data.class_names("cifar10")[3] == "cat"


def test_folder_labels_are_their_class_folders_in_image_order(tmp_path):
    for split, names in (("train", ["dog/b.png", "cat/a.png", "dog/a.png"]), ("test", ["cat/c.png", "bird/d.png"])):
        for name in names:
            save_image(tmp_path / "pets" / split / name, Image.new("L", (4, 4), 100 + len(name)))
    assert data.class_names(tmp_path / "pets") == ("bird", "cat", "dog")  # every split's classes
    assert data.load_labels(tmp_path / "pets", split="train").tolist() == [1, 2, 2]  # cat/a, dog/a, dog/b
    assert data.load_labels(tmp_path / "pets", split="test").tolist() == [0, 1]
    assert len(data.load_dataset(tmp_path / "pets", split="train")) == 3
    save_image(tmp_path / "loose" / "a.png", Image.new("L", (4, 4)))
    assert data.class_names(tmp_path / "loose") == ()
    with pytest.raises(ValueError, match="no class folders"):
        data.load_labels(tmp_path / "loose")


def test_uncompressed_idx_files_are_read_too(tmp_path):
    images = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    loaded = data.load_dataset("fashion_mnist", split="test", root=tmp_path, download=False)
    assert np.array_equal(loaded.numpy(), images[:, None])


def test_broken_idx_files_are_refused(tmp_path):
    write_idx(tmp_path / "bad_magic" / "train-images-idx3-ubyte", np.zeros((1, 2, 2), np.uint8))
    raw = (tmp_path / "bad_magic" / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "bad_magic" / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + raw[4:])
    with pytest.raises(ValueError, match="not an IDX file of uint8 images"):
        data.load_dataset(tmp_path / "bad_magic")
    write_idx(tmp_path / "short" / "train-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    raw = (tmp_path / "short" / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "short" / "train-images-idx3-ubyte").write_bytes(raw[:-1])
    with pytest.raises(ValueError, match="truncated or corrupt: its header announces 3 images of 2x2"):
        data.load_dataset(tmp_path / "short")


def test_cache_directory_comes_from_PIXELRNN_DATA(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELRNN_DATA", str(tmp_path / "cache"))
    assert data.default_root() == tmp_path / "cache"
    expected = write_mnist_like(tmp_path / "cache" / "mnist", seed=1)
    loaded = data.load_dataset("mnist", split="test", download=False)
    assert np.array_equal(loaded.numpy(), expected["test"])


def test_a_local_copy_comes_before_the_system_fashion_mnist(tmp_path):
    expected = write_mnist_like(tmp_path / "fashion_mnist", seed=2)
    loaded = data.load_dataset("fashion_mnist", split="train", root=tmp_path, download=False)
    assert np.array_equal(loaded.numpy(), expected["train"])


def test_a_standard_set_can_be_resized_and_coloured_on_request(tmp_path):
    expected = write_mnist_like(tmp_path, seed=3)
    loaded = data.load_dataset("mnist", split="test", root=tmp_path, image_size=8, channels=3, download=False)
    assert loaded.shape == (3, 3, 8, 8)
    assert torch.equal(loaded[:, 0], loaded[:, 1]) and torch.equal(loaded[:, 0], loaded[:, 2])
    unchanged = data.load_dataset("mnist", split="test", root=tmp_path, image_size=28, channels=1, download=False)
    assert np.array_equal(unchanged.numpy(), expected["test"])


def test_cifar10_batches_load_from_folder_and_archive(tmp_path):
    expected = write_cifar_batches(tmp_path / "extracted")
    for split in ("train", "test"):
        assert np.array_equal(
            data.load_dataset("cifar10", split=split, root=tmp_path / "extracted", download=False).numpy(),
            expected[split],
        )
    by_path = data.load_dataset(tmp_path / "extracted" / "cifar-10-batches-py", split="test")
    assert np.array_equal(by_path.numpy(), expected["test"])

    archive = tmp_path / "cache" / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "extracted" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    from_cache = data.load_dataset("cifar10", split="train", root=tmp_path / "cache", download=False)
    assert from_cache.shape == (10, 3, 32, 32)
    assert np.array_equal(from_cache.numpy(), expected["train"])
    assert np.array_equal(data.load_dataset(archive, split="test").numpy(), expected["test"])


def test_cifar10_batch_layout_is_red_then_green_then_blue_planes(tmp_path):
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.arange(1024) % 256]).astype(np.uint8)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(cifar_batch(row.reshape(1, 3, 32, 32)))
    image = data.load_dataset("cifar10", split="test", root=tmp_path, download=False)[0]
    assert (image[0] == 10).all() and (image[1] == 20).all()
    assert image[2, 0, 5].item() == 5 and image[2, 1, 0].item() == 32  # row-major 32x32 planes


class RemoveFileOnLoad:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.remove, (self.path,))


def test_cifar10_pickles_that_name_other_callables_are_refused(tmp_path):
    sentinel = tmp_path / "sentinel"
    sentinel.write_text("still here")
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(pickle.dumps({"data": RemoveFileOnLoad(str(sentinel))}, protocol=2))
    with pytest.raises(ValueError, match=r"not a CIFAR-10 python batch: refusing to load posix\.remove"):
        data.load_dataset("cifar10", split="test", root=tmp_path, download=False)
    assert sentinel.read_text() == "still here"

    (folder / "test_batch").write_bytes(pickle.dumps({"data": np.array([1, "x"], dtype=object)}, protocol=3))
    with pytest.raises(ValueError, match="arrays of Python objects are refused"):
        data.load_dataset("cifar10", split="test", root=tmp_path, download=False)


def test_binarized_mnist_amat_splits(tmp_path):
    rng = np.random.default_rng(4)
    expected = {split: rng.integers(0, 2, (n, 28, 28)) for split, n in (("train", 3), ("valid", 2), ("test", 1))}
    for split, images in expected.items():
        write_amat(tmp_path / f"binarized_mnist_{split}.amat", images)
    for split, images in expected.items():
        loaded = data.load_dataset("binarized_mnist", split=split, root=tmp_path, download=False)
        assert loaded.dtype == torch.uint8 and loaded.shape == (len(images), 1, 28, 28)
        assert np.array_equal(loaded.numpy(), images[:, None])
    with pytest.raises(ValueError, match="binary data fixed at 1x28x28"):
        data.load_dataset("binarized_mnist", root=tmp_path, image_size=32)
    with pytest.raises(ValueError, match="mnist has the splits train, test, not 'valid'"):
        data.load_dataset("mnist", split="valid", root=tmp_path)


def test_binarized_mnist_from_the_archive_of_its_amat_files(tmp_path, monkeypatch):
    """binarized_mnist-amat.tar.gz, as ../shared/data keeps it: found by path, in root, and through $PIXELRNN_DATA."""
    rng = np.random.default_rng(5)
    expected = {split: rng.integers(0, 2, (n, 28, 28)) for split, n in (("train", 3), ("valid", 2), ("test", 4))}
    (tmp_path / "amat").mkdir()
    archive = tmp_path / "store" / "binarized_mnist-amat.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for split, images in expected.items():
            write_amat(tmp_path / "amat" / f"binarized_mnist_{split}.amat", images)
            tar.add(tmp_path / "amat" / f"binarized_mnist_{split}.amat", arcname=f"binarized_mnist_{split}.amat")
    assert data.standard_name(archive) == "binarized_mnist"
    monkeypatch.setenv("PIXELRNN_DATA", str(archive.parent))
    for split, images in expected.items():
        for loaded in (
            data.load_dataset(archive, split=split),
            data.load_dataset("binarized_mnist", split=split, root=archive.parent, download=False),
            data.load_dataset("binarized_mnist", split=split, download=False),
        ):
            assert loaded.shape == (len(images), 1, 28, 28)
            assert np.array_equal(loaded.numpy(), images[:, None])
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "amat" / "binarized_mnist_train.amat", arcname="binarized_mnist_train.amat")
    with pytest.raises(ValueError, match="holds no binarized_mnist_test.amat"):
        data.load_dataset(archive, split="test")


@pytest.mark.skipif(not BINARIZED_MNIST_TAR.is_file(), reason="no copy of the standard binarized MNIST here")
def test_the_standard_binarized_mnist_copy():
    sizes = {"train": 50_000, "valid": 10_000, "test": 10_000}
    for split, size in sizes.items():
        images = data.load_dataset(BINARIZED_MNIST_TAR, split=split)
        assert images.shape == (size, 1, 28, 28) and int(images.max()) == 1
        # About 13% of the pixels are on in every split of Larochelle & Murray's binarization.
        assert 0.12 < images.float().mean() < 0.14


def test_malformed_amat_files_are_refused(tmp_path):
    line = " ".join(["0"] * 784)
    for bad in (line.replace("0", "2", 1), line[:-2], line + " 1", line.replace("0 0", "00", 1)):
        (tmp_path / "binarized_mnist_test.amat").write_text(line + "\n" + bad + "\n")
        with pytest.raises(ValueError, match="784 space-separated 0s and 1s"):
            data.load_dataset("binarized_mnist", split="test", root=tmp_path, download=False)


# --- downloads -----------------------------------------------------------------------------------


class FakeResponse(io.BytesIO):
    def __init__(self, payload: bytes):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def serve(monkeypatch, payloads: dict) -> list:
    """Replace the URL opener: a URL in `payloads` returns its bytes, any other is unreachable."""
    calls = []

    def opener(url, timeout):
        calls.append((url, timeout))
        if url not in payloads:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return FakeResponse(payloads[url])

    monkeypatch.setattr(standard_sets, "urlopen", opener)
    return calls


def with_download(monkeypatch, name: str, split: str, download) -> None:
    spec = standard_sets.STANDARD[name]
    monkeypatch.setitem(standard_sets.STANDARD, name, dataclasses.replace(spec, downloads={**spec.downloads, split: download}))


def test_offline_with_nothing_local_names_the_path_and_the_url(tmp_path, monkeypatch):
    calls = serve(monkeypatch, {})
    with pytest.raises(FileNotFoundError) as caught:
        data.load_dataset("mnist", split="test", root=tmp_path)
    message = str(caught.value)
    assert f"Put t10k-images-idx3-ubyte.gz at {tmp_path / 'mnist' / 't10k-images-idx3-ubyte.gz'}" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz" in message
    assert "Temporary failure in name resolution" in message
    assert [url for url, _ in calls] == [
        "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
        "http://yann.lecun.com/exdb/mnist/t10k-images-idx3-ubyte.gz",
    ]
    assert all(timeout for _, timeout in calls)
    assert list((tmp_path / "mnist").iterdir()) == []  # no partial file left behind

    with pytest.raises(FileNotFoundError, match=r"(?s)cifar-10-python\.tar\.gz at .*www\.cs\.toronto\.edu/~kriz/"):
        data.load_dataset("cifar10", root=tmp_path)


def test_download_false_never_opens_a_url(tmp_path, monkeypatch):
    def opener(url, timeout):
        raise AssertionError("download=False must not open URLs")

    monkeypatch.setattr(standard_sets, "urlopen", opener)
    with pytest.raises(FileNotFoundError, match=r"\(download=False\)"):
        data.load_dataset("binarized_mnist", split="valid", root=tmp_path, download=False)


def test_download_verifies_the_checksum_and_writes_into_the_cache(tmp_path, monkeypatch):
    images = np.random.default_rng(5).integers(0, 256, (4, 28, 28), np.uint8)
    payload = write_idx(tmp_path / "served" / "t10k-images-idx3-ubyte.gz", images).read_bytes()
    mirrors = ("https://down.example/t10k-images-idx3-ubyte.gz", "https://up.example/t10k-images-idx3-ubyte.gz")
    with_download(
        monkeypatch,
        "mnist",
        "test",
        standard_sets.Download("t10k-images-idx3-ubyte.gz", mirrors, "md5", hashlib.md5(payload).hexdigest()),
    )
    calls = serve(monkeypatch, {mirrors[1]: payload})
    loaded = data.load_dataset("mnist", split="test", root=tmp_path / "cache")
    assert np.array_equal(loaded.numpy(), images[:, None])
    assert [url for url, _ in calls] == list(mirrors)  # the first mirror failed, the second served
    assert [p.name for p in (tmp_path / "cache" / "mnist").iterdir()] == ["t10k-images-idx3-ubyte.gz"]
    assert (tmp_path / "cache" / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes() == payload

    data.load_dataset("mnist", split="test", root=tmp_path / "cache")
    assert len(calls) == 2  # the second load reads the cache


def test_download_with_a_wrong_checksum_is_refused(tmp_path, monkeypatch):
    url = "https://only.example/binarized_mnist_test.amat"
    with_download(
        monkeypatch,
        "binarized_mnist",
        "test",
        standard_sets.Download("binarized_mnist_test.amat", (url,), "sha256", hashlib.sha256(b"other").hexdigest()),
    )
    serve(monkeypatch, {url: (" ".join(["1"] * 784) + "\n").encode()})
    with pytest.raises(FileNotFoundError, match="checksum mismatch: expected sha256"):
        data.load_dataset("binarized_mnist", split="test", root=tmp_path)
    assert list((tmp_path / "binarized_mnist").iterdir()) == []


# --- folders and archives of images --------------------------------------------------------------


def test_mixed_modes_become_rgb_unless_all_are_grey(tmp_path):
    folder = tmp_path / "mixed"
    save_image(folder / "a_grey.png", Image.new("L", (6, 6), 100))
    save_image(folder / "b_rgb.png", Image.new("RGB", (8, 5), (10, 20, 30)))
    save_image(folder / "c_rgba.png", Image.new("RGBA", (5, 9), (1, 2, 3, 128)))
    palette = Image.new("RGB", (7, 7), (200, 0, 0)).convert("P", palette=Image.Palette.ADAPTIVE)
    save_image(folder / "d_palette.png", palette)
    save_image(folder / "e_bilevel.png", Image.new("1", (4, 4), 1))
    save_image(folder / "f_photo.jpg", Image.new("RGB", (12, 10), (0, 0, 250)))
    assert mode_of(folder / "d_palette.png") == "P"

    with pytest.raises(ValueError, match=r"differ in size .*pass image_size=\(H, W\)"):
        data.load_dataset(folder)
    images = data.load_dataset(folder, image_size=4, root=tmp_path / "cache")
    assert images.dtype == torch.uint8 and images.shape == (6, 3, 4, 4)
    centre = images[:, :, 2, 2].tolist()
    assert centre[:5] == [[100, 100, 100], [10, 20, 30], [1, 2, 3], [200, 0, 0], [255, 255, 255]]
    assert max(abs(a - b) for a, b in zip(centre[5], [0, 0, 250])) <= 3  # JPEG is lossy
    assert (images == images[:, :, 2:3, 2:3]).all()  # solid colours stay solid through resizing

    grey = data.load_dataset(folder, image_size=4, channels=1, root=tmp_path / "cache")
    assert grey.shape == (6, 1, 4, 4)
    assert grey[1, 0, 0, 0].item() == (10 * 299 + 20 * 587 + 30 * 114) // 1000  # ITU-R 601 luma


def test_all_grey_images_give_one_channel_unless_asked_for_three(tmp_path):
    save_image(tmp_path / "grey" / "a.png", Image.new("L", (3, 2), 7))
    save_image(tmp_path / "grey" / "b.png", Image.new("1", (3, 2), 0))
    sixteen_bits = Image.fromarray(np.array([[0, 256, 32768], [65535, 511, 4095]], np.uint16))
    save_image(tmp_path / "grey" / "c.png", sixteen_bits)
    assert mode_of(tmp_path / "grey" / "c.png") == "I;16"
    images = data.load_dataset(tmp_path / "grey", root=tmp_path / "cache")
    assert images.shape == (3, 1, 2, 3)
    assert images[2, 0].tolist() == [[0, 1, 128], [255, 1, 15]]  # 16-bit values keep their top byte
    assert data.load_dataset(tmp_path / "grey", channels=3, root=tmp_path / "cache").shape == (3, 3, 2, 3)


def test_image_size_scales_to_cover_then_crops_the_centre(tmp_path):
    stripes = np.zeros((4, 12, 3), np.uint8)
    stripes[:, :4], stripes[:, 4:8], stripes[:, 8:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    save_image(tmp_path / "stripes" / "x.png", Image.fromarray(stripes))
    square = data.load_dataset(tmp_path / "stripes", image_size=4, root=tmp_path / "cache")[0]
    assert (square[1] == 255).all() and (square[0] == 0).all() and (square[2] == 0).all()  # the green middle
    wide = data.load_dataset(tmp_path / "stripes", image_size=(4, 6), root=tmp_path / "cache")[0]
    assert wide.shape == (3, 4, 6)
    assert wide[:, 0, :].T.tolist() == [[255, 0, 0]] + [[0, 255, 0]] * 4 + [[0, 0, 255]]
    big = data.load_dataset(tmp_path / "stripes", image_size=(8, 10), root=tmp_path / "cache")
    assert big.shape == (1, 3, 8, 10)  # upscaled x2 to 24x8, then 10 centre columns


def make_split_tree(folder: Path) -> None:
    """cifar10-jpeg-like tree: <folder>/pics/{train,test}/<class>/*.png, plus files that are no images."""
    for split, count in (("train", 3), ("test", 2)):
        for i in range(count):
            save_image(folder / "pics" / split / f"class{i % 2}" / f"{i:04d}.png", Image.new("L", (5, 5), 10 * i + 1))
    (folder / "pics" / "README.txt").write_text("not an image")
    (folder / "pics" / "train" / ".hidden.png").write_bytes(b"junk")


def test_split_folders_under_one_top_level_folder(tmp_path):
    make_split_tree(tmp_path / "tree")
    train = data.load_dataset(tmp_path / "tree", split="train", root=tmp_path / "cache")
    test = data.load_dataset(tmp_path / "tree", split="test", root=tmp_path / "cache")
    assert train[:, 0, 0, 0].tolist() == [1, 21, 11]  # ordered by path: class0/0000, class0/0002, class1/0001
    assert test[:, 0, 0, 0].tolist() == [1, 11]
    with pytest.raises(ValueError, match=r"has the split folders test/, train/ but no valid/"):
        data.load_dataset(tmp_path / "tree", split="valid", root=tmp_path / "cache")


def test_without_split_folders_all_images_are_the_train_split(tmp_path):
    save_image(tmp_path / "flat" / "a.png", Image.new("RGB", (2, 2)))
    save_image(tmp_path / "flat" / "sub" / "b.png", Image.new("RGB", (2, 2)))
    assert data.load_dataset(tmp_path / "flat", root=tmp_path / "cache").shape == (2, 3, 2, 2)
    with pytest.raises(ValueError, match=r"no train/ and test/ folders.*put those images in a test/ folder"):
        data.load_dataset(tmp_path / "flat", split="test", root=tmp_path / "cache")


def test_archives_give_the_same_images_as_the_folder(tmp_path):
    make_split_tree(tmp_path / "tree")
    save_image(tmp_path / "tree" / "pics" / "test" / "class1" / "0009.jpg", Image.new("RGB", (5, 5), (9, 99, 199)))
    expected = data.load_dataset(tmp_path / "tree", split="test", root=tmp_path / "cache")
    assert expected.shape == (3, 3, 5, 5)
    for name, mode in (("a.tar", "w"), ("a.tar.gz", "w:gz"), ("a.tgz", "w:gz")):
        with tarfile.open(tmp_path / name, mode) as tar:
            tar.add(tmp_path / "tree", arcname=".")  # names like ./pics/test/class0/0000.png
    shutil.make_archive(str(tmp_path / "a"), "zip", tmp_path / "tree")
    with zipfile.ZipFile(tmp_path / "a.zip", "a") as archive:
        archive.writestr("__MACOSX/pics/test/._0000.png", b"resource fork, not an image")
    for name in ("a.tar", "a.tar.gz", "a.tgz", "a.zip"):
        assert torch.equal(data.load_dataset(tmp_path / name, split="test", root=tmp_path / "cache"), expected), name


def test_decoded_images_are_cached_until_the_archive_changes(tmp_path, monkeypatch):
    def archive_of(value: int) -> Path:
        save_image(tmp_path / "src" / "train" / "x.png", Image.new("L", (3, 3), value))
        with tarfile.open(tmp_path / "set.tar.gz", "w:gz") as tar:
            tar.add(tmp_path / "src", arcname="set")
        return tmp_path / "set.tar.gz"

    archive = archive_of(5)
    first = data.load_dataset(archive, root=tmp_path / "cache")
    decode = image_folders.decode_images

    def refuse(*args):
        raise AssertionError("should have been served from the cache")

    monkeypatch.setattr(image_folders, "decode_images", refuse)
    assert torch.equal(data.load_dataset(archive, root=tmp_path / "cache"), first)
    assert first[0, 0, 0, 0].item() == 5

    archive_of(6)
    os.utime(archive, ns=(time.time_ns(), time.time_ns() + 10**9))
    monkeypatch.setattr(image_folders, "decode_images", decode)
    assert data.load_dataset(archive, root=tmp_path / "cache")[0, 0, 0, 0].item() == 6
    assert len(list((tmp_path / "cache" / "decoded").glob("*.npy"))) == 1  # the stale entry is gone
    assert len(list((tmp_path / "cache" / "decoded").iterdir())) == 1


def test_bad_arguments_and_sources_get_clear_errors(tmp_path):
    save_image(tmp_path / "ok" / "a.png", Image.new("L", (2, 2)))
    with pytest.raises(ValueError, match="neither a standard data set .* nor an existing folder"):
        data.load_dataset("cifar100")
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'valid', 'test'\)"):
        data.load_dataset(tmp_path / "ok", split="validation")
    with pytest.raises(ValueError, match="channels must be 1"):
        data.load_dataset(tmp_path / "ok", channels=2)
    for size in (0, (4, 4, 4), (4, 2.5), True):
        with pytest.raises(ValueError, match="image_size must be a positive int"):
            data.load_dataset(tmp_path / "ok", image_size=size)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        data.load_dataset(tmp_path / "empty", root=tmp_path / "cache")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="neither a folder nor a .zip/.tar"):
        data.load_dataset(tmp_path / "notes.txt", root=tmp_path / "cache")
    (tmp_path / "ok" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="cannot decode the image broken.png"):
        data.load_dataset(tmp_path / "ok", root=tmp_path / "cache")


# --- the real data sets, where this machine has them ---------------------------------------------


@pytest.mark.skipif(not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_from_the_system_copy(tmp_path):
    images = data.load_dataset("fashion_mnist", split="test", root=tmp_path, download=False)
    assert images.dtype == torch.uint8 and images.shape == (10000, 1, 28, 28)
    assert 70 < images.float().mean().item() < 76  # Fashion-MNIST's test mean is 0.287 * 255 = 73
    assert list(tmp_path.iterdir()) == []  # read in place, nothing copied


@pytest.fixture(scope="session")
def cifar_jpeg_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cifar_jpeg_cache")


@pytest.mark.skipif(not CIFAR10_JPEG_TAR.is_file(), reason="the CIFAR-10 JPEG archive is not on this machine")
def test_real_cifar10_jpeg_archive_test_split(cifar_jpeg_cache, monkeypatch):
    images = data.load_dataset(CIFAR10_JPEG_TAR, split="test", root=cifar_jpeg_cache)
    assert images.dtype == torch.uint8 and images.shape == (10000, 3, 32, 32)
    means = images.float().mean(dim=(0, 2, 3)).tolist()
    # CIFAR-10's test set means are (0.4942, 0.4851, 0.4504) * 255; JPEG re-encoding moves them little.
    assert all(abs(m - e) < 1.5 for m, e in zip(means, (126.0, 123.7, 114.9))), means

    monkeypatch.setattr(image_folders, "decode_images", lambda *args: pytest.fail("the .npy cache was not used"))
    assert torch.equal(data.load_dataset(CIFAR10_JPEG_TAR, split="test", root=cifar_jpeg_cache), images)
