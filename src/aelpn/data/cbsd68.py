"""CBSD68, the standard colour denoising test set: 68 fixed images of the BSDS500 validation split (BSDS300's
test split), listed with their source in ``cbsd68_ids.txt``. They are held out: no crop of the training or
validation data comes from them (``held_out``), and ``cbsd68_files`` resolves them in a fetched copy."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from aelpn.data.errors import DataError
from aelpn.data.layout import IMAGES_DIR

CBSD68_SPLIT = "val"
CBSD68_COUNT = 68


def cbsd68_ids() -> tuple[str, ...]:
    """The 68 image ids of CBSD68 in numeric order (the comment lines of the list are skipped)."""
    text = resources.files("aelpn.data").joinpath("cbsd68_ids.txt").read_text()
    ids = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    if len(ids) != CBSD68_COUNT or len(set(ids)) != CBSD68_COUNT:
        raise DataError(f"cbsd68_ids.txt: {len(set(ids))} distinct ids, expected {CBSD68_COUNT}")
    return ids


def cbsd68_files(images_dir: str | Path) -> list[Path]:
    """The 68 CBSD68 JPEGs of a directory written by ``aelpn data fetch`` (``images/val/<id>.jpg``), in the
    list's order; a DataError names the ids that do not resolve."""
    folder = Path(images_dir) / IMAGES_DIR / CBSD68_SPLIT
    paths = [folder / f"{image_id}.jpg" for image_id in cbsd68_ids()]
    missing = [p.stem for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"{folder}: {len(missing)} CBSD68 image(s) missing: {', '.join(missing)}; "
                        f"is {images_dir} a BSDS500 copy written by 'aelpn data fetch'?")
    return paths


def held_out(paths: list[Path]) -> list[Path]:
    """``paths`` without the CBSD68 images (matched by file stem): what training and validation may read."""
    excluded = set(cbsd68_ids())
    return [p for p in paths if p.stem not in excluded]
