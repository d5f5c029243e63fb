"""1-D split-normal study (paper Fig. 1): learn the MAP denoiser of SN(0, sigma_L, sigma_R) under Gaussian
noise with proximal matching, and compare learned and true prox and regularizer on a grid.

Variants: ``lpn`` (plain 1-D LPN), ``scale`` (2-homogeneous potential, positively 1-homogeneous prox) and
``normtrick`` (f(x) = |x| g(x / |x|)). Shift- and affine-equivariant models are not trained here: in 1-D
the projection P onto span(1) is the identity, so (I - P) x = 0 and the shift-equivariant construction
psi(x) = phi((I - P) x) + ||P x||^2 / 2 = x^2 / 2 + const has the prox f(x) = x, whatever phi is; the
affine-equivariant model collapses to the same identity map. The true prox (x/2 | 4x/5 for the default
prior) is positively 1-homogeneous but not shift-equivariant, so only scale equivariance is tested."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch.optim.swa_utils import AveragedModel

from aelpn.core import provenance
from aelpn.core.config import slice_hash
from aelpn.core.device import configure, describe
from aelpn.core.io import write_netcdf
from aelpn.core.progress import progress_bar
from aelpn.core.seeding import derive_seed, generator
from aelpn.core.titles import TITLES
from aelpn.models import build_model_1d, load_model, read_model_file, save_model
from aelpn.prox1d.splitnormal import SplitNormal
from aelpn.models.files import ModelFileError
from aelpn.models.regularizer import regularizer
from aelpn.training import Recipe, Run, Step, fields, fit, losses

# The learned regularizer is reported only where the inversion f(y) = x succeeded to this relative
# residual; elsewhere (x outside the range of f, e.g. a saturating 1-D LPN without alpha term) it is NaN.
INVERSION_TOL = 1e-3


def grid(prox1d_cfg: dict) -> torch.Tensor:
    """The evaluation grid: grid_points equispaced values on [grid_min, grid_max] (grid_max > grid_min, checked
    by ``aelpn.core.config.validate``), shape (grid_points,)."""
    return torch.linspace(prox1d_cfg["grid_min"], prox1d_cfg["grid_max"], prox1d_cfg["grid_points"])


def learned_prox(model, x: torch.Tensor) -> torch.Tensor:
    """The model's prox at the 1-D points ``x`` (shape (n,)), evaluated on the model's device."""
    device = next(model.parameters()).device
    with torch.no_grad():
        return model(x[:, None].to(device)).squeeze(1).cpu()


def max_prox_error(model, prior: SplitNormal, prox1d_cfg: dict) -> float:
    """max over the grid of |f(x) - prox_R(x)|."""
    x = grid(prox1d_cfg)
    return float((learned_prox(model, x) - prior.prox(x)).abs().max())


def train_1d(cfg: dict, variant: str, out: str | Path, log_out: str | Path) -> None:
    """Train the 1-D ``variant`` from scratch by proximal matching at the fixed gamma ``prox1d.gamma``:
    loss mean_b 1 - exp(-(f(y_b) - x_b)^2 / gamma^2), x ~ SN, y = x + s n, fresh seeded batches every step,
    Adam with learning rate ``lrs[k]`` for ``steps[k]`` steps (``aelpn.training`` loop: resumable, stops on a
    bad loss). Writes the model (``aelpn.models.files``, kind proxnet) and the training log.

    The saved weights are the Polyak-Ruppert average theta_bar = (1/N) sum_{t > T - N} theta_t of the last
    N = ``average_steps`` iterates (N = 0: the last iterate theta_T). Every iterate satisfies the projection
    (W >= 0 on the z-path), a convex set, so theta_bar does too: the averaged model is still the gradient of a
    convex potential, with the same equivariance. At the final constant rate the last iterate jitters around
    the optimum (Adam moves every weight by about lr per step); the average does not."""
    pcfg = cfg["prox1d"]
    device = configure(cfg["compute"])
    prior = SplitNormal.from_config(pcfg)
    model = build_model_1d(variant, pcfg, seed=derive_seed(cfg["seed"], "prox1d", variant)).to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters())
    averaged = AveragedModel(model)
    gen = generator(cfg["seed"], "prox1d", variant, "batches")
    schedule = [lr for steps, lr in zip(pcfg["steps"], pcfg["lrs"]) for _ in range(steps)]
    print(f"prox1d {variant}: {sum(p.numel() for p in model.parameters())} parameters, {len(schedule)} steps, "
          f"batch {pcfg['batch_size']}, gamma {pcfg['gamma']}, on {describe(device)}", flush=True)
    report_every = max(1, len(schedule) // 10)
    first_averaged = len(schedule) - pcfg["average_steps"] + 1

    def batch_loss(step: int) -> Step:
        x = prior.sample(pcfg["batch_size"], gen)
        y = x + prior.noise_sigma * torch.randn(x.shape, generator=gen)
        return Step(losses.proximal_matching_loss(model(y[:, None].to(device)), x[:, None].to(device), pcfg["gamma"]))

    def after_step(done: int) -> dict:
        if done >= first_averaged:
            averaged.update_parameters(model)
        if done % report_every == 0 or done == len(schedule):
            mean = (f", of the mean of the last {int(averaged.n_averaged)} "
                    f"{max_prox_error(averaged.module, prior, pcfg):.4f}" if done >= first_averaged else "")
            print(f"step {done}/{len(schedule)} lr {optimizer.param_groups[0]['lr']:.3g} "
                  f"max|prox error| {max_prox_error(model, prior, pcfg):.4f}{mean}", flush=True)
        return {}

    run = Run(label=f"prox1d {variant}", section="prox1d", steps=len(schedule),
              checkpoint_every=pcfg["checkpoint_every"], recipe=Recipe.from_config(pcfg), out=Path(out),
              log_out=Path(log_out), fingerprint=f"prox1d-{variant}-{slice_hash(cfg)}", fields=fields(),
              title=f"aelpn 1-D training log, variant {variant}", cfg=cfg, device=describe(device),
              log_attrs={"variant": variant})
    record = fit(run, model, optimizer, schedule.__getitem__, batch_loss,
                 resumables={"generator": gen, "averaged": averaged}, project=model.project_, after_step=after_step)
    last_iterate_error = max_prox_error(model, prior, pcfg)
    if pcfg["average_steps"]:
        model.load_state_dict(averaged.module.state_dict())
    model.eval()
    error = max_prox_error(model, prior, pcfg)
    save_model(model, out, "proxnet", extra={"variant": variant, "sigma": float(prior.noise_sigma), **record.extra(),
                                             "max_prox_error": error,
                                             "average_steps": pcfg["average_steps"],
                                             "last_iterate_max_prox_error": last_iterate_error})
    kept = (f"mean of the last {pcfg['average_steps']} iterates; the last iterate's is {last_iterate_error:.4f}"
            if pcfg["average_steps"] else "last iterate")
    print(f"wrote {out}: max |prox error| on [{pcfg['grid_min']}, {pcfg['grid_max']}] = {error:.4f} ({kept})",
          flush=True)


def evaluate_1d(cfg: dict, model_paths: list[str | Path], out: str | Path) -> None:
    """Evaluate one trained model per variant of ``prox1d.variants`` on the grid and write ``out`` with the
    learned and true prox, the learned regularizer R_theta (by inversion, ``aelpn.models.regularizer``) and the true
    one s^2 (-log p), both shifted to minimum 0 (the learned one NaN where the inversion residual exceeds
    INVERSION_TOL), and the max abs prox error per variant, of the saved (averaged) model and of the training's
    last iterate (from the model file; NaN if it does not record it)."""
    pcfg = cfg["prox1d"]
    device = configure(cfg["compute"])
    prior = SplitNormal.from_config(pcfg)
    models, last_error = {}, {}
    for path in model_paths:
        if read_model_file(path)["spec"].get("kind") != "1d":
            raise ModelFileError(f"{path}: not a 1-D model of the prox1d study (an image model?); pass the files "
                                 "'aelpn train prox1d' writes")
        model = load_model(path, device=device, kind="proxnet")
        if model.variant in models:
            raise ModelFileError(f"{path}: a second model of variant {model.variant!r}")
        models[model.variant] = model
        last_error[model.variant] = float(read_model_file(path)["extra"].get("last_iterate_max_prox_error", np.nan))
    missing = [v for v in pcfg["variants"] if v not in models]
    extra = [v for v in models if v not in pcfg["variants"]]
    if missing or extra:
        raise ModelFileError(f"models {list(map(str, model_paths))} do not match config key 'prox1d.variants' "
                         f"{pcfg['variants']}: missing {missing}, unexpected {extra}")
    variants = list(pcfg["variants"])
    x = grid(pcfg)
    prox = torch.stack([learned_prox(models[v], x) for v in variants])
    reg, residual = [], []
    for v in progress_bar(variants, desc="prox1d regularizers"):
        solved = regularizer(models[v], x[:, None].to(device))
        value = torch.where(solved.residual.cpu() <= INVERSION_TOL, solved.value.cpu(), torch.nan)
        reg.append(value - value.nan_to_num(torch.inf).min())
        residual.append(solved.residual.cpu())
    true_reg = prior.regularizer(x)
    error = (prox - prior.prox(x)).abs().max(dim=1).values

    ds = xr.Dataset(
        {
            "prox": (("variant", "x"), prox.numpy()),
            "prox_true": ("x", prior.prox(x).numpy()),
            "regularizer": (("variant", "x"), torch.stack(reg).numpy()),
            "regularizer_true": ("x", (true_reg - true_reg.min()).numpy()),
            "regularizer_residual": (("variant", "x"), torch.stack(residual).numpy()),
            "prox_max_error": ("variant", error.numpy()),
            "prox_max_error_last_iterate": ("variant", np.array([last_error[v] for v in variants])),
        },
        coords={"variant": np.array(variants, dtype=object), "x": x.numpy()},
    )
    provenance.annotate(ds, {
        "variant": ("1-D model variant", "1"),
        "x": ("input (noisy value y for the prox, point x for the regularizer)", "1"),
        "prox": ("learned proximal operator f_theta(x)", "1"),
        "prox_true": ("true MAP denoiser prox_R(x) of the split-normal prior", "1"),
        "regularizer": ("learned regularizer R_theta(x) by inversion, shifted to minimum 0 (NaN where the "
                        "inversion failed)", "1"),
        "regularizer_true": ("true regularizer noise_sigma^2 * (-log p(x)), shifted to minimum 0", "1"),
        "regularizer_residual": ("relative inversion residual |f_theta(y) - x| / |x| of the learned regularizer", "1"),
        "prox_max_error": ("max over the grid of |f_theta(x) - prox_R(x)| of the saved model (the Polyak-Ruppert "
                           "average of the last prox1d.average_steps iterates)", "1"),
        "prox_max_error_last_iterate": ("max over the grid of |f_theta(x) - prox_R(x)| of the last training "
                                        "iterate", "1"),
    })
    ds["prox_max_error"].attrs["target_max_error"] = pcfg["target_max_error"]
    ds["regularizer"].attrs["inversion_tolerance"] = INVERSION_TOL
    ds.attrs.update(provenance.attrs(TITLES["prox1d"], cfg, describe(device)))
    ds.attrs["target_max_error"] = pcfg["target_max_error"]
    ds.attrs["target_variant"] = "scale"
    write_netcdf(ds, out)
    for v, e in zip(variants, error.tolist()):
        flag = f" (paper-scale target <= {pcfg['target_max_error']})" if v == "scale" else ""
        print(f"prox1d {v}: max |prox error| on [{pcfg['grid_min']}, {pcfg['grid_max']}] = {e:.4f}{flag}")
