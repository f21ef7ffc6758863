"""The app in a real browser: Debian's chromium, headless, driven by Playwright.

Starts ``python app.py`` (the real entry point) on a free loopback port, paints an
occlusion with the mouse, generates, pauses and steps, compresses a picture, downloads the
file and decodes it back, visits every tab and takes a screenshot of each. By default the app serves tiny random models and the screenshots go
to a temporary folder; the README's screenshots are made with the shipped weights:

    PIXELRNN_APP_CHECKPOINTS=checkpoints PIXELRNN_SCREENSHOTS=docs/screenshots \\
        python -m pytest -q tests/test_app_browser.py
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from conftest import REPO, free_port, tiny_checkpoints
from PIL import Image

import pixelrnn
from app.gallery import gallery_items
from app.images import to_model_image

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api")

#: Start-up budget for ``python app.py`` (imports gradio and torch, finds the models, binds).
STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> str:
    if os.environ.get("PIXELRNN_APP_CHECKPOINTS"):
        return os.environ["PIXELRNN_APP_CHECKPOINTS"]
    root = tmp_path_factory.mktemp("checkpoints")
    tiny_checkpoints(root)
    return str(root)


@pytest.fixture(scope="module")
def app_url(checkpoints):
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen(
        [sys.executable, "app.py", "--checkpoint", checkpoints, "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() - started > STARTUP_SECONDS:
                    server.kill()
                    pytest.fail(f"python app.py did not start within {STARTUP_SECONDS} s:\n{server.stdout.read()}")
                time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def page(app_url):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(app_url)
        page.wait_for_selector("#complete-generate", timeout=60_000)
        yield page
        browser.close()
        assert not errors, errors


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("PIXELRNN_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def status(page, view: str) -> str:
    return page.inner_text(f"#{view}-status")


def wait_for_status(page, view: str, pattern: str, timeout: float = 90) -> re.Match:
    """Poll the status line of ``view`` until it matches ``pattern``; the match."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, status(page, view))
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"status of {view} never matched {pattern!r}; it says {status(page, view)!r}")


def progress(page, view: str) -> tuple[int, int]:
    found = wait_for_status(page, view, r"(\d+) / (\d+) sub-pixels")
    return int(found.group(1)), int(found.group(2))


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    time.sleep(0.5)


def screenshot(page, path: Path) -> None:
    time.sleep(1.0)  # the charts draw asynchronously after their data arrives
    page.screenshot(path=path, full_page=True)


def paint_stroke(page, selector: str, y: float) -> None:
    """Drag the brush across the middle of the editor's canvas at height fraction ``y``."""
    box = page.locator(f"{selector} canvas").first.bounding_box()
    top = box["y"] + box["height"] * y
    page.mouse.move(box["x"] + box["width"] * 0.3, top)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.3 + 0.04 * k), top, steps=2)
    page.mouse.up()


def test_paint_generate_pause_step(page, shots):
    assert page.locator("#complete-picture img").count() == 0
    speed = page.locator("#complete-speed input[type=number]")
    speed.fill("1")  # one pixel per second: the pause surely lands before the end
    speed.press("Enter")
    # The editor opens with the lower half painted: the size of that hole first.
    page.click("#complete-generate")
    _, lower_half = progress(page, "complete")
    page.click("#complete-stop")
    wait_for_status(page, "complete", r"Stopped")

    paint_stroke(page, "#complete-editor", 0.3)
    page.click("#complete-generate")
    started = wait_for_status(page, "complete", rf"Generating · (\d+) / (?!{lower_half} )(\d+)")
    total = int(started.group(2))
    assert total > lower_half  # the stroke made the hole larger
    assert page.locator("#complete-picture img").count() == 1
    page.locator(".softmax canvas, .softmax svg").first.wait_for(state="visible", timeout=60_000)

    page.click("#complete-pause")
    count = int(wait_for_status(page, "complete", r"Paused · (\d+) /").group(1))
    page.click("#complete-step-pixel")
    count = int(wait_for_status(page, "complete", rf"Paused · (?!{count} /)(\d+) /").group(1))
    while count < total // 3:  # row by row, to about a third of the hole
        page.click("#complete-step-row")
        count = int(wait_for_status(page, "complete", rf"Paused · (?!{count} /)(\d+) /").group(1))

    # Click the middle of the first row of the lower half in the first sample: its distribution comes back.
    picture = page.locator("#complete-picture img")
    box = picture.bounding_box()
    natural = picture.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    zoom = min(box["width"] / natural[0], box["height"] / natural[1], 1)  # object-fit: scale-down
    left = box["x"] + (box["width"] - natural[0] * zoom) / 2
    top = box["y"] + (box["height"] - natural[1] * zoom) / 2
    page.mouse.click(left + natural[0] * zoom * 0.22, top + natural[1] * zoom * 0.52)
    inspected = wait_for_status(page, "complete", r"Sample 1, pixel \((\d+), (\d+)\) · (.*)")
    assert "not generated" not in inspected.group(3)
    screenshot(page, shots / "complete.png")
    page.click("#complete-finish")
    wait_for_status(page, "complete", rf"Done · {total} / {total}")


def test_every_tab(page, shots):
    open_tab(page, "Sample")
    page.click("#sample-generate")
    wait_for_status(page, "sample", r"Done", timeout=180)
    screenshot(page, shots / "sample.png")

    open_tab(page, "Likelihood")
    paint_stroke(page, "#likelihood-editor", 0.25)  # a white defect in the background
    page.click("#likelihood-score")
    page.locator("#likelihood-maps img").nth(1).wait_for(timeout=120_000)
    screenshot(page, shots / "likelihood.png")

    open_tab(page, "Receptive field")
    picture = page.locator("#receptive-picture img")
    picture.wait_for(state="visible")
    box = picture.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.6)
    page.locator("#receptive-maps img").first.wait_for(timeout=120_000)
    assert "pixel (" in page.inner_text("#receptive-summary")
    screenshot(page, shots / "receptive_field.png")

    open_tab(page, "Weights")
    page.locator("#weights-card h1").wait_for(timeout=30_000)
    page.fill("#weights-repo textarea, #weights-repo input", "nobody/no-such-pixelrnn")
    page.click("#weights-load-hub")
    page.get_by_text("Could not load nobody/no-such-pixelrnn").wait_for(timeout=60_000)  # offline: a message, no hang
    page.click("#weights-download")
    page.locator("#weights-files-out").get_by_text(".safetensors").wait_for(timeout=60_000)
    screenshot(page, shots / "weights.png")


def test_compress_download_upload_and_decode(page, shots, checkpoints, tmp_path):
    """Pick a test image, see its sizes, download its .prnn file, upload that back and watch it decode to the image."""
    model = pixelrnn.load(Path(checkpoints) / "fashion_mnist-pixelcnn")  # the tab's first model
    path, caption = gallery_items("fashion_mnist")[2]
    with Image.open(path) as picture:
        picked = to_model_image(picture, model.image_shape, model.levels)

    open_tab(page, "Compress")
    thumbnail = page.locator("#compress-gallery .thumbnail-item").nth(2)
    assert caption in thumbnail.inner_text()
    with page.expect_response(lambda response: response.url.endswith("/image.png")):  # the editor fetches the picture
        thumbnail.click()
    time.sleep(0.5)  # and draws it
    page.click("#compress-compress")
    link = page.locator("#compress-file a[download]")
    link.wait_for(timeout=60_000)
    with page.expect_download() as download:
        link.click()
    packed = tmp_path / download.value.suggested_filename
    download.value.save_as(packed)
    assert packed.name == "fashion-mnist-pixelcnn.prnn"
    assert torch.equal(pixelrnn.decompress(model, packed.read_bytes()), picked)
    sizes = page.inner_text("#compress-sizes")
    assert re.search(rf"pixelrnn \(\.prnn\)\s+{packed.stat().st_size}\s", sizes), sizes
    assert "PNG" in sizes and "WebP" in sizes

    page.set_input_files("#compress-packed input[type=file]", packed)
    page.locator("#compress-packed").get_by_text(packed.stem).wait_for(timeout=30_000)
    page.click("#compress-decode")
    wait_for_status(page, "compress", r"Decoding · \d+ /")
    wait_for_status(page, "compress", rf"Done · {picked.numel()} / {picked.numel()}", timeout=180)
    # The decoded picture as shown, every model pixel a square of one colour, back at the model's size.
    with urllib.request.urlopen(page.locator("#compress-picture img").get_attribute("src")) as response:
        shown = Image.open(io.BytesIO(response.read()))
        decoded = to_model_image(shown, model.image_shape, model.levels)
    assert torch.equal(decoded, picked)
    screenshot(page, shots / "compress.png")
