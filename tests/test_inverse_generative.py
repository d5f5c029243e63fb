"""The generative priors: the flow-matching model's one-step denoiser and velocity against the closed-form optimum
for Gaussian data, the VAE's latent MAP projection decreasing its objective, their model files, and the solvers
that use them (seeded, Poisson where the x-update is a prox)."""

from __future__ import annotations

import pytest
import torch
from test_inverse_models import RECIPE, measured

import aelpn
from aelpn.models.files import read_model_file
from aelpn.solvers import flow as flow_solvers
from aelpn.models.flow import FlowMatchingModel, build_flow
from aelpn.training.flow import flow_matching_loss, train_flow
from aelpn.models.vae import ConvVAE, build_vae
from aelpn.solvers.vae_projection import latent_map, project, projection_objective, vae_admm
from aelpn.training.vae import negative_elbo, train_vae

FLOW = {"width": 4, "blocks": 1, "pixel_std": 0.25, "t_min": 0.001, "t_max": 0.999, "steps": 3, "batch_size": 2,
        "lr": 1e-3, "checkpoint_every": 2, **RECIPE}
VAE = {"width": 4, "latent_channels": 2, "decoder_std": 0.1, "steps": 3, "batch_size": 2, "lr": 1e-3,
       "checkpoint_every": 2, **RECIPE}
MU, TAU = 0.4, 0.15  # Gaussian pixels in image units: N(MU, TAU^2), independent


class GaussianMMSE(torch.nn.Module):
    """The image-unit MMSE denoiser of N(MU, TAU^2) pixels: D(x, s) = MU + TAU^2 / (TAU^2 + s^2) (x - MU)."""

    def __init__(self, tau: float = TAU):
        super().__init__()
        self.tau = tau

    def forward(self, x, sigma):
        s = torch.as_tensor(sigma, dtype=x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return MU + self.tau**2 / (self.tau**2 + s**2) * (x - MU)


def optimal_flow(x_t: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """E[x_0 | x_t] and E[x_1 - x_0 | x_t] for x_0 = 2 image - 1 ~ N(m, S^2), x_1 ~ N(0, 1),
    x_t = (1 - t) x_0 + t x_1, from the joint Gaussian: Var x_t = (1 - t)^2 S^2 + t^2, Cov(x_0, x_t) = (1 - t) S^2,
    Cov(x_1, x_t) = t."""
    m, S2 = 2 * MU - 1, (2 * TAU) ** 2
    t = t.view(-1, 1, 1, 1)
    var = (1 - t) ** 2 * S2 + t**2
    centred = x_t - (1 - t) * m
    x0 = m + (1 - t) * S2 / var * centred
    x1 = t / var * centred
    return x0, x1 - x0


def test_flow_velocity_and_one_step_denoiser_are_the_gaussian_optimum():
    """With the exact Gaussian denoiser inside, the model's velocity is E[x_1 - x_0 | x_t] and its one-step
    denoiser x_t - t v is E[x_0 | x_t], at every t (float64, a per-image t)."""
    gen = torch.Generator().manual_seed(0)
    flow = FlowMatchingModel(GaussianMMSE())
    t = torch.tensor([0.01, 0.3, 0.7, 0.98], dtype=torch.float64)
    x_t = torch.randn((4, 3, 8, 8), generator=gen, dtype=torch.float64)
    x0, v = optimal_flow(x_t, t)
    assert torch.allclose(flow.velocity(x_t, t), v, rtol=1e-10, atol=1e-10)
    assert torch.allclose(flow.denoise(x_t, t), x0, rtol=1e-10, atol=1e-10)
    assert torch.allclose(flow.denoise(x_t, t), x_t - t.view(-1, 1, 1, 1) * flow.velocity(x_t, t), atol=1e-12)


def test_flow_matching_loss_is_lowest_at_the_optimal_velocity():
    """On Gaussian data, the training loss E ||v - (x_1 - x_0)||^2 of the optimal model is below that of models
    built on a wrong prior variance (same samples)."""
    gen = torch.Generator().manual_seed(1)
    n = 4096
    x0 = 2 * (MU + TAU * torch.randn((n, 1, 4, 4), generator=gen, dtype=torch.float64)) - 1
    x1 = torch.randn(x0.shape, generator=gen, dtype=torch.float64)
    t = 0.001 + 0.998 * torch.rand(n, generator=gen, dtype=torch.float64)
    best = flow_matching_loss(FlowMatchingModel(GaussianMMSE()), x0, x1, t)
    for tau in (0.5 * TAU, 2 * TAU):
        assert best < flow_matching_loss(FlowMatchingModel(GaussianMMSE(tau)), x0, x1, t) - 1e-3


@pytest.fixture(scope="module")
def vae() -> ConvVAE:
    return build_vae(3, VAE, seed=0).double().eval()


def test_vae_projection_decreases_its_objective(vae):
    """J(w) = ||Dec(w) - v||^2 + beta ||w||^2 never increases over the steps from w_0 = mu(v), even from a first step
    far too long (the backtracking refuses it), and strictly decreases overall; the projection is Dec of that latent."""
    v = torch.rand((2, 3, 16, 16), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    beta, eta = 0.05, 50.0
    with torch.no_grad():
        values = torch.stack([projection_objective(vae, latent_map(vae, v, beta, k, eta), v, beta) for k in range(12)])
        assert torch.equal(latent_map(vae, v, beta, 0, eta), vae.encode(v)[0])
        assert torch.allclose(project(vae, v, beta, 11, eta), vae.decode(latent_map(vae, v, beta, 11, eta)))
    assert bool((values[1:] <= values[:-1]).all())
    assert bool((values[-1] < values[0]).all())


def test_negative_elbo_is_reconstruction_plus_kl():
    """With zero reparametrisation noise and logvar = 0 everywhere, the loss is ||x - Dec(mu)||^2 / (2 s_d^2) +
    ||mu||^2 / 2 per pixel (the KL of N(mu, I) to N(0, I))."""
    vae = build_vae(3, VAE, seed=1).double()
    x = torch.rand((2, 3, 16, 16), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    with torch.no_grad():
        vae.encoder[-1].weight[2:].zero_()
        vae.encoder[-1].bias[2:].zero_()
        mu, logvar = vae.encode(x)
        assert torch.equal(logvar, torch.zeros_like(logvar))
        expected = ((x - vae.decode(mu)).pow(2).flatten(1).sum(1) / (2 * 0.1**2)
                    + 0.5 * mu.pow(2).flatten(1).sum(1)) / x[0].numel()
        assert torch.allclose(negative_elbo(vae, x, torch.zeros_like(mu)), expected.mean())


def test_generative_models_train_into_model_files(tmp_path, crops_file):
    crops = crops_file(tmp_path / "train.nc", "train", 4, 16)
    cfg = {"seed": 0, "compute": {"device": "cpu", "amp": False, "tf32": False}, "inverse": {"flow": FLOW, "vae": VAE}}
    for kind, train, cls in (("flow", train_flow, FlowMatchingModel), ("vae", train_vae, ConvVAE)):
        path = train(cfg, crops, tmp_path / f"{kind}.pt", tmp_path / f"{kind}_log.nc")
        payload = read_model_file(path)
        assert payload["kind"] == kind and payload["extra"]["train_seconds"] > 0
        assert isinstance(aelpn.load_model(path, device="cpu"), cls)


@pytest.mark.parametrize("name", ["inp", "pb"])
def test_flow_admm_and_vae_admm_run_seeded_on_gaussian_and_poisson(name):
    data, x = measured(name)
    flow = build_flow(3, FLOW, seed=0).eval()
    a = flow_solvers.flow_admm(data, flow, 0.5, 0.05, 1.0, 3, seed=4, x_true=x)
    b = flow_solvers.flow_admm(data, flow, 0.5, 0.05, 1.0, 3, seed=4, x_true=x)
    assert torch.equal(a.x, b.x) and torch.isfinite(a.psnr_trace).all()
    sol = vae_admm(data, build_vae(3, VAE, seed=0).eval(), 1.0, 100.0, 3, 2, 0.01, 1e-4, x)
    assert torch.isfinite(sol.x).all() and sol.x.shape == x.shape


def test_pnp_flow_and_flow_posterior_are_seeded_and_leave_the_global_rng_alone():
    data, x = measured("inp")
    flow = build_flow(3, FLOW, seed=0).eval()
    state = torch.random.get_rng_state()
    a = flow_solvers.pnp_flow(data, flow, 4, 0.5, 1.0, seed=5, x_true=x)
    s1 = flow_solvers.flow_posterior(data, flow, 3, 0.99, 0.01, 1.0, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.x, flow_solvers.pnp_flow(data, flow, 4, 0.5, 1.0, seed=5).x)
    assert torch.equal(s1, flow_solvers.flow_posterior(data, flow, 3, 0.99, 0.01, 1.0, seed=5))
    assert not torch.equal(s1, flow_solvers.flow_posterior(data, flow, 3, 0.99, 0.01, 1.0, seed=6))
    assert torch.isfinite(a.psnr_trace).all() and s1.shape == x.shape and s1.dtype == x.dtype
