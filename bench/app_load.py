"""The app under load: N users sampling at once through the HTTP API, against one user alone, side by side.

    python bench/app_load.py                              # 1, 2, 4, 8 users, torch threads 1 and 2
    python bench/app_load.py --users 1 4 --threads 1      # what tests/test_app_load.py runs

For each torch thread count it starts ``python app.py --threads T`` on a free loopback port (the
shipped weights, or ``--checkpoint``), and for each N, N gradio_client users press Generate on the
Sample tab at the same moment (``/sample_generate``, one image, at full speed, each its own seed).
It prints, per N, the slowest user's time from the press to the last frame, that time over the
single user's (the N = 1 row of the same run), the frames the slowest-served user got, and the
longest any user went without a frame: the live view must keep moving for everyone. One markdown
table, a column group per thread count; the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from gradio_client import Client  # noqa: E402

from pixelrnn.hardware import cpu_name  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: Start-up budget for ``python app.py``.
STARTUP_SECONDS = 90


@dataclass
class UserRun:
    """What one user saw: seconds from pressing Generate to the last frame, frames, the longest wait for one."""

    seconds: float
    frames: int
    longest_gap: float
    finished: bool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``python app.py`` on a free loopback port, for a ``with`` block."""

    def __init__(self, threads: int, checkpoint: str | None = None, log: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        command = [sys.executable, "app.py", "--port", str(self.port), "--threads", str(threads)]
        self.process = subprocess.Popen(
            [*command, *(["--checkpoint", checkpoint] if checkpoint else [])],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=None if log else subprocess.DEVNULL,
        )

    def __enter__(self) -> Server:
        started = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() - started > STARTUP_SECONDS:
                    self.process.kill()
                    raise RuntimeError(f"python app.py did not start within {STARTUP_SECONDS} s") from None
                time.sleep(0.25)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def sample_at_once(url: str, users: int, model: str, timeout: float) -> list[UserRun]:
    """``users`` clients press Generate together (one image each, full speed); what each saw, within ``timeout`` seconds."""
    clients = [Client(url, verbose=False) for _ in range(users)]
    ready = threading.Barrier(users)
    runs: list[UserRun | None] = [None] * users

    def user(k: int) -> None:
        ready.wait()
        start = time.monotonic()
        job = clients[k].submit(model=model, n=1, temperature=1.0, seed=k, speed=10, api_name="/sample_generate")
        frames, last, longest = 0, start, 0.0
        while not job.done() and time.monotonic() - start < timeout:
            now, seen = time.monotonic(), len(job.outputs())
            if seen > frames:
                frames, last = seen, now
            longest = max(longest, now - last)
            time.sleep(0.01)
        finished = job.done() and job.outputs() and job.outputs()[-1][-1]["state"] == "Done"
        if not job.done():
            job.cancel()
        runs[k] = UserRun(time.monotonic() - start, len(job.outputs()), longest, bool(finished))

    threads = [threading.Thread(target=user, args=(k,)) for k in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", nargs="+", type=int, default=[1, 2, 4, 8], help="user counts; 1 first (the baseline)")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="torch threads of the server (--threads)")
    parser.add_argument("--model", default="CIFAR-10 · Gated PixelCNN")
    parser.add_argument("--checkpoint", help="python app.py --checkpoint (default: the shipped weights)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a user waits at most")
    parser.add_argument("--log", action="store_true", help="show the server's log")
    args = parser.parse_args()
    if args.users[0] != 1:
        parser.error("--users must start with 1: the single user's time is the baseline")

    results = {}
    print(f"The app under load: {args.model}, one image per user at full speed, {cpu_name()} ({os.cpu_count()} cores), ", end="")
    print(f"torch {torch.__version__}; load average {os.getloadavg()[0]:.2f} at the start\n")
    for threads in args.threads:
        with Server(threads, args.checkpoint, args.log) as server:
            sample_at_once(server.url, 1, args.model, args.timeout)  # warm-up: loads the model
            for users in args.users:
                results[threads, users] = sample_at_once(server.url, users, args.model, args.timeout)
    header = "| users |"
    rule = "| ---: |"
    for threads in args.threads:
        header += f" {threads} thread{'s' * (threads > 1)}: slowest s | ratio to 1 user | frames (slowest) | longest gap s |"
        rule += " ---: | ---: | ---: | ---: |"
    print(header)
    print(rule)
    for users in args.users:
        row = f"| {users} |"
        for threads in args.threads:
            runs = results[threads, users]
            slowest = max(runs, key=lambda run: run.seconds)
            single = results[threads, 1][0].seconds
            late = "" if all(run.finished for run in runs) else " (unfinished)"
            row += f" {slowest.seconds:.2f}{late} | {slowest.seconds / single:.2f}x | {slowest.frames} |"
            row += f" {max(run.longest_gap for run in runs):.2f} |"
        print(row, flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
