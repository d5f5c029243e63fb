"""A diffusion step as ADMM's z-update (aelpn.solvers.admm_diffusion_step), float64: with a fixed level and no
re-noising it is plain PnP-ADMM with the denoiser as the prox; with an exact prox family and an increasing penalty
the MAP stays a fixed point (the scaled dual is rescaled); the re-noising adds noise of level s_k and denoises at
sqrt(sigma_k^2 + s_k^2), reproducibly per seed."""

from __future__ import annotations

import pytest
import torch

from aelpn.solvers import admm_diffusion_step as diffusion_step, pnp
from aelpn.inverse.priors import LearnedPrior
from aelpn.models.denoiser import build_denoiser
from aelpn.inverse.methods.registry import get
from problem_helpers import measured_problem

SHAPE = (3, 8, 6)
TAU, MU = 0.2, 0.5
NOISE = {"gaussian": {"kind": "gaussian", "sigma": 0.05},
         "poisson": {"kind": "poisson", "photons": 50.0, "background": 0.02}}


def gaussian_mmse(x, sigma):
    """The exact denoiser of the prior N(MU, TAU^2) at level sigma, which is also prox_{sigma^2 R} for
    R(x) = ||x - MU||^2 / (2 TAU^2)."""
    return (TAU**2 * x + sigma**2 * MU) / (TAU**2 + sigma**2)


def measured(operator: str, noise: str):
    return measured_problem(operator, NOISE[noise], SHAPE)


def denoiser():
    return build_denoiser(3, {"width": 4, "blocks": 1, "pixel_std": 0.25}, seed=0).double().eval()


@pytest.mark.parametrize("noise", ["gaussian", "poisson"])
def test_fixed_level_without_renoising_is_plain_pnp_admm_with_the_denoiser_as_prox(noise):
    data, x = measured("blur", noise)
    net, sigma, lam, k = denoiser(), 0.05, 0.23, 7
    with torch.no_grad():
        ours = diffusion_step.admm_diffusion(data, net, lam, torch.full((k,), sigma, dtype=torch.float64), 0.0,
                                             torch.Generator().manual_seed(0), x)
        plain = pnp.pnp_admm(data, lambda v: net(v, sigma), sigma, lam, k, 0.0, x)
    assert torch.equal(ours.x, plain.x)
    assert torch.equal(ours.psnr_trace, plain.psnr_trace)


def test_admm_annealed_at_one_level_equals_pnp_fixed():
    """Through the registry: admm_annealed with sigma_start = sigma_end (rho fixed) is vanilla PnP-ADMM."""
    data, x = measured("inpainting", "gaussian")
    prior = LearnedPrior("denoiser", denoiser(), None, 0.0, "cpu")
    with torch.no_grad():
        ours = get("admm_annealed").solve(data, prior, {"sigma_start": 0.05, "sigma_end": 0.05, "lam": 0.23,
                                                        "iterations": 6}, 0, x)
        plain = get("pnp_fixed").solve(data, prior, {"sigma": 0.05, "lam": 0.23, "iterations": 6}, 0, x)
    assert torch.equal(ours.x, plain.x)


def test_increasing_penalty_keeps_the_map_as_a_fixed_point():
    """With D(., sigma) = prox_{sigma^2 R} exactly, the z-update at sigma_k^2 = lam / rho_k is ADMM's prox for
    f + lam R at every rho_k; rescaling the scaled dual by rho_k / rho_(k+1) keeps the MAP a fixed point however fast
    rho grows, so the iterates reach the closed-form MAP (per-pixel for inpainting)."""
    data, _ = measured("inpainting", "gaussian")
    lam, s2n = 0.5, NOISE["gaussian"]["sigma"] ** 2
    mask = data.physics.mask.expand_as(data.y)
    x_map = (mask * data.y / s2n + lam * MU / TAU**2) / (mask / s2n + lam / TAU**2)
    sigmas = torch.cat([diffusion_step.sigma_schedule(0.5, 0.005, 60), torch.full((200,), 0.005,
                                                                                   dtype=torch.float64)])
    sol = diffusion_step.admm_diffusion(data, gaussian_mmse, lam, sigmas, 0.0, torch.Generator().manual_seed(0))
    assert torch.allclose(sol.x, x_map, rtol=0, atol=1e-9)


def test_sigma_schedule_is_geometric_so_is_rho():
    sigmas = diffusion_step.sigma_schedule(0.2, 0.02, 5)
    assert torch.allclose(sigmas[[0, -1]], torch.tensor([0.2, 0.02], dtype=torch.float64), rtol=1e-14, atol=0)
    rho = 0.23 / sigmas**2
    assert torch.allclose(rho[1:] / rho[:-1], torch.full((4,), 10.0 ** 0.5, dtype=torch.float64), rtol=1e-12)


class _Zero:
    """A data term whose prox and start are 0: then x = 0 and, with a zero denoiser, u = 0 throughout, so the
    denoiser sees the re-noising alone."""

    def init(self):
        return torch.zeros(2, 3, 64, 64, dtype=torch.float64)

    def prox(self, z, gamma):
        return torch.zeros_like(z)


def test_renoising_adds_noise_of_level_s_k_and_denoises_at_the_total_level():
    seen = []

    def recording(v, level):
        seen.append((v.clone(), level))
        return torch.zeros_like(v)

    sigmas, eta = diffusion_step.sigma_schedule(0.2, 0.02, 4), 0.5
    diffusion_step.admm_diffusion(_Zero(), recording, 0.23, sigmas, eta, torch.Generator().manual_seed(3))
    assert len(seen) == 4
    for (v, level), sigma in zip(seen, sigmas.tolist()):
        assert level == pytest.approx(sigma * (1 + eta**2) ** 0.5, rel=1e-14)
        assert float(v.std()) == pytest.approx(eta * sigma, rel=0.03)


def test_renoising_is_seeded():
    data, x = measured("blur", "gaussian")
    prior = LearnedPrior("denoiser", denoiser(), None, 0.0, "cpu")
    section = {"sigma_start": 0.2, "sigma_end": 0.02, "lam": 0.23, "iterations": 4, "renoise": 0.5}
    with torch.no_grad():
        a, b, c = (get("admm_diffusion").solve(data, prior, section, seed, x).x for seed in (0, 0, 1))
    assert torch.equal(a, b) and not torch.allclose(a, c)
