"""Real BSDS500 crops for the benchmarks: seeded random square crops of the training images, read straight
from a BSDS500 directory (``images/train/*.jpg``, as ``aelpn data fetch`` writes it or the offline copy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from aelpn.core.seeding import generator
from aelpn.data.crops import crop_corners, image_files


def bench_crops(images_dir: str | Path, size: int, count: int, channels: int, seed: int) -> torch.Tensor:
    """``count`` crops of side ``size`` (float32 in [0, 1], shape (count, channels, size, size)), one per
    training image in id order (cycling when ``count`` exceeds the images), corners drawn from a generator
    seeded by (seed, "bench", size)."""
    paths = image_files(images_dir, "train")
    gen = generator(seed, "bench", str(size))
    mode = "L" if channels == 1 else "RGB"
    crops = []
    for k in range(count):
        with Image.open(paths[k % len(paths)]) as im:
            pixels = np.asarray(im.convert(mode), dtype=np.uint8)
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        (top, left), = crop_corners(pixels.shape[1], pixels.shape[2], size, 1, gen)
        crops.append(pixels[:, top : top + size, left : left + size])
    return torch.from_numpy(np.stack(crops)).float() / 255.0
