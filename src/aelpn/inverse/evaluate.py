"""Run one (algorithm, problem) job on the evaluation crops and write its netCDF; combine all jobs into
``inverse.nc`` with dims (method, problem, image) and coords ``algorithm`` and ``prior`` on ``method``.

Every method of a problem sees the same measurements (operator parameters and noise drawn from a generator
seeded by (seed, problem)); estimates are clipped to [0, 1] before PSNR/SSIM (aelpn.metrics, deepinv)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from aelpn import metrics
from aelpn.combine import CombineError, combine_runs
from aelpn.device import configure, describe
from aelpn.inverse import diffusion, langevin, pnp
from aelpn.inverse.denoiser import load_denoiser
from aelpn.inverse.jobs import DENOISER_PRIOR, PRIOR_ALGORITHMS, applicable, jobs, methods, priors, trace_length
from aelpn.inverse.problems import build_problem
from aelpn.inverse.unrolled import load_unrolled
from aelpn.io import write_netcdf
from aelpn.provenance import annotate, attrs
from aelpn.seeding import derive_seed

PER_PRIOR = ("psnr", "ssim", "seconds", "iterations", "psnr_trace", "reconstruction", "posterior_std")
UNITS = {
    "psnr": ("PSNR of the estimate clipped to [0, 1]", "dB"),
    "ssim": ("SSIM of the estimate clipped to [0, 1]", "1"),
    "seconds": ("wall-clock inference time per image", "s"),
    "iterations": ("iterations (denoiser evaluations for diffusion, chain length for Langevin)", "1"),
    "psnr_trace": ("PSNR of the iterate after each iteration (NaN after stopping / untraced methods)", "dB"),
    "reconstruction": ("estimate of the example images (Langevin: posterior mean)", "1"),
    "posterior_std": ("per-pixel posterior standard deviation (Langevin only)", "1"),
    "measurement": ("measurements y of the example images", "1"),
    "truth": ("ground-truth example images", "1"),
    "train_seconds": ("training wall-clock time of the method's learned component", "s"),
    "train_device": ("device the learned component was trained on", "1"),
}


def _prox_network_cost(path: str) -> tuple[float, str]:
    """Training seconds and device of a proximal network, from its checkpoint's ``extra`` (NaN if not recorded)."""
    extra = torch.load(path, map_location="cpu", weights_only=True).get("extra", {})
    return float(extra.get("train_seconds", float("nan"))), str(extra.get("device", "unknown"))


def evaluation_set(cfg: dict, crops_path: str) -> tuple[torch.Tensor, list[str]]:
    """The first ``inverse.images`` evaluation crops (all if null) and their ids."""
    from aelpn.data import load_crops

    x, ids = load_crops(crops_path)
    n = cfg["inverse"]["images"] or len(ids)
    return x[:n], list(ids[:n])


def measurements(problem, x: torch.Tensor, seed: int) -> tuple[dict, torch.Tensor]:
    """Operator parameters and measurements of all images, from a generator seeded by (seed, problem)."""
    gen = torch.Generator().manual_seed(derive_seed(seed, "inverse", problem.name, "measurements"))
    params = problem.sample_params(x.shape[0], gen)
    return params, problem.measure(x, params, gen)


def _solver(cfg: dict, algorithm: str, model, sigma_train: float, seed: int, operator: str):
    """solve(data, x_true) -> (estimate, iterations (B,), psnr trace (B, T) or None, posterior std or None)."""
    icfg = cfg["inverse"]
    c = icfg.get(algorithm)
    if algorithm == "pnp_admm":
        return lambda d, xt: _traced(pnp.pnp_admm(d, model, sigma_train, icfg["lam"], c["max_iter"], c["tol"], xt))
    if algorithm == "pnp_pgd":
        return lambda d, xt: _traced(
            pnp.pnp_pgd(d, model, sigma_train, icfg["lam"], c["max_iter"], c["tol"], xt))
    if algorithm == "red":
        return lambda d, xt: _traced(
            pnp.red(d, model, sigma_train, c["lam"], c["max_iter"], c["tol"], xt))
    if algorithm == "continuation":
        return lambda d, xt: _traced(pnp.pnp_continuation(d, model, c["sigma_start"], c["lam"], c["iterations"], xt))
    if algorithm == "unrolled":
        def run_unrolled(d, xt):
            with torch.no_grad():
                return model(d), len(model.denoisers), None, None
        return run_unrolled
    if algorithm == "diffpir":
        p = diffusion.diffpir_settings(c, operator)
        return lambda d, xt: (
            diffusion.diffpir(d, model, c["steps"], p["lam"], p["zeta"], seed), c["steps"], None, None)
    if algorithm == "dps":
        p = diffusion.dps_settings(c, operator)
        return lambda d, xt: (diffusion.dps(d, model, c["steps"], p["zeta"], seed), c["steps"], None, None)
    if algorithm == "ula":
        def run_ula(d, xt):
            mean, std = langevin.pnp_ula(d, model, c, seed)
            return mean, c["iterations"], None, std
        return run_ula
    raise ValueError(f"config key 'inverse.algorithms': unknown algorithm '{algorithm}'")


def _traced(sol: pnp.Solution):
    return sol.x, sol.iterations, sol.psnr_trace, None


def _learned_components(cfg, algorithm, models, denoiser_path, unrolled_path, device):
    """(prior, model, train_seconds, train_device) for each prior the algorithm runs with."""
    from aelpn.models import load_model

    variants = cfg["model"]["variants"]
    if algorithm in PRIOR_ALGORITHMS:
        if len(models) != len(variants):
            raise ValueError(f"{algorithm} needs one model per variant {variants}, got {len(models)} paths")
        out = []
        for variant, path in zip(variants, models):
            if Path(path).parent.name != variant:
                raise ValueError(f"{path}: expected the model of variant '{variant}' "
                                 f"(results/models/{variant}/model.pt)")
            out.append((variant, load_model(path, device=device), *_prox_network_cost(path)))
        return out
    if algorithm == "unrolled":
        if unrolled_path is None:
            raise ValueError("algorithm 'unrolled' needs --unrolled (the trained unrolled network)")
        model, meta = load_unrolled(unrolled_path, device=device)
        return [(DENOISER_PRIOR, model, meta["train_seconds"], meta["train_device"])]
    if denoiser_path is None:
        raise ValueError(f"algorithm '{algorithm}' needs --denoiser (the trained conditional denoiser)")
    model, meta = load_denoiser(denoiser_path, device=device)
    return [(DENOISER_PRIOR, model, meta["train_seconds"], meta["train_device"])]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_job(cfg: dict, algorithm: str, problem_name: str, crops_path: str, out: str, models=(),
            denoiser_path: str | None = None, unrolled_path: str | None = None) -> xr.Dataset:
    """Solve ``problem_name`` with ``algorithm`` (for each proximal network in ``models`` for the PnP
    algorithms) on the evaluation crops and write the per-job netCDF (dims prior, image, iteration, example,
    channel, y, x; prior runs over all variants plus ``denoiser``, NaN where it does not apply).
    cfg: seed, compute, model, train, inverse."""
    icfg = cfg["inverse"]
    device = configure(cfg["compute"])
    x_all, ids = evaluation_set(cfg, crops_path)
    problem = build_problem(problem_name, icfg, tuple(x_all.shape[1:]))
    if not applicable(algorithm, problem.spec):
        raise ValueError(f"algorithm '{algorithm}' does not apply to the Poisson problem '{problem_name}'")
    params, y_all = measurements(problem, x_all, cfg["seed"])
    all_priors = list(cfg["model"]["variants"]) + [DENOISER_PRIOR]
    n, (c, h, w) = len(ids), x_all.shape[1:]
    n_ex, t_len = min(icfg["examples"], n), trace_length(icfg)
    res = {
        "psnr": np.full((len(all_priors), n), np.nan), "ssim": np.full((len(all_priors), n), np.nan),
        "seconds": np.full((len(all_priors), n), np.nan), "iterations": np.full((len(all_priors), n), np.nan),
        "psnr_trace": np.full((len(all_priors), n, t_len), np.nan),
        "reconstruction": np.full((len(all_priors), n_ex, c, h, w), np.nan),
        "posterior_std": np.full((len(all_priors), n_ex, c, h, w), np.nan),
    }
    train_seconds = np.full(len(all_priors), np.nan)
    train_device = np.array([""] * len(all_priors), dtype=object)
    bs = icfg["batch_size"]
    for prior, model, t_sec, t_dev in _learned_components(cfg, algorithm, models, denoiser_path, unrolled_path, device):
        j = all_priors.index(prior)
        train_seconds[j], train_device[j] = t_sec, t_dev
        for start in range(0, n, bs):
            sl = slice(start, min(start + bs, n))
            batch_params = {k: v[sl] for k, v in params.items()}
            x_true, y = x_all[sl].to(device), y_all[sl].to(device)
            data = problem.data_term(problem.physics(batch_params, device=device), y)
            solve = _solver(cfg, algorithm, model, cfg["train"]["sigma"],
                            derive_seed(cfg["seed"], "inverse", problem_name, algorithm, prior, str(start)),
                            problem.spec["operator"])
            _sync(device)
            t0 = time.perf_counter()
            est, iters, trace, std = solve(data, x_true)
            _sync(device)
            elapsed = time.perf_counter() - t0
            est = est.detach().float()
            res["psnr"][j, sl] = metrics.psnr(est, x_true).cpu().numpy()
            res["ssim"][j, sl] = metrics.ssim(est, x_true).cpu().numpy()
            res["seconds"][j, sl] = elapsed / (sl.stop - sl.start)
            res["iterations"][j, sl] = torch.as_tensor(iters).expand(sl.stop - sl.start).cpu().numpy()
            if trace is not None:
                res["psnr_trace"][j, sl, : trace.shape[1]] = trace.numpy()
            ex = slice(start, min(sl.stop, n_ex))
            if ex.start < ex.stop:
                k = ex.stop - ex.start
                res["reconstruction"][j, ex] = est[:k].cpu().numpy()
                if std is not None:
                    res["posterior_std"][j, ex] = std[:k].float().cpu().numpy()
            print(f"{algorithm}[{prior}] {problem_name} images {sl.start}-{sl.stop - 1}: "
                  f"PSNR {np.mean(res['psnr'][j, sl]):.2f} dB in {elapsed:.1f} s", flush=True)
    dims = {"psnr": ("prior", "image"), "ssim": ("prior", "image"), "seconds": ("prior", "image"),
            "iterations": ("prior", "image"), "psnr_trace": ("prior", "image", "iteration"),
            "reconstruction": ("prior", "example", "channel", "y", "x"),
            "posterior_std": ("prior", "example", "channel", "y", "x")}
    ds = xr.Dataset({name: (dims[name], res[name]) for name in PER_PRIOR})
    ds["measurement"] = (("example", "channel", "y", "x"), y_all[:n_ex].float().numpy())
    ds["truth"] = (("example", "channel", "y", "x"), x_all[:n_ex].float().numpy())
    ds["train_seconds"] = ("prior", train_seconds)
    ds["train_device"] = ("prior", train_device.astype(str))
    ds = ds.assign_coords(prior=all_priors, image=ids, iteration=np.arange(1, t_len + 1), example=ids[:n_ex])
    annotate(ds, {**UNITS, "prior": ("prior (proximal network variant or conditional denoiser)", "1"),
                  "image": ("evaluation crop id", "1"), "iteration": ("iteration", "1"),
                  "example": ("id of an example image", "1")})
    ds.attrs.update(attrs(f"aelpn inverse problem {problem_name}, algorithm {algorithm}", cfg, describe(device)),
                    algorithm=algorithm, problem=problem_name, problem_spec=json.dumps(problem.spec, sort_keys=True))
    write_netcdf(ds, out)
    return ds


def job_label(algorithm: str, problem: str) -> str:
    return f"{algorithm}@{problem}"


def combine_inverse(cfg: dict, inputs, out: str) -> xr.Dataset:
    """Combine the per-job files (``.../{problem}/{algorithm}.nc``) into ``out`` with dims (method, problem,
    image, ...); ``applicable`` marks the (method, problem) pairs that ran, all others are NaN. Raises
    CombineError for a missing or unexpected job or a NaN metric in a job that ran."""
    icfg, variants = cfg["inverse"], cfg["model"]["variants"]
    expected = [job_label(a, p) for a, p in jobs(icfg)]
    labels = [job_label(Path(p).stem, Path(p).parent.name) for p in inputs]
    runs = combine_runs(inputs, "job", expected, labels=labels, shared=("truth",),
                        nan_ok=PER_PRIOR + ("train_seconds",))
    problems = list(icfg["problems"])
    meths = methods(icfg, variants)
    first = runs.isel(job=0)
    shape = {name: first[name].sel(prior=DENOISER_PRIOR).shape for name in PER_PRIOR}
    data = {name: np.full((len(meths), len(problems), *shape[name]), np.nan) for name in PER_PRIOR}
    train_seconds = np.full((len(meths), len(problems)), np.nan)
    train_device = np.full((len(meths), len(problems)), "", dtype=object)
    ran = np.zeros((len(meths), len(problems)), dtype=np.int8)
    measurement = np.full((len(problems), *first["measurement"].shape), np.nan)
    for (a, p) in jobs(icfg):
        part = runs.sel(job=job_label(a, p))
        pi = problems.index(p)
        measurement[pi] = part["measurement"].values
        for prior in priors(a, variants):
            mi = [m[1:] for m in meths].index((a, prior))
            sel = part.sel(prior=prior)
            for name in PER_PRIOR:
                data[name][mi, pi] = sel[name].values
            train_seconds[mi, pi], train_device[mi, pi] = sel["train_seconds"], str(sel["train_device"].values)
            ran[mi, pi] = 1
            for name in ("psnr", "ssim", "seconds", "iterations", "reconstruction"):
                if np.isnan(data[name][mi, pi]).any():
                    raise CombineError(f"variable '{name}' holds NaN for method {meths[mi][0]} on problem {p}")
    dims = {name: ("method", "problem") + runs[name].sel(prior=DENOISER_PRIOR).dims[1:] for name in PER_PRIOR}
    ds = xr.Dataset({name: (dims[name], data[name]) for name in PER_PRIOR})
    ds["train_seconds"] = (("method", "problem"), train_seconds)
    ds["train_device"] = (("method", "problem"), train_device.astype(str))
    ds["applicable"] = (("method", "problem"), ran)
    ds["measurement"] = (("problem",) + runs["measurement"].dims[1:], measurement)
    ds["truth"] = runs["truth"]
    ds = ds.assign_coords(method=[m[0] for m in meths], algorithm=("method", [m[1] for m in meths]),
                          prior=("method", [m[2] for m in meths]), problem=problems,
                          image=runs["image"].values, iteration=runs["iteration"].values,
                          example=runs["example"].values)
    annotate(ds, {**UNITS, "applicable": ("1 if the method ran on the problem, else 0 (values NaN)", "1"),
                  "method": ("solver and prior", "1"), "algorithm": ("solver", "1"),
                  "prior": ("proximal network variant or conditional denoiser", "1"),
                  "problem": ("inverse problem", "1"), "image": ("evaluation crop id", "1"),
                  "iteration": ("iteration", "1"), "example": ("id of an example image", "1")})
    parts = runs.attrs["parts"]
    devices = sorted({q.get("device", "unknown") for q in json.loads(parts)})
    ds.attrs.update(attrs("aelpn inverse problems: PnP vs unrolled vs diffusion", cfg, ", ".join(devices)),
                    parts=parts, problems=json.dumps(icfg["problems"], sort_keys=True))
    write_netcdf(ds, out)
    return ds
