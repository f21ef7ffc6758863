"""pixelrnn: Pixel Recurrent Neural Networks (van den Oord, Kalchbrenner, Kavukcuoglu 2016) in PyTorch.

import pixelrnn
model = pixelrnn.build_model("diagonal_bilstm", image_shape=(3, 32, 32), levels=256)
logits = model(x)                       # LongTensor[B, C, H, W] -> Tensor[B, levels, C, H, W]
bpd = pixelrnn.bits_per_dim(model.log_prob(x), model.image_shape)
images = pixelrnn.sample(model, n=4)
blob = pixelrnn.compress(model, x)      # a lossless file of about -log2 p(x) bits; decompress(model, blob) gives x
"""

from . import data
from .base import Cache, PixelModel
from .codec import compress, decompress
from .likelihood import bits_per_dim, pixel_bits
from .models import MODELS, PRESETS, build_model, load
from .receptive_field import receptive_field
from .sampling import Completions, Generation, SamplingRequest, Step, complete, generate, generate_many, sample

__all__ = [
    "MODELS",
    "PRESETS",
    "Cache",
    "Completions",
    "Generation",
    "PixelModel",
    "SamplingRequest",
    "Step",
    "bits_per_dim",
    "build_model",
    "complete",
    "compress",
    "data",
    "decompress",
    "generate",
    "generate_many",
    "load",
    "pixel_bits",
    "receptive_field",
    "sample",
]
