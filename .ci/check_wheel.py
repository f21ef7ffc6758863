"""CI: an installed wheel, with no checkout in reach, finds its bundled weights and serves the app.

    python .ci/check_wheel.py SITE   # SITE: where `pip install --target SITE pixelrnn-*.whl` put the wheel

Run it from outside the checkout with SITE on PYTHONPATH, so that every import comes from the wheel.
"""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import app
import pixelrnn
import train
from app.catalog import DEFAULT_CHECKPOINTS, discover
from app.gallery import gallery_datasets

site = Path(sys.argv[1]).resolve()
for module in (app, pixelrnn, train):
    assert Path(module.__file__).resolve().is_relative_to(site), f"{module.__name__} was imported from {module.__file__}"
assert (Path(app.__file__).parent / "style.css").is_file(), "the wheel lacks app/style.css"
assert (Path(app.__file__).parent / "freeze.js").is_file(), "the wheel lacks app/freeze.js"
# What the checkout beside this script ships, which the wheel must carry.
checkout = Path(__file__).resolve().parents[1]
shipped = [d for d in (checkout / "checkpoints").iterdir() if (d / "config.json").is_file()]
galleries = sorted(d.name for d in (checkout / "app" / "gallery").iterdir() if any(d.glob("*.png")))
assert gallery_datasets() == galleries, f"the wheel's gallery holds {gallery_datasets()}, the checkout's {galleries}"
entries, problems = discover([DEFAULT_CHECKPOINTS])
assert len(entries) == len(shipped) and not problems, (DEFAULT_CHECKPOINTS, len(entries), len(shipped), problems)
assert entries[0].model().image_shape == entries[0].image_shape
subprocess.run([site / "bin" / "pixelrnn-train", "--help"], check=True, stdout=subprocess.DEVNULL)

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([site / "bin" / "pixelrnn-app", "--port", str(port)])
try:
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                page = response.read().decode()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("pixelrnn-app from the wheel did not serve its page") from None
            time.sleep(1)
    assert "Fashion-MNIST" in page and "shipped weights are not" not in page
finally:
    server.terminate()
    server.wait(30)
print(f"wheel OK: {len(entries)} bundled models, app served on port {port}")
