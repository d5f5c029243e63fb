"""``aelpn results show``: mean ± std over images per coordinate, sensible summaries of other files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import xarray as xr

from aelpn.core.io import write_netcdf
from aelpn.report.results import show


def _sweep_file(path):
    psnr = np.array([[[20.0, 22.0, 24.0], [10.0, 10.0, 10.0]]])  # variant, sigma, image
    ds = xr.Dataset(
        {"psnr": (("variant", "sigma", "image"), psnr),
         "clean": (("example_image", "channel", "y", "x"), np.full((1, 1, 4, 4), 0.25))},
        coords={"variant": ["aelpn"], "sigma": [0.1, 0.3], "image": ["a", "b", "c"], "example_image": ["a"]},
        attrs={"title": "a sweep", "git_describe": "abc123-dirty", "config_hash": "0123456789abcdef"},
    )
    ds["psnr"].attrs.update(long_name="denoising PSNR", units="dB")
    return write_netcdf(ds, path)


def test_mean_and_std_over_images_per_coordinate(tmp_path):
    text = show(_sweep_file(tmp_path / "sweep.nc"))
    assert "psnr (variant=1, sigma=2, image=3) [dB]: denoising PSNR" in text
    assert "mean ± std over 3 images" in text
    row = next(line for line in text.splitlines() if line.startswith("aelpn"))
    assert "22.000 ± 2.000" in row and "10.000 ± 0.000" in row  # sample std (ddof=1) of 20, 22, 24
    assert "git_describe: abc123-dirty" in text and "config_hash: 0123456789abcdef" in text
    assert "image data, values in [0.250, 0.250]" in text


def test_file_without_images_summarises_along_its_longest_dimension(tmp_path):
    steps = np.arange(1, 51)
    val = np.where(steps % 10 == 0, steps / 2.0, np.nan)
    ds = xr.Dataset({"loss": (("variant", "step"), np.stack([1.0 / steps, 2.0 / steps])),
                     "val_psnr": (("variant", "step"), np.stack([val, val + 1]))},
                    coords={"variant": ["lpn", "scale"], "step": steps})
    text = show(write_netcdf(ds, tmp_path / "training.nc"))
    assert "along step (50 values)" in text
    lines = text.splitlines()
    val_rows = lines[next(i for i, line in enumerate(lines) if line.startswith("val_psnr")):]
    scale = next(line for line in val_rows if line.startswith("scale")).split()
    assert scale[1:] == ["NaN", "26.0", "6.0", "26.0"]  # first step, last finite, min, max


def test_small_files_show_their_values_and_the_cli_prints_the_summary(tmp_path):
    ds = xr.Dataset({"max_error": ("variant", [0.5, 0.01])}, coords={"variant": ["lpn", "scale"]})
    path = write_netcdf(ds, tmp_path / "small.nc")
    text = show(path)
    assert "0.01" in text and "scale" in text
    out = subprocess.run([sys.executable, "-m", "aelpn.cli", "results", "show", str(path)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == text
