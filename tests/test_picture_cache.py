"""Pictures in gradio's cache are written whole: a reader never gets a short file (app/picture_cache.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port
from PIL import Image

processing_utils = pytest.importorskip("gradio.processing_utils")
from app import picture_cache  # noqa: E402


@pytest.fixture
def installed(monkeypatch):
    """:func:`picture_cache.install`, undone after the test."""
    monkeypatch.setattr(processing_utils, "save_pil_to_cache", processing_utils.save_pil_to_cache)
    picture_cache.install()


def picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (96, 96, 3), dtype=np.uint8)


def test_a_picture_saved_again_is_never_read_short(installed, tmp_path):
    """One thread saves the same picture over and over, as a paused live view does, through gradio's
    array saver; every read meanwhile gets the whole file. (Gradio's own saver gave short reads here.)"""
    path = Path(processing_utils.save_img_array_to_cache(picture(), str(tmp_path)))
    whole = path.read_bytes()
    stop = threading.Event()

    def save_again():
        while not stop.is_set():
            processing_utils.save_img_array_to_cache(picture(), str(tmp_path))

    saver = threading.Thread(target=save_again)
    saver.start()
    reads, deadline = 0, time.monotonic() + 1.0
    try:
        while time.monotonic() < deadline:
            assert path.read_bytes() == whole
            reads += 1
    finally:
        stop.set()
        saver.join()
    assert reads > 100


def test_a_new_picture_lands_where_gradio_puts_it(installed, tmp_path):
    """At gradio's path for it (the hash of its WebP bytes), whole, with nothing left beside it."""
    data = processing_utils.encode_pil_to_bytes(Image.fromarray(picture(1)), "webp")
    path = Path(processing_utils.save_img_array_to_cache(picture(1), str(tmp_path)))
    assert path == (tmp_path / processing_utils.hash_bytes(data) / "image.webp").resolve()
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_serving_the_app_installs_it(monkeypatch):
    import gradio as gr

    from app.server import serve

    monkeypatch.setattr(processing_utils, "save_pil_to_cache", processing_utils.save_pil_to_cache)
    with gr.Blocks() as demo:
        gr.Markdown("pictures")
    serve(demo, port=free_port(), block=False)
    try:
        assert processing_utils.save_pil_to_cache is picture_cache.save_pil_to_cache
    finally:
        demo.close()
