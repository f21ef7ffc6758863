"""The app through its API (gradio_client against a live server) and its image plumbing.

The server runs tiny random-weight models written to a temporary folder, so these tests
depend neither on the shipped weights nor on their speed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from conftest import TINY, free_port, tiny_checkpoints, tiny_conditional_checkpoint  # noqa: E402
from PIL import Image  # noqa: E402

import pixelrnn  # noqa: E402
from pixelrnn.codec import HEADER, decoding  # noqa: E402
from pixelrnn.codec.baselines import picture_sizes  # noqa: E402
from pixelrnn.pictures import to_uint8  # noqa: E402

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from app import render  # noqa: E402
from app.batching import Batcher  # noqa: E402
from app.catalog import DEFAULT_CHECKPOINTS, ModelEntry, discover  # noqa: E402
from app.classes import classes_of, label_of, picker_choices  # noqa: E402
from app.editor import BELOW, DRAW, UNDRAWN, editor_value, read_editor  # noqa: E402
from app.images import STRIP_BOX, display_scale, gap_for, locate, strip_scale, to_model_image, upscale  # noqa: E402
from app.layout import create_app  # noqa: E402
from app.live import FRAME_SHARE, MAX_FRAME_WAIT, LiveGeneration  # noqa: E402
from app.live_view import LiveView  # noqa: E402
from app.server import serve  # noqa: E402
from app.session import Session  # noqa: E402
from app.uploads import open_image  # noqa: E402
from app.weights import export, load_from_files, load_from_hub, publish  # noqa: E402

GREY = "Fashion-MNIST · PixelCNN"
RGB = "CIFAR-10 · Row LSTM"
CONDITIONAL = "Fashion-MNIST · PixelCNN · class-conditional"


@pytest.fixture(scope="module")
def checkpoint_folders(tmp_path_factory) -> list[str]:
    """The folders of the models the server serves: ``GREY``'s, ``RGB``'s, then ``CONDITIONAL``'s."""
    root = tmp_path_factory.mktemp("checkpoints")
    return [*tiny_checkpoints(root), tiny_conditional_checkpoint(root)]


@pytest.fixture(scope="module")
def server(checkpoint_folders):
    demo = create_app([Path(checkpoint_folders[0]).parent])
    _, url, _ = serve(demo, port=free_port(), block=False)
    yield url
    demo.close()


@pytest.fixture()
def client(server):
    return Client(server, verbose=False)


def editor_files(tmp_path, image: torch.Tensor, mask: torch.Tensor) -> dict:
    """What the ImageEditor sends: the upscaled image as background, the painted mask as a layer."""
    value = editor_value(image, 256, mask)
    paths = {}
    for key, array in (("background", value["background"]), ("layer", value["layers"][0])):
        paths[key] = tmp_path / f"{key}.png"
        Image.fromarray(array, "RGBA").save(paths[key])
    return {
        "background": handle_file(str(paths["background"])),
        "layers": [handle_file(str(paths["layer"]))],
        "composite": None,
    }


def lower_half(h: int, w: int) -> torch.Tensor:
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[h // 2 :] = True
    return mask


def drawing(image: torch.Tensor, strokes: np.ndarray) -> dict:
    """What the ImageEditor holds after drawing on ``image`` (``LongTensor[C, H, W]``, 256 levels) with the draw
    brush: ``strokes`` (``uint8 [H, W, 4]``, one RGBA value per model pixel) upscaled as the layer."""
    value = editor_value(image, 256)
    value["layers"] = [upscale(strokes, display_scale(image.shape))]
    return value


def editor_upload(tmp_path, value: dict) -> dict:
    """``value`` (an editor value of arrays) as files, the way a client sends it."""
    files = {}
    for key, array in (("background", value["background"]), *((f"layer{k}", a) for k, a in enumerate(value["layers"]))):
        files[key] = tmp_path / f"{key}.png"
        Image.fromarray(array, "RGBA").save(files[key])
    layers = [handle_file(str(path)) for key, path in files.items() if key != "background"]
    return {"background": handle_file(str(files["background"])), "layers": layers, "composite": None}


#: A stroke of white across row 2 (columns 1-6) and a grey pixel at (3, 2), on an 8x8 greyscale canvas.
STROKES = np.zeros((8, 8, 4), dtype=np.uint8)
STROKES[2, 1:7] = (255, 255, 255, 255)
STROKES[3, 2] = (128, 128, 128, 255)


# ---------------------------------------------------------------------------------- API


def test_completion_keeps_known_pixels_and_streams_in_raster_order(client, tmp_path):
    image = torch.randint(0, 256, (3, 8, 8), generator=torch.Generator().manual_seed(1))
    mask = lower_half(8, 8)
    job = client.submit(
        editor=editor_files(tmp_path, image, mask),
        model=RGB,
        n=2,
        temperature=1.0,
        seed=3,
        speed=7,  # 100 px/s: 0.3 s, several frames however few the server can afford
        api_name="/complete_generate",
    )
    job.result(timeout=120)
    progress = [out[-1] for out in job.outputs()]
    assert progress[-1]["state"] == "Done"
    assert progress[-1]["total"] == progress[-1]["count"] == 3 * int(mask.sum())
    # Frames report the sub-pixel just drawn: (c, i, j) in raster order, R, G, B inside a pixel, inside the hole.
    by_count = {p["count"]: tuple(p["position"]) for p in progress if p["position"] is not None}
    positions = [by_count[count] for count in sorted(by_count)]
    assert len(positions) >= 2
    keys = [(i, j, c) for c, i, j in positions]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(mask[i, j] for _, i, j in positions)
    final = torch.tensor(progress[-1]["images"])
    assert final.shape == (2, 3, 8, 8)
    assert torch.equal(final[:, :, ~mask], image[:, ~mask].expand(2, -1, -1))


def test_binary_models_are_offered_with_two_bar_softmax_charts(tmp_path):
    torch.manual_seed(0)
    model = pixelrnn.build_model("diagonal_bilstm", image_shape=(1, 8, 8), levels=2, **TINY)
    model.save_pretrained(tmp_path / "binarized_mnist-diagonal_bilstm", dataset="binarized_mnist")
    demo = create_app([tmp_path])
    _, url, _ = serve(demo, port=free_port(), block=False)
    try:
        job = Client(url, verbose=False).submit(
            model="Binarized MNIST · Diagonal BiLSTM", n=2, temperature=1.0, seed=0, speed=10, api_name="/sample_generate"
        )
        job.result(timeout=120)
        *_, chart, hidden_g, hidden_b, _, progress = job.outputs()[-1]
    finally:
        demo.close()
    assert progress["state"] == "Done" and progress["total"] == 64
    assert set(torch.tensor(progress["images"]).unique().tolist()) <= {0, 1}
    assert chart["visible"] and not hidden_g["visible"] and not hidden_b["visible"]
    bars = chart["value"]["data"]
    assert sorted(value for value, _, _ in bars) == [0, 1] and sum(p for _, p, _ in bars) == pytest.approx(1, abs=1e-5)
    assert chart["x_lim"] == [-0.5, 1.5]


def test_pause_step_resume_stop_and_the_worker_is_freed(client):
    job = client.submit(model=GREY, n=1, temperature=1.0, seed=0, speed=1, api_name="/sample_generate")
    deadline = time.monotonic() + 60
    while not job.outputs() and time.monotonic() < deadline:
        time.sleep(0.1)
    client.predict(api_name="/sample_pause")
    job.result(timeout=30)  # the stream ends by itself once paused
    paused = job.outputs()[-1][-1]
    assert paused["state"] == "Paused"

    stepped = client.predict(api_name="/sample_step_pixel")[-1]
    assert stepped["count"] == paused["count"] + 1  # one greyscale pixel is one sub-pixel
    row = client.predict(api_name="/sample_step_row")[-1]
    assert row["position"][1:] == [stepped["position"][1], 7]  # the rest of that row, up to its last column

    resumed = client.submit(api_name="/sample_resume")
    while len(resumed.outputs()) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    stopped = client.predict(api_name="/sample_stop")[-1]
    assert stopped["state"] == "Stopped"
    t = time.monotonic()
    while not resumed.done() and time.monotonic() - t < 10:
        time.sleep(0.1)
    assert resumed.done()
    # A stopped generation cannot be resumed: the next stream ends at once, still stopped, and says why.
    *_, message, state = client.predict(api_name="/sample_resume")
    assert state["state"] == "Stopped" and "Stop ends a generation for good" in message and "press Generate" in message


def test_pause_and_stop_land_on_the_frame_the_click_says_is_on_screen(client):
    """The browser sends the progress of the frame it shows with Pause and Stop: the run goes back to it, even when
    that frame's confirmation has not come (here it never does: a client that confirms nothing)."""
    for button, state in (("pause", "Paused"), ("stop", "Stopped")):
        job = client.submit(model=GREY, n=1, temperature=1.0, seed=0, speed=5, api_name="/sample_generate")
        deadline = time.monotonic() + 60
        while not (job.outputs() and job.outputs()[-1][-1]["count"] >= 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        first = job.outputs()[0][-1]  # the run's first frame, as if the screen still showed it
        client.predict(first, api_name=f"/sample_{button}")
        job.result(timeout=30)
        last = job.outputs()[-1][-1]
        assert last["state"] == state and last["count"] == first["count"] < 3


def test_generate_again_while_it_runs_starts_over_with_the_new_settings(client):
    first = client.submit(model=GREY, n=1, temperature=1.0, seed=0, speed=1, api_name="/sample_generate")
    deadline = time.monotonic() + 60
    while not first.outputs() and time.monotonic() < deadline:
        time.sleep(0.1)
    again = client.submit(model=RGB, n=3, temperature=0.5, seed=1, speed=10, api_name="/sample_generate")
    again.result(timeout=120)
    done = again.outputs()[-1][-1]
    assert done["state"] == "Done" and torch.tensor(done["images"]).shape == (3, 3, 8, 8)
    first.result(timeout=10)  # the replaced stream ends at once, without a last frame that would cover the new run's
    replaced = [out[-1] for out in first.outputs()]
    assert {p["run"] for p in replaced} == {replaced[0]["run"]} != {done["run"]}
    assert all(p["state"] == "Generating" for p in replaced)


def test_a_viewer_that_confirms_frames_paces_the_run():
    """The sampler runs at most ``lead`` sub-pixels past a frame the viewer has not confirmed; a confirmation frees it."""
    model = pixelrnn.build_model("pixelcnn", image_shape=(1, 16, 16), levels=16, **TINY)
    run = LiveGeneration(pixelrnn.generate(model, 1, seed=0), rate=200.0)
    frames = run.play(run.new_player())
    next(frames)  # the first frame, at once
    run.acknowledge(0)  # a viewer that confirms frames: it paces the run from now on
    next(frames)
    sent = run.count
    assert 0 < sent and run.lead() == 16  # 200 px/s * VIEW_LAG, at most one row
    waiting = threading.Thread(target=next, args=(frames, None))
    waiting.start()
    waiting.join(1.0)
    assert waiting.is_alive() and run.count == sent + run.lead()  # it waits for the viewer
    run.acknowledge(sent)
    waiting.join(10)
    assert not waiting.is_alive() and run.count > sent + run.lead()
    run.pause()
    assert next(frames, "ended") == "ended" and not run.playing


def test_pause_goes_back_to_the_frame_the_viewer_confirmed():
    """Pause lands on the picture on screen, not on frames still on their way; what was drawn past it comes again."""
    model = pixelrnn.build_model("pixelcnn", image_shape=(1, 16, 16), levels=16, **TINY)
    run = LiveGeneration(pixelrnn.generate(model, 1, seed=0), rate=200.0)
    frames = run.play(run.new_player())
    next(frames)
    run.acknowledge(0)
    next(frames)
    shown = run.count
    run.acknowledge(shown)  # on screen
    next(frames)  # the next frame, on its way
    assert run.count > shown
    run.pause()
    assert run.count == shown and next(frames, "ended") == "ended"
    assert run.step_pixel() == 1 and run.count == shown + 1  # paused: a step goes on from there, no going back
    run.finish()
    assert torch.equal(run.image, pixelrnn.sample(model, 1, seed=0))


def test_the_api_documents_each_endpoint_cleanly(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/lambda" not in endpoints
    for name in ("/sample_pause", "/sample_stop"):  # the frame on screen, which the browser sends: optional
        (shown,) = endpoints[name]["parameters"]
        assert shown["parameter_name"] == "shown" and shown["parameter_has_default"], name
    assert [r["label"] for r in endpoints["/likelihood"]["returns"]][1] == "summary"
    returns = [r["label"] for r in endpoints["/sample_generate"]["returns"]]
    assert returns == ["Samples", "channel 1 softmax", "channel 2 softmax", "channel 3 softmax", "status", "progress"]
    types = {p["parameter_name"]: p["python_type"]["type"] for p in endpoints["/complete_generate"]["parameters"]}
    assert types["n"] == types["speed"] == types["seed"] == "int"
    assert {p["parameter_name"]: p["python_type"]["type"] for p in endpoints["/complete_best_of_k"]["parameters"]}["k"] == "int"
    # Settings added later come after the old ones, with defaults: clients that call by position still work.
    sample = [(p["parameter_name"], p["python_type"]["type"]) for p in endpoints["/sample_generate"]["parameters"]]
    assert sample == [
        ("model", sample[0][1]),
        ("n", "int"),
        ("temperature", "float"),
        ("seed", "int"),
        ("speed", "int"),
        ("class_name", "str"),
    ]
    complete = {p["parameter_name"]: p for p in endpoints["/complete_generate"]["parameters"]}
    assert list(complete)[-4:] == ["speed", "class_name", "brush", "fill"]
    assert (
        complete["brush"]["python_type"]["type"] == "Literal['hole', 'draw']" and complete["brush"]["parameter_default"] == "hole"
    )
    assert complete["fill"]["python_type"]["type"] == "Literal['undrawn', 'below']"
    for name in ("/complete_generate", "/complete_best_of_k", "/likelihood", "/compress"):
        last = {p["parameter_name"]: p for p in endpoints[name]["parameters"]}["class_name"]
        assert last["python_type"]["type"] == "str" and last["parameter_default"] == "any", name


def test_user_errors_log_one_line_and_hang_ups_no_traceback(server, caplog, capsys):
    caplog.set_level(logging.INFO)
    with pytest.raises(Exception, match="Nothing is being generated"):
        Client(server, verbose=False).predict(api_name="/sample_step_row")
    # A browser closing mid-upload: the body is cut off and the connection closed.
    port = int(server.rstrip("/").rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(
            b"POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
            b'Content-Length: 100000\r\n\r\n--B\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
            + b"\0"
            * 1000
        )
        time.sleep(0.5)
    time.sleep(1.0)
    lines = [(record.getMessage(), record.exc_info) for record in caplog.records]
    assert lines.count(("user error: Nothing is being generated: press Generate first.", None)) == 1
    assert ("a client closed the connection mid-request", None) in lines
    assert not any(exc_info for _, exc_info in lines)
    assert "Traceback" not in capsys.readouterr().err  # gradio prints a fault's traceback there


def test_finish_runs_to_the_end_and_sessions_are_separate(server):
    first, second = Client(server, verbose=False), Client(server, verbose=False)
    job = first.submit(model=GREY, n=3, temperature=0.5, seed=1, speed=1, api_name="/sample_generate")
    while not job.outputs():
        time.sleep(0.1)
    with pytest.raises(Exception, match="Nothing is being generated"):
        second.predict(api_name="/sample_finish")
    done = first.predict(api_name="/sample_finish")[-1]
    assert done["state"] == "Done" and done["count"] == done["total"] == 64
    assert torch.tensor(done["images"]).shape == (3, 1, 8, 8)


def test_nothing_painted_is_refused_with_a_message(client, tmp_path):
    image = torch.zeros(1, 8, 8, dtype=torch.long)
    value = editor_files(tmp_path, image, lower_half(8, 8))
    value["layers"] = []
    with pytest.raises(Exception, match="Nothing to fill in"):
        client.predict(editor=value, model=GREY, n=1, temperature=1.0, seed=0, speed=10, api_name="/complete_generate")


def test_best_of_k_ranks_completions(client, tmp_path):
    image = torch.randint(0, 256, (1, 8, 8), generator=torch.Generator().manual_seed(2))
    ranked = client.predict(
        editor=editor_files(tmp_path, image, lower_half(8, 8)),
        model=GREY,
        k=4,
        temperature=1.0,
        seed=0,
        api_name="/complete_best_of_k",
    )
    bits = [float(item["caption"].split("·")[1].split()[0]) for item in ranked]
    assert len(bits) == 4 and bits == sorted(bits)


def test_the_class_picked_reaches_the_sampler_and_unconditional_models_take_none(client, checkpoint_folders):
    def sample(model: str, **settings) -> torch.Tensor:
        job = client.submit(model=model, n=2, temperature=1.0, seed=0, speed=10, api_name="/sample_generate", **settings)
        job.result(timeout=120)
        return torch.tensor(job.outputs()[-1][-1]["images"])

    conditional = pixelrnn.load(checkpoint_folders[2])
    boots, trousers = sample(CONDITIONAL, class_name="Ankle boot"), sample(CONDITIONAL, class_name="Trouser")
    assert torch.equal(boots, pixelrnn.sample(conditional, 2, seed=0, label=9))
    assert torch.equal(trousers, pixelrnn.sample(conditional, 2, seed=0, label=1))
    assert not torch.equal(boots, trousers)
    with pytest.raises(Exception, match="draws the class it is given: pick one of 'T-shirt/top', 'Trouser'"):
        sample(CONDITIONAL)
    with pytest.raises(Exception, match="has no class 'Boot'"):
        sample(CONDITIONAL, class_name="Boot")
    # An unconditional model draws no class: an old client's call, and a class it ignores, draw the same.
    unconditional = pixelrnn.sample(pixelrnn.load(checkpoint_folders[0]), 2, seed=0)
    assert torch.equal(sample(GREY), unconditional) and torch.equal(sample(GREY, class_name="Bag"), unconditional)


def test_drawn_pixels_are_kept_and_the_model_fills_in_below_them_as_the_class_picked(client, tmp_path, checkpoint_folders):
    blank = torch.zeros(1, 8, 8, dtype=torch.long)
    value = drawing(blank, STROKES)
    image, mask = read_editor(value, (1, 8, 8), 256, DRAW, BELOW)
    job = client.submit(
        editor=editor_upload(tmp_path, value),
        model=CONDITIONAL,
        n=2,
        temperature=1.0,
        seed=0,
        speed=10,
        class_name="Bag",
        brush=DRAW,
        fill=BELOW,
        api_name="/complete_generate",
    )
    job.result(timeout=120)
    final = torch.tensor(job.outputs()[-1][-1]["images"])
    assert final.shape == (2, 1, 8, 8) and final[:, 0, 2, 1:7].eq(255).all() and final[:, 0, 3, 2].eq(128).all()
    assert final[:, :, :4].eq(image[:, :4]).all() and mask[4:].all() and not mask[:4].any()  # the rows above kept
    model = pixelrnn.load(checkpoint_folders[2])
    assert torch.equal(final, pixelrnn.sample(model, 2, image, mask, seed=0, label=8))

    # Best of K takes the drawing and the class too: everything not drawn, redone as bags.
    ranked = client.predict(
        editor=editor_upload(tmp_path, value),
        model=CONDITIONAL,
        k=4,
        temperature=1.0,
        seed=0,
        class_name="Bag",
        brush=DRAW,
        fill=UNDRAWN,
        api_name="/complete_best_of_k",
    )
    image, mask = read_editor(value, (1, 8, 8), 256, DRAW, UNDRAWN)
    expected = pixelrnn.complete(model, image, mask, k=4, seed=0, label=8)
    shown = pixelrnn.bits_per_dim(expected.log_probs, model.image_shape)
    assert [item["caption"] for item in ranked] == [f"#{r + 1} · {float(b):.3f} bits/dim" for r, b in enumerate(shown)]


def test_likelihood_scores_every_model_of_the_data_set(client, tmp_path, checkpoint_folders):
    picture = tmp_path / "shirt.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8), "L").save(picture)
    value = {"background": handle_file(str(picture)), "layers": [], "composite": handle_file(str(picture))}
    items, summary = client.predict(group="fashion_mnist", editor=value, api_name="/likelihood")
    # The class-conditional model scores the image as the class it finds most likely, and says which.
    model = pixelrnn.load(checkpoint_folders[2])
    image = to_model_image(Image.open(picture), model.image_shape, model.levels)
    with torch.no_grad():
        likeliest = int(model.log_prob(image.expand(10, -1, -1, -1), torch.arange(10)).argmax())
    names = model.metadata["classes"]
    assert [item["caption"].split(" · ")[0] for item in items] == ["the image", "PixelCNN", f"PixelCNN given {names[likeliest]}"]
    assert "bits/dim" in summary and "the class it finds most likely" in summary
    items, _ = client.predict(group="fashion_mnist", editor=value, class_name="Bag", api_name="/likelihood")
    bits = float(pixelrnn.pixel_bits(model, image, names.index("Bag")).mean())
    assert items[2]["caption"] == f"PixelCNN given Bag · {bits:.3f} bits/dim"
    with pytest.raises(Exception, match="has no class 'Boot'; its classes are 'T-shirt/top'"):
        client.predict(group="fashion_mnist", editor=value, class_name="Boot", api_name="/likelihood")


def picture_value(tmp_path, pixels: np.ndarray) -> dict:
    """What the ImageEditor sends for a picture (``uint8 [H, W]`` or ``[H, W, 3]``) with nothing drawn on it."""
    path = tmp_path / "picture.png"
    Image.fromarray(pixels).save(path)
    return {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path))}


def decode_live(client, model: str, path) -> dict:
    """Decode the file at ``path`` in the Compress tab's live view, flat out; the last frame's progress."""
    job = client.submit(model=model, packed=handle_file(str(path)), speed=10, api_name="/compress_decode")
    job.result(timeout=120)
    return job.outputs()[-1][-1]


def test_compress_sizes_the_file_beside_png_and_the_file_decodes_back_live(client, tmp_path, checkpoint_folders):
    pixels = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    image = torch.from_numpy(pixels).permute(2, 0, 1).long()
    path, table = client.predict(editor=picture_value(tmp_path, pixels), model=RGB, api_name="/compress")
    assert Path(path).name == "cifar-10-row-lstm.prnn"
    blob = Path(path).read_bytes()
    model = pixelrnn.load(checkpoint_folders[1])
    assert torch.equal(pixelrnn.decompress(model, blob), image)

    assert table["headers"] == ["format", "bytes", "bits/dim"]
    rows = {name: (size, bits) for name, size, bits in table["data"]}
    dims = 3 * 8 * 8
    assert rows["pixelrnn (.prnn)"] == (len(blob), round(len(blob) * 8 / dims, 3))
    with torch.no_grad():
        model_bits = float(pixelrnn.bits_per_dim(model.log_prob(image[None]), model.image_shape)[0])
    assert rows["the model's -log2 p(x)"][1] == pytest.approx(model_bits, abs=1e-3)
    assert abs(len(blob) - HEADER.size - rows["the model's -log2 p(x)"][0]) <= 8  # the range coder's last word or two
    for name, size in picture_sizes(image, 256).items():
        assert rows[name] == (size, round(size * 8 / dims, 3))

    progress = decode_live(client, RGB, path)
    assert progress["state"] == "Done" and progress["count"] == progress["total"] == dims
    assert torch.equal(torch.tensor(progress["images"]), image[None])


def test_a_class_conditional_model_compresses_given_the_class_picked_and_the_file_keeps_it(client, tmp_path, checkpoint_folders):
    pixels = np.random.default_rng(5).integers(0, 256, (8, 8), dtype=np.uint8)
    image = torch.from_numpy(pixels)[None].long()
    model = pixelrnn.load(checkpoint_folders[2])
    for name, label in (("Bag", 8), ("any", None)):
        path, table = client.predict(
            editor=picture_value(tmp_path, pixels), model=CONDITIONAL, class_name=name, api_name="/compress"
        )
        with torch.no_grad():
            every = model.log_prob(image.expand(10, -1, -1, -1), torch.arange(10))
        label = int(every.argmax()) if label is None else label  # any: the class that makes the smallest file
        bits = float(pixelrnn.bits_per_dim(every[label : label + 1], model.image_shape)[0])
        rows = {row[0]: row[2] for row in table["data"]}
        assert rows[f"the model's -log2 p(x | {model.metadata['classes'][label]})"] == pytest.approx(bits, abs=1e-3)
        blob = Path(path).read_bytes()
        assert torch.equal(pixelrnn.decompress(model, blob), image)
        assert torch.equal(torch.tensor(decode_live(client, CONDITIONAL, path)["images"]), image[None])


def test_files_that_do_not_decode_are_refused_with_a_message(client, tmp_path):
    grey = np.random.default_rng(4).integers(0, 256, (8, 8), dtype=np.uint8)
    path, _ = client.predict(editor=picture_value(tmp_path, grey), model=GREY, api_name="/compress")
    with pytest.raises(Exception, match=r"fashion-mnist-pixelcnn.prnn: the file holds 1x8x8 images"):
        decode_live(client, RGB, path)
    (tmp_path / "empty.prnn").write_bytes(b"")
    with pytest.raises(Exception, match="empty.prnn: not a pixelrnn compressed file: it is empty"):
        decode_live(client, GREY, tmp_path / "empty.prnn")
    with pytest.raises(Exception, match="Upload a .prnn file"):
        client.predict(model=GREY, packed=None, speed=10, api_name="/compress_decode")

    damaged = bytearray(Path(path).read_bytes())
    damaged[HEADER.size] ^= 0x80  # the data's first byte: every value after it decodes wrong
    (tmp_path / "damaged.prnn").write_bytes(bytes(damaged))
    progress = decode_live(client, GREY, tmp_path / "damaged.prnn")
    assert progress["state"] == "Failed" and "damaged" in progress["error"]
    assert progress["count"] < progress["total"]  # the last step, which fails the checksum, is never shown


# ---------------------------------------------------------------------------------- plumbing


def test_any_image_mode_is_converted_and_non_images_are_refused(tmp_path):
    modes = {
        "P": Image.new("P", (20, 10), 3),
        "LA": Image.new("LA", (10, 10), (200, 255)),
        "RGBA": Image.new("RGBA", (10, 10), (10, 20, 30, 0)),
        "I;16": Image.fromarray(np.arange(100, dtype=np.uint16).reshape(10, 10) * 600),
        "CMYK": Image.new("CMYK", (10, 10), (0, 255, 0, 0)),
    }
    for mode, picture in modes.items():
        path = tmp_path / f"{mode.replace(';', '')}.png" if mode != "CMYK" else tmp_path / "cmyk.jpg"
        picture.save(path)
        for shape in ((1, 8, 8), (3, 4, 4)):
            x = to_model_image(open_image(path), shape, 256)
            assert x.shape == shape and x.dtype == torch.long and 0 <= int(x.min()) and int(x.max()) < 256, mode
    assert to_model_image(modes["RGBA"], (3, 2, 2), 256).eq(0).all()  # transparent -> black background
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(ValueError, match="^notes.txt is not an image") as refused:
        open_image(tmp_path / "notes.txt")
    assert str(tmp_path) not in str(refused.value)  # the user's file name, not the server's copy of it
    (tmp_path / "cut.png").write_bytes((tmp_path / "P.png").read_bytes()[:60])  # a PNG cut short
    with pytest.raises(ValueError, match="^cut.png is not an image") as refused:
        open_image(tmp_path / "cut.png")
    assert str(tmp_path) not in str(refused.value)
    (tmp_path / "huge.png").write_bytes(b"\0" * (6 * 2**20))
    with pytest.raises(ValueError, match="limited to 5 MB"):
        open_image(tmp_path / "huge.png")


def test_editor_round_trip_and_quantization():
    image = torch.randint(0, 4, (3, 5, 7))
    mask = torch.rand(5, 7) > 0.5
    assert to_model_image(to_uint8(image, 4), (3, 5, 7), 4).equal(image)
    back, back_mask = read_editor(editor_value(image, 4, mask), (3, 5, 7), 4)
    assert back.equal(image) and back_mask.equal(mask)
    with pytest.raises(ValueError, match="no image"):
        read_editor(None, (3, 5, 7), 4)


def test_the_draw_brush_makes_strokes_known_pixels_quantised_and_the_hole_follows_the_rule():
    levels, shape = 4, (3, 4, 5)
    background = torch.randint(0, levels, shape, generator=torch.Generator().manual_seed(6))
    value = editor_value(background, levels)
    scale = display_scale(shape)
    layer = np.zeros((*value["background"].shape[:2], 4), dtype=np.uint8)
    layer[1 * scale : 2 * scale, 1 * scale : 2 * scale] = (255, 0, 0, 255)  # (1, 1): red
    layer[1 * scale : 2 * scale, 3 * scale : 4 * scale] = (200, 100, 30, 255)  # (1, 3): a colour between the levels
    layer[2 * scale : 2 * scale + scale // 2, 0:scale] = (255, 255, 255, 255)  # (2, 0): half covered, white
    layer[0 : scale // 8, 4 * scale : 5 * scale] = (255, 255, 255, 255)  # (0, 4): an eighth covered: not drawn
    value["layers"] = [layer]
    drawn = torch.zeros(4, 5, dtype=torch.bool)
    drawn[1, 1] = drawn[1, 3] = drawn[2, 0] = True
    colours = {(1, 1): (255, 0, 0), (1, 3): (200, 100, 30), (2, 0): (255, 255, 255)}

    image, mask = read_editor(value, shape, levels, DRAW, UNDRAWN)
    assert mask.equal(~drawn) and image[:, ~drawn].equal(background[:, ~drawn])
    for (i, j), colour in colours.items():  # the stroke's colour quantised, not blended with the background
        expected = to_model_image(np.array([[colour]], dtype=np.uint8), (3, 1, 1), levels)[:, 0, 0]
        assert image[:, i, j].equal(expected), (i, j)
    assert image[:, 1, 3].tolist() == [2, 1, 0]  # 200, 100, 30 of 256 -> levels 0-3

    below_image, below = read_editor(value, shape, levels, DRAW, BELOW)
    assert below_image.equal(image) and not below[:3].any() and below[3:].all()  # rows below row 2, the last drawn

    grey, _ = read_editor(value, (1, 4, 5), levels, DRAW, UNDRAWN)  # a greyscale model: the colour's grey
    assert grey[0, 1, 1] == to_model_image(np.array([[[255, 0, 0]]], dtype=np.uint8), (1, 1, 1), levels)[0, 0, 0]

    hole_image, hole = read_editor(value, shape, levels)  # the hole brush, as it was: strokes mark what to redo
    assert hole_image.equal(background) and hole.equal(drawn)
    value["layers"] = []
    with pytest.raises(ValueError, match="Nothing is drawn"):
        read_editor(value, shape, levels, DRAW, BELOW)
    assert read_editor(value, shape, levels, DRAW, UNDRAWN)[1].all()  # nothing drawn: everything to generate


def test_class_pickers_list_the_model_classes_by_name(tmp_path):
    tiny_checkpoints(tmp_path)
    tiny_conditional_checkpoint(tmp_path)
    entries = discover([tmp_path])[0]
    grey, conditional = (e for e in entries if e.dataset == "fashion_mnist")
    assert conditional.label == CONDITIONAL and conditional.class_names[9] == "Ankle boot" and grey.class_names == []
    assert picker_choices(grey.class_names) == dict(choices=["any"], value="any", visible=False, info=None)
    drawing_choices = picker_choices(conditional.class_names, current="Bag")
    assert drawing_choices["choices"] == conditional.class_names and drawing_choices["value"] == "Bag"
    assert picker_choices(conditional.class_names, scoring=True)["choices"][:2] == ["any", "T-shirt/top"]
    assert classes_of([grey, conditional]) == conditional.class_names
    unnamed = ModelEntry("x", {**conditional.config, "metadata": {}}, conditional.source)
    assert unnamed.class_names == [f"class {k}" for k in range(10)]
    assert label_of(grey, "Bag") is None and label_of(conditional, "Bag") == 8


def test_clicks_map_to_sample_and_pixel():
    shape = (1, 8, 8)
    scale = strip_scale(shape, 2)
    assert scale > 1 and 2 * 8 * scale + gap_for(scale) <= STRIP_BOX[0] and 8 * scale <= STRIP_BOX[1]
    assert locate(0, 0, shape, 2, scale) == (0, 0, 0)
    assert locate(8 * scale - 1, 8 * scale - 1, shape, 2, scale) == (0, 7, 7)
    assert locate(8 * scale + 1, 0, shape, 2, scale) is None  # the gap between samples
    second = 8 * scale + gap_for(scale)
    assert locate(second + 3 * scale, 2 * scale, shape, 2, scale) == (1, 2, 3)
    assert locate(10_000, 0, shape, 2, scale) is None


def test_live_generation_steps_by_pixel_and_row_and_keeps_distributions(tmp_path):
    model = pixelrnn.build_model("row_lstm", image_shape=(3, 4, 5), levels=16, **TINY)
    image = torch.randint(0, 16, (3, 4, 5))
    mask = lower_half(4, 5)
    run = LiveGeneration(pixelrnn.generate(model, 2, image, mask, seed=0))
    assert run.step_pixel() == 3 and run.position == (2, 2, 0)
    assert run.step_row() == 12 and run.position == (2, 2, 4)
    assert run.finish() == 15 and run.finished
    assert torch.equal(run.image[:, :, ~mask], image[:, ~mask].expand(2, -1, -1))
    drawn = run.probs[:, :, mask].gather(-1, run.image[:, :, mask].unsqueeze(-1))
    assert (drawn > 0).all() and torch.allclose(run.probs[:, :, mask].sum(-1), torch.ones(2, 3, int(mask.sum())))
    assert (run.probs[:, :, ~mask] == 0).all()


def test_live_decoding_steps_through_a_file_and_a_damaged_one_fails_with_its_reason():
    model = pixelrnn.build_model("row_lstm", image_shape=(3, 4, 5), levels=16, **TINY)
    image = torch.randint(0, 16, (3, 4, 5), generator=torch.Generator().manual_seed(5))
    blob = pixelrnn.compress(model, image)
    run = LiveGeneration(decoding(model, blob))
    assert run.n == 1 and run.total == 60
    assert run.step_pixel() == 3 and run.position == (2, 0, 0)
    assert torch.equal(run.image[0, :, 0, 0], image[:, 0, 0]) and run.image[0, :, 0, 1:].eq(0).all()
    assert run.finish() == 57 and run.finished and run.error is None
    assert torch.equal(run.image[0], image)
    assert torch.allclose(run.probs.sum(-1), torch.ones(1, 3, 4, 5))

    damaged = bytearray(blob)
    damaged[HEADER.size] ^= 0x80
    run = LiveGeneration(decoding(model, bytes(damaged)))
    run.finish()
    assert run.stopped and not run.finished and "damaged" in run.error
    assert LiveView.state_of(run) == "Failed" and run.error in render.status(run, "Failed")


# ---------------------------------------------------------------------------------- weights


def test_uploaded_files_load_and_pickles_are_refused(tmp_path):
    folder = tiny_checkpoints(tmp_path)[0]
    entry = load_from_files([f"{folder}/model.safetensors", f"{folder}/config.json"])
    assert entry.dataset == "fashion_mnist" and entry.label.endswith("(uploaded)")
    (tmp_path / "weights.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ValueError, match="pickled"):
        load_from_files([str(tmp_path / "weights.bin"), f"{folder}/config.json"])
    with pytest.raises(ValueError, match="exactly one"):
        load_from_files([f"{folder}/config.json"])


def test_download_holds_the_weights_and_loaded_models_stay_with_their_user(tmp_path):
    shipped = discover([tiny_checkpoints(tmp_path)[0]])[0]
    archive, weights, config = export(shipped[0])
    with zipfile.ZipFile(archive) as zf:
        assert sorted(Path(n).name for n in zf.namelist()) == ["README.md", "config.json", "model.safetensors"]
    reloaded = pixelrnn.load(str(Path(weights).parent))
    assert all(torch.equal(a, b) for a, b in zip(reloaded.state_dict().values(), shipped[0].model().state_dict().values()))
    assert Path(config).name == "config.json"

    alice, bob = Session(shipped), Session(shipped)
    label = alice.add(load_from_files([weights, config]))
    assert label in alice.labels() and label not in bob.labels()
    assert alice.entry(label).model() is not shipped[0].model()


def test_hub_actions_fail_clearly_offline(tmp_path):
    started = time.monotonic()
    with pytest.raises(ValueError, match="Could not load"):
        load_from_hub("nobody/no-such-pixelrnn")
    entry = discover([tiny_checkpoints(tmp_path)[0]])[0][0]
    token = "hf_secret_token_123"
    with pytest.raises(ValueError) as error:
        publish(entry, "nobody/pixelrnn-test", token)
    assert token not in str(error.value)
    assert time.monotonic() - started < 30


def test_each_data_set_lists_its_best_model_first_so_the_app_opens_on_it(tmp_path):
    for name, classes, measured in (
        ("pixelcnn", 0, 3.1),
        ("row_lstm", 0, 2.9),
        ("gated_pixelcnn", 0, None),
        ("pixelcnn", 10, 2.5),  # given the class: another quantity, listed after the unconditional ones
    ):
        model = pixelrnn.build_model(name, image_shape=(1, 8, 8), levels=256, num_classes=classes, **TINY)
        metadata = {"test_bits_per_dim": measured} if measured is not None else {}
        model.save_pretrained(tmp_path / f"fashion_mnist-{name}-{classes}", dataset="fashion_mnist", **metadata)
    cifar = pixelrnn.build_model("pixelcnn", image_shape=(3, 8, 8), levels=256, **TINY)
    cifar.save_pretrained(tmp_path / "cifar10-pixelcnn", dataset="cifar10", test_bits_per_dim=1.0)
    entries = discover([tmp_path])[0]
    assert [(e.dataset, e.kind, e.num_classes) for e in entries] == [
        ("fashion_mnist", "Row LSTM", 0),
        ("fashion_mnist", "PixelCNN", 0),
        ("fashion_mnist", "Gated PixelCNN", 0),
        ("fashion_mnist", "PixelCNN", 10),
        ("cifar10", "PixelCNN", 0),
    ]


def test_discovery_reports_empty_and_missing_folders(tmp_path):
    entries, problems = discover([tmp_path, tmp_path / "missing"])
    assert entries == [] and "no model folders" in problems[0] and "no such folder" in problems[1]


@pytest.mark.skipif(not any(DEFAULT_CHECKPOINTS.glob("*/config.json")), reason="no shipped checkpoints yet")
def test_shipped_checkpoints_load():
    entries, problems = discover([DEFAULT_CHECKPOINTS])
    assert entries and not problems
    for entry in entries:
        model = entry.model()
        assert tuple(model.image_shape) == entry.image_shape
    assert create_app() is not None


def test_runs_that_start_together_share_one_sampler_and_keep_their_own_controls():
    model = pixelrnn.build_model("pixelcnn", image_shape=(1, 8, 8), levels=16, **TINY)
    batcher = Batcher(window=0.3)
    joined = {}

    def start(name, n, seed):
        joined[name] = batcher.join(model, pixelrnn.SamplingRequest(n, seed=seed))

    starts = [threading.Thread(target=start, args=args) for args in (("a", 2, 0), ("b", 1, 1))]
    for thread in starts:
        thread.start()
    with pytest.raises(ValueError, match="n must be a positive integer"):
        batcher.join(model, pixelrnn.SamplingRequest(0))  # a wrong request fails alone
    for thread in starts:
        thread.join()
    (shared, rows_a), (same, rows_b) = joined["a"], joined["b"]
    assert shared is same and (rows_a, rows_b) in ((slice(0, 2), slice(2, 3)), (slice(1, 3), slice(0, 1)))  # in order of arrival
    a, b = LiveGeneration(shared, rows_a), LiveGeneration(shared, rows_b)
    assert (a.n, b.n) == (2, 1)

    assert a.step_row() == 8 and b.count == 0  # a's steps are drawn for b too, but b shows only its own progress
    drawn = shared.generation.count
    assert b.step_pixel() == 1 and shared.generation.count == drawn  # drawn already, by a
    assert float(b.probs[0, 0, 0, 0].sum()) == pytest.approx(1)  # its distribution, kept when a drew it
    b.stop()  # b stops; a goes on alone
    assert a.finish() == 56 and a.finished and not b.finished and b.count == 1
    assert int(b.done.sum()) == 1 and b.image[0, 0, 0, 1:].eq(0).all()  # what b never showed stays unshown
    alone = pixelrnn.sample(model, 2, seed=0)
    assert torch.equal(a.image, alone)  # as if it had been drawn alone


def test_frames_take_at_most_their_share_of_a_run():
    """A frame that takes the server 0.1 s is followed by at least 0.1 * (1 - FRAME_SHARE) / FRAME_SHARE s of drawing,
    one that takes 1 s by at most MAX_FRAME_WAIT."""
    model = pixelrnn.build_model("pixelcnn", image_shape=(1, 32, 32), levels=16, **TINY)
    run = LiveGeneration(pixelrnn.generate(model, 1, seed=0), rate=500.0)
    frames = run.play(run.new_player())
    next(frames)
    for _ in range(2):
        time.sleep(0.1)  # the server builds, processes and sends the frame
        asked, count = time.monotonic(), run.count
        next(frames)
        drawing = time.monotonic() - asked
        assert drawing >= 0.1 * (1 - FRAME_SHARE) / FRAME_SHARE - 0.01 and run.count > count
    time.sleep(1.0)  # a frame that took long: the next one still comes within MAX_FRAME_WAIT
    asked = time.monotonic()
    next(frames)
    assert time.monotonic() - asked < MAX_FRAME_WAIT + 0.2
    run.pause()
