"""The straightforward baseline the regularizer benchmark compares against (never used by the pipeline itself):
the LPN reference's per-image scipy conjugate-gradient inversion. The autograd reference prox (the training
benchmark's baseline) is ``aelpn.models.autograd``."""

from __future__ import annotations

import numpy as np
import torch

from aelpn.models import ProxNet


def scipy_regularizer(model: ProxNet, x: torch.Tensor, tol, max_iter: int = 5000):
    """R(x_i) per image by ``scipy.optimize.minimize(method="CG")`` of psi(y) - <x_i, y> from y0 = x_i, psi and
    its gradient evaluated image by image with numpy <-> torch round trips (LPN reference ``invert``), stopped
    at ||f(y) - x_i|| <= tol_i ||x_i|| (scipy's gtol in the 2-norm), as ``aelpn.models.regularizer.regularizer``;
    ``tol`` is a number or one per image.
    Returns (values (B,), y (B, ...), relative residuals ||f(y) - x|| / ||x|| (B,)), float64 numpy arrays."""
    from scipy.optimize import minimize

    values, ys, residuals = [], [], []
    shape = (1, *x.shape[1:])
    dtype, device = next(model.parameters()).dtype, next(model.parameters()).device
    tols = np.broadcast_to(np.asarray(tol, dtype=np.float64), (len(x),))
    for xi, tol_i in zip(x.detach().cpu().double().numpy(), tols):
        target = xi.ravel()

        def fun(y):
            leaf = torch.tensor(y.reshape(shape), dtype=dtype, device=device, requires_grad=True)
            psi = model.potential(leaf).sum()
            (grad,) = torch.autograd.grad(psi, leaf)
            return float(psi.detach()) - float(y @ target), grad.double().cpu().numpy().ravel() - target

        scale = np.linalg.norm(target) or 1.0  # absolute where x = 0, as the torch solver
        res = minimize(fun, target.copy(), jac=True, method="CG",
                       options={"gtol": tol_i * scale, "norm": 2, "maxiter": max_iter})
        _, grad = fun(res.x)
        psi = float(model.potential(torch.tensor(res.x.reshape(shape), dtype=dtype, device=device)).detach().sum())
        values.append(float(res.x @ target) - 0.5 * float(target @ target) - psi)
        ys.append(res.x.reshape(xi.shape))
        residuals.append(np.linalg.norm(grad) / scale)
    return np.array(values), np.stack(ys), np.array(residuals)
