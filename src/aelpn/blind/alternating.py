"""Joint MAP by alternating minimisation of J(theta, x) = f_theta(x) + lam R(x) + i_box(x)
(aelpn.blind.landscape), theta restricted to the support of the theta prior ``blind.theta_prior`` (uniform):

    theta_{k+1} = argmin over {theta_k} + search grid of f_theta(x_k)   (R does not depend on theta),
    x_{k+1}     = PnP-ADMM for theta_{k+1} warm-started at x_k, kept only if J(theta_{k+1}, .) decreases.

The initial x-step is the MAP for theta_0 from data.init(), or warm-started at a given x_0: started at the truth
(theta_true, x) it is a local search from the truth, whose drift |theta_R - theta_true| measures whether J has a
local minimum near (h(theta_true), x), the theorem's second conclusion.

Both steps can only lower J (theta_k is a candidate of the theta-step; the x-step is rejected if it raises J),
so J(theta_k, x_k) is non-increasing: the solver ends in the basin its initialisation selects. R is exact at every
x-step's estimate (aelpn.blind.landscape.exact_regularizer)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aelpn.blind import kernels
from aelpn.blind.landscape import map_estimate, objective


@dataclass
class AlternatingPath:
    """theta (R+1, B) and J (R+1, B) after the initial x-step and after every round; x the end point."""

    theta: torch.Tensor
    objective: torch.Tensor
    x: torch.Tensor


def theta_step(x: torch.Tensor, y: torch.Tensor, theta: torch.Tensor, candidates: torch.Tensor, bcfg: dict) -> torch.Tensor:
    """Per image, the width among ``theta`` (its current one) and ``candidates`` minimising f_theta(x)."""
    size, sigma = bcfg["kernel_size"], bcfg["noise_sigma"]
    values = [kernels.data_term(theta, y, size, sigma).value(x)]
    values += [kernels.data_term(c.view(1), y, size, sigma).value(x) for c in candidates]
    best = torch.stack(values).argmin(dim=0)
    options = torch.cat([theta.view(1, -1), candidates.to(theta).view(-1, 1).expand(-1, theta.numel())])
    return options.gather(0, best.view(1, -1)).view(-1)


def alternating_map(prior, y: torch.Tensor, theta0: torch.Tensor, bcfg: dict,
                    x0: torch.Tensor | None = None) -> AlternatingPath:
    """Alternating joint MAP from the widths ``theta0`` (B,) for ``blind.alternating.rounds`` rounds, the theta-step
    searching ``blind.alternating.search_points`` widths on the theta prior's support; the initial x-step starts
    from ``x0`` (default data.init())."""
    mcfg, acfg = bcfg["map"], bcfg["alternating"]
    size, sigma, lam = bcfg["kernel_size"], bcfg["noise_sigma"], mcfg["lam"]
    candidates = kernels.theta_grid(bcfg["theta_prior"], acfg["search_points"]).to(y.dtype)
    theta = theta0.to(y.dtype)
    point = map_estimate(kernels.data_term(theta, y, size, sigma), prior, mcfg, z0=x0)
    x = point.x
    current = objective(kernels.data_term(theta, y, size, sigma), lam, x, point.regularizer)
    thetas, values = [theta], [current.value]
    mask = (-1, *([1] * (y.dim() - 1)))
    for _ in range(acfg["rounds"]):
        theta = theta_step(x, y, theta, candidates, bcfg)
        data = kernels.data_term(theta, y, size, sigma)
        kept = objective(data, lam, x, current.regularizer)
        point = map_estimate(data, prior, mcfg, z0=x)
        new = objective(data, lam, point.x, point.regularizer)
        accept = new.value <= kept.value
        x = torch.where(accept.view(mask), point.x, x)
        current = objective(data, lam, x, torch.where(accept, new.regularizer, kept.regularizer))
        thetas.append(theta)
        values.append(current.value)
    return AlternatingPath(torch.stack(thetas), torch.stack(values), x)
