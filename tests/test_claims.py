"""Claims: every claim on small synthetic metrics datasets where it holds and where it fails, the
paired-bootstrap interval, the PSNR convention, missing data, and the ``--strict`` exit code."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import xarray as xr
import yaml

from aelpn.claims import ClaimData, evaluate_claims
from aelpn.claims.definitions import CHECK, SAMPLE_GAP_DB, SEED, Claim, claims
from aelpn.claims.interval import bootstrap_interval, replicate_mean
from aelpn.cli import main
from aelpn.core.io import read_netcdf, write_netcdf

N = 12
VARIANTS = ["lpn", "scale", "shift", "normtrick", "aelpn", "scale_sq", "aelpn_sq", "unconstrained"]
SIGMAS = [0.1, 0.3, 0.5]
PROBLEMS = {"inpaint50": {"operator": "inpainting", "keep": 0.5, "noise": {"kind": "gaussian", "sigma": 0.01}},
            "blur2": {"operator": "blur", "blur_sigma": 2.0, "noise": {"kind": "gaussian", "sigma": 0.01}},
            "poisson_blur1": {"operator": "blur", "blur_sigma": 1.0,
                              "noise": {"kind": "poisson", "photons": 100.0, "background": 0.01}}}
ESTIMATORS = [("pnp_admm[lpn]", "pnp_admm", "lpn"), ("pnp_admm[aelpn]", "pnp_admm", "aelpn"),
              ("pnp_fixed", "pnp_fixed", "denoiser"), ("continuation", "continuation", "denoiser"),
              ("hqs_fixed", "hqs_fixed", "denoiser"), ("tv_admm", "tv_admm", "denoiser"),
              ("wavelet_admm", "wavelet_admm", "denoiser"),
              ("admm_annealed", "admm_annealed", "denoiser"), ("admm_diffusion", "admm_diffusion", "denoiser"),
              ("unrolled", "unrolled", "denoiser"), ("ula", "ula", "denoiser"),
              ("pnp_admm_anscombe[lpn]", "pnp_admm_anscombe", "lpn"),
              ("pnp_admm_anscombe[aelpn]", "pnp_admm_anscombe", "aelpn"),
              ("pnp_admm_wls[lpn]", "pnp_admm_wls", "lpn"), ("pnp_admm_wls[aelpn]", "pnp_admm_wls", "aelpn")]
GAUSSIAN_ONLY, POISSON_ONLY = ("ula",), ("pnp_admm_anscombe", "pnp_admm_wls")


def write_replicate(ds: xr.Dataset, path, seed: int, **kwargs):
    """``ds`` as one training replicate: the leading ``seed`` dimension of the combined datasets, length 1."""
    return write_netcdf(ds.expand_dims({"seed": [seed]}), path, **kwargs)


def stack_replicates(root, parts: list[dict]) -> dict:
    """The datasets of several replicates (``write_datasets`` outputs, one per seed) concatenated along ``seed``
    under ``root``; returns {name: path}."""
    paths = {}
    for name in parts[0]:
        replicates = [read_netcdf(p[name]) for p in parts]
        combined = xr.concat(replicates, dim="seed", data_vars="all")
        combined.attrs = replicates[0].attrs
        paths[name] = str(write_netcdf(combined, root / f"{name}.nc", float32=False))
    return paths


def _jitter(shape, seed, scale=0.1):
    return scale * np.random.default_rng(seed).standard_normal(shape)


def holding_values() -> dict:
    """Mean values (before per-image jitter) of synthetic metrics on which every claim holds."""
    return {
        "denoise": {0.1: dict(lpn=30.0, scale=29.6, shift=29.6, normtrick=29.6, aelpn=29.5, scale_sq=29.6,
                              aelpn_sq=29.5, unconstrained=30.2),
                    0.3: dict(lpn=24.0, scale=24.0, shift=24.0, normtrick=24.0, aelpn=24.0, scale_sq=24.0,
                              aelpn_sq=24.0, unconstrained=24.0),
                    0.5: dict(lpn=20.0, scale=23.0, shift=21.0, normtrick=23.0, aelpn=23.0, scale_sq=23.0,
                              aelpn_sq=25.5, unconstrained=20.0)},
        "noisy": {0.1: 20.0, 0.3: 10.5, 0.5: 6.0},
        "clipped_offset": {},  # variant -> clipped PSNR minus unclipped PSNR
        "equivariance": dict(lpn=30.0, scale=50.0, shift=50.0, normtrick=100.0, aelpn=100.0, scale_sq=50.0,
                             aelpn_sq=100.0, unconstrained=30.0),
        "equivariance_cell": {},  # (variant, a, b) -> value
        "asymmetry": dict(lpn=1e-15, scale=1e-15, shift=1e-15, normtrick=0.1, aelpn=1e-15, scale_sq=1e-15,
                          aelpn_sq=1e-15, unconstrained=1e-15),
        "prox_error": dict(lpn=0.3, scale=0.02, normtrick=0.2),
        "prox_error_last": dict(lpn=0.4, scale=0.2, normtrick=0.3),
        "psnr": {"pnp_admm[lpn]": 26.0, "pnp_admm[aelpn]": 25.0, "pnp_fixed": 25.0, "continuation": 27.0,
                 "admm_annealed": 25.5, "admm_diffusion": 27.5, "unrolled": 29.0, "ula": 26.0,
                 "hqs_fixed": 26.0, "tv_admm": 26.0, "wavelet_admm": 25.9,
                 "pnp_admm_anscombe[lpn]": 25.5, "pnp_admm_anscombe[aelpn]": 24.5, "pnp_admm_wls[lpn]": 25.0,
                 "pnp_admm_wls[aelpn]": 24.0},
        "psnr_cell": {},  # (estimator, problem) -> value
        "sample_gap": SAMPLE_GAP_DB,
        "seconds": {"pnp_admm[lpn]": 1.0, "pnp_admm[aelpn]": 1.0, "pnp_fixed": 0.5, "continuation": 0.2,
                    "admm_annealed": 0.4, "admm_diffusion": 0.4, "unrolled": 0.01, "ula": 3.0,
                    "hqs_fixed": 0.2, "tv_admm": 0.3, "wavelet_admm": 0.3,
                    "pnp_admm_anscombe[lpn]": 2.0, "pnp_admm_anscombe[aelpn]": 2.0, "pnp_admm_wls[lpn]": 2.0,
                    "pnp_admm_wls[aelpn]": 2.0},
        "iterations": {"continuation": 3, "pnp_fixed": 3},  # smoke: 3 iterations; others 1
        "train_seconds": {"pnp_admm[lpn]": 500.0, "pnp_admm[aelpn]": 500.0, "pnp_fixed": 150.0,
                          "continuation": 150.0, "admm_annealed": 150.0, "admm_diffusion": 150.0,
                          "hqs_fixed": 150.0, "tv_admm": 0.0, "wavelet_admm": 0.0,
                          "unrolled": 100.0, "ula": 150.0, "pnp_admm_anscombe[lpn]": 500.0,
                          "pnp_admm_anscombe[aelpn]": 500.0, "pnp_admm_wls[lpn]": 500.0,
                          "pnp_admm_wls[aelpn]": 500.0},
        "adaptivity": 20.0,
        "blind_argmin": dict(lpn=0.0, aelpn=0.0, scale=2.0, quadratic_gradient=0.0),  # lpn proper; scale not in variants
        "blind_residual": dict(lpn=0.01, aelpn=0.03, scale=0.9, quadratic_gradient=0.0),  # ADMM residual (max)
        "blind_gap": dict(lpn=0.005, aelpn=0.01, scale=0.5, quadratic_gradient=0.3),  # ||f(x) - x|| / ||x||
        "blind_drift": dict(lpn=0.1, aelpn=0.05, scale=1.0, quadratic_gradient=0.0),  # local search from the truth
        "blind_theta_error": 0.05,  # the best constant's: 0.25 (true widths 1.0 ... 2.0)
        "blind_psnr": {"blind_mmse": 25.0, "map_alternating[lpn]": 22.0, "map_alternating[aelpn]": 22.5,
                       "map_alternating[quadratic_gradient]": 27.0},  # the control is not a learned prior
        "blind_penalty": {"blind_mmse": 0.1, "map_alternating[lpn]": 2.0, "map_alternating[aelpn]": 1.5,
                          "map_alternating[quadratic_gradient]": 0.0},
    }


def write_datasets(root, v: dict, psnr_unclipped: bool = True, psnr_sample: bool = True, seed: int = 0) -> dict:
    """Write the seven synthetic metrics datasets under ``root``, one training replicate (``seed`` dimension of
    length 1, training seed ``seed``); returns {name: path}."""

    def write_netcdf(ds, path, **kwargs):
        return write_replicate(ds, path, seed, **kwargs)

    ids = [f"img{i}" for i in range(N)]
    paths = {name: str(root / f"{name}.nc") for name in
             ("noise_sweep", "affine_sweep", "jacobian", "prox1d", "inverse", "adaptivity", "blind")}
    unclipped = np.array([[[v["denoise"][s][var] for _ in ids] for s in SIGMAS] for var in VARIANTS])
    unclipped = unclipped + _jitter(unclipped.shape, 1)
    offset = np.array([v["clipped_offset"].get(var, 0.0) for var in VARIANTS])[:, None, None]
    noise = xr.Dataset({"psnr": (("variant", "sigma", "image"), unclipped + offset)},
                       coords={"variant": VARIANTS, "sigma": SIGMAS, "image": ids})
    noisy = np.array([[v["noisy"][s]] * N for s in SIGMAS]) + _jitter((len(SIGMAS), N), 12)
    noise["input_psnr"] = (("sigma", "image"), noisy)
    if psnr_unclipped:
        noise["psnr_unclipped"] = (("variant", "sigma", "image"), unclipped)
        noise["input_psnr_unclipped"] = (("sigma", "image"), noisy)
    write_netcdf(noise, paths["noise_sweep"])
    scales, shifts = [0.5, 1.0, 2.0], [-0.5, 0.0, 0.5]
    eq = np.empty((len(VARIANTS), len(scales), len(shifts), N))
    for i, var in enumerate(VARIANTS):
        for j, a in enumerate(scales):
            for k, b in enumerate(shifts):
                level = 100.0 if (a, b) == (1.0, 0.0) else v["equivariance"][var]
                level = v["equivariance_cell"].get((var, a, b), level)
                eq[i, j, k] = np.minimum(level + (0 if level >= 100 else _jitter(N, 2 + i)), 100.0)
    write_netcdf(xr.Dataset({"equivariance_psnr": (("variant", "scale", "offset", "image"), eq)},
                            coords={"variant": VARIANTS, "scale": scales, "offset": shifts, "image": ids}),
                 paths["affine_sweep"])
    asym = np.array([[v["asymmetry"][var] * (1 + 0.1 * np.sin(i)) for i in range(N)] for var in VARIANTS])
    write_netcdf(xr.Dataset({"asymmetry": (("variant", "image"), asym)},
                            coords={"variant": VARIANTS, "image": ids,
                                    "exact_prox": ("variant", np.array([v not in ("normtrick", "unconstrained") for v in VARIANTS],
                                                                       dtype=np.int8))}),
                 paths["jacobian"], float32=False)
    write_netcdf(xr.Dataset({"prox_max_error": ("variant", list(v["prox_error"].values())),
                             "prox_max_error_last_iterate": ("variant", [v["prox_error_last"][k] for k in v["prox_error"]])},
                            coords={"variant": list(v["prox_error"])}), paths["prox1d"])
    names, problems = [e[0] for e in ESTIMATORS], list(PROBLEMS)
    shape = (len(names), len(problems), N)
    psnr = np.array([[[v["psnr_cell"].get((e, p), v["psnr"][e])] * N for p in problems] for e in names])
    psnr = psnr + _jitter(shape, 7)
    kinds = {"gaussian": POISSON_ONLY, "poisson": GAUSSIAN_ONLY}  # the methods a noise kind excludes
    applicable = np.array([[0 if a in kinds[PROBLEMS[p]["noise"]["kind"]] else 1 for p in problems]
                           for _, a, _ in ESTIMATORS], dtype=np.int8)
    sample = np.full(shape, np.nan)
    ula = names.index("ula")
    sample[ula] = psnr[ula] - v["sample_gap"] + _jitter((len(problems), N), 8)
    inverse = xr.Dataset(
        {"psnr": (("estimator", "problem", "image"), np.where(applicable[..., None] == 1, psnr, np.nan)),
         "seconds": (("estimator", "problem", "image"),
                     np.array([[[v["seconds"][e]] * N for _ in problems] for e in names])),
         "iterations": (("estimator", "problem", "image"),
                        np.array([[[v["iterations"].get(e, 1)] * N for _ in problems] for e in names], dtype=float)),
         "train_seconds": (("estimator", "problem"), np.array([[v["train_seconds"][e]] * len(problems) for e in names])),
         "applicable": (("estimator", "problem"), applicable)},
        coords={"estimator": names, "algorithm": ("estimator", [e[1] for e in ESTIMATORS]),
                "prior": ("estimator", [e[2] for e in ESTIMATORS]), "problem": problems, "image": ids})
    if psnr_sample:
        inverse["psnr_sample"] = (("estimator", "problem", "image"), sample)
    inverse.attrs["problems"] = json.dumps(PROBLEMS)
    write_netcdf(inverse, paths["inverse"], float32=False)
    # the blur2 network on inpainting (cross-operator) and on its own problem
    adapt = np.stack([v["adaptivity"] + _jitter(N, 9), psnr[names.index("unrolled"), problems.index("blur2")]])
    write_netcdf(xr.Dataset({"psnr": (("pair", "image"), adapt)},
                            coords={"trained_on": ("pair", ["blur2", "blur2"]),
                                    "evaluated_on": ("pair", ["inpaint50", "blur2"]),
                                    "image": ids}), paths["adaptivity"])
    blind_priors, blind_names = list(v["blind_argmin"]), list(v["blind_psnr"])
    error = np.where(np.array(blind_names)[:, None] == "blind_mmse", v["blind_theta_error"], np.ones(N))

    def per_prior(key, seed):
        return np.array([[v[key][p]] * N for p in blind_priors]) + np.abs(_jitter((len(blind_priors), N), seed, 1e-3))

    residual = per_prior("blind_residual", 13)
    write_netcdf(xr.Dataset({"theta_argmin": (("prior", "image"), np.array([[v["blind_argmin"][p]] * N
                                                                             for p in blind_priors])),
                             "map_residual": (("prior", "theta_grid", "image"), np.stack([0.5 * residual, residual], 1)),
                             "fixed_point_gap": (("prior", "image"), per_prior("blind_gap", 14)),
                             "local_theta_drift": (("prior", "image"), per_prior("blind_drift", 15)),
                             "blindness_penalty": (("estimator", "image"), np.array([[v["blind_penalty"][e]] * N
                                                                                     for e in blind_names])
                                                   + _jitter((len(blind_names), N), 16, 0.01)),
                             "theta_error": (("estimator", "image"), error + np.abs(_jitter(error.shape, 10, 0.01))),
                             "psnr": (("estimator", "image"), np.array([[v["blind_psnr"][e]] * N for e in blind_names])
                                      + _jitter((len(blind_names), N), 11)),
                             "theta_true": ("image", np.linspace(1.0, 2.0, N))},
                            coords={"prior": blind_priors, "estimator": blind_names, "image": ids,
                                    "theta_grid": [0.0, 1.0],
                                    "learned": ("prior", [int(p != "quadratic_gradient") for p in blind_priors]),
                                    "proper_prior": ("prior", [int(p == "lpn") for p in blind_priors])}),
                 paths["blind"])
    return paths


# One change of the holding values per claim that makes exactly that claim (and possibly related ones) fail.
def _set(path, value):
    def change(v):
        d = v
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value
    return change


BREAK = {
    "1a": _set(("denoise", 0.1, "aelpn"), 31.0),
    "1b": _set(("denoise", 0.1, "aelpn"), 27.0),
    "2a": _set(("denoise", 0.5, "aelpn"), 19.0),
    "2b": _set(("denoise", 0.5, "scale"), 19.0),
    "2c": _set(("denoise", 0.5, "normtrick"), 19.0),
    "3": _set(("denoise", 0.5, "shift"), 24.0),
    "4a": _set(("equivariance_cell", ("normtrick", 2.0, 0.5)), 60.0),
    "4b": _set(("equivariance_cell", ("lpn", 0.5, 0.0)), 60.0),
    "5a": _set(("asymmetry", "normtrick"), 1e-12),
    "5b": _set(("asymmetry", "scale"), 1e-4),
    "6a": _set(("prox_error", "scale"), 0.1),
    "6b": _set(("prox_error", "lpn"), 0.01),
    "7": _set(("psnr_cell", ("unrolled", "blur2")), 24.0),
    "8": _set(("psnr_cell", ("hqs_fixed", "blur2")), 27.5),
    "9a": _set(("adaptivity",), 30.0),
    "9a[blur2>inpaint50]": _set(("adaptivity",), 30.0),
    "9b": _set(("psnr_cell", ("unrolled", "blur2")), 24.5),
    "10": _set(("sample_gap",), 0.5),
    "11b": _set(("seconds", "unrolled"), 2.0),
    "12a[lpn]": _set(("blind_argmin", "lpn"), 1.5),
    "12a[aelpn]": _set(("blind_argmin", "aelpn"), 1.5),
    "12b[lpn]": _set(("blind_drift", "lpn"), 1.0),
    "12b[aelpn]": _set(("blind_drift", "aelpn"), 1.0),
    "13a": _set(("blind_theta_error",), 0.2),
    "13b": _set(("blind_penalty", "map_alternating[aelpn]"), -1.0),
    "14a": _set(("denoise", 0.1, "aelpn_sq"), 19.0),
    "14b": _set(("denoise", 0.1, "aelpn_sq"), 28.5),
    "14c": _set(("denoise", 0.5, "aelpn_sq"), 24.0),
    "14d": _set(("denoise", 0.1, "scale_sq"), 28.0),
    "15a": _set(("psnr_cell", ("wavelet_admm", "blur2")), 27.3),
    "15b": _set(("psnr_cell", ("pnp_admm_anscombe[aelpn]", "poisson_blur1")), 25.5),
    "15c": _set(("psnr_cell", ("pnp_admm_wls[lpn]", "poisson_blur1")), 26.0),
    "15d": _set(("psnr_cell", ("admm_annealed", "inpaint50")), 28.0),
    "15e": _set(("psnr_cell", ("pnp_admm[lpn]", "blur2")), 27.5),
    "16a": _set(("denoise", 0.1, "unconstrained"), 31.5),
    "16b": _set(("denoise", 0.1, "aelpn_sq"), 28.5),
}
# Claims that no data can break: the unrolled network's training includes the denoiser's, so its cost per problem
# is at least (number of problems) x the denoiser's share (test_training_cost_counts_the_denoiser).
BY_CONSTRUCTION = {"11a"}
CONSTRUCTION_CHECKS = {"4a", "5b", "11a"}


@pytest.fixture
def cfg(smoke_config):
    out = copy.deepcopy(smoke_config)
    out["claims"].update(robust_sigma=0.5, resamples=300)
    # the pairs of the synthetic adaptivity.nc; blind.variants: lpn, aelpn (smoke)
    out["inverse"]["problems"]["blur2"] = copy.deepcopy(PROBLEMS["blur2"])
    out["inverse"]["adaptivity"] = [{"trained_on": "blur2", "evaluated_on": "inpaint50"}]
    return out


def _verdicts(cfg, paths) -> dict:
    ds = evaluate_claims(cfg, ClaimData(**paths))
    return dict(zip(ds["claim"].values.tolist(), ds["verdict"].values.tolist())), ds


def test_every_claim_has_a_breaking_case(cfg):
    assert set(BREAK) | BY_CONSTRUCTION == {c.id for c in claims(cfg)} and not set(BREAK) & BY_CONSTRUCTION


def test_every_claim_holds_on_holding_data(cfg, tmp_path):
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, holding_values()))
    assert verdicts == {c.id: "holds" for c in claims(cfg)}, ds["note"].values
    per_image = ds["images"].values > 0
    assert (ds["ci_low"].values[per_image] <= ds["value"].values[per_image]).all()
    assert (ds["value"].values[per_image] <= ds["ci_high"].values[per_image]).all()


@pytest.mark.parametrize("claim", sorted(BREAK))
def test_claim_fails_when_its_data_contradicts_it(claim, cfg, tmp_path):
    values = holding_values()
    BREAK[claim](values)
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    assert verdicts[claim] == "fails", ds.sel(claim=claim)["value"].item()


def test_training_cost_counts_the_denoiser(cfg, tmp_path):
    """11a: (unrolled's own training + the conditional denoiser's) / (the denoiser's / problems), with the
    denoiser's time from the denoiser-driven methods, not the largest of every learned component."""
    values = holding_values()
    values["train_seconds"]["ula"] = 150.0
    _, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    assert ds.sel(claim="11a")["value"].item() == pytest.approx((100.0 + 150.0) / (150.0 / len(PROBLEMS)))
    assert "150 s of the denoiser" in ds.sel(claim="11a")["note"].item()


def test_a_robustness_claim_about_a_model_that_does_not_denoise_has_its_premise_unmet(cfg, tmp_path):
    """The scale model below its noisy input at train.sigma: 2b and 3 meet their thresholds but are 'premise
    unmet' (never 'fails': the claim is not tested), the value kept and the row saying why; the other robustness
    claims still hold."""
    values = holding_values()
    values["denoise"][0.1]["scale"] = 19.0  # noisy input: 20 dB
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    assert ds.sel(claim="2b")["ci_low"].item() > cfg["claims"]["robustness_margin_db"]
    assert verdicts["2b"] == verdicts["3"] == "premise unmet"
    assert "scale does not denoise" in ds.sel(claim="2b")["note"].item()
    assert verdicts["2a"] == verdicts["2c"] == "holds"


def test_an_interval_across_the_bound_is_inconclusive(cfg, tmp_path):
    """Claim 3 at scale - shift = +0.01 dB with 0.1 dB per-image spread: the value is above the 0 dB bound, its
    interval is not, so the verdict is neither holds nor fails."""
    values = holding_values()
    values["denoise"][0.5]["shift"] = 22.99
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    row = ds.sel(claim="3")
    assert row["ci_low"].item() < 0.0 < row["value"].item()
    assert verdicts["3"] == "inconclusive"


def test_claim_8_counts_both_schedule_pairs_on_every_problem(cfg, tmp_path):
    """Claim 8's cells: (problem, pair) for the ADMM pair and the HQS pair on every problem (Poisson included),
    never continuation against pnp_fixed (two solvers)."""
    _, ds = _verdicts(cfg, write_datasets(tmp_path, holding_values()))
    values = holding_values()
    values["psnr_cell"][("continuation", "poisson_blur1")] = 25.0
    _, broken = _verdicts(cfg, write_datasets(tmp_path, values))
    assert broken.sel(claim="8")["decided_by"].item() == "poisson_blur1: continuation - hqs_fixed"
    assert broken.sel(claim="8")["verdict"].item() == "fails"
    values = holding_values()
    values["psnr_cell"][("admm_annealed", "inpaint50")] = 24.0
    _, broken = _verdicts(cfg, write_datasets(tmp_path, values))
    assert broken.sel(claim="8")["decided_by"].item() == "inpaint50: admm_annealed - pnp_fixed"
    assert "the sigma schedule only" in ds.sel(claim="8")["note"].item()


def test_equivalence_margin_decides_as_good_as(cfg, tmp_path):
    """15b at exact - Anscombe = -0.2 dB: within a 0.5 dB equivalence margin it holds (as good as), with a
    0 dB threshold the same small loss fails."""
    values = holding_values()
    values["psnr_cell"][("pnp_admm_anscombe[lpn]", "poisson_blur1")] = 26.2
    values["psnr_cell"][("pnp_admm_anscombe[aelpn]", "poisson_blur1")] = 24.0
    paths = write_datasets(tmp_path, values)
    cfg["claims"]["equivalence_margin_db"] = 0.5
    verdicts, ds = _verdicts(cfg, paths)
    assert ds.sel(claim="15b")["value"].item() == pytest.approx(-0.2, abs=0.1)
    assert verdicts["15b"] == "holds" and ds.sel(claim="15b")["threshold"].item() == ">= -0.5 dB"
    cfg["claims"]["equivalence_margin_db"] = 0.0
    assert _verdicts(cfg, paths)[0]["15b"] == "fails"


def test_sample_gap_is_a_ratio_of_mean_mses_not_a_mean_of_psnrs(cfg, tmp_path):
    """Two images, MSE of the mean 1e-2 and 1e-4, of one sample twice that: the identity gives exactly 3.01 dB,
    while a mean of per-image PSNR differences would too; with the sample's MSE doubled only on the first image
    the MSE ratio is 10 log10(2.0199 / 1.01) and the mean PSNR gap (3.01 + 0) / 2."""
    from aelpn.claims.definitions import _mse_ratio_db

    mean = np.array([1e-2, 1e-4])
    sample = np.array([2e-2, 1e-4])
    got = _mse_ratio_db(np.stack([sample, mean])[None])
    assert got[0] == pytest.approx(10 * np.log10((2e-2 + 1e-4) / (1e-2 + 1e-4)))
    assert got[0] != pytest.approx(SAMPLE_GAP_DB / 2, abs=0.05)


def test_adaptivity_compares_on_the_problem_the_network_is_evaluated_on(cfg, tmp_path):
    """9a: the blur2 network on inpaint50 against the PnP methods' PSNR on inpaint50 (the best of
    claims.pnp_methods there), not on blur2, where they are made 6 dB worse."""
    values = holding_values()
    values["adaptivity"] = 22.0
    for method in ("pnp_fixed", "admm_annealed"):
        values["psnr_cell"][(method, "blur2")] = 19.0
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    row = ds.sel(claim="9a[blur2>inpaint50]")
    assert verdicts["9a[blur2>inpaint50]"] == "holds" and row["value"].item() == pytest.approx(22.0 - 25.5, abs=0.1)
    assert row["decided_by"].item() == "blur2 net on inpaint50 vs admm_annealed"


def test_decided_by_names_the_worst_cell(cfg, tmp_path):
    values = holding_values()
    BREAK["4b"](values)
    _, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    assert ds.sel(claim="4b")["decided_by"].item() == "lpn a=0.5 b=0"
    assert ds.sel(claim="7")["decided_by"].item() in PROBLEMS


def test_denoising_claims_use_the_configured_psnr(cfg, tmp_path):
    values = holding_values()
    values["clipped_offset"] = {"aelpn": 2.0}  # clipping costs AE-LPN 2 dB, nothing for the others
    paths = write_datasets(tmp_path, values)
    cfg["claims"]["denoising_psnr"] = "unclipped"
    _, unclipped = _verdicts(cfg, paths)
    cfg["claims"]["denoising_psnr"] = "clipped"
    _, clipped = _verdicts(cfg, paths)
    assert unclipped.sel(claim="1a")["psnr_convention"].item() == "unclipped"
    assert clipped.sel(claim="1a")["psnr_convention"].item() == "clipped"
    noise = read_netcdf(paths["noise_sweep"]).isel(seed=0)
    expected = (noise["psnr_unclipped"].sel(variant="lpn", sigma=0.1)
                - noise["psnr_unclipped"].sel(variant="aelpn", sigma=0.1)).mean().item()
    assert unclipped.sel(claim="1a")["value"].item() == pytest.approx(expected, abs=1e-5)
    assert clipped.sel(claim="1a")["value"].item() == pytest.approx(expected - 2.0, abs=1e-5)


def test_missing_data_is_not_measured_and_the_rest_is_checked(cfg, tmp_path):
    paths = write_datasets(tmp_path, holding_values(), psnr_unclipped=False, psnr_sample=False)
    del paths["adaptivity"]
    verdicts, ds = _verdicts(cfg, paths)
    missing = {"1a", "1b", "2a", "2b", "2c", "3", "9a", "9a[blur2>inpaint50]", "9b", "10", "14a", "14b", "14c",
               "14d", "16a", "16b"}
    assert {c for c, v in verdicts.items() if v == "not measured"} == missing
    assert all(ds.sel(claim=c)["note"].item() for c in missing)
    assert all(v == "holds" for c, v in verdicts.items() if c not in missing)


def test_robust_sigma_outside_the_sweep_is_a_config_error(cfg, tmp_path):
    from aelpn.core.config import ConfigError

    cfg["claims"]["robust_sigma"] = 0.7
    with pytest.raises(ConfigError, match="claims.robust_sigma"):
        evaluate_claims(cfg, ClaimData(**write_datasets(tmp_path, holding_values())))


def test_bootstrap_interval_matches_the_normal_interval_of_a_mean():
    x = np.random.default_rng(0).standard_normal(400)
    low, high = bootstrap_interval(replicate_mean([lambda idx: x[idx].mean()]), 1, x.size, 2000, 0.95, np.random.default_rng(1))
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    assert low < x.mean() < high
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)


def test_bootstrap_interval_is_seeded_and_needs_two_images():
    x = np.arange(10.0)
    a = bootstrap_interval(replicate_mean([lambda idx: x[idx].mean()]), 1, 10, 200, 0.9, np.random.default_rng(5))
    b = bootstrap_interval(replicate_mean([lambda idx: x[idx].mean()]), 1, 10, 200, 0.9, np.random.default_rng(5))
    assert a == b
    assert np.isnan(bootstrap_interval(replicate_mean([lambda idx: 1.0]), 1, 1, 200, 0.9, np.random.default_rng(5))).all()


def test_paired_interval_is_narrower_than_unpaired():
    """Claims on differences pair the images: a large per-image spread common to both cells cancels, while
    resampling the two cells independently would keep it."""
    from aelpn.claims.definitions import Measurement

    common = 5.0 * np.random.default_rng(3).standard_normal(50)
    paired = Measurement((common + 1.0)[None] - common[None], ["paired"], "min")
    low, high = bootstrap_interval(replicate_mean([paired.statistic]), 1, 50, 500, 0.95, np.random.default_rng(0))
    assert low == pytest.approx(1.0) and high == pytest.approx(1.0)
    gen = np.random.default_rng(99)
    unpaired = replicate_mean([lambda idx: (common[idx] + 1.0).mean() - common[gen.integers(0, 50, 50)].mean()])
    low, high = bootstrap_interval(unpaired, 1, 50, 500, 0.95, np.random.default_rng(0))
    assert high - low > 1.0


def _cli(cfg, paths, tmp_path, *extra):
    """``aelpn claims`` on the config slice its rule passes (aelpn.core.slices), as the workflow runs it."""
    from aelpn.core.config import select
    from aelpn.core.slices import sections

    config = tmp_path / "cfg.yaml"
    config.write_text(yaml.safe_dump(select(cfg, *sections("claims"))))
    args = ["claims", "--config", str(config), "--out", str(tmp_path / "claims.nc")]
    for name, path in paths.items():
        args += [f"--{name.replace('_', '-')}", path]
    return main(args + list(extra))


def test_strict_exit_code(cfg, tmp_path):
    paths = write_datasets(tmp_path, holding_values())
    assert _cli(cfg, paths, tmp_path, "--strict") == 0
    values = holding_values()
    BREAK["6a"](values)
    paths = write_datasets(tmp_path, values)
    assert _cli(cfg, paths, tmp_path) == 0  # a failing claim is a finding ...
    ds = xr.open_dataset(tmp_path / "claims.nc").load()
    assert ds.sel(claim="6a")["verdict"].item() == "fails"
    assert ds["value"].dtype == np.float64  # claims.nc is stored in float64 (thresholds down to 1e-8)
    assert _cli(cfg, paths, tmp_path, "--strict") == 1  # ... and a gate with --strict


def test_adaptivity_grid_layout_reads_like_pairs(tmp_path):
    """adaptivity.nc as a (trained_on, problem, image) grid, NaN where not evaluated, gives the same pairs."""
    from aelpn.claims.datasets import adaptivity_psnr

    paths = write_datasets(tmp_path, holding_values())
    pairs = adaptivity_psnr(read_netcdf(paths["adaptivity"])).isel(seed=0)
    grid = np.full((2, 2, N), np.nan)  # the inpaint50 network was not evaluated elsewhere
    grid[0, 0], grid[0, 1] = pairs.isel(pair=0).values, pairs.isel(pair=1).values
    path = tmp_path / "grid.nc"
    write_replicate(xr.Dataset({"psnr": (("trained_on", "problem", "image"), grid)},
                               coords={"trained_on": ["blur2", "inpaint50"], "problem": ["inpaint50", "blur2"],
                                       "image": pairs["image"].values}), path, 0)
    stacked = adaptivity_psnr(read_netcdf(path)).isel(seed=0)
    assert stacked["trained_on"].values.tolist() == ["blur2", "blur2"]
    assert stacked["problem"].values.tolist() == ["inpaint50", "blur2"]
    np.testing.assert_allclose(stacked.values, pairs.values)


def test_claims_figure_fits_every_cell_on_the_page(cfg, tmp_path):
    """The rendered table lies inside the figure, and every cell's text inside its cell: no claim id or note cut
    at an edge. Two rows are made long (a verdict of each kind appears)."""
    import matplotlib

    matplotlib.use("Agg")
    from aelpn.report import style
    from aelpn.claims.figure import COLUMNS, VERDICT_COLOURS, claims_figure

    style.apply()
    values = holding_values()
    BREAK["1a"](values)
    values["denoise"][0.5]["shift"] = 22.99
    values["blind_gap"]["lpn"] = 0.5  # 12a[lpn], 12b[lpn]: premise unmet
    paths = write_datasets(tmp_path, values)
    del paths["jacobian"]
    ds = evaluate_claims(cfg, ClaimData(**paths))
    ds["note"].values[0] = "a long note " * 12
    assert set(ds["verdict"].values) == set(VERDICT_COLOURS)
    fig, tab = claims_figure(ds)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    table = tab.get_window_extent(renderer)
    assert page.x0 <= table.x0 and table.x1 <= page.x1 and page.y0 <= table.y0 and table.y1 <= page.y1
    for (row, col), cell in tab.get_celld().items():
        box, text = cell.get_window_extent(renderer), cell.get_text().get_window_extent(renderer)
        assert box.x0 <= text.x0 and text.x1 <= box.x1 + 0.5, (row, col, cell.get_text().get_text())
        assert box.y0 <= text.y0 + 0.5 and text.y1 <= box.y1 + 0.5, (row, col, cell.get_text().get_text())
    assert fig.get_suptitle().endswith("paired-bootstrap intervals over test images; 1 replicate (training seed 0)")
    assert tab[1, [name for name, _ in COLUMNS].index("repl.")].get_text().get_text() == "1"


NAN = float("nan")


@pytest.mark.parametrize("value, low, high, lower, upper, expected", [
    # one-sided, holding range [0, inf)
    (1.0, 0.5, 1.5, 0.0, NAN, "holds"),            # interval wholly inside
    (0.0, 0.0, 0.5, 0.0, NAN, "holds"),            # touching the bound from inside (bounds are inclusive)
    (0.2, -0.5, 1.0, 0.0, NAN, "inconclusive"),    # crossing the lower bound, value inside
    (-0.2, -0.5, 1.0, 0.0, NAN, "inconclusive"),   # crossing the lower bound, value outside
    (-0.5, -1.0, 0.0, 0.0, NAN, "inconclusive"),   # touching the bound from outside
    (-1.5, -2.0, -1.0, 0.0, NAN, "fails"),         # wholly outside, below
    # one-sided, holding range (-inf, 0]
    (-1.0, -1.5, -0.5, NAN, 0.0, "holds"),
    (-0.2, -1.0, 0.5, NAN, 0.0, "inconclusive"),   # crossing the upper bound
    (1.5, 1.0, 2.0, NAN, 0.0, "fails"),            # wholly outside, above
    # two-sided, holding range [0, 1]
    (0.5, 0.2, 0.8, 0.0, 1.0, "holds"),
    (0.1, -0.2, 0.4, 0.0, 1.0, "inconclusive"),    # crossing the lower bound
    (0.9, 0.6, 1.2, 0.0, 1.0, "inconclusive"),     # crossing the upper bound
    (0.5, -0.2, 1.2, 0.0, 1.0, "inconclusive"),    # crossing both
    (-1.0, -1.5, -0.5, 0.0, 1.0, "fails"),         # wholly outside, below
    (2.0, 1.5, 2.5, 0.0, 1.0, "fails"),            # wholly outside, above
    # no interval (fewer than two images) and not finite values
    (0.5, NAN, NAN, 0.0, 1.0, "inconclusive"),
    (NAN, NAN, NAN, 0.0, 1.0, "not measured"),
    (NAN, -1.0, 1.0, 0.0, NAN, "not measured"),
    (float("inf"), NAN, NAN, 0.0, NAN, "not measured"),
])
def test_verdict_at_every_boundary(value, low, high, lower, upper, expected):
    from aelpn.claims.evaluate import verdict

    assert verdict(value, low, high, lower, upper, resampled=True) == expected


@pytest.mark.parametrize("value, expected", [(0.5, "holds"), (0.0, "holds"), (1.0, "holds"), (-0.1, "fails"),
                                             (1.1, "fails"), (NAN, "not measured")])
def test_verdict_without_an_image_axis_is_the_value_against_the_range(value, expected):
    from aelpn.claims.evaluate import verdict

    assert verdict(value, NAN, NAN, 0.0, 1.0, resampled=False) == expected


def test_a_nan_value_reads_not_measured_never_fails(cfg, tmp_path):
    """NaN per-image values (e.g. every blind landscape solve lost) give 'not measured', not 'fails'."""
    values = holding_values()
    values["blind_argmin"]["lpn"] = NAN
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    assert verdicts["12a[lpn]"] == "not measured"


def test_every_claim_declares_one_of_three_kinds(cfg):
    """Kind is a required field of Claim, checked; the construction checks are exactly 4a, 5b and 11a."""
    rows = claims(cfg)
    assert {c.id for c in rows if c.kind == CHECK} == CONSTRUCTION_CHECKS
    assert {"1b", "10", "14a", "14b", "14c", "14d"} <= {c.id for c in rows if c.kind == "project claim"}
    first = rows[0]
    with pytest.raises(ValueError, match="kind"):
        Claim(first.id, first.source, first.statement, first.quantity, first.units, first.convention, first.bounds,
              first.measure, "evidence")
    with pytest.raises(TypeError):
        Claim(first.id, first.source, first.statement, first.quantity, first.units, first.convention, first.bounds,
              first.measure)


def test_the_headline_counts_seed_claims_only(cfg, tmp_path):
    """A failing construction check or project claim leaves the seed count unchanged; claims.nc carries the kind."""
    from aelpn.claims.evaluate import headline

    values = holding_values()
    BREAK["4a"](values)
    BREAK["14d"](values)
    _, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    seeds = sum(c.kind == SEED for c in claims(cfg))
    assert ds.sel(claim="4a")["kind"].item() == CHECK
    text = headline(ds)
    assert text.startswith(f"Of {seeds} seed claims, {seeds} holds;"), text
    assert "of 3 construction checks, 2 holds, 1 fails" in text and "1 fails" in text.split(";")[1]


def test_claim_12_has_a_row_for_every_learned_prior_improper_or_not(cfg, tmp_path):
    """No properness filter: AE-LPN (improper by construction in blind.nc) has its own rows, decided by its own
    argmin; the classical control and the priors outside blind.variants have none."""
    values = holding_values()
    BREAK["12a[aelpn]"](values)
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    assert xr.open_dataset(tmp_path / "blind.nc").load()["proper_prior"].sel(prior="aelpn").item() == 0
    rows = {f"12{x}[{p}]" for x in "ab" for p in cfg["blind"]["variants"]}
    assert {c for c in verdicts if c.startswith("12")} == rows
    assert verdicts["12a[aelpn]"] == "fails" and verdicts["12a[lpn]"] == "holds"
    assert ds.sel(claim="12a[aelpn]")["value"].item() == pytest.approx(1.5)


def test_a_prior_whose_map_did_not_converge_is_not_measured_for_that_measured_reason(cfg, tmp_path):
    """AE-LPN's largest ADMM residual above claims.blind_map_residual_max: both its rows are 'not measured' and
    say so; at the tolerance it is measured; LPN is unaffected."""
    tol = cfg["claims"]["blind_map_residual_max"]
    values = holding_values()
    BREAK["12a[aelpn]"](values)
    values["blind_residual"]["aelpn"] = 1.5 * tol
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    for row in ("12a[aelpn]", "12b[aelpn]"):
        assert verdicts[row] == "not measured" and "MAP not converged" in ds.sel(claim=row)["note"].item()
    assert verdicts["12a[lpn]"] == verdicts["12b[lpn]"] == "holds"
    values["blind_residual"]["aelpn"] = 0.9 * tol
    verdicts, _ = _verdicts(cfg, write_datasets(tmp_path, values))
    assert verdicts["12a[aelpn]"] == "fails"


def test_truths_that_are_not_modes_leave_the_theorem_rows_premise_unmet(cfg, tmp_path):
    """Median fixed-point gap above claims.blind_mode_gap_max: 12a and 12b of that prior are 'premise unmet'
    whatever their value (here 12a would hold), never 'fails'; the value and the gap are kept."""
    gap_max = cfg["claims"]["blind_mode_gap_max"]
    values = holding_values()
    values["blind_gap"]["lpn"] = 5.0 * gap_max
    BREAK["12b[lpn]"](values)
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    assert verdicts["12a[lpn]"] == verdicts["12b[lpn]"] == "premise unmet"
    note = ds.sel(claim="12a[lpn]")["note"].item()
    assert "min_local" in note and f"{5.0 * gap_max:.3g}" in note
    assert ds.sel(claim="12b[lpn]")["value"].item() == pytest.approx(1.0, abs=0.01)
    assert verdicts["12a[aelpn]"] == "holds"


def test_claim_13b_decides_on_blindness_penalties_not_the_raw_psnr(cfg, tmp_path):
    """The MMSE network behind the joint MAP in raw PSNR (a head start of the MAP with the true width) but losing
    less to blindness: 13b holds, its value is the penalty difference, the raw difference is in the note."""
    values = holding_values()
    values["blind_psnr"].update({"map_alternating[lpn]": 28.0, "map_alternating[aelpn]": 28.0})
    verdicts, ds = _verdicts(cfg, write_datasets(tmp_path, values))
    row = ds.sel(claim="13b")
    assert verdicts["13b"] == "holds"
    assert row["value"].item() == pytest.approx(1.5 - 0.1, abs=0.02)
    assert "raw PSNR" in row["note"].item() and "map_alternating[lpn] -2.9" in row["note"].item()


def test_claim_9a_is_the_share_of_pairs_with_one_row_per_pair(cfg, tmp_path):
    """Two cross-operator pairs, one below PnP (holds) and one above (fails): each pair has its own row with its own
    verdict, and the seed's claim is their share, 0.5, against claims.adaptivity_share_min."""
    values = holding_values()
    paths = write_datasets(tmp_path, values)
    adapt = read_netcdf(paths["adaptivity"]).isel(seed=0)
    psnr = read_netcdf(paths["inverse"]).isel(seed=0)["psnr"]
    above = psnr.sel(estimator="admm_annealed", problem="poisson_blur1").values + 1.0
    write_replicate(xr.Dataset({"psnr": (("pair", "image"), np.concatenate([adapt["psnr"].values, above[None]]))},
                               coords={"trained_on": ("pair", ["blur2", "blur2", "blur2"]),
                                       "evaluated_on": ("pair", ["inpaint50", "blur2", "poisson_blur1"]),
                                       "image": adapt["image"].values}), paths["adaptivity"], 0)
    cfg["inverse"]["adaptivity"].append({"trained_on": "blur2", "evaluated_on": "poisson_blur1"})
    verdicts, ds = _verdicts(cfg, paths)
    assert verdicts["9a[blur2>inpaint50]"] == "holds" and verdicts["9a[blur2>poisson_blur1]"] == "fails"
    share = ds.sel(claim="9a")
    assert share["value"].item() == 0.5 and share["kind"].item() == SEED
    assert ds.sel(claim="9a[blur2>poisson_blur1]")["kind"].item() == "project claim"
    assert verdicts["9a"] == ("holds" if 0.5 >= cfg["claims"]["adaptivity_share_min"] else "fails")
    assert verdicts["9a"] == "fails"  # smoke: adaptivity_share_min 0.75
