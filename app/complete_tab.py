"""The Complete tab: paint an occlusion over an image (or draw pixels for it to keep) and watch a model fill it in,
of the class picked for a class-conditional model; best-of-K."""

from __future__ import annotations

import gradio as gr

import pixelrnn
from pixelrnn.pictures import to_uint8

from .batching import BATCHER
from .classes import ANY, class_picker, follow, label_of
from .editor import HOLE, UNDRAWN, read_editor
from .errors import user_error
from .images import display_scale, upscale
from .live import LiveGeneration
from .live_view import LiveView, sampling_settings, seed_value
from .picker import Picker
from .session import Session
from .widgets import pixel_gallery

#: Why there is nothing to generate.
NOTHING_TO_FILL = (
    "Nothing to fill in: paint over the part of the image the model should redo (or press Blank canvas), "
    "or, drawing, leave it rows below your strokes."
)


def completion_run(
    session: Session,
    editor: dict | None,
    model: str,
    n: int,
    temperature: float,
    seed,
    class_name: str = ANY,
    brush: str = HOLE,
    fill: str = UNDRAWN,
) -> LiveGeneration:
    """A live completion of the editor's image by the model labelled ``model``, of class ``class_name`` for a
    class-conditional model: where the user painted (``brush`` Hole), or around what they drew (Draw, ``fill``:
    :func:`app.editor.read_editor`). It shares its sampler with whoever starts the same model on the same hole
    at the same time (:mod:`app.batching`)."""
    entry = session.entry(model)
    network = entry.model()
    image, mask = read_editor(editor, network.image_shape, network.levels, brush, fill)
    if not bool(mask.any()):
        raise ValueError(NOTHING_TO_FILL)
    request = pixelrnn.SamplingRequest(int(n), image, float(temperature), seed_value(seed), label_of(entry, class_name))
    return LiveGeneration(*BATCHER.join(network, request, mask))


def best_of_k(
    session: Session,
    editor: dict | None,
    model: str,
    k: int,
    temperature: float,
    seed,
    class_name: str = ANY,
    brush: str = HOLE,
    fill: str = UNDRAWN,
) -> list:
    """Gallery items ``(picture, caption)`` of ``k`` completions (as in :func:`completion_run`), best (most likely
    whole image, given the class) first."""
    entry = session.entry(model)
    network = entry.model()
    try:
        image, mask = read_editor(editor, network.image_shape, network.levels, brush, fill)
        if not bool(mask.any()):
            raise ValueError(NOTHING_TO_FILL)
        result = pixelrnn.complete(
            network,
            image,
            mask,
            k=int(k),
            temperature=float(temperature),
            seed=seed_value(seed),
            label=label_of(entry, class_name),
        )
    except ValueError as error:
        raise user_error(str(error)) from None
    scale = display_scale(network.image_shape)
    bits = pixelrnn.bits_per_dim(result.log_probs, network.image_shape)
    return [
        (upscale(to_uint8(picture, network.levels), scale), f"#{rank + 1} · {float(b):.3f} bits/dim")
        for rank, (picture, b) in enumerate(zip(result.images, bits))
    ]


def build(session: gr.State, labels: list[str], initial) -> gr.Dropdown:
    """Lay out the tab inside the current ``gr.Tab``; returns its model dropdown."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=340):
            model = gr.Dropdown(labels, value=labels[0] if labels else None, label="Model", elem_id="complete-model")
            class_name = class_picker("complete-class", initial.class_names if initial else [])
            picker = Picker.build("complete", occlude=True, label="Hole to fill", initial=initial)
            n, temperature, seed = sampling_settings("complete")
        view = LiveView.build("complete", initial.image_shape[0] if initial else 3)
    with gr.Accordion("Best of K: draw K completions at once, ranked by the likelihood of the whole image", open=False):
        gr.Markdown(
            "The sampler fills the hole in raster order, so it cannot see the known pixels below and to the right. "
            "Scoring the whole image afterwards (exact log-likelihood) picks the fills that also fit what comes after them."
        )
        with gr.Row():
            k = gr.Slider(2, 16, value=8, step=1, precision=0, label="K", elem_id="complete-k")
            rank = gr.Button("Complete K times and rank", elem_id="complete-best-of-k")
        ranked = pixel_gallery("Best first", "complete-ranked")
    picker.wire(session, model, lambda s, label: s.entry(label))
    follow(session, model, class_name, lambda s, label: [s.entry(label)])
    settings = [class_name, picker.brush, picker.fill]
    view.wire(session, completion_run, [picker.editor, model, n, temperature, seed], model, options=settings)
    rank.click(
        best_of_k,
        [session, picker.editor, model, k, temperature, seed, *settings],
        ranked,
        concurrency_id="generate",
        api_name="complete_best_of_k",
    )
    return model
