"""Serving the app: the queue, the upload limit, the look, the address."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from . import picture_cache
from .errors import configure_logging
from .live_view import FREEZE_JS
from .uploads import MAX_UPLOAD_BYTES

#: Generations (and other heavy events) run at once; more wait in the queue.
CONCURRENCY = 4
CSS = (Path(__file__).resolve().parent / "style.css").read_text()
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate")


def serve(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, share: bool = False, block: bool = True):
    """Queue and launch ``demo``; with ``block=False`` return at once (tests), else serve until interrupted.

    Returns gradio's ``(app, local_url, share_url)``.
    """
    configure_logging()
    picture_cache.install()
    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=not block,
        max_file_size=MAX_UPLOAD_BYTES,
        show_error=True,
        quiet=not block,
        theme=THEME,
        css=CSS,
        js=FREEZE_JS,
        footer_links=["api", "gradio"],
    )
