"""Choosing the image to work on: the bundled gallery, an upload, or a blank canvas, shown in an editor.

Used by the Complete tab (the brush paints the occlusion) and the Likelihood tab (the
brush paints defects into the image, to see what the models find surprising).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
import numpy as np
import torch
from PIL import Image

from .catalog import ModelEntry
from .editor import BRUSH_COLOR, editor_value, lower_half, read_editor
from .errors import user_error
from .gallery import gallery_items
from .images import display_scale, to_model_image
from .session import Session
from .uploads import open_image


@dataclass
class Picker:
    """Gallery, upload and editor; :meth:`wire` makes them follow the model (or group) chosen.

    Painting an occlusion (``occlude``), it also has a blank canvas and two hole presets: the
    lower half, and none (the image kept).
    """

    editor: gr.ImageEditor
    gallery: gr.Gallery
    upload: gr.UploadButton
    blank: gr.Button | None
    half: gr.Button | None
    clear: gr.Button | None
    occlude: bool

    @classmethod
    def build(cls, name: str, occlude: bool, label: str, initial: ModelEntry | None) -> Picker:
        """``occlude``: the brush paints the occlusion (one translucent colour) rather than image content.

        ``initial``: the model chosen when the page opens (its data set's gallery is shown).
        """
        brush = (
            gr.Brush(default_size=10, colors=[BRUSH_COLOR], color_mode="fixed")
            if occlude
            else gr.Brush(default_size=6, colors=["#ffffff", "#000000", "#ff0000", "#00c000", "#0050ff"], color_mode="defaults")
        )
        editor = gr.ImageEditor(
            value=None if initial is None else _first_image(initial, occlude),
            label=label,
            type="numpy",
            image_mode="RGBA",
            sources=(),
            transforms=(),
            layers=False,
            brush=brush,
            eraser=gr.Eraser(default_size=10),
            format="png",
            height=330,
            canvas_size=(256, 256),
            elem_id=f"{name}-editor",
            elem_classes=["pixelated", "hole-editor" if occlude else "defect-editor"],
        )
        half = clear = None
        if occlude:
            with gr.Row(elem_classes=["compact-buttons"]):
                half = gr.Button("Lower half", size="sm", elem_id=f"{name}-lower-half")
                clear = gr.Button("Clear hole", size="sm", elem_id=f"{name}-clear-hole")
        with gr.Row(elem_classes=["compact-buttons"]):
            upload = gr.UploadButton("Upload an image", file_types=["image"], size="sm", elem_id=f"{name}-upload")
            blank = gr.Button("Blank canvas", size="sm", elem_id=f"{name}-blank") if occlude else None
        gallery = gr.Gallery(
            value=None if initial is None else gallery_items(initial.dataset),
            label="Test images (click one)",
            height=230,
            allow_preview=False,
            object_fit="contain",
            elem_id=f"{name}-gallery",
            elem_classes=["pixelated", "picker-gallery"],
        )
        return cls(editor, gallery, upload, blank, half, clear, occlude)

    # ------------------------------------------------------------------ events
    def wire(self, session: gr.State, chooser: gr.components.Component, entry_of: Callable[[Session, str], ModelEntry]) -> None:
        """Follow ``chooser`` (a model dropdown or a group radio); ``entry_of(session, value)`` is a model of it."""

        def on_choose(session: Session, choice: str, current: dict | None):
            if not choice:
                return gr.skip(), gr.skip()
            entry = entry_of(session, choice)
            return gallery_items(entry.dataset), (gr.skip() if _fits(current, entry) else _first_image(entry, self.occlude))

        def on_gallery(session: Session, choice: str, current: dict | None, evt: gr.SelectData):
            entry = entry_of(session, choice)
            path = gallery_items(entry.dataset)[evt.index][0]
            with Image.open(path) as picture:
                return _show(to_model_image(picture, entry.image_shape, entry.levels), entry, current, self.occlude)

        def on_upload(session: Session, choice: str, current: dict | None, file):
            entry = entry_of(session, choice)
            try:
                picture = open_image(file if isinstance(file, str) else file.name)
            except ValueError as error:
                raise user_error(str(error)) from None
            return _show(to_model_image(picture, entry.image_shape, entry.levels), entry, current, self.occlude)

        def on_blank(session: Session, choice: str):
            entry = entry_of(session, choice)
            return editor_value(
                torch.zeros(entry.image_shape, dtype=torch.long),
                entry.levels,
                torch.ones(entry.image_shape[1:], dtype=torch.bool),
            )

        def with_hole(hole: Callable[[tuple], torch.Tensor | None]):
            """A handler showing the editor's image with the hole ``hole(image_shape)`` (``None``: no hole)."""

            def on_hole(session: Session, choice: str, current: dict | None):
                entry = entry_of(session, choice)
                try:
                    image, _ = read_editor(current, entry.image_shape, entry.levels)
                except ValueError as error:
                    raise user_error(str(error)) from None
                return editor_value(image, entry.levels, hole(entry.image_shape))

            return on_hole

        quiet = dict(show_progress="hidden", api_visibility="private")
        chooser.change(on_choose, [session, chooser, self.editor], [self.gallery, self.editor], **quiet)
        self.gallery.select(on_gallery, [session, chooser, self.editor], self.editor, **quiet)
        self.upload.upload(on_upload, [session, chooser, self.editor, self.upload], self.editor, **quiet)
        if self.occlude:
            self.blank.click(on_blank, [session, chooser], self.editor, **quiet)
            self.half.click(with_hole(lower_half), [session, chooser, self.editor], self.editor, **quiet)
            self.clear.click(with_hole(lambda shape: None), [session, chooser, self.editor], self.editor, **quiet)


def _fits(current: dict | None, entry: ModelEntry) -> bool:
    """Whether the editor value ``current`` shows an image of ``entry``'s size (at the display scale)."""
    if not current or current.get("background") is None:
        return False
    _, h, w = entry.image_shape
    scale = display_scale(entry.image_shape)
    return np.asarray(current["background"]).shape[:2] == (h * scale, w * scale)


def _show(image: torch.Tensor, entry: ModelEntry, current: dict | None, occlude: bool) -> dict:
    """The editor showing ``image``; with ``occlude``, the hole of the image it replaces (none if that had none).

    Only a fresh editor, or one showing an image of another size, starts with the lower half as the hole.
    """
    if not occlude:
        return editor_value(image, entry.levels)
    hole = read_editor(current, entry.image_shape, entry.levels)[1] if _fits(current, entry) else lower_half(entry.image_shape)
    return editor_value(image, entry.levels, hole)


def _first_image(entry: ModelEntry, occlude: bool) -> dict:
    """The editor showing the first gallery image of ``entry``'s data set (a black one without a gallery)."""
    items = gallery_items(entry.dataset)
    if not items:
        return _show(torch.zeros(entry.image_shape, dtype=torch.long), entry, None, occlude)
    with Image.open(items[0][0]) as picture:
        return _show(to_model_image(picture, entry.image_shape, entry.levels), entry, None, occlude)
