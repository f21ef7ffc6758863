"""Choosing the image to work on: the bundled gallery, an upload, or a blank canvas, shown in an editor.

Used by the Complete tab (the brush paints the occlusion, or draws pixels to keep), the Likelihood
tab (the brush paints defects into the image, to see what the models find surprising) and the
Compress tab (the brush draws on the image to compress).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
import numpy as np
import torch
from PIL import Image

from .catalog import ModelEntry
from .editor import BRUSH_COLOR, BRUSHES, DRAW, DRAW_COLORS, FILLS, HOLE, UNDRAWN, editor_value, lower_half, read_editor
from .errors import user_error
from .gallery import gallery_items
from .images import display_scale, to_model_image
from .session import Session
from .uploads import open_image


@dataclass
class Picker:
    """Gallery, upload and editor; :meth:`wire` makes them follow the model (or group) chosen.

    Painting an occlusion (``occlude``), it also has a blank canvas, two hole presets (the lower
    half, and none: the image kept), and the brush's mode: Hole paints the occlusion, Draw draws
    pixels that the model then keeps (:mod:`app.editor`), with what it fills in around them.
    """

    editor: gr.ImageEditor
    gallery: gr.Gallery
    upload: gr.UploadButton
    blank: gr.Button | None
    half: gr.Button | None
    clear: gr.Button | None
    #: The brush's mode (:data:`~app.editor.HOLE` or :data:`~app.editor.DRAW`); a ``gr.State`` of ``None`` for
    #: an editor whose strokes are image content.
    brush: gr.Radio | gr.State
    #: What Draw leaves to the model.
    fill: gr.Radio | None
    occlude: bool
    #: The editor's label in Hole mode (and for an editor without brush modes).
    label: str

    @classmethod
    def build(cls, name: str, occlude: bool, label: str, initial: ModelEntry | None) -> Picker:
        """``occlude``: the brush paints the occlusion (one translucent colour) rather than image content.

        ``initial``: the model chosen when the page opens (its data set's gallery is shown).
        """
        editor = gr.ImageEditor(
            value=None if initial is None else _first_image(initial, HOLE if occlude else None),
            label=label,
            type="numpy",
            image_mode="RGBA",
            sources=(),
            transforms=(),
            layers=False,
            brush=_hole_brush() if occlude else _draw_brush(3, size=6),
            eraser=gr.Eraser(default_size=10),
            format="png",
            height=330,
            canvas_size=(256, 256),
            elem_id=f"{name}-editor",
            elem_classes=["pixelated", "hole-editor" if occlude else "defect-editor"],
        )
        half = clear = fill = None
        brush = gr.State(None)
        if occlude:
            brush = gr.Radio(
                BRUSHES,
                value=HOLE,
                label="Brush",
                info="Hole: paint what the model redoes. Draw: draw pixels it keeps",
                elem_id=f"{name}-brush",
            )
            fill = gr.Radio(FILLS, value=UNDRAWN, label="The model fills in", visible=False, elem_id=f"{name}-fill")
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
        return cls(editor, gallery, upload, blank, half, clear, brush, fill, occlude, label)

    # ------------------------------------------------------------------ events
    def wire(self, session: gr.State, chooser: gr.components.Component, entry_of: Callable[[Session, str], ModelEntry]) -> None:
        """Follow ``chooser`` (a model dropdown or a group radio); ``entry_of(session, value)`` is a model of it."""

        def on_choose(session: Session, choice: str, current: dict | None, brush: str | None):
            if not choice:
                return gr.skip(), gr.skip()
            entry = entry_of(session, choice)
            shown = {} if _fits(current, entry) else {"value": _first_image(entry, brush)}
            if brush == DRAW:  # the model's colours (greys or RGB) for the draw brush
                shown["brush"] = _draw_brush(entry.image_shape[0])
            return gallery_items(entry.dataset), gr.ImageEditor(**shown) if shown else gr.skip()

        def on_gallery(session: Session, choice: str, current: dict | None, brush: str | None, evt: gr.SelectData):
            entry = entry_of(session, choice)
            path = gallery_items(entry.dataset)[evt.index][0]
            with Image.open(path) as picture:
                return _show(to_model_image(picture, entry.image_shape, entry.levels), entry, current, brush)

        def on_upload(session: Session, choice: str, current: dict | None, file, brush: str | None):
            entry = entry_of(session, choice)
            try:
                picture = open_image(file if isinstance(file, str) else file.name)
            except ValueError as error:
                raise user_error(str(error)) from None
            return _show(to_model_image(picture, entry.image_shape, entry.levels), entry, current, brush)

        def on_blank(session: Session, choice: str, brush: str):
            entry = entry_of(session, choice)
            hole = torch.ones(entry.image_shape[1:], dtype=torch.bool) if brush == HOLE else None
            return editor_value(torch.zeros(entry.image_shape, dtype=torch.long), entry.levels, hole)

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

        def on_brush(session: Session, choice: str, current: dict | None, brush: str):
            """The brush's mode changed: the picture stays (what was drawn, drawn in), the strokes of the other mode go."""
            entry = entry_of(session, choice)
            try:
                image, _ = read_editor(current, entry.image_shape, entry.levels, HOLE if brush == DRAW else DRAW)
            except ValueError as error:
                raise user_error(str(error)) from None
            drawing = brush == DRAW
            return (
                gr.ImageEditor(
                    value=editor_value(image, entry.levels),
                    brush=_draw_brush(entry.image_shape[0]) if drawing else _hole_brush(),
                    label=DRAW_LABEL if drawing else self.label,
                ),
                gr.Radio(visible=drawing),
                gr.Button(visible=not drawing),
                gr.Button(visible=not drawing),
            )

        quiet = dict(show_progress="hidden", api_visibility="private")
        chooser.change(on_choose, [session, chooser, self.editor, self.brush], [self.gallery, self.editor], **quiet)
        self.gallery.select(on_gallery, [session, chooser, self.editor, self.brush], self.editor, **quiet)
        self.upload.upload(on_upload, [session, chooser, self.editor, self.upload, self.brush], self.editor, **quiet)
        if self.occlude:
            self.blank.click(on_blank, [session, chooser, self.brush], self.editor, **quiet)
            self.half.click(with_hole(lower_half), [session, chooser, self.editor], self.editor, **quiet)
            self.clear.click(with_hole(lambda shape: None), [session, chooser, self.editor], self.editor, **quiet)
            self.brush.input(
                on_brush, [session, chooser, self.editor, self.brush], [self.editor, self.fill, self.half, self.clear], **quiet
            )


#: The editor's label while the brush draws.
DRAW_LABEL = "Pixels to keep (draw them)"


def _hole_brush() -> gr.Brush:
    """The brush that paints the hole: one translucent colour."""
    return gr.Brush(default_size=10, colors=[BRUSH_COLOR], color_mode="fixed")


def _draw_brush(channels: int, size: int = 10) -> gr.Brush:
    """The brush that draws pixels, in the colours of :data:`~app.editor.DRAW_COLORS` for a model of ``channels``, or any."""
    return gr.Brush(default_size=size, colors=DRAW_COLORS[channels], color_mode="defaults")


def _fits(current: dict | None, entry: ModelEntry) -> bool:
    """Whether the editor value ``current`` shows an image of ``entry``'s size (at the display scale)."""
    if not current or current.get("background") is None:
        return False
    _, h, w = entry.image_shape
    scale = display_scale(entry.image_shape)
    return np.asarray(current["background"]).shape[:2] == (h * scale, w * scale)


def _show(image: torch.Tensor, entry: ModelEntry, current: dict | None, brush: str | None) -> dict:
    """The editor showing ``image``, with the strokes of ``brush``'s mode: none while drawing (or without
    a brush mode: the Likelihood and Compress editors); in Hole mode the hole of the image it replaces
    (none if that had none).

    Only a fresh editor, or one showing an image of another size, starts with the lower half as the hole.
    """
    if brush != HOLE:
        return editor_value(image, entry.levels)
    hole = read_editor(current, entry.image_shape, entry.levels)[1] if _fits(current, entry) else lower_half(entry.image_shape)
    return editor_value(image, entry.levels, hole)


def _first_image(entry: ModelEntry, brush: str | None) -> dict:
    """The editor showing the first gallery image of ``entry``'s data set (a black one without a gallery), with
    the strokes of ``brush``'s mode (see :func:`_show`)."""
    items = gallery_items(entry.dataset)
    if not items:
        return _show(torch.zeros(entry.image_shape, dtype=torch.long), entry, None, brush)
    with Image.open(items[0][0]) as picture:
        return _show(to_model_image(picture, entry.image_shape, entry.levels), entry, None, brush)
