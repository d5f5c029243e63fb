"""The BSDS500 image layout: ``images/{train,val,test}/*.jpg`` with 200/100/200 images, found anywhere inside
a directory or archive (the GitHub mirror, Berkeley's BSR tarball and the offline copy nest it differently)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from aelpn.data.errors import LayoutError

BSDS_COUNTS = {"train": 200, "val": 100, "test": 200}
IMAGES_DIR = "images"


def is_image(name: str) -> bool:
    """True for a JPEG file name (BSDS500 ships ``<id>.jpg``; Thumbs.db and the like are ignored)."""
    return name.lower().endswith(".jpg")


def locate_images(names: Iterable[str], where: str) -> dict[str, list[str]]:
    """Group relative POSIX file paths into ``{split: [path, ...]}`` (sorted) for the unique folder named
    ``images`` that holds JPEGs directly in all of ``train``, ``val`` and ``test``. ``where`` names the
    source in errors."""
    found: dict[tuple[str, ...], dict[str, list[str]]] = {}
    for name in names:
        parts = PurePosixPath(name).parts
        if len(parts) >= 3 and parts[-3] == IMAGES_DIR and parts[-2] in BSDS_COUNTS and is_image(parts[-1]):
            found.setdefault(parts[:-2], {s: [] for s in BSDS_COUNTS})[parts[-2]].append(name)
    complete = {prefix: splits for prefix, splits in found.items() if all(splits.values())}
    if not complete:
        raise LayoutError(f"{where}: no '{IMAGES_DIR}/{{train,val,test}}' folder with JPEG images found")
    if len(complete) > 1:
        listed = ", ".join(sorted("/".join(p) for p in complete))
        raise LayoutError(f"{where}: several '{IMAGES_DIR}/{{train,val,test}}' folders found: {listed}")
    (splits,) = complete.values()
    check_counts({s: len(v) for s, v in splits.items()}, where)
    return {s: sorted(v) for s, v in splits.items()}


def check_counts(counts: dict[str, int], where: str) -> None:
    """Raise LayoutError unless ``counts`` are exactly BSDS500's 200 train, 100 val and 200 test images."""
    wrong = [f"{s}: {counts.get(s, 0)} (expected {n})" for s, n in BSDS_COUNTS.items() if counts.get(s, 0) != n]
    if wrong:
        raise LayoutError(f"{where}: not the BSDS500 image counts: " + "; ".join(wrong))
