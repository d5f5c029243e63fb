"""The joint MAP objective of blind deblurring with a learned proximal network D = prox_{s^2 R} (s = train.sigma):

    J(theta, x) = f_theta(x) + lam R(x),   f_theta(x) = ||h(theta) * x - y||^2 / (2 sigma^2),
    J(theta)    = J(theta, x_hat(theta)),  x_hat(theta) = argmin_x J(theta, x),

x_hat(theta) by PnP-ADMM with penalty lam / s^2 (aelpn.solvers.pnp.pnp_admm, whose z-update is D exactly) and
R(x) = R_D(x) / s^2 with R_D the regularizer whose prox is D (aelpn.models.regularizer: R_D = psi* - ||.||^2 / 2, up to
one additive constant shared by every theta). The landscape sweeps theta upwards from 0 over a grid, each MAP
solve warm-started at the neighbouring width's estimate."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aelpn.blind import kernels
from aelpn.solvers.pnp import pnp_admm
from aelpn.core.metrics import psnr
from aelpn.core.progress import progress_bar
from aelpn.models.regularizer import regularizer


@dataclass
class Objective:
    """J = data + lam * regularizer per image (B,): data f_theta(x), regularizer R(x) = R_D(x) / s^2."""

    value: torch.Tensor
    data: torch.Tensor
    regularizer: torch.Tensor


def regularizer_value(prior, x: torch.Tensor, iterations: int) -> torch.Tensor:
    """R(x) = R_D(x) / s^2 per image, R_D by convex inversion of the network (at most ``iterations`` L-BFGS
    iterations)."""
    return regularizer(prior.network, x, max_iter=iterations).value / prior.sigma**2


def objective(data, prior, lam: float, x: torch.Tensor, iterations: int, reg: torch.Tensor | None = None) -> Objective:
    """J(theta, x) = f_theta(x) + lam R(x) for the data term ``data`` (bound to theta and y); ``reg`` is R(x)
    when already known (it does not depend on theta)."""
    reg = regularizer_value(prior, x, iterations) if reg is None else reg
    f = data.value(x)
    return Objective(f + lam * reg, f, reg)


def map_estimate(data, prior, map_cfg: dict, z0: torch.Tensor | None = None) -> torch.Tensor:
    """x_hat(theta) = argmin_x f_theta(x) + lam R(x) by PnP-ADMM (``blind.map``: lam, max_iter, tol), from z0."""
    return pnp_admm(data, prior.network, prior.sigma, map_cfg["lam"], map_cfg["max_iter"], map_cfg["tol"],
                    z0=z0).x


@dataclass
class Landscape:
    """Per grid width and image (G, B): J(theta), its data term and R(x_hat(theta)), the PSNR of x_hat(theta)
    clipped to [0, 1]; the estimates x_hat(theta) (G, B, C, H, W)."""

    objective: torch.Tensor
    data: torch.Tensor
    regularizer: torch.Tensor
    psnr: torch.Tensor
    x: torch.Tensor

    def argmin(self) -> torch.Tensor:
        """Grid index of the smallest J per image, (B,)."""
        return self.objective.argmin(dim=0)


def landscape(prior, y: torch.Tensor, thetas: torch.Tensor, bcfg: dict, x_true: torch.Tensor | None = None) -> Landscape:
    """J(theta) of every image of ``y`` at every width of ``thetas`` (increasing), with the blind config section
    ``bcfg`` (kernel_size, noise_sigma, map). The first solve starts from data.init(), each next one from the
    previous estimate."""
    mcfg = bcfg["map"]
    rows, xs, z = [], [], None
    for theta in progress_bar(thetas, desc=f"landscape {getattr(prior, 'label', '')}", leave=False):
        data = kernels.data_term(theta.view(1), y, bcfg["kernel_size"], bcfg["noise_sigma"])
        z = map_estimate(data, prior, mcfg, z0=z)
        rows.append(objective(data, prior, mcfg["lam"], z, mcfg["regularizer_iterations"]))
        xs.append(z)
    quality = [psnr(x, x_true) if x_true is not None else torch.full_like(r.value, float("nan"))
               for x, r in zip(xs, rows)]
    return Landscape(torch.stack([r.value for r in rows]), torch.stack([r.data for r in rows]),
                     torch.stack([r.regularizer for r in rows]), torch.stack(quality), torch.stack(xs))
