"""The lossless codec: exact round trips on every model, files at the model's -log2 p(x), damaged files refused."""

import math
import re

import numpy as np
import pytest
import torch
from conftest import with_large_weights
from PIL import Image

import pixelrnn
from pixelrnn.codec import HEADER, decoding
from pixelrnn.codec.__main__ import main
from pixelrnn.pictures import to_uint8

SHAPES = [(1, 5, 4), (3, 4, 5)]


def tiny(name, shape, levels=6, seed=0):
    torch.manual_seed(seed)
    return with_large_weights(pixelrnn.build_model(name, image_shape=shape, levels=levels, hidden=6, layers=2, out_hidden=12))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_round_trips_are_exact(name, shape):
    """A batch and a single image come back exactly, in the shape they went in."""
    model = tiny(name, shape)
    images = torch.randint(0, 6, (3, *shape), generator=torch.Generator().manual_seed(1))
    assert torch.equal(pixelrnn.decompress(model, pixelrnn.compress(model, images)), images)
    single = pixelrnn.decompress(model, pixelrnn.compress(model, images[1]))
    assert single.shape == shape and torch.equal(single, images[1])


def test_a_batch_codes_each_image_in_order():
    """A batch file is not a set: the images come back in their places, duplicates included."""
    model = tiny("row_lstm", (3, 4, 5))
    image = torch.randint(0, 6, (3, 4, 5), generator=torch.Generator().manual_seed(2))
    batch = torch.stack([image, torch.zeros_like(image), image, torch.full_like(image, 5)])
    assert torch.equal(pixelrnn.decompress(model, pixelrnn.compress(model, batch)), batch)


@pytest.mark.parametrize("name", pixelrnn.MODELS)
def test_files_cost_what_the_model_says(name):
    """Without the header, a file holds the model's -log2 p(x) bits to within 2%; here that is about 60 bits."""
    model = tiny(name, (3, 8, 8), levels=256)
    images = pixelrnn.sample(model, 2, seed=0)
    with torch.no_grad():
        model_bits = float(-model.log_prob(images).sum()) / math.log(2)
    assert model_bits > 2000, "2% of it must be more than the range coder's last word or two"
    blob = pixelrnn.compress(model, images)
    assert torch.equal(pixelrnn.decompress(model, blob), images)
    file_bits = 8 * (len(blob) - HEADER.size)
    assert abs(file_bits - model_bits) <= 0.02 * model_bits


def test_decoding_step_by_step_fills_the_image_in_generation_order():
    """:func:`decoding` is decompress one step at a time: the model's order, the file's values, the coding's probs."""
    model = tiny("row_lstm", (3, 4, 5))
    images = torch.randint(0, 6, (2, 3, 4, 5), generator=torch.Generator().manual_seed(4))
    generation = decoding(model, pixelrnn.compress(model, images))
    assert generation.total == 3 * 4 * 5 and generation.image.eq(0).all()
    steps = [(step.position, step.index, step.value.clone(), step.probs) for step in generation]
    assert [position for position, *_ in steps] == [tuple(p) for p in generation.order.tolist()]
    assert [index for _, index, *_ in steps] == list(range(generation.total))
    for (c, i, j), _, value, probs in steps:
        assert torch.equal(value, images[:, c, i, j])
        assert (
            probs.dtype == torch.float64
            and probs.shape == (2, 6)
            and torch.allclose(probs.sum(1), torch.ones(2, dtype=torch.float64))
        )
    assert torch.equal(generation.image, images)
    assert decoding(model, pixelrnn.compress(model, images[0])).image.shape == (1, 3, 4, 5)


def test_decoding_refuses_at_once_what_it_can_and_damage_by_the_last_step():
    model = tiny("pixelcnn", (1, 5, 4))
    images = torch.randint(0, 6, (3, 1, 5, 4), generator=torch.Generator().manual_seed(5))
    blob = pixelrnn.compress(model, images)
    with pytest.raises(ValueError, match="holds 3 images; at most 2"):
        decoding(model, blob, max_images=2)
    assert decoding(model, blob, max_images=3).image.shape == (3, 1, 5, 4)
    with pytest.raises(ValueError, match="empty"):
        decoding(model, b"")
    with pytest.raises(ValueError, match="another model"):
        decoding(tiny("pixelcnn", (1, 5, 4), seed=1), blob)
    altered = bytearray(blob)
    altered[HEADER.size] ^= 0x10
    generation = decoding(model, bytes(altered))  # the header is intact: refused only as the data is decoded
    with pytest.raises(ValueError, match="damaged"):
        for _ in generation:
            pass


def test_files_from_another_model_are_refused():
    model = tiny("pixelcnn", (1, 5, 4))
    blob = pixelrnn.compress(model, torch.randint(0, 6, (1, 5, 4)))
    with pytest.raises(ValueError, match="another model"):
        pixelrnn.decompress(tiny("pixelcnn", (1, 5, 4), seed=1), blob)
    with pytest.raises(ValueError, match="the model takes 3x5x4"):
        pixelrnn.decompress(tiny("pixelcnn", (3, 5, 4)), blob)
    with pytest.raises(ValueError, match="the model takes 1x5x4 with 7"):
        pixelrnn.decompress(tiny("pixelcnn", (1, 5, 4), levels=7), blob)


def test_empty_truncated_and_foreign_files_are_refused():
    model = tiny("gated_pixelcnn", (3, 4, 5))
    blob = pixelrnn.compress(model, torch.randint(0, 6, (2, 3, 4, 5)))
    with pytest.raises(ValueError, match="empty"):
        pixelrnn.decompress(model, b"")
    with pytest.raises(ValueError, match="expected the bytes of a compressed file, got str"):
        pixelrnn.decompress(model, blob.hex())
    with pytest.raises(ValueError, match="not a pixelrnn compressed file"):
        pixelrnn.decompress(model, b"\x89PNG\r\n\x1a\n" + blob[8:])
    for length in range(1, len(blob)):
        with pytest.raises(ValueError, match="header|truncated|damaged"):
            pixelrnn.decompress(model, blob[:length])


def test_an_altered_byte_never_yields_a_wrong_image():
    """Anywhere in the header it is refused; in the data, refused unless the image still comes back exactly
    (a bit that the coder's last word does not use)."""
    model = tiny("diagonal_bilstm", (1, 5, 4))
    image = torch.randint(0, 6, (1, 5, 4), generator=torch.Generator().manual_seed(3))
    blob = pixelrnn.compress(model, image)
    refused = 0
    for k in range(len(blob)):
        altered = bytearray(blob)
        altered[k] ^= 0x10
        try:
            decoded = pixelrnn.decompress(model, bytes(altered))
        except ValueError:
            refused += 1
            continue
        assert k >= HEADER.size and torch.equal(decoded, image), f"byte {k} altered gave back another image"
    assert refused >= HEADER.size + 1


def test_data_no_encoder_wrote_is_refused():
    """Random words after a valid header: the checksum fails, or the range decoder finds the data invalid
    (constriction raises an AssertionError there, which must come out as a ValueError)."""
    model = tiny("pixelcnn", (1, 5, 4))
    blob = pixelrnn.compress(model, torch.randint(0, 6, (1, 5, 4), generator=torch.Generator().manual_seed(0)))
    payloads = [bytes.fromhex("1fe4abcc93113d1a")]  # invalid for this model's first distributions
    payloads += [np.random.default_rng(k).integers(0, 256, 8, dtype=np.uint8).tobytes() for k in range(100)]
    for payload in payloads:
        with pytest.raises(ValueError, match="damaged"):
            pixelrnn.decompress(model, blob[: HEADER.size] + payload)


@pytest.mark.parametrize(
    "image, message",
    [
        (torch.zeros(1, 5, 4), "integer pixel values"),
        (torch.zeros(1, 4, 4, dtype=torch.long), r"shape \[B, 1, 5, 4\]"),
        (torch.full((1, 5, 4), 6), r"\[0, 6\)"),
        (torch.zeros(0, 1, 5, 4, dtype=torch.long), "nothing to compress"),
        (np.zeros((1, 5, 4), dtype=np.int64), "torch.LongTensor"),
    ],
)
def test_bad_images_are_refused(image, message):
    with pytest.raises(ValueError, match=message):
        pixelrnn.compress(tiny("pixelcnn", (1, 5, 4)), image)


def test_cli_round_trip_on_png_files(tmp_path, capsys):
    """PNG in, .prnn out, PNG back with every pixel as it was; grey and RGB, 256 levels."""
    for name, shape in (("pixelcnn", (1, 6, 5)), ("multiscale", (3, 4, 6))):
        model = tiny(name, shape, levels=256)
        folder = model.save_pretrained(tmp_path / name)
        pictures = to_uint8(pixelrnn.sample(model, 2, seed=0), 256)
        sources = []
        for k, picture in enumerate(pictures):
            sources.append(tmp_path / f"{name}-{k}.png")
            Image.fromarray(picture[..., 0] if shape[0] == 1 else picture).save(sources[-1])
        assert main(["compress", "--model", str(folder), *map(str, sources), "-o", str(tmp_path / "packed")]) == 0
        packed = [tmp_path / "packed" / f"{source.stem}.prnn" for source in sources]
        assert "bits/dim" in capsys.readouterr().out
        assert main(["decompress", "--model", str(folder), *map(str, packed), "-o", str(tmp_path / "unpacked")]) == 0
        for source in sources:
            with Image.open(source) as original, Image.open(tmp_path / "unpacked" / source.name) as restored:
                assert restored.mode == original.mode and np.array_equal(np.asarray(restored), np.asarray(original))


@pytest.mark.parametrize(
    "picture, message",
    [
        (np.zeros((6, 6), np.uint8), "is 6x6 pixels but the model codes 5x6"),
        (np.zeros((6, 5, 3), np.uint8) + [255, 0, 0], "in colour and the model is greyscale"),
        (np.full((6, 5, 4), 255, np.uint8) * [1, 1, 1, 0], "transparent"),
        (np.full((6, 5), 100, np.uint8), "not all among the model's 6 levels"),
    ],
)
def test_cli_refuses_pictures_it_would_not_restore_exactly(tmp_path, capsys, picture, message):
    folder = tiny("pixelcnn", (1, 6, 5)).save_pretrained(tmp_path / "model")
    Image.fromarray(picture.astype(np.uint8)).save(tmp_path / "picture.png")
    with pytest.raises(SystemExit) as exit:
        main(["compress", "--model", str(folder), str(tmp_path / "picture.png"), "-o", str(tmp_path)])
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_cli_refuses_files_it_cannot_decompress(tmp_path, capsys):
    folder = tiny("pixelcnn", (1, 6, 5)).save_pretrained(tmp_path / "model")
    (tmp_path / "not.prnn").write_bytes(b"PXR")
    (tmp_path / "picture.png").write_bytes(b"not a picture")
    for command, source, message in (
        ("decompress", "not.prnn", "not.prnn: not a pixelrnn compressed file"),
        ("decompress", "missing.prnn", "No such file"),
        ("compress", "picture.png", "not an image that Pillow can read"),
    ):
        with pytest.raises(SystemExit):
            main([command, "--model", str(folder), str(tmp_path / source), "-o", str(tmp_path / "out")])
        assert message in capsys.readouterr().err
    (tmp_path / "a").mkdir()
    with pytest.raises(SystemExit):
        main(["compress", "--model", str(folder), str(tmp_path / "picture.png"), str(tmp_path / "a" / "picture.png"), "-o", "x"])
    assert "would both be written to one file" in capsys.readouterr().err


def test_cli_bench_measures_every_kth_image_and_refuses_missing_data(tmp_path, capsys):
    """``bench`` on a folder of five pictures, every second one (images 0, 2, 4) in files of two."""
    folder = tiny("pixelcnn", (1, 6, 5), levels=256).save_pretrained(tmp_path / "model")
    (tmp_path / "pictures" / "test").mkdir(parents=True)
    for k in range(5):
        Image.fromarray(np.random.default_rng(k).integers(0, 256, (6, 5), dtype=np.uint8)).save(
            tmp_path / "pictures" / "test" / f"{k}.png"
        )
    arguments = ["bench", "--model", str(folder), "--data", str(tmp_path / "pictures"), "--every", "2", "--batch-size", "2"]
    assert main(arguments) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1]
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[:3] == ["pictures", "model", "3"]
    codec, model = float(cells[3]), float(cells[4])
    assert 7 < model < codec  # random pictures cost about 8 bits per value, and the files a little more
    with pytest.raises(SystemExit):
        main(["bench", "--model", str(folder), "--data", str(tmp_path / "nowhere")])
    error = capsys.readouterr().err
    assert "nowhere" in error and "Traceback" not in error


def test_cli_codes_a_conditional_model_given_a_class_name_and_bench_reads_the_labels(tmp_path, capsys):
    """``--label`` takes a class name from the model's metadata (or a number); the file keeps it, so decompress
    needs none; ``bench`` codes each test image given its class folder's label."""
    torch.manual_seed(0)
    model = pixelrnn.build_model("gated_pixelcnn", (1, 6, 5), levels=256, hidden=6, layers=1, out_hidden=12, num_classes=2)
    folder = model.save_pretrained(tmp_path / "model", classes=["cat", "dog"])
    for k, name in enumerate(("cat", "dog", "dog")):
        (tmp_path / "pets" / "test" / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.random.default_rng(k).integers(0, 256, (6, 5), dtype=np.uint8)).save(
            tmp_path / "pets" / "test" / name / f"{k}.png"
        )
    source = tmp_path / "pets" / "test" / "dog" / "1.png"
    assert main(["compress", "--model", str(folder), "--label", "dog", str(source), "-o", str(tmp_path / "packed")]) == 0
    blob = (tmp_path / "packed" / "1.prnn").read_bytes()
    assert blob[HEADER.size] == 1
    assert main(["decompress", "--model", str(folder), str(tmp_path / "packed" / "1.prnn"), "-o", str(tmp_path / "out")]) == 0
    with Image.open(source) as original, Image.open(tmp_path / "out" / "1.png") as restored:
        assert np.array_equal(np.asarray(restored), np.asarray(original))
    for label, message in ((None, "class-conditional"), ("bird", "its classes: cat, dog"), ("7", r"labels must lie in \[0, 2\)")):
        with pytest.raises(SystemExit):
            main(["compress", "--model", str(folder), *(["--label", label] if label else []), str(source), "-o", str(tmp_path)])
        error = capsys.readouterr().err
        assert re.search(message, error) and "Traceback" not in error
    assert main(["bench", "--model", str(folder), "--data", str(tmp_path / "pets")]) == 0
    cells = [cell.strip() for cell in capsys.readouterr().out.strip().splitlines()[-1].split("|")[1:-1]]
    assert cells[:3] == ["pets", "model", "3"]
