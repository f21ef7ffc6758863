"""Exact likelihoods in the units people report: bits per dimension, bits per sub-pixel."""

from __future__ import annotations

import math

import torch


def bits_per_dim(log_prob: torch.Tensor, image_shape) -> torch.Tensor:
    """Log-likelihood in nats (``Tensor[B]``) -> bits per sub-pixel: ``-lp / (C * H * W * ln 2)``."""
    dims = math.prod(int(s) for s in image_shape)
    return -log_prob / (dims * math.log(2.0))


def pixel_bits(model, image: torch.Tensor, label=None) -> torch.Tensor:
    """Bits each sub-pixel costs under ``model``: ``-log2 p(x_k | x_<k)`` (given the class ``label``, one for
    all images or one per image, for a class-conditional model).

    ``image``: ``LongTensor[C, H, W]`` or ``[B, C, H, W]``; returns the same shape (float).
    Summed, it is the image's exact negative log-likelihood in bits; high values mark what
    the model finds surprising.
    """
    single = image.dim() == 3
    batch = image[None] if single else image
    with torch.no_grad():
        logits = model(batch.to(model.device), label)
        log_probs = torch.log_softmax(logits, dim=1, dtype=torch.promote_types(logits.dtype, torch.float32))
        bits = -log_probs.gather(1, batch.to(model.device)[:, None]).squeeze(1) / math.log(2.0)
    return bits[0] if single else bits
