"""Forward models and likelihoods, in deepinv's terms: the configured problems (operator, noise, data term whose
prox the splitting solvers call; ``problems``), the Poisson likelihood with its prox (``poisson``) and the
Gaussian approximations of Poisson noise, weighted least squares and Anscombe (``poisson_gaussian``)."""

from aelpn.physics.poisson import PoissonLikelihood
from aelpn.physics.poisson_gaussian import PoissonAnscombe, PoissonWLS, approximation
from aelpn.physics.problems import DataTerm, GaussianLikelihood, Problem, build_problem

__all__ = ["DataTerm", "GaussianLikelihood", "PoissonAnscombe", "PoissonLikelihood", "PoissonWLS", "Problem",
           "approximation", "build_problem"]
