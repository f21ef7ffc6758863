"""The models as lossless codecs (:mod:`pixelrnn.codec`) against the codecs people use, on a test set.

    python bench/compression.py                                          # the shipped Fashion-MNIST models
    python bench/compression.py --checkpoints checkpoints/cifar10-pixelcnn --max-images 500
    python bench/compression.py --checkpoints MODEL_FOLDER --data binarized_mnist --batch-size 1000

Per model: the bits/dim of the actual compressed files (the test set in files of ``--batch-size``
images, headers included), the model's -log2 p(x) in bits/dim, PNG, WebP lossless and JPEG XL
lossless files of each image (binary images as 1-bit PNG), and xz over the raw bytes of the whole
set; then the codec's encode and decode speed. JPEG XL needs ``imagecodecs`` (``pip install
-e ".[bench]"``); without it that column says n/a. Every file the codec writes is decoded and
checked against its images. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import io
import lzma
import math
import time
from pathlib import Path

import torch
from PIL import Image

import pixelrnn
from pixelrnn.pictures import to_uint8
from train.hardware import hardware_name

try:
    import imagecodecs
except ImportError:  # a bench-only extra
    imagecodecs = None

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(str(folder) for folder in (REPO / "checkpoints").glob("fashion_mnist-*"))


def picture_bytes(image: torch.Tensor, levels: int) -> dict[str, int]:
    """Sizes in bytes of ``image`` (``LongTensor[C, H, W]``) as a PNG, a WebP and a JPEG XL file, each lossless."""
    pixels = to_uint8(image, levels)
    picture = Image.fromarray(pixels[..., 0] if image.shape[0] == 1 else pixels)
    if levels == 2:
        picture = picture.convert("1")
    sizes = {}
    for name, options in (("PNG", dict(optimize=True)), ("WebP", dict(lossless=True, quality=100, method=6))):
        buffer = io.BytesIO()
        picture.save(buffer, format=name, **options)
        sizes[name] = buffer.tell()
    if imagecodecs is not None:
        sizes["JPEG XL"] = len(
            imagecodecs.jpegxl_encode(pixels[..., 0] if image.shape[0] == 1 else pixels, lossless=True, effort=9)
        )
    return sizes


def measure(model: pixelrnn.PixelModel, images: torch.Tensor, batch_size: int) -> dict[str, float]:
    """Bits/dim of each way of storing ``images`` (``LongTensor[N, C, H, W]``), and the codec's images per second.

    Encoding and decoding are timed apart from the checks and the other codecs.
    """
    dims = images.numel()
    totals = {"codec": 0.0, "model": 0.0, "PNG": 0.0, "WebP": 0.0, "JPEG XL": 0.0 if imagecodecs else math.nan}
    encode_s = decode_s = 0.0
    for batch in images.split(batch_size):
        start = time.perf_counter()
        blob = pixelrnn.compress(model, batch)
        encode_s += time.perf_counter() - start
        start = time.perf_counter()
        decoded = pixelrnn.decompress(model, blob)
        decode_s += time.perf_counter() - start
        if not torch.equal(decoded.cpu(), batch):
            raise AssertionError("the codec did not give the images back exactly")
        totals["codec"] += 8 * len(blob)
        with torch.no_grad():
            totals["model"] += float(-model.log_prob(batch.to(model.device)).sum()) / math.log(2)
        for image in batch:
            for name, size in picture_bytes(image, model.levels).items():
                totals[name] += 8 * size
    result = {name: bits / dims for name, bits in totals.items()}
    raw = images.to(torch.uint8).numpy().tobytes()
    result["xz"] = 8 * len(lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)) / dims
    result["encode/s"], result["decode/s"] = len(images) / encode_s, len(images) / decode_s
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", nargs="+", default=SHIPPED, metavar="PATH_OR_REPO")
    parser.add_argument("--data", help="data set name or path (default: the one each model was trained on)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-images", type=int, help="the first this many images of the split (default: all)")
    parser.add_argument("--batch-size", type=int, default=256, help="images per compressed file")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)

    print(f"Lossless compression, bits/dim (lower is better), on {hardware_name(device)}, torch {torch.__version__}\n")
    columns = ["codec", "model", "PNG", "WebP", "JPEG XL", "xz"]
    print(f"| data | model | images | {' | '.join(columns)} | encode images/s | decode images/s |")
    print("| --- | --- | ---: |" + " ---: |" * (len(columns) + 2))
    for checkpoint in args.checkpoints:
        model = pixelrnn.load(checkpoint, device=device)
        data = args.data or model.metadata.get("dataset")
        if data is None:
            parser.error(f"{checkpoint} does not say what it was trained on: pass --data")
        c, h, w = model.image_shape
        images = pixelrnn.data.load_dataset(data, split=args.split, image_size=(h, w), channels=c)[: args.max_images].long()
        result = measure(model, images, args.batch_size)
        cells = " | ".join("n/a" if math.isnan(result[name]) else f"{result[name]:.3f}" for name in columns)
        name = Path(checkpoint).name
        print(
            f"| {Path(str(data)).name} | {name} | {len(images):,} | {cells} | {result['encode/s']:.1f} | {result['decode/s']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
