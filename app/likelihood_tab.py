"""The Likelihood tab: bits/dim of an image under each model, and where the bits go (a heat map per model).

A class-conditional model scores the image as the class picked, or as the one it finds most likely.
"""

from __future__ import annotations

import gradio as gr

import pixelrnn
from pixelrnn.pictures import to_uint8

from .catalog import ModelEntry, group_name
from .classes import ANY, class_picker, classes_of, follow, scoring_label
from .editor import read_picture
from .errors import user_error
from .images import display_scale, upscale
from .overlays import heat_css, heat_map
from .picker import Picker
from .session import Session
from .widgets import data_set_radio, pixel_gallery


def score(session: Session, group: str, editor: dict | None, class_name: str = ANY) -> tuple[list, str]:
    """Gallery items (the image, then one heat map per model of ``group``) and a Markdown summary.

    A class-conditional model scores the image as class ``class_name``; :data:`~app.classes.ANY`: as its most likely class.
    """
    entries = session.entries(group)
    if not entries:
        raise user_error("No models for this data set: load one on the Weights tab.")
    try:
        images = [read_picture(editor, entry.image_shape, entry.levels) for entry in entries]
        labels = [scoring_label(entry, class_name, image) for entry, image in zip(entries, images)]
    except ValueError as error:
        raise user_error(str(error)) from None
    per_model = [
        (entry, pixelrnn.pixel_bits(entry.model(), image, label)) for entry, image, label in zip(entries, images, labels)
    ]
    # One colour scale for all models, so their maps compare; the 99th percentile keeps one hot pixel from washing it out.
    pixel_totals = [bits.sum(0) for _, bits in per_model]
    vmax = max(float(t.flatten().quantile(0.99)) for t in pixel_totals)
    first = entries[0]
    items = [(upscale(to_uint8(images[0], first.levels), display_scale(first.image_shape)), "the image")]
    rows = []
    for (entry, bits), totals, label in zip(per_model, pixel_totals, labels):
        bpd = float(bits.mean())
        name = entry.kind if label is None else f"{entry.kind} given {entry.class_names[label]}"
        items.append((heat_map(totals, vmax), f"{name} · {bpd:.3f} bits/dim"))
        rows.append((bpd, name, float(totals.max())))
    rows.sort()
    table = "\n".join(f"| {kind} | {bpd:.3f} | {top:.1f} |" for bpd, kind, top in rows)
    guessed = class_name in (None, "", ANY) and any(label is not None for label in labels)
    given = " A class-conditional model scores it as the class it finds most likely." if guessed else ""
    summary = (
        f"**{group_name(group)}**: exact negative log-likelihood of this image, best model first.{given}\n\n"
        f"| model | bits/dim | most surprising pixel (bits) |\n|---|---|---|\n{table}\n\n"
        f"Colour scale, bits per pixel (all channels):\n"
        f"<div class='legend-bar' style='background: {heat_css()}'></div>\n\n0 … {vmax:.1f} and above"
    )
    return items, summary


def build(session: gr.State, groups: list[str], initial: ModelEntry | None) -> gr.Radio:
    """Lay out the tab inside the current ``gr.Tab``; returns its data set chooser."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            group = data_set_radio(groups, "likelihood-group")
            class_name = class_picker(
                "likelihood-class", classes_of(session.value.entries(groups[0])) if groups else [], scoring=True
            )
            picker = Picker.build("likelihood", occlude=False, label="Add a defect", initial=initial)
            go = gr.Button("Score with every model", variant="primary", elem_id="likelihood-score")
        with gr.Column(scale=3, min_width=360):
            maps = pixel_gallery("Bits per pixel: what each model finds surprising", "likelihood-maps", allow_preview=False)
            summary = gr.Markdown(
                "An autoregressive model gives every image an exact likelihood. Draw a stroke that does not belong "
                "(a defect) and score again: the heat maps light up where the image stops making sense to the model, "
                "which is how these models find anomalies.",
                label="summary",
                elem_id="likelihood-summary",
            )
    picker.wire(session, group, lambda s, g: s.entries(g)[0])
    follow(session, group, class_name, lambda s, g: s.entries(g), scoring=True)
    go.click(
        score, [session, group, picker.editor, class_name], [maps, summary], concurrency_id="generate", api_name="likelihood"
    )
    return group
