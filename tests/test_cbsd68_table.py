"""The CBSD68 table (aelpn.claims.cbsd68_table): means with the claims' two-level paired-bootstrap interval per
estimator and sigma, and the paired differences unconstrained - lpn, unconstrained - aelpn_sq. Synthetic
cbsd68.nc layouts, float64."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from aelpn.claims.cbsd68_table import DIFFERENCE, ESTIMATES, cbsd68_table
from aelpn.core.io import DatasetError

ESTIMATORS = ["noisy", "lpn", "aelpn_sq", "unconstrained", "denoiser"]
SIGMAS = [0.05, 0.1]
N = 16


def _cbsd68(offsets: list[dict], common_scale: float = 3.0) -> xr.Dataset:
    """cbsd68.nc of len(offsets) replicates: PSNR = a per-image level common to every estimator (spread
    ``common_scale`` dB) + the replicate's offset of the estimator; SSIM = PSNR / 100."""
    common = common_scale * np.random.default_rng(0).standard_normal(N)
    psnr = np.array([[[common + 20.0 + 5.0 * s + offsets[r].get(e, 0.0) for s in SIGMAS] for e in ESTIMATORS]
                     for r in range(len(offsets))])
    return xr.Dataset({"psnr": (("seed", "estimator", "sigma", "image"), psnr),
                       "ssim": (("seed", "estimator", "sigma", "image"), psnr / 100.0)},
                      coords={"seed": np.arange(len(offsets), dtype=np.int64), "estimator": ESTIMATORS,
                              "sigma": SIGMAS, "image": [f"im{i}" for i in range(N)]})


def _cell(table, block, row, metric="psnr", sigma=0.1):
    hit = table[(table.block == block) & (table.row == row) & (table.metric == metric) & (table.sigma == sigma)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_means_and_paired_differences_of_one_replicate():
    """One replicate: the mean over images with an interval around it; the difference unconstrained - lpn, constant
    over images (the per-image level cancels), has the degenerate interval [0.4, 0.4], which pairing alone gives."""
    ds = _cbsd68([{"unconstrained": 0.4, "aelpn_sq": 1.0}])
    table = cbsd68_table(ds, 500, 0.95, 0)
    lpn = _cell(table, ESTIMATES, "lpn")
    assert lpn["mean"] == pytest.approx(float(ds["psnr"].sel(estimator="lpn", sigma=0.1).mean()))
    assert lpn["ci_low"] < lpn["mean"] < lpn["ci_high"] and lpn["replicates"] == 1 and lpn["images"] == N
    diff = _cell(table, DIFFERENCE, "unconstrained - lpn")
    assert diff["mean"] == pytest.approx(0.4) and diff["ci_low"] == pytest.approx(0.4)
    assert diff["ci_high"] == pytest.approx(0.4)
    assert _cell(table, DIFFERENCE, "unconstrained - aelpn_sq", "ssim")["mean"] == pytest.approx(-0.006)
    assert set(table[table.block == DIFFERENCE]["row"]) == {"unconstrained - lpn", "unconstrained - aelpn_sq"}


def test_replicates_that_disagree_widen_the_difference_interval():
    """Two replicates with the difference 0.4 and 1.4 dB: the mean is 0.9 and the interval spans both."""
    table = cbsd68_table(_cbsd68([{"unconstrained": 0.4}, {"unconstrained": 1.4}]), 500, 0.95, 0)
    diff = _cell(table, DIFFERENCE, "unconstrained - lpn")
    assert diff["mean"] == pytest.approx(0.9) and diff["replicates"] == 2
    assert diff["ci_low"] == pytest.approx(0.4) and diff["ci_high"] == pytest.approx(1.4)


def test_a_difference_of_an_absent_estimator_is_left_out():
    table = cbsd68_table(_cbsd68([{}]).drop_sel(estimator="aelpn_sq"), 100, 0.95, 0)
    assert set(table[table.block == DIFFERENCE]["row"]) == {"unconstrained - lpn"}


def test_a_file_without_replicates_is_named():
    with pytest.raises(DatasetError, match="old.nc: no 'seed' dimension"):
        cbsd68_table(_cbsd68([{}]).isel(seed=0), 100, 0.95, 0, "old.nc")
