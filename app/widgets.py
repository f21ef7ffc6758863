"""Gradio components that several tabs share."""

from __future__ import annotations

import gradio as gr

from .catalog import group_name


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


def data_set_radio(groups: list[str], elem_id: str) -> gr.Radio:
    """A chooser between the data sets the loaded models were trained on (the first one picked)."""
    return gr.Radio(
        [(group_name(g), g) for g in groups],
        value=groups[0] if groups else None,
        label="Data set",
        elem_id=elem_id,
    )
