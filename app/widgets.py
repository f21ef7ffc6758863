"""Gradio components that several tabs share."""

from __future__ import annotations

import gradio as gr

from .catalog import group_name


def pixel_gallery(label: str, elem_id: str, **options) -> gr.Gallery:
    """A gallery of model-sized pictures that stay sharp squares when scaled up.

    As many columns as fit the width, rows as many as it takes (style.css: ``.pixel-gallery``).
    """
    return gr.Gallery(
        format="png",  # lossless: every model pixel stays a sharp square
        label=label,
        height="auto",
        object_fit="contain",
        elem_classes=["pixelated", "pixel-gallery"],
        elem_id=elem_id,
        **options,
    )


def integer_radio(choices: list[tuple[str, int]], **options) -> gr.Radio:
    """A ``gr.Radio`` of ``(label, integer)`` choices that tells API clients its values are integers.

    ``gr.Radio`` documents every value as a string (``Literal['1', '2']``), then refuses the
    strings a client sends; this one is documented as an ``int``. (Its own ``api_info`` rather
    than a subclass: gradio writes a ``.pyi`` file beside the module of any component subclass.)
    """
    radio = gr.Radio(choices, **options)
    values = [value for _, value in choices]
    radio.api_info = lambda: {"type": "integer", "minimum": min(values), "maximum": max(values)}
    return radio


def data_set_radio(groups: list[str], elem_id: str) -> gr.Radio:
    """A chooser between the data sets the loaded models were trained on (the first one picked)."""
    return gr.Radio(
        [(group_name(g), g) for g in groups],
        value=groups[0] if groups else None,
        label="Data set",
        elem_id=elem_id,
    )
