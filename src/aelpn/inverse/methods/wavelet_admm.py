"""L1-wavelet PnP-ADMM: the ADMM of ``admm_annealed`` / ``admm_diffusion`` (the same annealed penalty, start, dual
rescaling and iterations; aelpn.solvers.admm_diffusion_step) with soft-thresholding of the detail coefficients of a
``level``-level ``wavelet`` transform as its z-update, on f + weight ||W_detail x||_1 (``weight`` per
operator; aelpn.solvers.handcrafted). The seed's second hand-crafted prior of claim 15a."""

from aelpn.inverse.methods.base import Method
from aelpn.inverse.methods.handcrafted_admm import solve_with


def solve(data, prior, section, seed, x_true):
    from aelpn.solvers import handcrafted

    return solve_with(handcrafted.wavelet_prox(section["wavelet"], section["level"]), "wavelet_admm", data, section, seed, x_true)


METHOD = Method("wavelet_admm", prior="handcrafted", likelihoods=("gaussian", "poisson"), trace="iterations",
                solve=solve)
