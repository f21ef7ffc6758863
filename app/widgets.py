"""Gradio components that several tabs share."""

from __future__ import annotations

import gradio as gr


def pixel_gallery(label: str, elem_id: str, columns: int = 3, height: int = 480, **options) -> gr.Gallery:
    """A gallery of model-sized pictures that stay sharp squares when scaled up."""
    return gr.Gallery(
        format="png",  # lossless: every model pixel stays a sharp square
        label=label,
        columns=columns,
        height=height,
        object_fit="contain",
        elem_classes=["pixelated"],
        elem_id=elem_id,
        **options,
    )
