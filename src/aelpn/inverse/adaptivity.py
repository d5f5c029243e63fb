"""Cross-operator evaluation (adaptivity): the unrolled network trained on one problem solves another problem's
measurements, for each configured pair of ``inverse.adaptivity``. The measurements and seeds are those of
``inverse.nc``, so its rows compare image by image with the methods that ran on the evaluated problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core.device import configure, describe
from aelpn.core.io import write_netcdf
from aelpn.core.provenance import annotate, attrs
from aelpn.core.titles import TITLES
from aelpn.inverse.priors import load_priors
from aelpn.inverse.jobs import adaptivity_pairs, pair_label
from aelpn.inverse.methods.registry import get
from aelpn.physics.problems import build_problem
from aelpn.inverse.run import UNITS, evaluation_set, measurements, solve_images

METRICS = ("psnr", "ssim", "seconds")


def evaluate_adaptivity(cfg: dict, crops_path: str, unrolled_paths, out: str) -> xr.Dataset:
    """Write ``out`` with dims (pair, image): psnr, ssim and seconds of the unrolled network of ``trained_on``
    (the file ``{trained_on}.pt`` among ``unrolled_paths``) on the problem ``evaluated_on`` (coordinates on
    ``pair``). cfg: seed, compute, model, train, inverse."""
    icfg = cfg["inverse"]
    pairs = adaptivity_pairs(icfg)
    files = {Path(p).stem: str(p) for p in unrolled_paths}
    missing = sorted({a for a, _ in pairs} - set(files))
    if missing:
        raise ValueError(f"inverse.adaptivity needs the unrolled networks {missing} ({{problem}}.pt), got {sorted(files)}")
    device = configure(cfg["compute"])
    method = get("unrolled")
    x_all, ids = evaluation_set(cfg, crops_path)
    res = {name: np.full((len(pairs), len(ids)), np.nan) for name in METRICS}
    for i, (trained_on, evaluated_on) in enumerate(pairs):
        problem = build_problem(evaluated_on, icfg, tuple(x_all.shape[1:]))
        params, y_all = measurements(problem, x_all, cfg["seed"])
        (prior,) = load_priors(method.prior, [files[trained_on]], cfg, device)
        solved = solve_images(cfg, method, prior, problem, x_all, params, y_all, device, 0)
        for name in METRICS:
            res[name][i] = solved[name]
    ds = xr.Dataset({name: (("pair", "image"), res[name]) for name in METRICS})
    ds = ds.assign_coords(pair=[pair_label(a, b) for a, b in pairs], trained_on=("pair", [a for a, _ in pairs]),
                          evaluated_on=("pair", [b for _, b in pairs]), image=ids)
    annotate(ds, {**{name: UNITS[name] for name in METRICS}, "pair": ("trained_on->evaluated_on", "1"),
                  "trained_on": ("problem the unrolled network was trained on", "1"),
                  "evaluated_on": ("problem whose measurements it solves", "1"),
                  "image": ("evaluation crop id", "1")})
    ds.attrs.update(attrs(TITLES["adaptivity"], cfg, describe(device)),
                    problems=json.dumps(icfg["problems"], sort_keys=True))
    write_netcdf(ds, out)
    return ds
