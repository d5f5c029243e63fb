"""Our DiffPIR and continuation (DPIR) against deepinv's on a run's evaluation crops, with the run's conditional
denoiser and the same measurements: the reference-scale version of tests/test_inverse_crosscheck.py, reported in
docs/crosscheck.md. Conventions matched as in the tests: deepinv's DiffPIR gets lambda / 2 (its data step weighs
||y - Ax||^2 by half of the paper's eq. 13) and our start; deepinv's DPIR runs its own 8 iterations from 49/255,
ours the same (continuation's blur start), from A^T y. Not part of the pipeline.

    python tools/crosscheck_deepinv.py --config config/reference.yaml --results results
"""

from __future__ import annotations

import argparse
from pathlib import Path

import deepinv as dinv
import torch

from aelpn.core import metrics
from aelpn.core.config import load
from aelpn.core.seeding import derive_seed
from aelpn.solvers import diffusion, pnp
from aelpn.models.denoiser import load_denoiser
from aelpn.physics.problems import build_problem
from aelpn.inverse.run import evaluation_set, measurements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--results", default="results", help="the run's results folder")
    parser.add_argument("--problems", nargs="+", default=["blur1", "blur2", "inpaint50"])
    a = parser.parse_args()
    cfg = load(a.config)
    icfg = cfg["inverse"]
    results = Path(a.results)
    denoiser, _ = load_denoiser(results / "models" / "inverse" / "denoiser.pt")
    denoiser.eval()
    x, _ = evaluation_set(cfg, str(results / "data" / "crops" / f"{cfg['data']['splits']['evaluate']}.nc"))
    print(f"{len(x)} crops of {tuple(x.shape[1:])}; mean PSNR of the clipped estimates (dB)")
    print(f"{'problem':<10} {'DiffPIR ours':>13} {'deepinv':>8} {'DPIR ours':>10} {'deepinv':>8}")
    for name in a.problems:
        problem = build_problem(name, icfg, tuple(x.shape[1:]))
        params, y = measurements(problem, x, cfg["seed"])
        physics = problem.physics(params)
        data = problem.data_term(physics, y)
        setting = diffusion.diffpir_settings(icfg["diffpir"], data.operator)
        seed = derive_seed(cfg["seed"], "crosscheck", name)
        sigma_n = float(data.noise_level[0])
        with torch.no_grad():
            ours_pir = diffusion.diffpir(data, denoiser, icfg["diffpir"]["steps"], setting["lam"], setting["zeta"], seed)
            theirs_pir = dinv.sampling.DiffPIR(denoiser, dinv.optim.L2(), sigma=sigma_n,
                                               max_iter=icfg["diffpir"]["steps"], zeta=setting["zeta"],
                                               lambda_=setting["lam"] / 2)(y, physics, seed=seed, x_init=data.init())
            ours_dpir = pnp.pnp_continuation(data, denoiser, 49.0 / 255.0, 0.23, 8).x
            theirs_dpir = dinv.optim.DPIR(sigma=sigma_n, denoiser=denoiser)(y, physics)
        p = lambda e: metrics.psnr(e.float(), x).mean().item()  # noqa: E731
        print(f"{name:<10} {p(ours_pir):>13.2f} {p(theirs_pir):>8.2f} {p(ours_dpir):>10.2f} {p(theirs_dpir):>8.2f}",
              flush=True)


if __name__ == "__main__":
    main()
