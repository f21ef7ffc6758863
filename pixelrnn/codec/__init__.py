"""A lossless image codec built on the models: files whose size is the model's -log2 p(x), plus a header.

blob = pixelrnn.compress(model, image)     # LongTensor[C, H, W] or [B, C, H, W] -> bytes (label=: see below)
image = pixelrnn.decompress(model, blob)   # -> the same LongTensor
for step in decoding(model, blob): ...     # the same decoding step by step, a pixelrnn.Generation

Each sub-pixel is range-coded (``constriction``) with the distribution the model gives it in its
generation order. Decoding must see exactly the probabilities that encoding used: one quantized
frequency that differs in one unit garbles the rest of the file. A full forward pass and the cached
sampler agree only to the last few bits of a float, so both directions run the same code,
:func:`coded_steps`, over the cached sampler's stepping loop (:func:`pixelrnn.sampling.cached_steps`):
the encoder feeds it the image's values, the decoder the values it decodes, on a canvas that starts
blank in both. A batch is coded together, each step's ``B`` values one after the other, and decoded
together: the decoder's batch is the encoder's, so every matrix product has the same shape on both sides
(the batch size alone moves the shipped Fashion-MNIST PixelCNN's probabilities by up to 1e-5).

That exactness holds on one kind of machine and software: the same float operations on another CPU
or library version may round differently, and then the checksum refuses the file.

The file: a 26-byte header (:data:`HEADER`, big-endian: magic ``PXR``, format version, the number of
images ``B`` of a batch ``[B, C, H, W]`` or 0 for one image ``[C, H, W]``, then ``C``, ``H``, ``W``,
``levels - 1``, a 4-byte seal of the model and those fields, and the first 8 bytes of the sha256 of the
image's values as uint8); for a class-conditional model, one byte per image with its label (the
decoder needs it, and finds it in the file); then the range coder's 32-bit words, little-endian. The
seal (a sha256 of the model's :func:`fingerprint`, the fields before it and the labels) refuses another
model's file, and a damaged header, before decoding starts: an altered batch size would otherwise decode
millions of images. The header is kept small because at 28x28 each of its bytes costs 0.01 bits/dim.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct

import constriction
import numpy as np
import torch

from ..base import PixelModel
from ..sampling import Generation, cached_steps, evaluating

MAGIC = b"PXR"
FORMAT_VERSION = 1
#: magic, version, batch (0: one image), C, H, W, levels - 1; then the seal and the image checksum.
FIELDS = struct.Struct(">3sBIBHHB")
HEADER = struct.Struct(f">{FIELDS.size}s4s8s")
#: Every sub-pixel value gets a distinct nonzero frequency: no value is ever impossible to code.
_CATEGORICAL = constriction.stream.model.Categorical(perfect=False)


def compress(model: PixelModel, image: torch.Tensor, label=None) -> bytes:
    """``image`` (``LongTensor[C, H, W]`` or ``[B, C, H, W]``, values in ``[0, levels)``) -> the compressed file.

    A batch is coded as one file, decoded as one batch by :func:`decompress`. A class-conditional model
    codes each image given its ``label`` (one for all, or one per image), which the file keeps.
    """
    batch = _as_batch(model, image)
    labels = model.check_label(label, len(batch))
    encoder = constriction.stream.queue.RangeEncoder()

    def true_value(position, probs):
        c, i, j = position
        values = batch[:, c, i, j]
        encoder.encode(values.cpu().numpy().astype(np.int32), _CATEGORICAL, probs)
        return values

    canvas = torch.zeros_like(batch)
    for _ in coded_steps(model, canvas, true_value, labels):
        pass
    count = 0 if image.dim() == 3 else len(batch)
    fields = FIELDS.pack(MAGIC, FORMAT_VERSION, count, *model.image_shape, model.levels - 1)
    label_bytes = b"" if labels is None else bytes(labels.tolist())
    header = HEADER.pack(fields, _seal(model, fields + label_bytes), _checksum(batch))
    return header + label_bytes + encoder.get_compressed().astype("<u4").tobytes()


def decompress(model: PixelModel, blob: bytes) -> torch.Tensor:
    """A file from :func:`compress` -> the image or batch it holds, exactly (on the model's device).

    Raises ``ValueError`` for anything else: not such a file, another model's file, a truncated or altered one.
    """
    count, generation = _decoding(model, blob)
    for _ in generation:
        pass
    return generation.image if count else generation.image[0]


def decoding(model: PixelModel, blob: bytes, max_images: int | None = None) -> Generation:
    """A file from :func:`compress`, decoded step by step: a :class:`~pixelrnn.Generation` whose values
    the file chooses, as :func:`decompress` decodes it.

    Its ``image`` is the canvas being filled, ``LongTensor[B, C, H, W]`` (``B = 1`` for a file of one
    image); each :class:`~pixelrnn.Step` has the ``probs`` (``float64 [B, levels]``) its values were coded
    with. ``ValueError`` at once for a file that is not this model's, or of more than ``max_images``
    images; from the step that meets it for damaged data, at the latest from the last step, whose image
    fails the file's checksum.
    """
    return _decoding(model, blob, max_images)[1]


def _decoding(model: PixelModel, blob: bytes, max_images: int | None = None) -> tuple[int, Generation]:
    """:func:`decoding`, and the header's batch size (0: a file of one image)."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise ValueError(f"expected the bytes of a compressed file, got {type(blob).__name__}")
    count, checksum, labels, payload = _read_header(model, bytes(blob))
    if max_images is not None and count > max_images:
        raise ValueError(f"the file holds {count} images; at most {max_images} are decoded here")
    if len(payload) % 4:
        raise ValueError("the compressed file is truncated or damaged: its data is not a whole number of 32-bit words")
    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))
    canvas = torch.zeros(max(count, 1), *model.image_shape, dtype=torch.long, device=model.device)
    everything = torch.ones(model.image_shape[1:], dtype=torch.bool, device=model.device)
    return count, Generation(model, canvas, everything, _decoded_steps(model, canvas, decoder, checksum, labels), labels)


def _decoded_steps(model: PixelModel, canvas: torch.Tensor, decoder, checksum: bytes, labels):
    """Fill the blank ``canvas`` with the values ``decoder`` reads; yields ``(position, probs, value)`` of each
    sub-pixel, ``probs`` as a ``float64`` tensor. The last step checks the whole image against ``checksum``."""

    def decoded_value(position, probs):
        try:
            values = decoder.decode(_CATEGORICAL, probs)
        except AssertionError as error:  # how constriction reports data that no encoder could have written
            raise ValueError(f"the compressed file is damaged (truncated or altered): {error}") from None
        return torch.from_numpy(values.astype(np.int64)).to(canvas.device)

    last = math.prod(model.image_shape) - 1
    for index, (position, probs, value) in enumerate(coded_steps(model, canvas, decoded_value, labels)):
        if index == last and _checksum(canvas) != checksum:
            raise ValueError("the compressed file is damaged (truncated or altered): the decoded image fails its checksum")
        yield position, torch.from_numpy(probs), value


@torch.inference_mode()
def coded_steps(model: PixelModel, canvas: torch.Tensor, value_of, labels=None):
    """Fill the blank ``canvas`` (``LongTensor[B, C, H, W]``) in the model's generation order with the
    values ``value_of(position, probs)`` gives (``LongTensor[B]``), where ``probs`` (``float64 [B, levels]``)
    is the distribution of sub-pixel ``position = (c, i, j)`` that both encoder and decoder code it with
    (given the images' ``labels``, ``LongTensor[B]``, for a conditional model).

    Yields ``(position, probs, value)`` of each sub-pixel.
    """
    _, _, h, w = canvas.shape

    def choose(logits, position):
        # The coder quantizes float64 numpy probabilities; a float64 softmax keeps them a
        # function of the logits alone, which encoder and decoder compute alike.
        probs = torch.softmax(logits.to(torch.float64), dim=-1).cpu().numpy()
        return probs, value_of(position, probs)

    everything = torch.ones(h, w, dtype=torch.bool, device=canvas.device)
    with evaluating(model):
        yield from cached_steps(model, canvas, everything, choose, labels)


def fingerprint(model: PixelModel) -> bytes:
    """A sha256 over the model's configuration and every tensor of its state dict (name, dtype, shape,
    bytes; in name order): 32 bytes that change with any weight."""
    digest = hashlib.sha256(json.dumps(model.config, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name} {tensor.dtype} {list(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.digest()


def _seal(model: PixelModel, fields: bytes) -> bytes:
    """The first 4 bytes of a sha256 of the model's fingerprint and the header's fields."""
    return hashlib.sha256(fingerprint(model) + fields).digest()[:4]


def _checksum(batch: torch.Tensor) -> bytes:
    """The first 8 bytes of the sha256 of the values (all below 256) as uint8."""
    return hashlib.sha256(batch.to(torch.uint8).cpu().numpy().tobytes()).digest()[:8]


def _as_batch(model: PixelModel, image) -> torch.Tensor:
    """Check ``image`` for ``model``; ``LongTensor[B, C, H, W]`` on the model's device."""
    if not isinstance(model, PixelModel):
        raise ValueError(f"expected a pixelrnn model, got {type(model).__name__}")
    if isinstance(image, torch.Tensor) and image.dim() == 3:
        image = image[None]
    model.check_input(image)
    if len(image) == 0:
        raise ValueError("the batch holds no images: there is nothing to compress")
    return image.to(model.device, torch.long)


def _read_header(model: PixelModel, blob: bytes):
    """Check the header against ``model``; ``(batch size or 0 for one image, image checksum, labels (None for an
    unconditional model), payload)``."""
    if len(blob) < HEADER.size:
        what = "empty" if not blob else f"only {len(blob)} bytes long"
        raise ValueError(f"not a pixelrnn compressed file: it is {what}, shorter than the {HEADER.size}-byte header")
    fields, seal, checksum = HEADER.unpack_from(blob)
    magic, version, count, c, h, w, top = FIELDS.unpack(fields)
    if magic != MAGIC:
        raise ValueError(f"not a pixelrnn compressed file: it starts with {magic!r}, not {MAGIC!r}")
    if version != FORMAT_VERSION:
        raise ValueError(f"the file is in format version {version}; this pixelrnn reads version {FORMAT_VERSION}")
    if (c, h, w) != model.image_shape or top + 1 != model.levels:
        raise ValueError(
            f"the file holds {c}x{h}x{w} images with {top + 1} levels, but the model takes "
            f"{'x'.join(map(str, model.image_shape))} with {model.levels}: decompress it with the model that compressed it"
        )
    label_count = max(count, 1) if model.num_classes else 0
    label_bytes = blob[HEADER.size : HEADER.size + label_count]
    if seal != _seal(model, fields + label_bytes):
        raise ValueError(
            "the file was compressed with another model (or its header is damaged): decompress it with the model that made it"
        )
    labels = torch.tensor(list(label_bytes), dtype=torch.long, device=model.device) if label_count else None
    return count, checksum, labels, blob[HEADER.size + label_count :]
