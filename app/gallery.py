"""The bundled test images: ``app/gallery/<dataset>/<NN>_<class>.png`` (written by ``app.make_gallery``)."""

from __future__ import annotations

from pathlib import Path

GALLERY_DIR = Path(__file__).resolve().parent / "gallery"


def gallery_datasets() -> list[str]:
    """The data sets that have a gallery, sorted."""
    if not GALLERY_DIR.is_dir():
        return []
    return sorted(d.name for d in GALLERY_DIR.iterdir() if d.is_dir() and any(d.glob("*.png")))


def gallery_items(dataset: str | None) -> list[tuple[str, str]]:
    """``(path, caption)`` of each image of ``dataset``'s gallery; every gallery's when it has none of its own."""
    datasets = [dataset] if dataset in gallery_datasets() else gallery_datasets()
    items = []
    for name in datasets:
        for path in sorted((GALLERY_DIR / name).glob("*.png")):
            items.append((str(path), path.stem.split("_", 1)[-1].replace("-", " ")))
    return items
