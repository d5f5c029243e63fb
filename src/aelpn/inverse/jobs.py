"""Which (algorithm, problem) jobs, estimators and cross-operator pairs the config asks for, from the method
registry (no heavy imports: the workflow reads this when it builds the DAG).

An *estimator* is a method with its prior: ``pnp_admm[lpn]`` for the methods that plug in each trained proximal
network, or the bare method name (prior ``denoiser``) for those driven by one learned network: the conditional
denoiser, its unrolled copies, the flow-matching model or the VAE. A method runs on a problem when it supports the problem's noise likelihood."""

from __future__ import annotations

from aelpn.inverse.methods.registry import METHODS, get

DENOISER_PRIOR = "denoiser"


def applicable(algorithm: str, problem_spec: dict) -> bool:
    """Whether ``algorithm`` supports the likelihood (noise kind) of a problem."""
    return problem_spec["noise"]["kind"] in get(algorithm).likelihoods


def jobs(inverse_cfg: dict) -> list[tuple[str, str]]:
    """The (algorithm, problem) pairs to run, in config order."""
    return [(a, p) for p, spec in inverse_cfg["problems"].items() for a in inverse_cfg["algorithms"]
            if applicable(a, spec)]


def proximal_variants(cfg: dict) -> list[str]:
    """The proximal networks the proximal-network methods plug in: ``inverse.variants``, or every variant of
    ``model.variants`` when it is null. cfg: model, inverse."""
    chosen = cfg["inverse"]["variants"]
    return list(cfg["model"]["variants"] if chosen is None else chosen)


def priors(algorithm: str, variants: list[str]) -> list[str]:
    """The prior labels an algorithm runs with: each of ``variants`` (proximal_variants), or the conditional
    denoiser."""
    return list(variants) if get(algorithm).prior == "proximal_network" else [DENOISER_PRIOR]


def estimator_name(algorithm: str, prior: str) -> str:
    return algorithm if prior == DENOISER_PRIOR else f"{algorithm}[{prior}]"


def estimators(inverse_cfg: dict, variants: list[str]) -> list[tuple[str, str, str]]:
    """(estimator, algorithm, prior) for every configured algorithm, in config order."""
    return [(estimator_name(a, p), a, p) for a in inverse_cfg["algorithms"] for p in priors(a, variants)]


def map_weight(inverse_cfg: dict, algorithm: str) -> float:
    """lam of the MAP objective f + lam R the method minimises (its section's ``map_weight`` key), NaN for the
    methods that minimise none."""
    key = METHODS[algorithm].map_weight
    return float(inverse_cfg[algorithm][key]) if key else float("nan")


def trace_length(inverse_cfg: dict) -> int:
    """Length of the PSNR-per-iteration axis: the largest iteration budget of the traced methods."""
    return max(inverse_cfg[m.name][m.trace] for m in METHODS.values() if m.trace)


def adaptivity_pairs(inverse_cfg: dict) -> list[tuple[str, str]]:
    """The configured (trained_on, evaluated_on) pairs of the cross-operator evaluation."""
    return [(p["trained_on"], p["evaluated_on"]) for p in inverse_cfg["adaptivity"]]


def pair_label(trained_on: str, evaluated_on: str) -> str:
    return f"{trained_on}->{evaluated_on}"
