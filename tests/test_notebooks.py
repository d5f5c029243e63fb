"""Figure notebooks: papermill contract (metadata, one parameters cell) and execution on small fake results."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import xarray as xr

from aelpn.core import provenance
from aelpn.core.io import write_netcdf
from aelpn.sweeps import evaluate as sweeps
from aelpn.sweeps.combine import combine_sweep
from configs import job_slice

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "workflow" / "notebooks").glob("*.ipynb"))
# this file's figures -> the metrics file each plots
FIGURES = {
    "prox1d": "prox1d",
    "noise_sweep": "noise_sweep",
    "denoising_examples": "noise_sweep",
    "affine_sweep": "affine_sweep",
    "training_curves": "training",
    "cbsd68": "cbsd68",
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_follows_the_papermill_contract(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["language_info"]["name"] == "python"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    for name in ("out_pdf", "out_png", "dpi"):
        assert f"{name} = " in tagged[0].source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit notebooks without outputs"


def test_every_figure_has_a_notebook_and_a_caption():
    for name in FIGURES:
        assert (REPO / "workflow" / "notebooks" / f"{name}.ipynb").is_file()
        assert (REPO / "workflow" / "report" / f"{name}.rst").read_text().strip()


def _replicated(ds: xr.Dataset, replicates: int) -> xr.Dataset:
    """``ds`` as ``replicates`` training replicates (the leading ``seed`` dimension of the combined datasets, training
    seeds 0, 1, ...): replicate r's float variables scaled by 1 + 0.02 r, so that several replicates spread."""
    copies = [ds.assign({name: ds[name] * (1.0 + 0.02 * r) for name, v in ds.data_vars.items() if v.dtype.kind == "f"})
              for r in range(replicates)]
    out = xr.concat(copies, dim="seed", data_vars="all").assign_coords(seed=np.arange(replicates, dtype=np.int64))
    out["seed"].attrs["long_name"] = "training seed of the replicate"
    return out


def _fake_results(cfg: dict, out: Path, replicates: int) -> None:
    """Small metric files in the formats the pipeline writes, from fake denoisers, with ``replicates`` training
    replicates."""
    x = 0.2 + 0.6 * torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for kind in ("noise_sweep", "affine_sweep"):
        parts = []
        for i, v in enumerate(cfg["model"]["variants"]):
            ds = getattr(sweeps, kind)(lambda y, c=0.2 * i: (1 - c) * y + c * 0.5, x, ["a", "b", "c"], cfg,
                                       torch.device("cpu"))
            ds = sweeps.per_variant(ds, kind, v)
            ds.attrs = provenance.attrs("fake", cfg, "cpu")
            parts.append(write_netcdf(ds, out / "runs" / kind / f"seed{cfg['seeds'][0]}" / f"{v}.nc"))
        combined = combine_sweep(kind, cfg, parts, out / "runs" / f"{kind}.nc").isel(seed=0, drop=True)
        write_netcdf(_replicated(combined, replicates), out / f"{kind}.nc")
    steps = np.arange(1, 21)
    logs = xr.Dataset(
        {"loss": (("variant", "step"), np.exp(-steps / 10.0)[None] * np.arange(1, 3)[:, None]),
         "val_psnr": (("variant", "step"), np.where(steps % 5 == 0, 20 + steps / 5.0, np.nan)[None].repeat(2, 0))},
        coords={"variant": ["lpn", "aelpn"], "step": steps},
    )
    write_netcdf(_replicated(logs, replicates), out / "training.nc")
    grid = np.linspace(-4, 4, 41)
    prox1d = xr.Dataset(
        {"prox": (("variant", "x"), np.stack([0.5 * grid, 0.45 * grid])),
         "prox_true": ("x", 0.5 * grid),
         "regularizer": (("variant", "x"), np.stack([0.5 * grid**2, 0.4 * grid**2])),
         "regularizer_true": ("x", 0.5 * grid**2),
         "prox_max_error": ("variant", [0.0, 0.2])},
        coords={"variant": ["lpn", "scale"], "x": grid},
    )
    write_netcdf(_replicated(prox1d, replicates), out / "prox1d.nc")
    estimators, sigmas = ["noisy", "lpn", "aelpn_sq", "unconstrained", "denoiser"], [0.1, 0.2]
    psnr = 20.0 + np.random.default_rng(1).standard_normal((len(estimators), len(sigmas), 3)) + np.arange(5)[:, None, None]
    cbsd68 = xr.Dataset({"psnr": (("estimator", "sigma", "image"), psnr),
                         "ssim": (("estimator", "sigma", "image"), psnr / 40.0)},
                        coords={"estimator": estimators, "sigma": sigmas, "image": ["102061", "108005", "119082"]})
    write_netcdf(_replicated(cbsd68, replicates), out / "cbsd68.nc")


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_figure_notebooks_render_pdf_and_png_with_stable_bytes(smoke_config, tmp_path):
    """One training replicate: the figures as before replicates, bytes stable from run to run. Two replicates (the
    mean with a min-max band) are rendered by the smoke DAG (tests/smoke.yaml trains two), so they are not repeated
    here: every notebook costs two renders in this test."""
    replicates = 1
    cfg = job_slice(smoke_config, "seeds", "compute", "model", "noise_sweep", "affine_sweep", "figures",
                    model={"variants": ["lpn", "aelpn"]})
    cfg["seeds"] = [cfg["seed"]]  # the sweeps' parts as one replicate's files; _replicated makes the replicates
    _fake_results(cfg, tmp_path, replicates)
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    for name, metrics in FIGURES.items():
        digests = []
        for run in range(2):
            pdf, png = tmp_path / f"{name}{run}.pdf", tmp_path / f"{name}{run}.png"
            cmd = ["papermill", "--kernel", "python3", str(REPO / "workflow" / "notebooks" / f"{name}.ipynb"),
                   str(tmp_path / f"{name}.ipynb"), "-p", "metrics_path", str(tmp_path / f"{metrics}.nc"),
                   "-p", "out_pdf", str(pdf), "-p", "out_png", str(png), "-p", "dpi", "50"]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
            assert out.returncode == 0, out.stderr[-3000:]
            assert png.read_bytes()[:4] == b"\x89PNG" and pdf.read_bytes()[:4] == b"%PDF"
            digests.append((_md5(pdf), _md5(png)))
        assert digests[0] == digests[1], f"{name}: figure bytes differ between two runs"
