"""The report's workflow description (filled in from the config) and its metrics tables, built fast from a
synthetic inverse.nc: only the table rule may run (--allowed-rules), so nothing upstream is computed."""

from __future__ import annotations

import json
import re

import numpy as np
import xarray as xr

from aelpn.core.io import write_netcdf
from workflow_utils import snakemake, write_config


def test_report_has_the_workflow_description_and_the_inverse_table(tmp_path, smoke_config):
    configfile = write_config(smoke_config, tmp_path)
    rng = np.random.default_rng(0)
    shape = {"estimator": ["pnp_admm[lpn]", "unrolled"], "problem": list(smoke_config["inverse"]["problems"]),
             "image": ["1", "2", "3"]}
    ds = xr.Dataset({v: (tuple(shape), rng.random((2, len(shape["problem"]), 3))) for v in ("psnr", "ssim", "seconds")},
                    coords=shape)
    write_netcdf(ds, tmp_path / "results" / "metrics" / "inverse.nc")
    # the target goes after an option: --configfile takes every following word
    target = ("results/tables/inverse.csv", "--allowed-rules", "table_inverse")
    built = snakemake(tmp_path, configfile, "--cores", "1", *target)
    assert built.returncode == 0, built.stderr[-3000:]
    rows = (tmp_path / target[0]).read_text().splitlines()
    assert rows[0] == "estimator,problem,psnr_mean,psnr_std,ssim_mean,ssim_std,seconds_mean,seconds_std"
    assert len(rows) == 1 + 2 * len(shape["problem"])

    out = snakemake(tmp_path, configfile, "--report", "report.html", *target)
    assert out.returncode == 0, out.stderr[-3000:]
    html = (tmp_path / "report.html").read_text()
    assert f"{smoke_config['data']['crop_size']} px crops" in html
    assert ", ".join(smoke_config["model"]["variants"]) in html
    found = re.search(r'<script id="results">\s*var \w+ = (.*?);\s*</script>', html, re.S)
    results = json.loads(found.group(1))
    assert "Metrics table of" in results[target[0]]["caption"]
