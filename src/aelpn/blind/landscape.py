"""The joint MAP objective of blind deblurring with a proximal network D = prox_{s^2 R} (s = train.sigma):

    J(theta, x) = f_theta(x) + lam R(x) + i_box(x),   f_theta(x) = ||h(theta) * x - y||^2 / (2 sigma^2),
    J(theta)    = J(theta, x_hat(theta)),            x_hat(theta) = argmin_x J(theta, x),

with i_box the indicator of the box [0, 1]^n where images live (``blind.map.box``; off: no constraint).
x_hat(theta) is computed by consensus ADMM (``box_admm``), whose prior step is D exactly, so the estimate is
x_hat = D(v) = f(v) for a known pre-image v, and R is known there without any inversion: for f = grad psi with
psi convex, R = R_D / s^2 with (aelpn.models.regularizer's convention, R_D = psi* - ||.||^2 / 2)

    R_D(f(v)) = <v, f(v)> - psi(v) - ||f(v)||^2 / 2,

since psi*(f(v)) = <v, f(v)> - psi(v) (Fenchel-Young with equality at the gradient). Both the learned proximal
networks and the classical control (aelpn.blind.control) expose ``potential_and_gradient(v) -> (psi(v), f(v))``.
The landscape sweeps theta upwards over a grid, each MAP solve warm-started at the neighbouring width's estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aelpn.blind import kernels
from aelpn.core.progress import progress_bar
from aelpn.solvers.pnp import iterate
from aelpn.core.metrics import psnr


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).flatten(1).sum(1)


@dataclass
class MapPoint:
    """The MAP estimate x = f(v) (B, C, H, W), its pre-image v and R(x) = R_D(x) / s^2 (B,), exact; ``residual``
    (B,) the ADMM's primal residual max(||x_data - z||, ||w - z||) / ||z|| at its last iteration (NaN when x
    did not come from ``box_admm``)."""

    x: torch.Tensor
    v: torch.Tensor
    regularizer: torch.Tensor
    residual: torch.Tensor


def exact_regularizer(prior, v: torch.Tensor) -> MapPoint:
    """x = f(v) and R(x) = (<v, x> - psi(v) - ||x||^2 / 2) / s^2 for the prior's ``network.potential_and_gradient``."""
    with torch.no_grad():
        psi, x = prior.network.potential_and_gradient(v)
    reg = (_dot(v, x) - psi - 0.5 * _dot(x, x)) / prior.sigma**2
    return MapPoint(x, v, reg, torch.full_like(reg, float("nan")))


@dataclass
class Objective:
    """J = data + lam * regularizer per image (B,): data f_theta(x), regularizer R(x) = R_D(x) / s^2."""

    value: torch.Tensor
    data: torch.Tensor
    regularizer: torch.Tensor


def objective(data, lam: float, x: torch.Tensor, reg: torch.Tensor) -> Objective:
    """J(theta, x) = f_theta(x) + lam R(x) for the data term ``data`` (bound to theta and y) and R(x) = ``reg``
    (it does not depend on theta)."""
    f = data.value(x)
    return Objective(f + lam * reg, f, reg)


def box_projection(box: bool):
    """The projection onto [0, 1]^n (``box``), or the identity."""
    return (lambda x: x.clamp(0.0, 1.0)) if box else (lambda x: x)


@torch.no_grad()
def box_admm(data, prior, lam: float, max_iter: int, tol: float, box: bool, z0: torch.Tensor | None = None) -> MapPoint:
    """argmin_x f(x) + lam R(x) + i_box(x) by consensus ADMM with one penalty rho = lam / s^2 for both copies
    z = x (prior) and w = x (box), scaled duals u, t:

        x = prox_{f / (2 rho)}((z - u + w - t) / 2),   v = x + u,   z = D(v),   w = P(x + t),
        u = u + x - z,   t = t + x - w,

    P the projection onto [0, 1]^n (the identity without ``box``). The z-update is prox_{(lam / rho) R} = D
    exactly; the (z, w)-update is separable, so this is two-block ADMM on x = (z, w). Starts from z = w = ``z0``
    (default data.init()), u = t = 0, and stops per image as aelpn.solvers.pnp.iterate (relative change of z).
    Returns z = f(v) with its pre-image v, the exact R(z) and the primal residual."""
    rho = lam / prior.sigma**2
    project = box_projection(box)
    z0 = data.init() if z0 is None else z0

    def step(s, k):
        x = data.prox(0.5 * (s["z"] - s["u"] + s["w"] - s["t"]), 0.5 / rho)
        v = x + s["u"]
        z = prior.network(v)
        w = project(x + s["t"])
        return {"z": z, "v": v, "x": x, "w": w, "u": s["u"] + x - z, "t": s["t"] + x - w}

    zeros = torch.zeros_like(z0)
    sol = iterate(step, {"z": z0, "v": z0, "x": z0, "w": project(z0), "u": zeros, "t": zeros}, "z", max_iter, tol,
                  desc="box-admm")
    state = sol.state
    point = exact_regularizer(prior, state["v"])
    norm = state["z"].flatten(1).norm(dim=1).clamp_min(1e-12)
    point.residual = torch.maximum((state["x"] - state["z"]).flatten(1).norm(dim=1),
                                   (state["w"] - state["z"]).flatten(1).norm(dim=1)) / norm
    return point


def map_estimate(data, prior, map_cfg: dict, z0: torch.Tensor | None = None) -> MapPoint:
    """x_hat(theta) = argmin_x f_theta(x) + lam R(x) (+ i_box) by ``box_admm`` (``blind.map``: lam, max_iter, tol,
    box), from z0, with its exact R."""
    return box_admm(data, prior, map_cfg["lam"], map_cfg["max_iter"], map_cfg["tol"], map_cfg["box"], z0=z0)


def box_violation(x: torch.Tensor) -> torch.Tensor:
    """max over pixels of the distance of x to [0, 1], per image (B,)."""
    return (x.clamp(0.0, 1.0) - x).abs().flatten(1).amax(1)


@dataclass
class Landscape:
    """Per grid width and image (G, B): J(theta), its data term and the exact R(x_hat(theta)), the PSNR of
    x_hat(theta) clipped to [0, 1], the distance of x_hat(theta) to the box, the ADMM's primal residual; the
    estimates x_hat(theta) (G, B, C, H, W)."""

    objective: torch.Tensor
    data: torch.Tensor
    regularizer: torch.Tensor
    psnr: torch.Tensor
    box_violation: torch.Tensor
    residual: torch.Tensor
    x: torch.Tensor

    def argmin(self) -> torch.Tensor:
        """Grid index of the smallest J per image, (B,)."""
        return self.objective.argmin(dim=0)


def landscape(prior, y: torch.Tensor, thetas: torch.Tensor, bcfg: dict, x_true: torch.Tensor | None = None) -> Landscape:
    """J(theta) of every image of ``y`` at every width of ``thetas`` (increasing), with the blind config section
    ``bcfg`` (kernel_size, noise_sigma, map). The first solve starts from data.init(), each next one from the
    previous estimate."""
    mcfg = bcfg["map"]
    rows, xs, residuals, z = [], [], [], None
    for theta in progress_bar(thetas, desc=f"landscape {getattr(prior, 'label', '')}", leave=False):
        data = kernels.data_term(theta.view(1), y, bcfg["kernel_size"], bcfg["noise_sigma"])
        point = map_estimate(data, prior, mcfg, z0=z)
        z = point.x
        rows.append(objective(data, mcfg["lam"], z, point.regularizer))
        xs.append(z)
        residuals.append(point.residual)
    quality = [psnr(x, x_true) if x_true is not None else torch.full_like(r.value, float("nan"))
               for x, r in zip(xs, rows)]
    return Landscape(torch.stack([r.value for r in rows]), torch.stack([r.data for r in rows]),
                     torch.stack([r.regularizer for r in rows]), torch.stack(quality),
                     torch.stack([box_violation(x) for x in xs]), torch.stack(residuals), torch.stack(xs))
