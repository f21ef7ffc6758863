"""The Compress tab: an image as a pixelrnn file beside PNG, WebP and JPEG XL, and a file decoded pixel by pixel.

Decoding is generation with the file choosing each value (:func:`pixelrnn.codec.decoding`), so it plays
in the live view the Sample and Complete tabs use. A class-conditional model codes the image given the
class picked, or the one it finds most likely (the smallest file); the file keeps the class.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd
import torch

import pixelrnn
from pixelrnn.codec import HEADER, compress, decoding
from pixelrnn.codec.__main__ import SUFFIX
from pixelrnn.codec.baselines import picture_sizes

from .catalog import ModelEntry
from .classes import ANY, class_picker, follow, scoring_label
from .editor import read_picture
from .errors import user_error
from .live import LiveGeneration
from .live_view import DECODING, LiveView
from .picker import Picker
from .session import Session

#: The most images a decoded file may hold: the live view keeps the distribution of every sub-pixel of each.
MAX_DECODED_IMAGES = 4
#: The columns of the size table.
COLUMNS = ["format", "bytes", "bits/dim"]

EXPLANATION = f"""
The model gives every sub-pixel a distribution given the ones before it; range coding each value with it
makes a file of about -log2 p(x) bits, the image's likelihood, plus a {HEADER.size}-byte header. The file
keeps every pixel, and decodes only with the model that wrote it, on the same kind of machine and software.
Draw on the picture and compress it again: what the model finds unlikely costs bits.
"""


def compress_image(session: Session, editor: dict | None, model: str, class_name: str = ANY) -> tuple[str, pd.DataFrame]:
    """The editor's picture (strokes included) compressed by the model labelled ``model`` (given class
    ``class_name`` for a class-conditional model; :data:`~app.classes.ANY`: its most likely class): the path
    of the file, and its size beside the model's -log2 p(x) and the picture as PNG, WebP and JPEG XL (:func:`size_table`)."""
    entry = session.entry(model)
    network = entry.model()
    try:
        image = read_picture(editor, network.image_shape, network.levels)
        label = scoring_label(entry, class_name, image)
    except ValueError as error:
        raise user_error(str(error)) from None
    blob = compress(network, image, label)
    # A fresh folder per file: gradio serves it from its cache under this name, which says which model decodes it.
    path = Path(tempfile.mkdtemp(prefix="pixelrnn-compress-")) / f"{entry.file_stem}{SUFFIX}"
    path.write_bytes(blob)
    return str(path), size_table(entry, image, len(blob), label)


def clear_compression() -> tuple[None, pd.DataFrame]:
    """No file and an empty size table: what the tab shows when nothing has been compressed by the chosen model."""
    return None, pd.DataFrame(columns=COLUMNS)


def size_table(entry: ModelEntry, image: torch.Tensor, file_bytes: int, label: int | None = None) -> pd.DataFrame:
    """Rows ``format, bytes, bits/dim`` for ``image`` (``LongTensor[C, H, W]``): the pixelrnn file of
    ``file_bytes`` bytes, the model's -log2 p(image) (given class ``label`` for a class-conditional model:
    what the file holds without its header), then the lossless codecs of :func:`pixelrnn.codec.baselines.picture_sizes`."""
    model = entry.model()
    given = "" if label is None else f" | {entry.class_names[label]}"
    dims = math.prod(model.image_shape)
    with torch.no_grad():
        log_prob = model.log_prob(image[None].to(model.device), model.check_label(label, 1))
    model_bits = float(pixelrnn.bits_per_dim(log_prob, model.image_shape)[0])
    rows = [
        (f"pixelrnn ({SUFFIX})", file_bytes, file_bytes * 8 / dims),
        (f"the model's -log2 p(x{given})", model_bits * dims / 8, model_bits),
    ]
    rows += [(name, size, size * 8 / dims) for name, size in picture_sizes(image, model.levels).items()]
    # Object columns keep whole byte counts whole beside the model's fractional one.
    return pd.DataFrame([(name, round(size, 1), round(bits, 3)) for name, size, bits in rows], columns=COLUMNS, dtype=object)


def decoding_run(session: Session, model: str, packed) -> LiveGeneration:
    """A live decoding of the uploaded file ``packed`` by the model labelled ``model``."""
    network = session.entry(model).model()
    if packed is None:
        raise ValueError(f"Upload a {SUFFIX} file to decode first (compress an image above to get one).")
    path = Path(packed if isinstance(packed, str) else packed.name)
    try:
        return LiveGeneration(decoding(network, path.read_bytes(), MAX_DECODED_IMAGES))
    except ValueError as error:
        raise ValueError(f"{path.name}: {error}") from None


def build(session: gr.State, labels: list[str], initial) -> gr.Dropdown:
    """Lay out the tab inside the current ``gr.Tab``; returns its model dropdown."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            model = gr.Dropdown(labels, value=labels[0] if labels else None, label="Model", elem_id="compress-model")
            class_name = class_picker("compress-class", initial.class_names if initial else [], scoring=True)
            picker = Picker.build("compress", occlude=False, label="Image to compress", initial=initial)
            go = gr.Button("Compress", variant="primary", elem_id="compress-compress")
        with gr.Column(scale=3, min_width=360):
            gr.Markdown(EXPLANATION)
            sizes = gr.Dataframe(
                headers=COLUMNS,
                label="Its size, lossless",
                interactive=False,
                elem_id="compress-sizes",
            )
            packed_out = gr.File(label=f"The {SUFFIX} file", interactive=False, height=90, elem_id="compress-file")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown(
                f"### Decode a {SUFFIX} file\nDecoding runs the sampler with the file choosing every value: "
                "in amber, the value it chose from the model's softmax. Pick the model that wrote the file above."
            )
            packed_in = gr.File(label=f"A {SUFFIX} file", file_types=[SUFFIX], elem_id="compress-packed")
        view = LiveView.build(
            "compress", initial.image_shape[0] if initial else 3, label="Decoded", start_label="Decode", running=DECODING
        )
    picker.wire(session, model, lambda s, label: s.entry(label))
    follow(session, model, class_name, lambda s, label: [s.entry(label)], scoring=True)
    go.click(
        compress_image,
        [session, picker.editor, model, class_name],
        [packed_out, sizes],
        concurrency_id="generate",
        api_name="compress",
    )
    # A file and its sizes belong to the model that wrote them.
    model.change(clear_compression, None, [packed_out, sizes], api_visibility="private")
    view.wire(session, decoding_run, [model, packed_in], model)
    return model
