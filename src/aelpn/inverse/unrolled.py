"""Unrolled HQS: K iterations x_k = prox_{g_k f}(z_{k-1}), z_k = D_k(x_k, sigma_k), with K untied denoisers
D_k of the same architecture as the PnP denoiser (initialized from it) and learned data weights g_k, trained
end to end with MSE for one problem, so that x_K approximates the MMSE estimate E[x | y]."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from aelpn import checkpoint
from aelpn.config import slice_hash
from aelpn.device import autocast, configure, describe
from aelpn.inverse.denoiser import ConditionalDenoiser, batches, load_denoiser
from aelpn.inverse.pnp import continuation_schedule
from aelpn.inverse.problems import build_problem
from aelpn.io import file_digest, save_torch
from aelpn.seeding import derive_seed


class UnrolledHQS(nn.Module):
    """x_K of K HQS steps from z_0 = data.init(); sigma_k follows the continuation schedule from sigma_start
    to the noise level of y; log g_k starts at log(sigma_k^2 / lam) (the DPIR weights) and is learned."""

    def __init__(self, denoiser: ConditionalDenoiser, iterations: int, sigma_start: float, lam: float):
        super().__init__()
        self.spec = {"denoiser": dict(denoiser.spec), "iterations": iterations, "sigma_start": sigma_start, "lam": lam}
        self.denoisers = nn.ModuleList(copy.deepcopy(denoiser) for _ in range(iterations))
        self.sigma_start, self.lam = sigma_start, lam
        self.log_weight_offset = nn.Parameter(torch.zeros(iterations))

    def schedule(self, noise_level: torch.Tensor) -> torch.Tensor:
        return continuation_schedule(self.sigma_start, noise_level, len(self.denoisers)).float()

    def forward(self, data) -> torch.Tensor:
        sigmas = self.schedule(data.noise_level).to(self.log_weight_offset.device)
        weights = sigmas**2 / self.lam * torch.exp(self.log_weight_offset).view(-1, 1)
        z = data.init()
        for k, denoiser in enumerate(self.denoisers):
            z = denoiser(data.prox(z, weights[k]), sigmas[k])
        return z


def _measure_batch(problem, x: torch.Tensor, generator: torch.Generator, device):
    params = problem.sample_params(x.shape[0], generator)
    y = problem.measure(x, params, generator)
    physics = problem.physics(params, device=device)
    return problem.data_term(physics, y.to(device))


def train_unrolled(cfg: dict, problem_name: str, crops_path: str, denoiser_path: str, out: str) -> Path:
    """Train the unrolled network of ``problem_name`` end to end (Adam, MSE) on fresh seeded measurements of
    the crops in ``crops_path``; resumes from ``out + '.ckpt'``. cfg: seed, compute, inverse."""
    from aelpn.data import load_crops

    icfg, ucfg = cfg["inverse"], cfg["inverse"]["unrolled"]
    device = configure(cfg["compute"])
    x_all, _ = load_crops(crops_path)
    problem = build_problem(problem_name, icfg, tuple(x_all.shape[1:]))
    denoiser, _ = load_denoiser(denoiser_path, device="cpu")
    model = UnrolledHQS(denoiser, ucfg["iterations"], icfg["continuation"]["sigma_start"],
                        icfg["continuation"]["lam"]).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=ucfg["lr"])
    gen = torch.Generator().manual_seed(derive_seed(cfg["seed"], "inverse", problem_name, "unrolled"))
    ckpt_path = Path(str(out) + ".ckpt")
    fingerprint = f"unrolled-{problem_name}-{slice_hash(cfg)}-{file_digest(crops_path)}-{file_digest(denoiser_path)}"
    step, log = checkpoint.resume(ckpt_path, fingerprint, model, opt, gen, ("seconds",),
                                  f"unrolled {problem_name}", ucfg["steps"])
    stream = batches(x_all, ucfg["batch_size"], gen)
    bar = tqdm(total=ucfg["steps"], initial=step, desc=f"unrolled {problem_name}", mininterval=5)
    while step < ucfg["steps"]:
        t0 = time.perf_counter()
        xb = next(stream)
        data = _measure_batch(problem, xb, gen, device)
        with autocast(cfg["compute"], device):
            loss = (model(data) - xb.to(device)).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), ucfg["grad_clip"])
        opt.step()
        step += 1
        log["seconds"].append(time.perf_counter() - t0)
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.2e}", refresh=False)
        if step % ucfg["checkpoint_every"] == 0 and step < ucfg["steps"]:
            checkpoint.save(ckpt_path, fingerprint=fingerprint, step=step, model=model, optimizer=opt,
                            generator=gen, log=log)
    bar.close()
    seconds = float(sum(log["seconds"]))
    save_torch({"spec": model.spec, "problem": problem_name, "state_dict": model.eval().state_dict(),
                "train_seconds": seconds, "train_device": describe(device), "steps": step}, out)
    ckpt_path.unlink(missing_ok=True)
    return Path(out)


def load_unrolled(path: str, device="cpu") -> tuple[UnrolledHQS, dict]:
    """The trained unrolled network in eval mode and its metadata (problem, train_seconds, train_device, steps)."""
    ck = torch.load(path, map_location=device, weights_only=True)
    spec = ck["spec"]
    d = spec["denoiser"]
    model = UnrolledHQS(ConditionalDenoiser(d["channels"], d["width"], d["blocks"], d["pixel_std"]),
                        spec["iterations"], spec["sigma_start"], spec["lam"])
    model.load_state_dict(ck["state_dict"])
    meta = {k: ck[k] for k in ("problem", "train_seconds", "train_device", "steps")}
    return model.to(device).eval(), meta
