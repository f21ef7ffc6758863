"""How soon Pause and Stop show in a real browser, with the picture frozen at the click and without.

Starts ``python app.py`` on the shipped weights, opens the Sample tab in headless chromium, and
clicks Pause (then Resume) and Stop (then Generate) ``--clicks`` times each while a run plays,
alternately with the page's freeze (app/freeze.js) on and off, so both are measured side by side
under the same load. Per click: seconds until the status says Paused or Stopped, the sub-pixels
the run ended past the frame on screen at the click, and how many of the browser's frames in
between showed another picture than that one (0: the view stopped at the click).

    python bench/pause_stop.py --model "CIFAR-10 · Diagonal BiLSTM" --speed "50 px/s" --clicks 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the browser test's drivers: one way to click and time

from app_load import Server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from test_app_browser import CHROMIUM, WIDE, choose, click_and_time, set_speed, wait_for_status  # noqa: E402

from pixelrnn.hardware import cpu_name  # noqa: E402


def measure(page, button: str, word: str, again: str, clicks: int) -> list[tuple[float, int, int]]:
    """``clicks`` times: start a run (Generate), later go on with ``again``, let it draw a few frames, click ``button``;
    what :func:`click_and_time` says of each click."""
    results = []
    for k in range(clicks):
        page.click(f"#sample-{'generate' if k == 0 else again}")
        wait_for_status(page, "sample", r"Generating · ([1-9]\d+) /", timeout=60)
        results.append(click_and_time(page, "sample", button, word))
    page.click("#sample-stop")
    wait_for_status(page, "sample", "Stopped", timeout=30)
    return results


def row(label: str, results: list[tuple[float, int, int]]) -> str:
    seconds, past, moved = zip(*results, strict=True)
    return (
        f"| {label} | {min(seconds):.2f} | {statistics.median(seconds):.2f} | {max(seconds):.2f} "
        f"| {min(past)} to {max(past)} | {sum(m == 0 for m in moved)} / {len(moved)} | {max(moved)} "
        f"| {' '.join(f'{s:.2f}' for s in seconds)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default="checkpoints", help="what python app.py serves")
    parser.add_argument("--model", default="CIFAR-10 · Diagonal BiLSTM", help="the Sample tab's model, by its label")
    parser.add_argument("--speed", default="50 px/s", help="the speed control's label")
    parser.add_argument("--clicks", type=int, default=5, help="clicks of each button, with the freeze and without")
    parser.add_argument("--threads", type=int, default=1, help="the app's torch threads")
    args = parser.parse_args()

    table = []
    with Server(args.threads, args.checkpoint) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": WIDE, "height": 900})
        page.goto(server.url)
        page.get_by_role("tab", name="Sample").click()
        choose(page, "#sample-model", args.model)
        set_speed(page, "sample", args.speed)
        load = os.getloadavg()[0]
        for freeze in (True, False):
            page.evaluate(f"() => {{ window.pixelrnnFreeze = {'true' if freeze else 'false'}; }}")
            for button, word, again in (("pause", "Paused", "resume"), ("stop", "Stopped", "generate")):
                results = measure(page, button, word, again, args.clicks)
                table.append(row(f"{button.title()}, {'frozen at the click' if freeze else 'no freeze'}", results))
        load = max(load, os.getloadavg()[0])
        browser.close()

    print(f"{args.model}, Sample tab, {args.speed}, {args.clicks} clicks each; {cpu_name()}, load average up to {load:.1f}")
    print()
    print(
        "| click | status, fastest (s) | median (s) | slowest (s) | sub-pixels past the picture | "
        "clicks with the picture frozen | most frames with another picture | each click, in order (s) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    print("\n".join(table))


if __name__ == "__main__":
    main()
