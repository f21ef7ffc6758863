"""What goes to the server log: one line for a user's mistake or a client that hung up, tracebacks for faults.

A message for the user (a :func:`user_error` raised from a handler) is shown in the page and
logged as one line: the traceback would say nothing about the app. Exceptions that are not
``gr.Error`` are faults and keep gradio's traceback. A browser that closes mid-transfer (a tab
shut during an upload) makes the web server log a traceback of ``ClientDisconnect``; that is
one line too.
"""

from __future__ import annotations

import logging

import gradio as gr
from starlette.requests import ClientDisconnect

log = logging.getLogger("app")


def user_error(message: str) -> gr.Error:
    """A ``gr.Error`` for the user (raise it), logged here as one line and printed by gradio without a traceback."""
    log.info("user error: %s", message)
    return gr.Error(message, print_exception=False)


def user_warning(message: str) -> str:
    """``⚠ message`` for a status line of the page, logged as one line."""
    log.info("user error: %s", message)
    return f"⚠ {message}"


class HangUpFilter(logging.Filter):
    """Turns the web server's traceback for a client that closed the connection mid-request into one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ClientDisconnect):
            record.msg, record.args, record.exc_info, record.exc_text = (
                "a client closed the connection mid-request",
                (),
                None,
                None,
            )
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def configure_logging() -> None:
    """Log the app's lines to stderr with a time stamp, and quiet the web server's hang-up tracebacks (idempotent)."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, HangUpFilter) for f in server_log.filters):
        server_log.addFilter(HangUpFilter())
