"""Crops files written by the data stage itself (``aelpn.data.make_crops``) from a fetched stand-in for BSDS500
whose images are smooth, seeded colour patterns, so every test reads the layout the pipeline writes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from aelpn.data import make_crops
from aelpn.data.fetch import fetch
from aelpn.data.layout import BSDS_COUNTS
from fake_bsds import write_dir

IMAGE_SIDE = 40


def smooth_jpegs(side: int = IMAGE_SIDE, seed: int = 0) -> dict[str, bytes]:
    """``{images/split/id.jpg: bytes}`` in BSDS500's counts: per channel 0.5 + 0.4 sin(a x + b y), a, b seeded."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, side), np.linspace(0, 1, side), indexing="ij")
    out, image_id = {}, 1
    for split, count in BSDS_COUNTS.items():
        for _ in range(count):
            freq = rng.uniform(0, 6, (3, 2))
            img = 0.5 + 0.4 * np.sin(freq[:, 0, None, None] * xx + 2 * freq[:, 1, None, None] * yy)
            buf = io.BytesIO()
            Image.fromarray((img.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(buf, format="JPEG", quality=95)
            out[f"images/{split}/{image_id}.jpg"] = buf.getvalue()
            image_id += 1
    return out


def fetched_stand_in(root: Path) -> Path:
    """``root/BSDS500``: the stand-in fetched by ``aelpn.data.fetch`` (source record and manifest included)."""
    raw = write_dir(root / "raw", smooth_jpegs())
    return fetch({"sources": [{"path": str(raw)}]}, root / "BSDS500")


def write_crops(fetched: Path, data_cfg: dict, path: Path, split: str, n: int, size: int, seed: int = 0) -> Path:
    """The crops file of the first ``n`` images of ``split`` (random crops, one per image, on the training split;
    centre crops otherwise), ``size`` x ``size`` RGB, exactly as ``aelpn data crops`` writes it."""
    cfg = dict(data_cfg, crop_size=size, train_crops_per_image=1, grayscale=False, max_images={split: n})
    return make_crops(fetched, split, cfg, seed, path)
