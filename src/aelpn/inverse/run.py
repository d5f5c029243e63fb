"""Run one (algorithm, problem) job on the evaluation crops and write its netCDF (dims prior, image, iteration,
example, channel, y, x). Every method of a problem sees the same measurements (operator parameters and noise
drawn from a generator seeded by (seed, problem)); estimates are clipped to [0, 1] before PSNR/SSIM
(aelpn.core.metrics, deepinv)."""

from __future__ import annotations

import json
import time

import numpy as np
import torch
import xarray as xr

from aelpn.core import metrics
from aelpn.core.config import ConfigError
from aelpn.core.device import configure, describe
from aelpn.core.io import write_netcdf
from aelpn.core.provenance import annotate, attrs, channel_labels
from aelpn.core.seeding import derive_seed
from aelpn.inverse.priors import load_priors
from aelpn.inverse.jobs import DENOISER_PRIOR, applicable, map_weight, proximal_variants, trace_length
from aelpn.inverse.methods.registry import get
from aelpn.models.files import check_image_model
from aelpn.physics.problems import build_problem

PER_IMAGE = ("psnr", "ssim", "seconds", "iterations", "diverged", "psnr_sample")
# Counts and flags, stored as integers (NaN where a prior did not run: the fill value).
INTEGERS = {"iterations": "int32", "diverged": "int8"}
PER_PRIOR = PER_IMAGE + ("psnr_trace", "reconstruction", "posterior_std")
LAM_DESCRIPTION = "weight lam of the MAP objective f + lam R the method minimises (NaN: none)"
UNITS = {
    "psnr": ("PSNR of the estimate clipped to [0, 1]", "dB"),
    "ssim": ("SSIM of the estimate clipped to [0, 1]", "1"),
    "seconds": ("wall-clock inference time per image", "s"),
    "iterations": ("iterations (denoiser evaluations for diffusion, chain length for Langevin)", "1"),
    "diverged": ("1 where the iterates became non-finite and the estimate is the last finite iterate, else 0", "1"),
    "psnr_sample": ("PSNR of one posterior sample clipped to [0, 1], the last kept chain state (samplers only)", "dB"),
    "psnr_trace": ("PSNR of the iterate after each iteration (NaN after stopping / untraced methods)", "dB"),
    "reconstruction": ("estimate of the example images (Langevin: posterior mean)", "1"),
    "posterior_std": ("per-pixel posterior standard deviation (Langevin only)", "1"),
    "measurement": ("measurements y of the example images", "1"),
    "truth": ("ground-truth example images", "1"),
    "train_seconds": ("training wall-clock time of the method's learned component", "s"),
    "train_device": ("device the learned component was trained on", "1"),
}


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


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def solve_images(cfg: dict, method, prior, problem, x_all, params: dict, y_all, device, examples: int) -> dict:
    """Solve ``problem`` with ``method`` and one LearnedPrior on every image, ``inverse.batch_size`` at a time
    (seeded by (seed, problem, method, prior, first image)): psnr, ssim, seconds, iterations, psnr_sample (n,),
    psnr_trace (n, trace_length) and reconstruction, posterior_std of the first ``examples`` images."""
    icfg = cfg["inverse"]
    n, (c, h, w) = x_all.shape[0], x_all.shape[1:]
    res = {name: np.full(n, np.nan) for name in PER_IMAGE}
    res["psnr_trace"] = np.full((n, trace_length(icfg)), np.nan)
    res["reconstruction"] = np.full((examples, c, h, w), np.nan)
    res["posterior_std"] = np.full((examples, c, h, w), np.nan)
    bs = icfg["batch_size"]
    for start in range(0, n, bs):
        sl = slice(start, min(start + bs, n))
        batch_params = {k: v[sl] for k, v in params.items()}
        x_true, y = x_all[sl].to(device), y_all[sl].to(device)
        data = problem.data_term(problem.physics(batch_params, device=device), y)
        seed = derive_seed(cfg["seed"], "inverse", problem.name, method.name, prior.label, str(start))
        _sync(device)
        t0 = time.perf_counter()
        est = method.solve(data, prior, icfg[method.name], seed, x_true)
        _sync(device)
        elapsed = time.perf_counter() - t0
        x = est.x.detach().float()
        res["psnr"][sl] = metrics.psnr(x, x_true).cpu().numpy()
        res["ssim"][sl] = metrics.ssim(x, x_true).cpu().numpy()
        res["seconds"][sl] = elapsed / (sl.stop - sl.start)
        res["iterations"][sl] = torch.as_tensor(est.iterations).expand(sl.stop - sl.start).cpu().numpy()
        res["diverged"][sl] = 0.0 if est.diverged is None else est.diverged.float().cpu().numpy()
        if est.sample is not None:
            res["psnr_sample"][sl] = metrics.psnr(est.sample.detach().float(), x_true).cpu().numpy()
        if est.psnr_trace is not None:
            res["psnr_trace"][sl, : est.psnr_trace.shape[1]] = est.psnr_trace.numpy()
        ex = slice(start, min(sl.stop, examples))
        if ex.start < ex.stop:
            k = ex.stop - ex.start
            res["reconstruction"][ex] = x[:k].cpu().numpy()
            if est.posterior_std is not None:
                res["posterior_std"][ex] = est.posterior_std[:k].float().cpu().numpy()
        print(f"{method.name}[{prior.label}] {problem.name} images {sl.start}-{sl.stop - 1}: "
              f"PSNR {np.mean(res['psnr'][sl]):.2f} dB in {elapsed:.1f} s", flush=True)
    return res


def run_job(cfg: dict, algorithm: str, problem_name: str, crops_path: str, prior_paths, out: str) -> xr.Dataset:
    """Solve ``problem_name`` with ``algorithm`` on the evaluation crops, once per learned prior in
    ``prior_paths`` (of the kind the method declares), and write the per-job netCDF (dims prior, image,
    iteration, example, channel, y, x; prior runs over inverse.variants plus ``denoiser``, NaN where it does not
    apply). cfg: seed, compute, model, train, inverse."""
    icfg = cfg["inverse"]
    method = get(algorithm)
    device = configure(cfg["compute"])
    x_all, ids = evaluation_set(cfg, crops_path)
    problem = build_problem(problem_name, icfg, tuple(x_all.shape[1:]))
    if not applicable(algorithm, problem.spec):
        raise ConfigError(f"algorithm '{algorithm}' supports {method.likelihoods} likelihoods, not the "
                         f"{problem.spec['noise']['kind']} noise of problem '{problem_name}'")
    for path in prior_paths:
        check_image_model(path, tuple(x_all.shape[1:]))
    priors = load_priors(method.prior, prior_paths, cfg, device)
    params, y_all = measurements(problem, x_all, cfg["seed"])
    all_priors = proximal_variants(cfg) + [DENOISER_PRIOR]
    n, (c, h, w) = len(ids), x_all.shape[1:]
    n_ex, t_len = min(icfg["examples"], n), trace_length(icfg)
    res = {
        **{name: np.full((len(all_priors), n), np.nan) for name in PER_IMAGE},
        "psnr_trace": np.full((len(all_priors), n, t_len), np.nan),
        "reconstruction": np.full((len(all_priors), n_ex, c, h, w), np.nan),
        "posterior_std": np.full((len(all_priors), n_ex, c, h, w), np.nan),
    }
    train_seconds = np.full(len(all_priors), np.nan)
    train_device = np.array([""] * len(all_priors), dtype=object)
    for prior in priors:
        j = all_priors.index(prior.label)
        train_seconds[j], train_device[j] = prior.train_seconds, prior.train_device
        for name, values in solve_images(cfg, method, prior, problem, x_all, params, y_all, device, n_ex).items():
            res[name][j] = values
    dims = {**{name: ("prior", "image") for name in PER_IMAGE}, "psnr_trace": ("prior", "image", "iteration"),
            "reconstruction": ("prior", "example", "channel", "y", "x"),
            "posterior_std": ("prior", "example", "channel", "y", "x")}
    ds = xr.Dataset({name: (dims[name], res[name]) for name in PER_PRIOR})
    ds["measurement"] = (("example", "channel", "y", "x"), y_all[:n_ex].float().numpy())
    ds["truth"] = (("example", "channel", "y", "x"), x_all[:n_ex].float().numpy())
    ds["train_seconds"] = ("prior", train_seconds)
    ds["train_device"] = ("prior", train_device.astype(str))
    ds["lam"] = map_weight(icfg, algorithm)
    ds = ds.assign_coords(prior=all_priors, image=ids, iteration=np.arange(1, t_len + 1), example=ids[:n_ex],
                          channel=channel_labels(c))
    annotate(ds, {**UNITS, "prior": ("prior (proximal network variant or conditional denoiser)", "1"),
                  "lam": (LAM_DESCRIPTION, "1"), "channel": ("colour channel", "1"),
                  "image": ("evaluation crop id", "1"), "iteration": ("iteration", "1"),
                  "example": ("id of an example image", "1")})
    ds.attrs.update(attrs(f"aelpn inverse problem {problem_name}, algorithm {algorithm}", cfg, describe(device)),
                    algorithm=algorithm, problem=problem_name, problem_spec=json.dumps(problem.spec, sort_keys=True))
    write_netcdf(ds, out, integers=INTEGERS)
    return ds
