"""Combine the per-job files into ``inverse.nc`` with dims (seed, estimator, problem, image, ...) and the coordinates
``algorithm`` and ``prior`` on ``estimator`` (an estimator is a method with its prior, see aelpn.inverse.jobs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from aelpn.core.combine import CombineError, attach_provenance, by_seed, combine_runs, stack_seeds
from aelpn.core.io import read_netcdf, write_netcdf
from aelpn.core.provenance import annotate
from aelpn.core.titles import TITLES
from aelpn.inverse.jobs import DENOISER_PRIOR, estimators, jobs, priors, proximal_variants
from aelpn.inverse.run import INTEGERS, LAM_DESCRIPTION, PER_PRIOR, UNITS

# Every estimator that ran has these everywhere (the others may be NaN by design, e.g. psnr_sample).
COMPLETE = ("psnr", "ssim", "seconds", "iterations", "reconstruction")


def job_label(algorithm: str, problem: str) -> str:
    return f"{algorithm}@{problem}"


def held_job(path) -> str:
    """The job a per-job file holds, by its own ``algorithm`` and ``problem`` attributes; a file whose attributes
    disagree with its place ``.../{problem}/{algorithm}.nc``, or that has none, is a CombineError."""
    held = read_netcdf(path).attrs
    if "algorithm" not in held or "problem" not in held:
        raise CombineError(f"{path}: does not say which algorithm and problem it holds (not a per-job file of "
                           "'aelpn evaluate inverse')")
    placed = (Path(path).stem, Path(path).parent.name)
    if (held["algorithm"], held["problem"]) != placed:
        raise CombineError(f"{path}: holds algorithm '{held['algorithm']}' on problem '{held['problem']}', but lies "
                           f"where '{placed[0]}' on '{placed[1]}' belongs (.../{{problem}}/{{algorithm}}.nc)")
    return job_label(held["algorithm"], held["problem"])


def combine_inverse(cfg: dict, inputs, out: str) -> xr.Dataset:
    """Combine the per-job files (``.../seed{s}/{problem}/{algorithm}.nc``, each known by the replicate and the job
    its attributes name, see aelpn.core.combine.held_seed and ``held_job``) into ``out`` with dims (seed, estimator,
    problem, image, ...), the replicates in the order of ``cfg["seeds"]``; ``applicable`` marks the (estimator,
    problem) pairs that ran, all others are NaN. Every method runs in every replicate, the hand-crafted ones
    (tv_admm, wavelet_admm: no trained component) too, with the same results. Raises CombineError for a missing or
    unexpected replicate or job, a file that is not where its replicate and job belong, or a NaN metric in a job
    that ran."""
    ds = stack_seeds({seed: _replicate(cfg, paths) for seed, paths in by_seed(inputs, cfg["seeds"]).items()})
    attach_provenance(ds, cfg, TITLES["inverse"])
    ds.attrs["problems"] = json.dumps(cfg["inverse"]["problems"], sort_keys=True)
    write_netcdf(ds, out, integers=INTEGERS)
    return ds


def _replicate(cfg: dict, inputs) -> xr.Dataset:
    """One replicate's per-job files as a dataset with dims (estimator, problem, image, ...) and their ``parts``."""
    icfg, variants = cfg["inverse"], proximal_variants(cfg)
    expected = [job_label(a, p) for a, p in jobs(icfg)]
    labels = [held_job(p) for p in inputs]
    runs = combine_runs(inputs, "job", expected, labels=labels, shared=("truth",),
                        nan_ok=PER_PRIOR + ("train_seconds", "lam"))
    problems = list(icfg["problems"])
    ests = estimators(icfg, variants)
    first = runs.isel(job=0)
    shape = {name: first[name].sel(prior=DENOISER_PRIOR).shape for name in PER_PRIOR}
    data = {name: np.full((len(ests), len(problems), *shape[name]), np.nan) for name in PER_PRIOR}
    train_seconds = np.full((len(ests), len(problems)), np.nan)
    train_device = np.full((len(ests), len(problems)), "", dtype=object)
    lam = np.full(len(ests), np.nan)
    ran = np.zeros((len(ests), len(problems)), dtype=np.int8)
    measurement = np.full((len(problems), *first["measurement"].shape), np.nan)
    for (a, p) in jobs(icfg):
        part = runs.sel(job=job_label(a, p))
        pi = problems.index(p)
        measurement[pi] = part["measurement"].values
        for prior in priors(a, variants):
            ei = [e[1:] for e in ests].index((a, prior))
            sel = part.sel(prior=prior)
            for name in PER_PRIOR:
                data[name][ei, pi] = sel[name].values
            train_seconds[ei, pi], train_device[ei, pi] = sel["train_seconds"], str(sel["train_device"].values)
            ran[ei, pi], lam[ei] = 1, float(part["lam"])
            for name in COMPLETE:
                if np.isnan(data[name][ei, pi]).any():
                    raise CombineError(f"variable '{name}' holds NaN for estimator {ests[ei][0]} on problem {p}")
    dims = {name: ("estimator", "problem") + runs[name].sel(prior=DENOISER_PRIOR).dims[1:] for name in PER_PRIOR}
    ds = xr.Dataset({name: (dims[name], data[name]) for name in PER_PRIOR})
    ds["train_seconds"] = (("estimator", "problem"), train_seconds)
    ds["train_device"] = (("estimator", "problem"), train_device.astype(str))
    ds["applicable"] = (("estimator", "problem"), ran)
    ds["measurement"] = (("problem",) + runs["measurement"].dims[1:], measurement)
    ds["truth"] = runs["truth"]
    ds = ds.assign_coords(estimator=[e[0] for e in ests], algorithm=("estimator", [e[1] for e in ests]),
                          prior=("estimator", [e[2] for e in ests]),
                          lam=("estimator", lam), problem=problems, image=runs["image"].values,
                          iteration=runs["iteration"].values, example=runs["example"].values,
                          channel=runs["channel"].values)
    annotate(ds, {**UNITS, "applicable": ("1 if the estimator ran on the problem, else 0 (values NaN)", "1"),
                  "estimator": ("method and prior", "1"), "algorithm": ("method (solver)", "1"),
                  "prior": ("proximal network variant or conditional denoiser", "1"),
                  "lam": (LAM_DESCRIPTION, "1"), "channel": ("colour channel", "1"),
                  "problem": ("inverse problem", "1"), "image": ("evaluation crop id", "1"),
                  "iteration": ("iteration", "1"), "example": ("id of an example image", "1")})
    ds.attrs["parts"] = runs.attrs["parts"]
    return ds
