"""What every inverse-problem method declares (``Method``) and returns (``Estimate``). Light on purpose: the
workflow reads the declarations when it builds the DAG, so a method module imports torch only inside ``solve``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

LIKELIHOODS = ("gaussian", "poisson")
PRIOR_KINDS = {
    "proximal_network": "each trained proximal network of inverse.variants, the prox of train.sigma^2 R",
    "denoiser": "the noise-conditional denoiser D(x, sigma)",
    "unrolled": "the unrolled network trained on the problem",
    "flow": "the flow-matching model v(x_t, t) and its one-step denoiser",
    "vae": "the convolutional VAE (projection onto its range)",
    "handcrafted": "none: a hand-crafted regulariser (TV, L1-wavelet) whose prox is a formula, nothing trained",
}


@dataclass
class Estimate:
    """What ``solve`` returns for a batch of B images: the estimate x (B, C, H, W); iterations run per image
    (an int or a (B,) tensor); the PSNR of every iterate (B, T) for traced methods; the per-pixel posterior
    standard deviation and one posterior sample (B, C, H, W) for samplers; ``diverged`` (B,) bool where the
    iterates became non-finite and x is the last finite iterate (None: the method cannot diverge that way)."""

    x: Any
    iterations: Any
    psnr_trace: Any = None
    posterior_std: Any = None
    sample: Any = None
    diverged: Any = None

    @classmethod
    def of(cls, solution) -> "Estimate":
        """The estimate of an iterative solver's ``aelpn.solvers.pnp.Solution`` (x, iterations, PSNR trace and
        the per-image divergence flag), so that no method can drop the flag."""
        return cls(solution.x, solution.iterations, solution.psnr_trace, diverged=solution.diverged)


@dataclass(frozen=True)
class Method:
    """An inverse-problem method: ``name`` (its config section ``inverse.<name>`` and ``--algorithm`` value),
    the ``prior`` kind it runs with (a key of PRIOR_KINDS), the noise ``likelihoods`` it supports, ``trace``
    (the key of its config section that bounds the iterations it traces, or None when it traces none) and
    ``map_weight`` (the key of its config section holding lam when it minimises the MAP objective f + lam R,
    else None; recorded per estimator so that different objectives are never compared unlabelled) and
    ``solve(data, prior, section, seed, x_true) -> Estimate`` with ``data`` the bound data term
    (aelpn.physics.problems.DataTerm), ``prior`` a LearnedPrior (aelpn.inverse.priors), ``section`` its config
    section, ``seed`` the seed of its randomness and ``x_true`` the ground truth (for the PSNR trace only)."""

    name: str
    prior: str
    likelihoods: tuple[str, ...]
    trace: str | None
    solve: Callable[..., Estimate]
    map_weight: str | None = None

    def __post_init__(self):
        if self.prior not in PRIOR_KINDS:
            raise ValueError(f"method '{self.name}': prior kind '{self.prior}' is not one of {sorted(PRIOR_KINDS)}")
        unknown = set(self.likelihoods) - set(LIKELIHOODS)
        if not self.likelihoods or unknown:
            raise ValueError(f"method '{self.name}': likelihoods {self.likelihoods} must be a subset of {LIKELIHOODS}")
