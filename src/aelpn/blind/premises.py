"""The premises of the MAP-vs-MMSE theorem, checked per prior and image, and whether a prior is proper.

Premises (per image x with true width theta): R(h(theta) * x) <= R(x) (blurring does not raise R, which gives
J(0) <= J(theta_true)), and x near a fixed point of the prox, ||f(x) - x|| / ||x|| small (x near a mode).
R at such arbitrary points needs the convex inversion of aelpn.models.regularizer for a learned prior; its residual
||f(y) - x|| / ||x|| is kept, and a point whose residual exceeds ``blind.inversion.residual_tol`` is refused
(its R is NaN, so no premise or bound is read from it). The classical control has R in closed form.

Properness of p(x) ~ exp(-R(x) / s^2) on R^n, by construction:

* mean-split variants (shift, AE-LPN): psi = phi((I - P) x) + ||P x||^2 / 2, so R_D(x) = phi*((I - P) x)
  - ||(I - P) x||^2 / 2 does not depend on the image mean: exp(-R) is constant along 1, improper;
* the other 2-homogeneous variants (scale): R(a x) = a^2 R(x), so one x with R(x) < 0 gives R -> -inf along its
  ray, improper; R > 0 on every probe is necessary for a proper prior (not sufficient);
* the classical control: R_D = beta ||grad x||^2 / 2 is constant along the constant image, improper;
* LPN, psi = h + alpha ||x||^2 with h a Lipschitz softplus ICNN: Fenchel-Young at y = x gives the lower bound
  R_D(x) >= ||x||^2 / 2 - psi(x) = (1/2 - alpha) ||x||^2 - h(x), which grows to +inf along every ray when
  alpha < 1/2: R is bounded below and grows quadratically, a proper prior. Checked numerically: the bound on
  the rays a x (a in ``blind.properness.scales``) of the evaluation images must grow with a and end positive.

On the box [0, 1]^n every continuous R gives a proper prior; properness here is that of the construction."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aelpn.blind import kernels
from aelpn.blind.control import LABEL as CONTROL, QuadraticGradientProx
from aelpn.models.build import HOMOGENEOUS
from aelpn.models.regularizer import regularizer

MEAN_SPLIT = ("shift", "aelpn", "aelpn_sq")


@dataclass
class Inverted:
    """R(x) = R_D(x) / s^2 (B,), NaN where refused; the inversion residual (B,; 0 where R is closed form); the
    refusal flag (B,)."""

    value: torch.Tensor
    residual: torch.Tensor
    refused: torch.Tensor


def regularizer_at(prior, x: torch.Tensor, icfg: dict) -> Inverted:
    """R(x) for the prior, in closed form for the classical control, else by the convex inversion (at most
    ``icfg['iterations']`` L-BFGS iterations), refused where its residual exceeds ``icfg['residual_tol']``."""
    if isinstance(prior.network, QuadraticGradientProx):
        value = prior.network.value(x) / prior.sigma**2
        zero = torch.zeros_like(value)
        return Inverted(value, zero, zero.bool())
    inv = regularizer(prior.network, x, max_iter=icfg["iterations"])
    refused = inv.residual > icfg["residual_tol"]
    value = torch.where(refused, torch.full_like(inv.value, float("nan")), inv.value / prior.sigma**2)
    return Inverted(value, inv.residual, refused)


@dataclass
class Premises:
    """Per image (B,): R(x), R(h * x) (with residuals and refusals), the premise R(h * x) <= R(x) (1, 0, NaN
    where refused) and the fixed-point gap ||f(x) - x|| / ||x||."""

    r_truth: Inverted
    r_blurred: Inverted
    blur_lowers_r: torch.Tensor
    fixed_point_gap: torch.Tensor


def premises(prior, x: torch.Tensor, theta: torch.Tensor, bcfg: dict) -> Premises:
    """The theorem's premises on the truths ``x`` with their true widths ``theta`` (B,)."""
    blurred = kernels.blur_physics(theta.to(x.dtype), bcfg["kernel_size"], tuple(x.shape[1:])).A(x)
    r_truth = regularizer_at(prior, x, bcfg["inversion"])
    r_blurred = regularizer_at(prior, blurred, bcfg["inversion"])
    holds = (r_blurred.value <= r_truth.value).to(x.dtype)
    holds = torch.where(r_truth.refused | r_blurred.refused, torch.full_like(holds, float("nan")), holds)
    with torch.no_grad():
        gap = (prior.network(x) - x).flatten(1).norm(dim=1) / x.flatten(1).norm(dim=1)
    return Premises(r_truth, r_blurred, holds, gap)


def regularizer_lower_bound(prior, x: torch.Tensor, scales: list[float]) -> torch.Tensor:
    """The Fenchel-Young lower bound (||a x||^2 / 2 - psi(a x)) / s^2 <= R(a x) on the rays of the images x, per
    scale a and image, (S, B)."""
    out = []
    with torch.no_grad():
        for a in scales:
            psi, _ = prior.network.potential_and_gradient(a * x)
            out.append((0.5 * (a * x).flatten(1).square().sum(1) - psi) / prior.sigma**2)
    return torch.stack(out)


def properness(label: str, bound: torch.Tensor, regularizer_min: float) -> tuple[bool, str]:
    """Whether exp(-R / s^2) is a proper prior on R^n for the variant ``label`` (the module docstring): from the
    construction, with the lower bound ``bound`` (S, B) on the probe rays and the smallest exact R found
    (``regularizer_min``, e.g. over the landscape)."""
    if label == CONTROL:
        return False, "R_D = beta ||grad x||^2 / 2 is constant along the constant image"
    if label in MEAN_SPLIT:
        return False, "R does not depend on the image mean: exp(-R) is constant along the constant image"
    if label in HOMOGENEOUS:
        if regularizer_min < 0:
            return False, f"2-homogeneous R < 0 at a probe ({regularizer_min:.3g}): R -> -inf along its ray"
        return True, "2-homogeneous R > 0 at every probe (necessary only)"
    grows = bool((bound[-1] > 0).all() and (bound[-1] > bound[:-1].amax(0)).all())
    if grows:
        return True, f"R >= Fenchel-Young bound, which grows along every probe ray (min {float(bound.min()):.3g})"
    return False, "the Fenchel-Young lower bound does not grow along every probe ray"
