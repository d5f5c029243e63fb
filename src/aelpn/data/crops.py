"""Square crops of one BSDS500 split, stored as one netCDF file (variable ``crops``, uint8, dims
image, channel, y, x). The training split gets ``train_crops_per_image`` seeded random crops per image,
the other splits one centre crop per image. The training and validation splits never read a CBSD68 image
(``aelpn.data.cbsd68.held_out``): validation on BSDS500 ``val`` uses its 32 images outside CBSD68."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr
from PIL import Image

from aelpn.core.config import ConfigError
from aelpn.core.io import read_netcdf, write_netcdf
from aelpn.core.progress import progress_bar
from aelpn.core.provenance import annotate, attrs, channel_labels
from aelpn.core.seeding import generator
from aelpn.data.cbsd68 import held_out
from aelpn.data.errors import DataError
from aelpn.data.fetch import read_source
from aelpn.data.layout import IMAGES_DIR, is_image


def image_files(images_dir: str | Path, split: str, max_images: int | None = None,
                exclude_cbsd68: bool = False) -> list[Path]:
    """The JPEGs of ``split`` in id order (file stem; numeric ids numerically), without the CBSD68 images when
    ``exclude_cbsd68``, the first ``max_images``."""
    folder = Path(images_dir) / IMAGES_DIR / split
    if not folder.is_dir():
        raise DataError(f"{folder}: no such directory; run 'aelpn data fetch' first")
    paths = sorted((p for p in folder.iterdir() if is_image(p.name)), key=_id_order)
    if exclude_cbsd68:
        paths = held_out(paths)
    if max_images is not None:
        if max_images > len(paths):
            raise ConfigError(f"config key 'data.max_images.{split}': {max_images} > {len(paths)} images in {folder}"
                              + (" outside CBSD68" if exclude_cbsd68 else ""))
        paths = paths[:max_images]
    return paths


def _id_order(path: Path) -> tuple:
    return (0, int(path.stem), path.stem) if path.stem.isdigit() else (1, 0, path.stem)


def _decode(path: Path, mode: str) -> np.ndarray:
    """The pixels of one JPEG; a truncated or corrupt file is a DataError naming it."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode), dtype=np.uint8)
    except OSError as err:
        raise DataError(f"{path}: cannot decode the image ({err}); restore it in the data source, delete "
                        f"{path.parents[2]} and rerun (it is fetched again)") from None


def crop_corners(height: int, width: int, size: int, count: int, gen: torch.Generator | None) -> list[tuple]:
    """Top-left corners of ``count`` crops of side ``size``: uniform over the valid corners
    (top in [0, height - size], left in [0, width - size]) drawn with ``gen``, or the centre crop
    (top = (height - size) // 2, left = (width - size) // 2) when ``gen`` is None."""
    if gen is None:
        return [((height - size) // 2, (width - size) // 2)]
    tops = torch.randint(0, height - size + 1, (count,), generator=gen)
    lefts = torch.randint(0, width - size + 1, (count,), generator=gen)
    return list(zip(tops.tolist(), lefts.tolist()))


def make_crops(images_dir: str | Path, split: str, data_cfg: dict, seed: int, out_path: str | Path) -> Path:
    """Crop ``split`` of a directory written by ``fetch`` into the netCDF file ``out_path``.

    Random crops when ``split`` is ``data.splits.train``, else one centre crop per image; RGB, or one
    luminance channel (PIL "L") when ``data.grayscale``. The training and validation splits leave out the
    CBSD68 images (the benchmark's test set)."""
    size = data_cfg["crop_size"]
    training = split == data_cfg["splits"]["train"]
    per_image = data_cfg["train_crops_per_image"] if training else 1
    mode = "L" if data_cfg["grayscale"] else "RGB"
    source = read_source(images_dir)
    held = split in (data_cfg["splits"]["train"], data_cfg["splits"]["validate"])
    paths = image_files(images_dir, split, data_cfg["max_images"][split], exclude_cbsd68=held)

    crops, names, owners, tops, lefts = [], [], [], [], []
    for path in progress_bar(paths, desc=f"crops {split}", unit="image"):
        image_id = path.stem
        pixels = _decode(path, mode)
        pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
        height, width = pixels.shape[1:]
        if size > min(height, width):
            raise ConfigError(f"config key 'data.crop_size': {size} exceeds the {height}x{width} image {path}")
        # one generator per image, from (seed, split, id): an image's crops do not depend on the other images
        gen = generator(seed, "crops", split, image_id) if training else None
        for k, (top, left) in enumerate(crop_corners(height, width, size, per_image, gen)):
            crops.append(pixels[:, top : top + size, left : left + size])
            names.append(f"{image_id}_{k}" if training else image_id)
            owners.append(image_id)
            tops.append(top)
            lefts.append(left)

    ds = xr.Dataset(
        {"crops": (("image", "channel", "y", "x"), np.stack(crops))},
        coords={
            "image": np.array(names, dtype=object),
            "image_id": ("image", np.array(owners, dtype=object)),
            "top": ("image", np.array(tops, dtype=np.int32)),
            "left": ("image", np.array(lefts, dtype=np.int32)),
            "channel": channel_labels(crops[0].shape[0]),
        },
    )
    annotate(
        ds,
        {
            "crops": (f"BSDS500 {split} crop, {'luminance' if mode == 'L' else 'RGB'} intensity 0-255", "1"),
            "image": ("crop identifier", "1"),
            "image_id": ("BSDS500 image id", "1"),
            "top": ("row of the crop's top edge in the image", "1"),
            "left": ("column of the crop's left edge in the image", "1"),
            "channel": ("colour channel", "1"),
        },
    )
    ds.attrs.update(attrs(f"BSDS500 {split} crops of {size}x{size}", {"seed": seed, "data": data_cfg}, "cpu"))
    ds.attrs.update(
        data_source=source["location"],
        data_checksum=source["checksum"],
        seed=seed,
        split=split,
        crop_size=size,
        crop_kind="random" if training else "centre",
        cbsd68_excluded=int(held),
        color_mode=mode,
    )
    return write_netcdf(ds, out_path)


def load_crops(path: str | Path) -> tuple[torch.Tensor, list[str]]:
    """Crops of a netCDF file as a float32 tensor (N, C, H, W) in [0, 1] (uint8 / 255) and their ids."""
    ds = read_netcdf(path)
    if "crops" not in ds or ds["crops"].dtype != np.uint8:
        raise DataError(f"{path}: no uint8 variable 'crops'; not a file written by 'aelpn data crops'")
    x = torch.from_numpy(ds["crops"].values).to(torch.float32) / 255.0
    return x, [str(i) for i in ds["image"].values]
