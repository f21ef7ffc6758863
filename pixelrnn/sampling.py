"""Sampling, completion and the step-by-step view of generation, for every model.

Every model is sampled one sub-pixel at a time in its generation order. The reference
sampler (``cached=False``) runs the whole network for each sub-pixel: ``C*H*W`` forward
passes of ``O(H*W)`` each. The cached sampler steps the model's :class:`~pixelrnn.base.Cache`
through the pixels in raster order, computing each layer once per pixel (recomputing the
pixel once per colour), which costs ``O(H*W)`` in all.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from .base import PixelModel


@dataclass
class Step:
    """One sub-pixel of a :class:`Generation`: sampled by :func:`generate`, or read from a compressed file
    by :func:`pixelrnn.codec.decoding`."""

    #: ``(c, i, j)``: colour, row, column of the sub-pixel just filled in.
    position: tuple[int, int, int]
    #: ``Tensor[n, levels]``: the distribution it was drawn from (after temperature), or coded with.
    probs: torch.Tensor
    #: ``LongTensor[n]``: the values drawn (or decoded).
    value: torch.Tensor
    #: ``LongTensor[n, C, H, W]``: the image so far (the sampler's own buffer: clone to keep it).
    image: torch.Tensor
    #: This step's place in the generation: 0 for the first sub-pixel sampled, ``total - 1`` for the last.
    index: int
    #: How many sub-pixels the generation samples in all.
    total: int


class Generation(Iterator[Step]):
    """A canvas being filled sub-pixel by sub-pixel in the model's generation order: the :class:`Step`
    iterator, and what a viewer needs to show it. :func:`generate` makes one that samples,
    :func:`pixelrnn.codec.decoding` one whose values come from a compressed file.

    ``model`` is the model filling it; ``order`` (``LongTensor[total, 3]``) lists the ``(c, i, j)`` of
    every sub-pixel to fill in the order the steps come; ``image`` is the canvas being filled
    (``LongTensor[n, C, H, W]``, on the model's device); ``unknown`` (``BoolTensor[H, W]``) marks the
    pixels being filled; ``labels`` (``LongTensor[n]``, or None for an unconditional model) are the classes
    the images are drawn from. ``steps`` fills ``canvas`` in place in that order, yielding ``(position,
    probs, value)`` of each sub-pixel (as :func:`cached_steps` does); the generation numbers them.
    """

    def __init__(
        self,
        model: PixelModel,
        canvas: torch.Tensor,
        unknown: torch.Tensor,
        steps: Iterator[tuple],
        labels: torch.Tensor | None = None,
    ):
        self.model, self.image, self.unknown, self.labels = model, canvas, unknown, labels
        self.order = sampling_order(model, unknown)
        self.total = len(self.order)
        self._steps = steps
        self._index = 0

    @property
    def count(self) -> int:
        """Sub-pixels filled in so far: the next :class:`Step`'s index."""
        return self._index

    def __next__(self) -> Step:
        position, probs, value = next(self._steps)
        step = Step(position, probs, value, self.image, self._index, self.total)
        self._index += 1
        return step

    def close(self) -> None:
        """End the generation early; the image keeps what was filled in."""
        self._steps.close()


@dataclass
class Completions:
    """The result of :func:`complete`, best first."""

    #: ``LongTensor[k, C, H, W]``.
    images: torch.Tensor
    #: ``Tensor[k]``: exact log-likelihood of each whole image, in nats.
    log_probs: torch.Tensor


@dataclass
class SamplingRequest:
    """One caller's share of :func:`generate_many`: ``n`` images (completions of ``image`` where the mask
    says, or samples from scratch), drawn at ``temperature`` from their own random ``seed``, of class
    ``label`` for a class-conditional model."""

    n: int = 1
    #: ``[C, H, W]`` or ``[n, C, H, W]`` integers in ``[0, levels)``; ``None``: sample from scratch.
    image: torch.Tensor | None = None
    temperature: float = 1.0
    seed: int | None = None
    #: One class for all ``n`` images, or one per image (conditional models only).
    label: int | Sequence[int] | torch.Tensor | None = None


def generate(
    model: PixelModel,
    n: int = 1,
    image: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    temperature: float = 1.0,
    seed: int | None = None,
    cached: bool = True,
    label=None,
) -> Generation:
    """Sample ``n`` images sub-pixel by sub-pixel: a :class:`Generation` that yields a :class:`Step` for each.

    ``image`` (``[C, H, W]`` or ``[n, C, H, W]`` integers in ``[0, levels)``) and ``mask``
    (bool ``[H, W]``, True = unknown) make a completion: known pixels are kept and
    condition everything after them; unknown ones are sampled. Without an image, all
    pixels are sampled. A class-conditional model needs ``label``: one class for all
    ``n`` images, or one per image.
    """
    canvas, unknown, labels = _prepare(model, n, image, mask, temperature, label)
    steps = _generate(model, canvas, unknown, [(n, temperature, seed)], cached, labels)
    return Generation(model, canvas, unknown, steps, labels)


def generate_many(model: PixelModel, requests: Sequence[SamplingRequest], mask: torch.Tensor | None = None) -> Generation:
    """Several generations that fill the same ``mask`` (``None``: every pixel) as one batched :class:`Generation`.

    Each step draws the same sub-pixel of every image at once: one network step for all, which
    costs little more than for one. Request ``k`` owns the next ``requests[k].n`` rows of the
    generation's ``image`` (``LongTensor[sum n, C, H, W]``), drawn with its own temperature and seed:
    the values :func:`generate` would draw for it alone, up to the rounding of a larger batch.
    """
    if not requests:
        raise ValueError("generate_many() needs at least one SamplingRequest")
    parts = [_prepare(model, r.n, r.image, mask, r.temperature, r.label) for r in requests]
    canvas, unknown = torch.cat([canvas for canvas, _, _ in parts]), parts[0][1]
    labels = None if model.num_classes == 0 else torch.cat([labels for _, _, labels in parts])
    draws = [(r.n, r.temperature, r.seed) for r in requests]
    return Generation(model, canvas, unknown, _generate(model, canvas, unknown, draws, True, labels), labels)


def sampling_order(model: PixelModel, unknown: torch.Tensor) -> torch.Tensor:
    """The ``(c, i, j)`` of the sub-pixels of the ``unknown`` pixels (``BoolTensor[H, W]``) in the model's
    generation order: ``LongTensor[k, 3]``, on the CPU."""
    c, h, w = model.image_shape
    selected = unknown.cpu()[None].expand(c, h, w)
    ranks = model.generation_order().cpu()[selected]
    return selected.nonzero()[ranks.argsort()]


def sample(
    model: PixelModel, n: int = 1, image=None, mask=None, temperature: float = 1.0, seed=None, cached: bool = True, label=None
):
    """``n`` samples (or completions, see :func:`generate`; of class ``label`` for a conditional model):
    ``LongTensor[n, C, H, W]``."""
    canvas, unknown, labels = _prepare(model, n, image, mask, temperature, label)
    for _ in _generate(model, canvas, unknown, [(n, temperature, seed)], cached, labels):
        pass
    return canvas


# Inference mode rather than no_grad: a step is a few dozen tiny operations, and skipping
# autograd's bookkeeping entirely makes each of them measurably cheaper. The canvas is made
# outside, so it stays a normal tensor that callers can use for anything. As a decorator,
# the mode is on only while the generator runs, in whichever thread resumes it; a `with`
# block inside would leak it to the caller at every yield, and leave it on for good if the
# caller never finishes the generator.
@torch.inference_mode()
def _generate(model, canvas, unknown, draws, cached, labels) -> Iterator[tuple]:
    """Fill ``canvas`` in place where ``unknown`` by sampling, yielding ``(position, probs, value)`` of each sub-pixel.

    ``draws``: ``(rows, temperature, seed)`` of each group of consecutive rows of ``canvas``; ``labels``:
    ``LongTensor[rows]`` for a conditional model, else None.
    """
    temperatures = torch.tensor([t for rows, t, _ in draws for _ in range(rows)], device=canvas.device)[:, None]
    rows = [(n, _random(seed, canvas.device)) for n, _, seed in draws]

    def choose(logits, position):
        return _sample_rows(logits, temperatures, rows)

    with evaluating(model):
        if cached:
            yield from cached_steps(model, canvas, unknown, choose, labels)
        else:
            yield from _reference_steps(model, canvas, sampling_order(model, unknown), choose, labels)


def _random(seed: int | None, device) -> torch.Generator:
    """A random generator on ``device``, seeded with ``seed`` (``None``: from the system's entropy)."""
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator


@contextlib.contextmanager
def evaluating(model: PixelModel) -> Iterator[None]:
    """``model`` in eval mode for the block, then back in the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def complete(model: PixelModel, image, mask, k: int = 8, temperature: float = 1.0, seed=None, label=None) -> Completions:
    """Best-of-``k`` completion of the ``mask``-ed part of ``image`` (as an image of class ``label``, for a
    conditional model).

    Draws ``k`` completions in one batch and ranks them by the exact log-likelihood of the
    whole image. That score includes the known pixels below and to the right of the hole,
    which the sampler could not see when it filled the hole: the best completion is the
    one that also fits what comes after it.
    """
    if mask is None:
        raise ValueError("complete() needs a mask: bool [H, W], True = the pixels to fill in")
    images = sample(model, k, image, mask, temperature, seed, label=label)
    with torch.no_grad():
        log_probs = model.log_prob(images, model.check_label(label, k))
    order = log_probs.argsort(descending=True)
    return Completions(images[order], log_probs[order])


def _sample_rows(logits: torch.Tensor, temperatures: torch.Tensor, rows: list[tuple[int, torch.Generator]]):
    """Draw one value per row of ``logits`` ``[n, levels]``: ``(probs [n, levels], values [n])``.

    ``temperatures``: ``[n, 1]``, one per row; ``rows``: ``(count, generator)`` of each group of
    consecutive rows, in order: each group draws from its own generator as it would alone.
    """
    probs = torch.softmax(logits.float() / temperatures, dim=-1)
    u = torch.cat([torch.rand(count, 1, generator=generator, device=probs.device) for count, generator in rows])
    return probs, _inverse_cdf(probs, u)


def _inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """``LongTensor[n]``: for each row of ``probs`` ``[n, levels]``, the first value whose cumulative probability exceeds
    ``u`` ``[n, 1]``.

    Inverse-CDF sampling with ``u ~ U[0, 1)`` (never a value of probability 0) draws from the same
    distribution as torch.multinomial at a fraction of its cost per call, which matters at one call
    per sub-pixel; the clamp catches a final cumulative sum that rounds to just below ``u``.
    """
    return torch.searchsorted(probs.cumsum(-1), u, right=True)[:, 0].clamp_(max=probs.shape[-1] - 1)


def cached_steps(model: PixelModel, canvas: torch.Tensor, unknown: torch.Tensor, choose, labels=None) -> Iterator[tuple]:
    """Fill ``canvas`` (``LongTensor[n, C, H, W]``) in place where ``unknown`` (``BoolTensor[H, W]``), one
    sub-pixel at a time in the model's generation order, stepping one :class:`Cache` per sampling stage
    in raster order.

    ``choose(logits, position)`` decides each sub-pixel: given its logits ``[n, levels]`` and its
    ``(c, i, j)``, it returns ``(probs, value)``, ``value`` a ``LongTensor[n]``; the sampler draws the
    value, the codec (:mod:`pixelrnn.codec`) reads it from the image or from the compressed file.
    ``labels`` (``LongTensor[n]``) are the images' classes for a conditional model, part of every
    cache. Yields ``(position, probs, value)`` of each sub-pixel. Run it under
    ``torch.inference_mode`` and :func:`evaluating`.
    """
    colors = model.colors
    stages = model.sampling_stages(canvas, unknown, model.label_map(labels))
    for stage_model, cond, image, stage_unknown, stride in stages:
        todo = stage_unknown.nonzero()
        if len(todo) == 0:
            continue
        last_i, last_j = todo[-1].tolist()
        cache = stage_model.new_cache(canvas.shape[0], cond)
        w = stage_model.image_shape[2]
        unknown_rows = stage_unknown.tolist()  # Python lists: reading a tensor element costs microseconds
        for i in range(last_i + 1):
            for j in range(w if i < last_i else last_j + 1):
                if not unknown_rows[i][j]:
                    cache.step(image, i, j, colors - 1)
                    continue
                for c in range(colors):
                    position = (c, i * stride, j * stride)
                    probs, value = choose(cache.step(image, i, j, c), position)
                    image[:, c, i, j] = value
                    yield position, probs, value


def _reference_steps(model, canvas, order, choose, labels):
    """One full forward pass per sub-pixel of ``order``, ``choose`` and ``labels`` as in :func:`cached_steps`;
    yields ``(position, probs, value)`` of each."""
    for c, i, j in order.tolist():
        probs, value = choose(model(canvas, labels)[:, :, c, i, j], (c, i, j))
        canvas[:, c, i, j] = value
        yield (c, i, j), probs, value


def _prepare(model: PixelModel, n: int, image, mask, temperature: float, label):
    """Check the arguments; return a fresh canvas ``LongTensor[n, C, H, W]``, mask ``BoolTensor[H, W]`` and
    labels (``LongTensor[n]``, None for an unconditional model)."""
    if not isinstance(model, PixelModel):
        raise ValueError(f"expected a pixelrnn model, got {type(model).__name__}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    labels = model.check_label(label, n)
    c, h, w = model.image_shape
    device = model.device
    if image is None:
        if mask is not None:
            raise ValueError("a mask needs an image to complete: pass image= as well")
        canvas = torch.zeros(n, c, h, w, dtype=torch.long, device=device)
        return canvas, torch.ones(h, w, dtype=torch.bool, device=device), labels
    image = _as_image_batch(model, image)
    if image.shape[0] not in (1, n):
        raise ValueError(f"image has a batch of {image.shape[0]}, but n={n}: pass one image or n images")
    if mask is None:
        raise ValueError("an image needs a mask: bool [H, W], True = the pixels to sample")
    mask = torch.as_tensor(mask, device=device)
    if mask.shape != (h, w):
        raise ValueError(f"mask must have shape [{h}, {w}] (the image's H, W), got {list(mask.shape)}")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor (True = unknown), got dtype {mask.dtype}")
    return image.expand(n, c, h, w).clone().to(device), mask, labels


def _as_image_batch(model: PixelModel, image) -> torch.Tensor:
    """An image or batch in any of the accepted forms -> ``LongTensor[b, C, H, W]`` for ``model``."""
    c, h, w = model.image_shape
    image = torch.as_tensor(image)
    if image.is_floating_point():
        raise ValueError(
            f"image must hold integers in [0, {model.levels}), got dtype {image.dtype}; "
            f"quantize it first, e.g. (x * {model.levels - 1}).round().long()"
        )
    if image.dim() == 2:
        image = image[None]
    if image.dim() == 3:
        image = image[None]
    if image.dim() != 4:
        raise ValueError(f"image must be [C, H, W] or [n, C, H, W], got shape {list(image.shape)}")
    if tuple(image.shape[2:]) != (h, w):
        raise ValueError(f"image is {image.shape[2]}x{image.shape[3]} but the model takes {h}x{w}: resize or crop it first")
    if image.numel() and (int(image.min()) < 0 or int(image.max()) >= model.levels):
        raise ValueError(
            f"image values must lie in [0, {model.levels}) for this model, got [{int(image.min())}, {int(image.max())}]"
        )
    image = image.long()
    if image.shape[1] == c:
        return image
    if image.shape[1] == 1 and c == 3:
        warnings.warn("greyscale image given to an RGB model: repeating the grey channel as R, G and B", stacklevel=3)
        return image.expand(-1, 3, -1, -1)
    if image.shape[1] == 3 and c == 1:
        warnings.warn("RGB image given to a greyscale model: converting it to luminance (ITU-R 601)", stacklevel=3)
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (image.float() * weights).sum(1, keepdim=True).round().long().clamp(0, model.levels - 1)
    raise ValueError(f"image has {image.shape[1]} channels; expected {c} (or 1 or 3, which are converted)")
