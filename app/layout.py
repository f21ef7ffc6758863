"""The whole page: header, the six tabs, and the per-user session they share."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from . import complete_tab, compress_tab, likelihood_tab, receptive_tab, sample_tab, weights_tab
from .catalog import DEFAULT_CHECKPOINTS, ModelEntry, discover
from .session import Session

INTRO = """
# PixelRNN, pixel by pixel
Autoregressive image models from [Pixel Recurrent Neural Networks](https://arxiv.org/abs/1601.06759)
(van den Oord et al. 2016): every sub-pixel is drawn from a 256-way softmax given all the ones before it.
Paint over part of an image and watch a model fill it in, see every distribution it draws from,
measure what it finds surprising, compress an image into a file of its likelihood's size and watch it
decode, and see which pixels each architecture can look at.
"""


def create_app(checkpoints: list[str | Path] | None = None) -> gr.Blocks:
    """The app serving the models found in ``checkpoints`` (default: the repo's ``checkpoints/``).

    Each item is a ``save_pretrained`` folder, a folder of them, or a Hub repo id.
    """
    entries, problems = discover(list(checkpoints) if checkpoints else [DEFAULT_CHECKPOINTS])
    return build(entries, problems)


def build(entries: list[ModelEntry], problems: list[str]) -> gr.Blocks:
    """The page for these models; ``problems`` (checkpoints that failed to load) are shown at the top."""
    labels = [e.label for e in entries]
    groups = list(dict.fromkeys(e.group for e in entries))
    initial = entries[0] if entries else None
    # Downloads and uploads land in gradio's cache: files older than a day are removed hourly.
    with gr.Blocks(title="PixelRNN, pixel by pixel", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        # A value rather than a factory, which gradio would serve as an API endpoint: each user gets a copy.
        session = gr.State(Session(entries), delete_callback=Session.close)
        gr.Markdown(INTRO, elem_classes=["hero"])
        if not entries:
            gr.Markdown(
                "**No model weights found.** Train some (`python -m train --model row_lstm --data fashion_mnist`), "
                "put `save_pretrained` folders into `checkpoints/`, start with `python app.py --checkpoint DIR_OR_REPO`, "
                "or load a model on the **Weights** tab.",
                elem_classes=["banner"],
            )
        if problems:
            gr.Markdown("\n".join(f"- {p}" for p in problems), elem_classes=["banner"])
        with gr.Tabs(overflow_behavior="wrap"):  # on a phone every tab stays in sight, on a second line
            with gr.Tab("Complete", id="complete"):
                complete_model = complete_tab.build(session, labels, initial)
            with gr.Tab("Sample", id="sample"):
                sample_model = sample_tab.build(session, labels, initial)
            with gr.Tab("Likelihood", id="likelihood"):
                likelihood_group = likelihood_tab.build(session, groups, initial)
            with gr.Tab("Compress", id="compress"):
                compress_model = compress_tab.build(session, labels, initial)
            with gr.Tab("Receptive field", id="receptive"):
                receptive_group = receptive_tab.build(session, groups, initial)
            with gr.Tab("Weights", id="weights"):
                weights_tab.build(
                    session, entries, [complete_model, sample_model, compress_model], [likelihood_group, receptive_group]
                )
    return demo
