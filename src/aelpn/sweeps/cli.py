"""``aelpn evaluate {noise_sweep,affine_sweep,cbsd68}`` and ``aelpn combine {noise_sweep,affine_sweep}``."""

from __future__ import annotations

from aelpn.core.commands import add_job, add_output, job_config
from aelpn.sweeps import KINDS


def _evaluate(a):
    cfg = job_config(a)
    from aelpn.sweeps.evaluate import run_sweep

    run_sweep(a.command.split()[1], cfg, a.variant, a.model, a.crops, a.out)


def _combine(a):
    cfg = job_config(a)
    from aelpn.sweeps.combine import combine_sweep

    combine_sweep(a.command.split()[1], cfg, a.inputs, a.out)


def register(verbs: dict, commands) -> None:
    for kind in KINDS:
        q = add_job(verbs["evaluate"], kind, f"evaluate {kind}",
                    f"denoising sweep of one trained variant (config section {kind})", _evaluate)
        q.add_argument("--variant", required=True, help="variant name recorded in the output (model.variants)")
        q.add_argument("--model", required=True, help="trained weights (model.pt)")
        q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
        add_output(q, "--out", "per-image PSNR/SSIM of this variant (netCDF)")
        q = add_job(verbs["combine"], kind, f"combine {kind}",
                    f"combine the {kind} files of every replicate and variant", _combine)
        add_output(q, "--out", "combined netCDF file")
        q.add_argument("inputs", nargs="+", help="one netCDF file per replicate and variant")
    q = add_job(verbs["evaluate"], "cbsd68", "evaluate cbsd68",
                "the CBSD68 benchmark: every proximal network, the conditional denoiser and the noisy input at full size",
                "aelpn.sweeps.cbsd68:evaluate_cbsd68", ("images", "models", "denoiser", "out"))
    q.add_argument("--images", required=True, help="directory written by 'aelpn data fetch'")
    q.add_argument("--denoiser", required=True, help="trained conditional denoiser (denoiser.pt)")
    add_output(q, "--out", "PSNR and SSIM per method, sigma and image (netCDF)")
    q.add_argument("models", nargs="+", help="proximal networks, results/models/seed{s}/{variant}/model.pt")
