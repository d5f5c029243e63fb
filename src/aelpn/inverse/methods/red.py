"""RED with each trained proximal network: gradient descent on f + lam R with grad R(x) = (x - D(x)) / s^2
(aelpn.inverse.pnp.red); needs the gradient of a Gaussian likelihood."""

from aelpn.inverse.methods.base import Estimate, Method


def solve(data, prior, section, seed, x_true) -> Estimate:
    from aelpn.inverse import pnp

    sol = pnp.red(data, prior.network, prior.sigma, section["lam"], section["stepsize"], section["max_iter"],
                  section["tol"], x_true)
    return Estimate(sol.x, sol.iterations, sol.psnr_trace)


METHOD = Method("red", prior="proximal_network", likelihoods=("gaussian",), trace="max_iter", solve=solve)
