"""The Sample tab: samples from scratch (of the class picked, for a class-conditional model), in the same live view."""

from __future__ import annotations

import gradio as gr

import pixelrnn

from .batching import BATCHER
from .classes import ANY, class_picker, follow, label_of
from .live import LiveGeneration
from .live_view import LiveView, sampling_settings, seed_value
from .session import Session


def sample_run(session: Session, model: str, n: int, temperature: float, seed, class_name: str = ANY) -> LiveGeneration:
    """A live generation of ``n`` images from nothing by the model labelled ``model``, of class ``class_name`` for a
    class-conditional model (sharing its sampler with whoever starts the same model at the same time: :mod:`app.batching`)."""
    entry = session.entry(model)
    request = pixelrnn.SamplingRequest(
        int(n), temperature=float(temperature), seed=seed_value(seed), label=label_of(entry, class_name)
    )
    return LiveGeneration(*BATCHER.join(entry.model(), request))


def build(session: gr.State, labels: list[str], initial) -> gr.Dropdown:
    """Lay out the tab inside the current ``gr.Tab``; returns its model dropdown."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=340):
            model = gr.Dropdown(labels, value=labels[0] if labels else None, label="Model", elem_id="sample-model")
            class_name = class_picker("sample-class", initial.class_names if initial else [])
            gr.Markdown(
                "Every sub-pixel is drawn from the model's softmax given all the ones before it, "
                "in raster order (R, then G, then B inside a pixel), and the class, for a class-conditional model."
            )
            n, temperature, seed = sampling_settings("sample")
        view = LiveView.build("sample", initial.image_shape[0] if initial else 3)
    view.wire(session, sample_run, [model, n, temperature, seed], model, options=[class_name])
    follow(session, model, class_name, lambda s, label: [s.entry(label)])
    return model
