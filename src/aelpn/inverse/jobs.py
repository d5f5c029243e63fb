"""Which (algorithm, problem) jobs and which methods the config asks for (no heavy imports: the workflow
reads this when it builds the DAG).

A *method* is an algorithm with its prior: ``pnp_admm[lpn]`` for the algorithms that plug in each trained
proximal network, or the bare algorithm name (prior ``denoiser``) for those driven by the conditional
denoiser. Algorithms that need the gradient of a Gaussian likelihood do not apply to Poisson problems."""

from __future__ import annotations

ALGORITHMS = ("pnp_admm", "pnp_pgd", "red", "continuation", "unrolled", "diffpir", "dps", "ula")
PRIOR_ALGORITHMS = ("pnp_admm", "pnp_pgd", "red")
GAUSSIAN_ONLY = ("pnp_pgd", "red", "dps", "ula")
DENOISER_PRIOR = "denoiser"


def applicable(algorithm: str, problem_spec: dict) -> bool:
    """Whether ``algorithm`` runs on a problem (all do on Gaussian noise; Poisson needs a data prox only)."""
    return problem_spec["noise"]["kind"] == "gaussian" or algorithm not in GAUSSIAN_ONLY


def jobs(inverse_cfg: dict) -> list[tuple[str, str]]:
    """The (algorithm, problem) pairs to run, in config order."""
    return [(a, p) for p, spec in inverse_cfg["problems"].items() for a in inverse_cfg["algorithms"]
            if applicable(a, spec)]


def priors(algorithm: str, variants: list[str]) -> list[str]:
    """The priors an algorithm runs with: every proximal network variant, or the conditional denoiser."""
    return list(variants) if algorithm in PRIOR_ALGORITHMS else [DENOISER_PRIOR]


def method_name(algorithm: str, prior: str) -> str:
    return algorithm if prior == DENOISER_PRIOR else f"{algorithm}[{prior}]"


def methods(inverse_cfg: dict, variants: list[str]) -> list[tuple[str, str, str]]:
    """(method, algorithm, prior) for every configured algorithm, in config order."""
    return [(method_name(a, p), a, p) for a in inverse_cfg["algorithms"] for p in priors(a, variants)]


def trace_length(inverse_cfg: dict) -> int:
    """Length of the PSNR-per-iteration axis: the largest iteration budget of the traced algorithms."""
    return max(inverse_cfg["pnp_admm"]["max_iter"], inverse_cfg["pnp_pgd"]["max_iter"],
               inverse_cfg["red"]["max_iter"], inverse_cfg["continuation"]["iterations"])
