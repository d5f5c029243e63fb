"""Measure the training recipes (README "Training"): the effect of learning-rate warm-up and gradient clipping on
the conditional denoiser and the flow-matching model (recipe off / on per seed, reference scale), and the paper's
learning rates against the two initialisations of the constrained weights (reference width, 1000 + 1000 steps).

    python tools/recipe_study.py recipes --images PATH/BSDS500 --out recipes.jsonl [--device cuda] [--seeds 0 1 2 3]
    python tools/recipe_study.py inits --images PATH/BSDS500 --out inits.jsonl [--variants scale aelpn] [--device cuda]

Every run is one process of a pool (``--jobs``); each prints and appends one JSON line to ``--out``."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
OFF = {"lr_warmup": 0, "grad_clip": None}


def shorten(cfg: dict, steps: int) -> dict:
    """--quick: every training section of ``cfg`` runs ``steps`` steps (a check of this script, not a result)."""
    cfg["train"].update(steps_pretrain=steps, steps_pm=steps, checkpoint_every=steps)
    for sec in ("denoiser", "flow"):
        section = cfg["inverse"][sec]
        section.update(steps=steps, checkpoint_every=steps, lr_warmup=min(section["lr_warmup"], steps))
    cfg["data"]["max_images"].update(train=8, val=4, test=4)
    cfg["train"]["validate_images"] = 4
    return cfg


def quick() -> int | None:
    """--quick's step count (an environment variable, so the pool's processes see it too)."""
    return int(os.environ["RECIPE_STUDY_QUICK"]) if os.environ.get("RECIPE_STUDY_QUICK") else None


def config(name: str, device: str, seed: int = 0) -> dict:
    cfg = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
    cfg["seed"], cfg["compute"]["device"] = seed, device
    return shorten(cfg, quick()) if quick() else cfg


def crops(images: str, cfg: dict, workdir: Path) -> dict[str, Path]:
    from aelpn.data import make_crops
    out = {}
    for split in ("train", "val"):
        out[split] = workdir / f"{split}_{cfg['data']['crop_size']}_{cfg['seed']}.nc"
        if not out[split].exists():
            make_crops(images, split, cfg["data"], cfg["seed"], out[split])
    return out


def denoiser_psnr(path: Path, val: Path, sigmas=(0.05, 0.1)) -> dict:
    from aelpn.data import load_crops
    from aelpn.models.denoiser import load_denoiser
    from aelpn.core.metrics import psnr
    model, _ = load_denoiser(str(path))
    x, _ = load_crops(val)
    gen = torch.Generator().manual_seed(123)
    res = {}
    with torch.no_grad():
        for s in sigmas:
            y = x + s * torch.randn(x.shape, generator=gen)
            res[f"psnr_{s}"] = float(psnr(model(y, s).clamp(0, 1), x).mean())
            res[f"noisy_{s}"] = float(psnr(y.clamp(0, 1), x).mean())
    return res


def log_summary(log_path: Path) -> dict:
    from aelpn.core.io import read_netcdf
    log = read_netcdf(log_path)
    loss = log["loss"].values
    tail = loss[int(0.9 * len(loss)):]
    running_min = torch.tensor(loss).cummin(0).values.numpy()
    return {"final_loss": float(tail.mean()), "max_loss_over_running_min": float((loss[1:] / running_min[:-1]).max()),
            "rollbacks": int(log.attrs.get("rollbacks", 0)),
            "rollback_steps": log["rollback_step"].values.tolist() if "rollback_step" in log else [],
            "median_step_s": float(statistics.median(log["seconds"].values))}


def recipe_job(component: str, recipe: str, seed: int, images: str, device: str, workdir: str) -> dict:
    torch.set_num_threads(1)
    cfg = config("reference", device, seed)
    paths = crops(images, cfg, Path(workdir))
    sec = cfg["inverse"][component]
    if recipe == "off":
        sec.update(OFF)
    out = Path(workdir) / f"{component}_{recipe}_{seed}.pt"
    log = out.with_suffix(".log.nc")
    if component == "denoiser":
        from aelpn.training.denoiser import train_denoiser
        train_denoiser(cfg, str(paths["train"]), str(out), str(log))
    else:
        from aelpn.training.flow import train_flow
        train_flow(cfg, str(paths["train"]), str(out), str(log))
    res = {"study": "recipes", "component": component, "recipe": recipe, "seed": seed,
           "lr_warmup": sec["lr_warmup"], "grad_clip": sec["grad_clip"], **log_summary(log)}
    if component == "denoiser":
        res.update(denoiser_psnr(out, paths["val"]))
    return res


def first_step_gradients(model, x: torch.Tensor, cfg: dict, variant: str) -> dict:
    """Adam's first update of each parameter is lr g / (|g| + eps) (eps = 1e-8): the fraction of parameters whose
    first gradient is below eps (they barely move), the median |g|, and the median relative first update
    |lr g / (|g| + eps)| / |w| over the non-zero weights at the variant's first learning rate."""
    from aelpn.training.losses import l1_loss
    gen = torch.Generator().manual_seed(0)
    y = x + cfg["train"]["sigma"] * torch.randn(x.shape, generator=gen)
    model.zero_grad()
    l1_loss(model(y), x).backward()
    grads = torch.cat([p.grad.flatten().abs() for p in model.parameters()])
    weights = torch.cat([p.detach().flatten().abs() for p in model.parameters()])
    lr = cfg["train"]["lr_pretrain"][variant]
    relative = (lr * grads / (grads + 1e-8))[weights > 0] / weights[weights > 0]
    return {"swamped_fraction": float((grads < 1e-8).float().mean()), "median_abs_grad": float(grads.median()),
            "median_relative_first_update": float(relative.median())}


def init_job(variant: str, init: str, images: str, device: str, workdir: str) -> dict:
    torch.set_num_threads(1)
    from aelpn.core.seeding import derive_seed
    from aelpn.data import load_crops
    from aelpn.models import build_model
    from aelpn.training.proxnets import train
    cfg = config("reference", device)
    paper = config("config", device)
    cfg["model"]["nonneg_init"][variant] = init
    n = quick() or 1000
    cfg["train"].update(steps_pretrain=n, steps_pm=n, lr_pretrain=paper["train"]["lr_pretrain"],
                        lr_pm=paper["train"]["lr_pm"], validate_every=2 * n)
    paths = crops(images, cfg, Path(workdir))
    x, _ = load_crops(paths["train"])
    model = build_model(variant, cfg["model"], x.shape[1], x.shape[-1], seed=derive_seed(cfg["seed"], "train", variant))
    grads = first_step_gradients(model, x[:16], cfg, variant)
    out = Path(workdir) / f"init_{variant}_{init}.pt"
    train(cfg, variant, paths["train"], paths["val"], out, out.with_suffix(".log.nc"))
    from aelpn.core.io import read_netcdf
    log = read_netcdf(out.with_suffix(".log.nc"))
    from aelpn.core.metrics import psnr
    from aelpn.training.proxnets import _validation_set
    x_val, y_val = _validation_set(cfg, load_crops(paths["val"])[0])
    noisy_psnr = float(psnr(y_val, x_val).mean())
    return {"study": "inits", "variant": variant, "init": init, "lr_pretrain": cfg["train"]["lr_pretrain"][variant],
            "lr_pm": cfg["train"]["lr_pm"][variant], **grads, "final_val_psnr": float(log["val_psnr"].values[-1]),
            "noisy_val_psnr": noisy_psnr, "rollbacks": int(log.attrs["rollbacks"])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study", choices=["recipes", "inits"])
    ap.add_argument("--images", required=True, help="a BSDS500 folder written by `aelpn data fetch`")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--variants", nargs="+", default=["lpn", "scale", "shift", "normtrick", "aelpn"],
                    help="inits: the variants to train")
    ap.add_argument("--inits", nargs="+", default=["exp", "uniform"], help="inits: the initialisations to compare")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--quick", type=int, default=None, help="every run this many steps: checks the script only")
    a = ap.parse_args(argv)
    if a.quick:
        os.environ["RECIPE_STUDY_QUICK"] = str(a.quick)
    workdir = a.workdir or tempfile.mkdtemp(prefix="recipe_study_")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    # the crops once, before the pool (the jobs read them)
    crops(a.images, config("reference", "cpu"), Path(workdir))
    if a.study == "recipes":
        for seed in a.seeds:
            crops(a.images, config("reference", "cpu", seed), Path(workdir))
        jobs = [(recipe_job, (c, r, s, a.images, a.device, workdir)) for c in ("denoiser", "flow")
                for r in ("off", "on") for s in a.seeds]
    else:
        jobs = [(init_job, (v, i, a.images, a.device, workdir)) for v in a.variants for i in a.inits]
    failed = 0
    ctx = torch.multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(a.jobs, mp_context=ctx) as pool, open(a.out, "a") as out:
        futures = {pool.submit(fn, *args): args for fn, args in jobs}
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as err:  # a failed run is a result too: report it and go on
                failed += 1
                res = {"study": a.study, "job": [str(x) for x in futures[fut][:3]],
                       "error": f"{type(err).__name__}: {err}"}
            line = json.dumps(res, default=str)
            print(line, flush=True)
            out.write(line + "\n")
            out.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
