"""``aelpn evaluate inverse``, ``aelpn evaluate adaptivity`` and ``aelpn combine inverse``."""

from __future__ import annotations

from aelpn.core.commands import add_job, add_output
from aelpn.inverse.methods.registry import names


def register(verbs: dict, commands) -> None:
    q = add_job(verbs["evaluate"], "inverse", "evaluate inverse",
                "solve one inverse problem with one method on the evaluation crops", "aelpn.inverse.run:run_job",
                ("algorithm", "problem", "crops", "prior", "out"))
    q.add_argument("--algorithm", required=True, choices=names(),
                   help="inverse-problem method (one of inverse.algorithms; the registry's names)")
    q.add_argument("--problem", required=True, help="inverse problem (a key of inverse.problems)")
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    q.add_argument("--prior", nargs="*", default=[],
                   help="the learned prior of the method's kind: the proximal networks in inverse.variants order, "
                        "the conditional denoiser, the problem's unrolled network, the flow model or the VAE (.pt); "
                        "none for a hand-crafted regulariser (tv_admm, wavelet_admm)")
    add_output(q, "--out", "per-image metrics and traces (netCDF)")
    q = add_job(verbs["evaluate"], "adaptivity", "evaluate adaptivity",
                "unrolled networks on the problems of inverse.adaptivity they were not trained on",
                "aelpn.inverse.adaptivity:evaluate_adaptivity", ("crops", "unrolled", "out"))
    q.add_argument("--crops", required=True, help="evaluation crops (netCDF)")
    add_output(q, "--out", "results file (adaptivity.nc)")
    q.add_argument("unrolled", nargs="+", help="the unrolled networks ({problem}.pt) of every trained_on problem")
    q = add_job(verbs["combine"], "inverse", "combine inverse", "combine the per-job files into inverse.nc",
                "aelpn.inverse.combine:combine_inverse", ("inputs", "out"))
    add_output(q, "--out", "combined results file (netCDF)")
    q.add_argument("inputs", nargs="+", help="per-job files written by 'aelpn evaluate inverse'")
