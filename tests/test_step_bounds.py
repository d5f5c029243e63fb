"""Step sizes and stability bounds against their closed forms, on inpainting and blur problems (||A|| = 1, grad f
Lipschitz with L = 1 / sigma_n^2) and the Gaussian prior N(mu, tau^2 I), whose MMSE denoiser at level s,
D_s(x) = (tau^2 x + s^2 mu) / (tau^2 + s^2), is the prox of s^2 R for R(x) = ||x - mu||^2 / (2 tau^2): the
score term (D_s(x) - x) / s^2 = -(x - mu) / (tau^2 + s^2) is Lipschitz with constant 1 / (tau^2 + s^2), which
tends to 1 / s^2 as tau -> 0 (the bound for any denoiser whose residual is nonexpansive). Float64."""

from __future__ import annotations

import math

import pytest
import torch

from aelpn.solvers import flow as flow_solvers
from aelpn.solvers import langevin
from problem_helpers import measured_problem

SHAPE = (3, 8, 6)
SIGMA_N = 0.05  # sigma_n and sigma_n^2 differ by a factor 20: a wrong power of sigma cannot match by chance


def inpainting():
    return measured_problem("inpainting", {"kind": "gaussian", "sigma": SIGMA_N}, SHAPE)


def blurred():
    return measured_problem("blur", {"kind": "gaussian", "sigma": SIGMA_N}, SHAPE)


class IdentityFlow:
    """A flow whose restoration returns its input: isolates a solver's data step from the prior."""

    def restore(self, v, t, eps):
        return v


def test_the_data_term_lipschitz_constant_is_one_over_sigma_squared():
    data, _ = inpainting()
    assert math.isclose(data.lipschitz(), 1 / SIGMA_N**2, rel_tol=1e-12)


@pytest.mark.parametrize("alpha, s, fraction", [(1.0, 0.05, 0.9), (0.7, 0.2, 0.5)])
def test_ula_step_is_the_fraction_of_the_drift_bound(alpha, s, fraction):
    """eta = fraction / (L_f + alpha / s^2): the drift grad log p(y|x) + alpha (D_s(x) - x) / s^2 of the Gaussian
    prior with tau -> 0 has Lipschitz constant exactly L_f + alpha / s^2 (its Hessian is diagonal)."""
    data, _ = inpainting()
    tau = 1e-6
    drift_lipschitz = 1 / SIGMA_N**2 + alpha / (tau**2 + s**2)
    eta = langevin.step_size(data, alpha, s, fraction)
    assert math.isclose(eta, fraction / (1 / SIGMA_N**2 + alpha / s**2), rel_tol=1e-12)
    assert math.isclose(eta * drift_lipschitz, fraction, rel_tol=1e-9)


def test_pnp_flow_gradient_step_is_fraction_over_lipschitz_times_t_to_the_alpha():
    """One iteration (t_0 = 1/2) with an identity restoration on a blur problem (its start A^T y is not
    data-consistent): x_1 = x_0 - (fraction / L) t_0^alpha grad f(x_0) = x_0 - fraction t_0^alpha A^T (A x_0 - y)."""
    data, _ = blurred()
    fraction, alpha = 0.8, 0.5
    x0 = data.init()
    x1 = flow_solvers.pnp_flow(data, IdentityFlow(), 1, alpha, fraction, seed=0).x
    step = fraction * 0.5**alpha * data.physics.A_adjoint(data.physics.A(x0) - data.y)
    assert float(step.abs().max()) > 1e-3
    torch.testing.assert_close(x1, x0 - step, rtol=1e-10, atol=1e-12)


def test_flow_admm_penalty_is_lam_over_the_image_noise_level_squared():
    """One iteration from z_0 = A^T y on a blur problem: x = prox_{f / rho}(z_0) with rho = lam / s^2,
    s = t / (2 (1 - t)), i.e. x solves rho (x - z_0) + A^T (A x - y) / sigma_n^2 = 0."""
    data, _ = blurred()
    t, lam = 0.3, 0.4
    rho = lam / (t / (2 * (1 - t))) ** 2
    z0 = data.init()
    x = flow_solvers.flow_admm(data, IdentityFlow(), t, t, lam, 1, seed=0).x  # z = x + u with u = 0
    data_pull = data.physics.A_adjoint(data.physics.A(x) - data.y) / SIGMA_N**2
    assert float(data_pull.abs().max()) > 1.0
    torch.testing.assert_close(rho * (x - z0) + data_pull, torch.zeros_like(x), rtol=0, atol=1e-6)
