"""``python app.py``: start the app (flags: --host, --port, --share, --checkpoint, --threads)."""

from __future__ import annotations

import argparse

from .catalog import DEFAULT_CHECKPOINTS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="PixelRNN, pixel by pixel: the interactive demo.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 serves the network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    parser.add_argument(
        "--checkpoint",
        action="append",
        metavar="PATH_OR_REPO",
        help=f"a save_pretrained folder, a folder of them, or a Hub repo id; repeatable (default: {DEFAULT_CHECKPOINTS})",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per operation (default 1: the app's steps are tiny, and users share the cores; see the README)",
    )
    args = parser.parse_args(argv)
    # Imported after parsing, so that --help answers at once.
    import torch

    from .layout import create_app
    from .server import serve

    torch.set_num_threads(args.threads)
    serve(create_app(args.checkpoint), host=args.host, port=args.port, share=args.share)
