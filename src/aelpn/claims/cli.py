"""``aelpn evaluate jacobian`` and ``aelpn claims``."""

from __future__ import annotations

import sys

from aelpn.core.commands import add_job, add_output, job_config

DATASETS = ("noise-sweep", "affine-sweep", "jacobian", "prox1d", "inverse", "adaptivity", "blind")


def _claims(a):
    cfg = job_config(a)
    from aelpn.claims import ClaimData, failed, run_claims

    data = ClaimData(**{name.replace("-", "_"): getattr(a, name.replace("-", "_")) for name in DATASETS})
    bad = failed(run_claims(cfg, data, a.out))
    if a.strict and bad:
        print(f"aelpn: claims not holding (--strict): {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def register(verbs: dict, commands) -> None:
    q = add_job(verbs["evaluate"], "jacobian", "evaluate jacobian",
                "Jacobian asymmetry and spectrum of every trained variant on evaluation images",
                "aelpn.claims.jacobian:measure_jacobian", ("models", "crops", "out"))
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    add_output(q, "--out", "output netCDF (dims variant, image)")
    q.add_argument("models", nargs="+", help="model.pt of each variant, in model.variants order")
    q = add_job(commands, "claims", "claims", "check the paper's and the notes' claims on the metrics datasets",
                _claims)
    for name in DATASETS:
        q.add_argument(f"--{name}", default=None,
                       help=f"{name.replace('-', '_')}.nc (absent: the claims that need it are 'not measured')")
    add_output(q, "--out", "claims table (netCDF, dim claim)")
    q.add_argument("--strict", action="store_true", help="exit 1 when any claim does not hold (fails, inconclusive, premise unmet, not measured)")
