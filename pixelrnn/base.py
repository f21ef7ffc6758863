"""What every model shares: input checks, the logits layout, the exact log-likelihood.

A model is an autoregressive distribution over integer images ``LongTensor[B, C, H, W]``
with values in ``[0, levels)``. Its ``forward`` returns logits ``[B, levels, C, H, W]``:
the conditional distribution of every sub-pixel given the sub-pixels before it in the
model's generation order (raster order, and R before G before B inside a pixel, for all
models but the multi-scale one, which has its own order: see :meth:`generation_order`).

A class-conditional model (``num_classes > 0``) also takes a label per image, ``LongTensor[B]``
in ``[0, num_classes)``: ``model(x, y)``, ``model.log_prob(x, y)``. Inside, the label is a
one-hot conditioning map (:meth:`PixelModel.label_map`) that every layer adds to its gates
through a 1x1 convolution: ``V^T y`` of the Gated PixelCNN paper (van den Oord et al. 2016b),
and the multi-scale model's way of biasing the LSTMs (paper section 3.5).
"""

from __future__ import annotations

import functools
import inspect

import torch
import torch.nn.functional as F
from torch import nn

from .hub import HubMixin
from .layers import PixelConv


class PixelModel(HubMixin, nn.Module):
    """Base class of the models; subclasses implement :meth:`network` and :meth:`new_cache`.

    Every model records the arguments it was built with in :attr:`config` (the name under key
    ``"model"``, then every constructor argument, defaults included), so that a model built from
    its class, ``PixelCNN((1, 28, 28), 256, hidden=32)``, can be saved and loaded like one from
    :func:`pixelrnn.build_model`.
    """

    #: The name under which :func:`pixelrnn.build_model` knows the model.
    name: str = ""
    #: Everything needed to build the model again: ``build_model(config["model"], **rest)``.
    config: dict

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _recording_config(cls.__init__)

    def __init__(self, image_shape: tuple[int, int, int], levels: int, num_classes: int = 0):
        super().__init__()
        if len(tuple(image_shape)) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {image_shape!r}")
        c, h, w = (int(s) for s in image_shape)
        if c not in (1, 3):
            raise ValueError(f"image_shape has C={c} channels; PixelRNN models take C=1 (greyscale) or C=3 (RGB)")
        if h < 1 or w < 1:
            raise ValueError(f"image_shape {image_shape!r} has an empty side")
        if not 2 <= int(levels) <= 256:
            raise ValueError(f"levels must be between 2 (binary) and 256 (8-bit), got {levels}")
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 0 or num_classes == 1:
            raise ValueError(f"num_classes must be 0 (unconditional) or an integer >= 2, got {num_classes!r}")
        self.image_shape = (c, h, w)
        self.levels = int(levels)
        #: Classes a conditional model takes a label from; 0 for an unconditional model.
        self.num_classes = num_classes
        self.colors = c
        self.register_buffer("embed_scale", torch.tensor(2.0 / (self.levels - 1)), persistent=False)

    @classmethod
    def check_sizes(cls, least: int = 1, **sizes) -> None:
        """Raise ``ValueError`` unless every hyper-parameter in ``sizes`` is an integer >= ``least``."""
        for key, value in sizes.items():
            if not isinstance(value, int) or value < least:
                raise ValueError(f"{cls.name}: {key} must be an integer >= {least}, got {value!r}")

    @classmethod
    def check_kernel(cls, kernel: int) -> None:
        """Raise ``ValueError`` unless ``kernel`` is a positive odd integer."""
        cls.check_sizes(kernel=kernel)
        if kernel % 2 == 0:
            raise ValueError(f"{cls.name}: kernel must be odd (it is centred on the pixel), got {kernel}")

    # ------------------------------------------------------------------ inputs
    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is an integer image batch this model can score."""
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"expected a torch.LongTensor [B, C, H, W], got {type(x).__name__}")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise ValueError(
                f"expected integer pixel values in [0, {self.levels}) (e.g. a torch.long tensor), got dtype {x.dtype}; "
                f"quantize float images first, e.g. (x * {self.levels - 1}).round().long()"
            )
        if x.dim() != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"expected a batch of shape [B, {', '.join(map(str, self.image_shape))}], got {list(x.shape)}")
        # The range check reads values back from the device: skip it inside torch.compile,
        # where it would break the graph (the checked, uncompiled call paths still run it).
        if torch.compiler.is_compiling():
            return
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.levels):
            raise ValueError(f"pixel values must lie in [0, {self.levels}), got values in [{int(x.min())}, {int(x.max())}]")

    def check_label(self, y, batch: int) -> torch.Tensor | None:
        """The labels of a batch of ``batch`` images as ``LongTensor[batch]`` on the model's device (None for an
        unconditional model); ``y`` is one label for all (an int) or one per image. ``ValueError`` for a
        conditional model without labels, an unconditional one with them, or labels out of range."""
        if self.num_classes == 0:
            if y is not None:
                raise ValueError("this model is unconditional (num_classes=0): call it without a label")
            return None
        if y is None:
            raise ValueError(
                f"this model is class-conditional ({self.num_classes} classes): pass a label per image, "
                f"e.g. model(x, y) or label=3, with labels in [0, {self.num_classes})"
            )
        if isinstance(y, torch.Tensor) and (y.is_floating_point() or y.is_complex() or y.dtype == torch.bool):
            raise ValueError(f"labels must be integers in [0, {self.num_classes}), got dtype {y.dtype}")
        try:
            labels = torch.as_tensor(y, dtype=torch.long, device=self.device)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"labels must be an int or a sequence of ints in [0, {self.num_classes}), got {y!r}") from error
        if labels.dim() == 0:
            labels = labels.expand(batch)
        if labels.shape != (batch,):
            raise ValueError(f"expected one label or {batch} (one per image), got shape {list(labels.shape)}")
        if batch and not torch.compiler.is_compiling() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            raise ValueError(
                f"labels must lie in [0, {self.num_classes}), got values in [{int(labels.min())}, {int(labels.max())}]"
            )
        return labels

    def label_map(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """Labels ``LongTensor[B]`` -> the one-hot conditioning map ``[B, num_classes, H, W]`` the layers read
        (None for None): the label at every pixel, known before any of them."""
        if labels is None:
            return None
        _, h, w = self.image_shape
        one_hot = F.one_hot(labels, self.num_classes).to(self.embed_scale.dtype)
        return one_hot[:, :, None, None].expand(-1, -1, h, w)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Integer values ``[0, levels)`` to floats in ``[-1, 1]``, same shape."""
        # A long tensor times a 0-dim float tensor takes the float's dtype, so the embedding
        # follows model.to(dtype) without looking the parameters up at every sampling step.
        return x * self.embed_scale - 1.0

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # ------------------------------------------------------------------ forward
    def network(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Embedded image ``[B, C, H, W]`` -> colour-major logits ``[B, C * levels, H, W]``.

        ``cond`` (``[B, channels, H, W]``) is the conditioning map: the :meth:`label_map` of a
        class-conditional model, and for the multi-scale model's conditional network the
        upsampled small image too.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``LongTensor[B, C, H, W]`` (and for a class-conditional model labels ``y``, ``LongTensor[B]``)
        -> logits ``[B, levels, C, H, W]``."""
        self.check_input(x)
        c, h, w = self.image_shape
        out = self.network(self.embed(x), self.label_map(self.check_label(y, x.shape[0])))
        return out.view(x.shape[0], c, self.levels, h, w).transpose(1, 2)

    def log_prob(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Exact log-likelihood of each image in nats (given its label ``y``, for a conditional model): ``Tensor[B]``."""
        # At least float32: half-precision log-softmax over 256 values loses the likelihood.
        logits = self(x, y)
        log_probs = torch.log_softmax(logits, dim=1, dtype=torch.promote_types(logits.dtype, torch.float32))
        return log_probs.gather(1, x.unsqueeze(1)).squeeze(1).flatten(1).sum(1)

    # ------------------------------------------------------------------ generation
    def generation_order(self) -> torch.Tensor:
        """Rank of each sub-pixel in the generation order: ``LongTensor[C, H, W]``.

        Raster order, colours inside a pixel: rank ``(i * W + j) * C + c``.
        """
        c, h, w = self.image_shape
        return torch.arange(c * h * w).view(h, w, c).permute(2, 0, 1).contiguous()

    def sampling_stages(self, image: torch.Tensor, unknown: torch.Tensor, cond: torch.Tensor | None = None):
        """The stages in which cached sampling fills ``image`` ``[n, C, H, W]`` in place.

        ``cond`` is the conditioning map of the whole image (the :meth:`label_map` of the labels,
        or None). Yields ``(model, cond, stage_image, stage_unknown, stride)``: a model to step
        through in raster order with ``model.new_cache(n, cond)``, the (view of the) image it fills,
        its ``[h, w]`` mask of pixels to sample, and the stride that maps its pixel ``(i, j)``
        to ``(i * stride, j * stride)`` of ``image``. One stage for raster-order models.
        """
        yield self, cond, image, unknown, 1

    def new_cache(self, batch: int, cond: torch.Tensor | None = None):
        """A :class:`Cache` for sampling ``batch`` images one pixel at a time."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        classes = f", num_classes={self.num_classes}" if self.num_classes else ""
        return f"image_shape={self.image_shape}, levels={self.levels}{classes}"


def _recording_config(init):
    """Wrap a model class's ``__init__`` so that it records its arguments in ``self.config``.

    Only the constructor of the object's own class records: a parent's ``__init__``, called
    through ``super()``, sees only the arguments its child hands on.
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if type(self).__init__ is recording_init:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(list(bound.arguments.items())[1:])
            for name, parameter in signature.parameters.items():
                if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                    arguments.update(arguments.pop(name))
            self.config = {"model": self.name, **arguments, "image_shape": list(self.image_shape)}

    return recording_init


class Cache:
    """Incremental evaluation of a model, one pixel at a time, in raster order.

    ``step(x, i, j, color)`` returns the logits ``[B, levels]`` of sub-pixel
    ``(color, i, j)`` given the current image ``x`` (``LongTensor[B, C, H, W]``), reading
    only sub-pixels before it. It must be called for every pixel in raster order, and
    for one pixel in increasing colour order; a pixel's state is final after its call
    with the last colour, ``C - 1``, which is the one call a known pixel gets (no feature
    of a pixel depends on its own last colour).
    """

    def __init__(self, model: PixelModel, batch: int):
        self.model, self.batch = model, batch
        #: Rows whose per-row work (:meth:`finish_row`) is done, for caches that have some.
        self.rows_done = 0
        self.pixel_convs = {module: PixelConv(module) for module in model.modules() if isinstance(module, (nn.Conv1d, nn.Conv2d))}
        self.head_hidden = self.conv(model.head.hidden)
        # The logits conv cut into one matrix per colour: a step needs only its own colour's.
        logits = self.conv(model.head.logits)
        self.head_logits = [
            (bias.contiguous(), weight_t.contiguous())
            for bias, weight_t in zip(logits.bias.chunk(model.colors), logits.weight_t.chunk(model.colors, dim=1))
        ]

    def conv(self, module: nn.Module) -> PixelConv:
        """The one-pixel form of one of the model's convolutions."""
        return self.pixel_convs[module]

    def head(self, features: torch.Tensor, color: int) -> torch.Tensor:
        """The output head at one pixel: features ``[B, hidden]`` -> logits ``[B, levels]`` of ``color``."""
        bias, weight_t = self.head_logits[color]
        return torch.addmm(bias, self.head_hidden(torch.relu(features)).relu_(), weight_t)

    def zeros(self, *shape: int) -> torch.Tensor:
        """A zero state ``[batch, *shape]`` on the model's device."""
        return torch.zeros(self.batch, *shape, device=self.model.device)

    def finish_rows_before(self, x: torch.Tensor, i: int) -> None:
        """Run :meth:`finish_row` on every completed row before row ``i`` that has not had it."""
        while self.rows_done < i:
            self.finish_row(x, self.rows_done)
            self.rows_done += 1

    def finish_row(self, x: torch.Tensor, i: int) -> None:
        """Work that needs the whole of row ``i`` (``x`` complete up to it), for caches that have any."""
        raise NotImplementedError

    def step(self, x: torch.Tensor, i: int, j: int, color: int) -> torch.Tensor:
        raise NotImplementedError
