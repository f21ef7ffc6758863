"""The Receptive field tab: click a pixel, see which earlier sub-pixels each model's softmax there depends on.

The fields come from the real networks by gradients (:func:`pixelrnn.receptive_field`),
so they show each architecture as built: the Row LSTM's triangle, the PixelCNN's blind
spot, the Diagonal BiLSTM's and Gated PixelCNN's full context.
"""

from __future__ import annotations

import gradio as gr
import torch
from PIL import Image

import pixelrnn
from pixelrnn.pictures import to_uint8

from .catalog import ModelEntry, group_name
from .errors import user_error
from .gallery import gallery_items
from .images import display_scale, locate, to_model_image, upscale
from .overlays import receptive_overlay
from .plots import CHANNELS
from .session import Session
from .widgets import data_set_radio, pixel_gallery


def backdrop(entry: ModelEntry) -> torch.Tensor:
    """The image the fields are drawn over: the data set's first gallery image (black without one)."""
    items = gallery_items(entry.dataset)
    if not items:
        return torch.zeros(entry.image_shape, dtype=torch.long)
    with Image.open(items[0][0]) as picture:
        return to_model_image(picture, entry.image_shape, entry.levels)


def fields(session: Session, group: str, channel: str, target: tuple[int, int] | None) -> tuple[list, str]:
    """Gallery items (one overlay per model of ``group``) for the sub-pixel ``channel`` of ``target`` = ``(i, j)``."""
    entries = session.entries(group)
    if not entries:
        raise user_error("No models for this data set: load one on the Weights tab.")
    c_count, h, w = entries[0].image_shape
    i, j = target if target is not None else (h // 2, w // 2)
    names = [name for name, _ in CHANNELS[c_count]]
    c = names.index(channel) if channel in names else 0
    image = backdrop(entries[0])
    items, lines = [], []
    for entry in entries:
        model = entry.model()
        field = pixelrnn.receptive_field(model, c, i, j)
        order = model.generation_order().cpu()
        earlier = order < order[c, i, j]
        seen = int((field & earlier).sum())
        items.append(
            (
                receptive_overlay(image, entry.levels, field, earlier, (c, i, j)),
                f"{entry.kind} · sees {seen} of {int(earlier.sum())}",
            )
        )
        lines.append(f"| {entry.kind} | {seen} | {int((earlier & ~field).sum())} |")
    sub = f"{names[c]} of " if c_count > 1 else ""
    summary = (
        f"**{group_name(group)}**, {sub}pixel ({i}, {j}): which earlier sub-pixels its softmax depends on.\n\n"
        "| model | earlier sub-pixels seen (cyan) | earlier but out of reach (pink) |\n|---|---|---|\n" + "\n".join(lines)
    )
    return items, summary


def build(session: gr.State, groups: list[str], initial: ModelEntry | None) -> gr.Radio:
    """Lay out the tab inside the current ``gr.Tab``; returns its data set chooser."""
    target = gr.State(None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            group = data_set_radio(groups, "receptive-group")
            channels = CHANNELS[initial.image_shape[0] if initial else 1]
            channel = gr.Radio(
                [n for n, _ in channels],
                value=channels[0][0],
                label="Channel of the clicked pixel",
                elem_id="receptive-channel",
            )
            picture = gr.Image(
                format="png",  # lossless: every model pixel stays a sharp square
                value=_picture(initial),
                label="Click a pixel",
                type="numpy",
                interactive=False,
                elem_classes=["pixelated"],
                elem_id="receptive-picture",
                height=300,
            )
        with gr.Column(scale=3, min_width=360):
            overlays = pixel_gallery("What each model sees from the clicked pixel", "receptive-maps", allow_preview=False)
            summary = gr.Markdown(
                "Click a pixel on the left. Cyan: the earlier sub-pixels the model's softmax at that pixel depends on "
                "(found by back-propagating from its logits to the input). Pink: earlier sub-pixels it cannot see, "
                "outside its layers' reach or in a blind spot like PixelCNN's.",
                elem_id="receptive-summary",
            )

    def on_click(session: Session, group: str, channel: str, evt: gr.SelectData):
        entries = session.entries(group)
        if not entries:
            raise user_error("No models for this data set: load one on the Weights tab.")
        where = locate(*evt.index, entries[0].image_shape, 1, display_scale(entries[0].image_shape))
        if where is None:
            return gr.skip(), gr.skip(), gr.skip()
        return (where[1], where[2]), *fields(session, group, channel, (where[1], where[2]))

    def on_group(session: Session, group: str):
        entries = session.entries(group)
        if not entries:
            return gr.skip(), gr.skip(), None, [], ""
        names = [n for n, _ in CHANNELS[entries[0].image_shape[0]]]
        return gr.Radio(names, value=names[0]), _picture(entries[0]), None, [], "Click a pixel on the left."

    heavy = dict(concurrency_id="generate", api_visibility="private")
    picture.select(on_click, [session, group, channel], [target, overlays, summary], **heavy)
    channel.input(fields, [session, group, channel, target], [overlays, summary], **heavy)
    group.change(on_group, [session, group], [channel, picture, target, overlays, summary], api_visibility="private")
    return group


def _picture(entry: ModelEntry | None):
    """The clickable upscaled backdrop of ``entry``'s data set."""
    if entry is None:
        return None
    return upscale(to_uint8(backdrop(entry), entry.levels), display_scale(entry.image_shape))
