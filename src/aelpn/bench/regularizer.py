"""Learned-regularizer evaluation: the batched torch L-BFGS of ``aelpn.models.regularizer`` against the LPN
reference's per-image scipy CG at equal accuracy: scipy must reach, image by image, the relative residual
||f(y) - x|| / ||x|| the torch solver reached (or ``tol``, whichever is larger)."""

from __future__ import annotations

import time

import torch

from aelpn.bench.baseline import scipy_regularizer
from aelpn.models.regularizer import regularizer


def regularizer_speed(model, images: int, tol: float, seed: int) -> dict:
    """Wall seconds and achieved relative residuals of both solvers, in float64 (the model is converted), on
    x = f(y0), y0 seeded random images (so each x has a preimage), plus the largest difference of their R values
    relative to max |R|."""
    model = model.double()
    spec = model.spec
    gen = torch.Generator().manual_seed(seed)
    y0 = torch.rand(images, spec["channels"], spec["image_size"], spec["image_size"], generator=gen,
                    dtype=torch.float64).to(next(model.parameters()).device)
    with torch.no_grad():
        x = model(y0)
    start = time.perf_counter()
    ours = regularizer(model, x, tol=tol)
    torch_s = time.perf_counter() - start
    start = time.perf_counter()
    values, _, residuals = scipy_regularizer(model, x, ours.residual.double().cpu().clamp_min(tol).numpy())
    scipy_s = time.perf_counter() - start
    ref = torch.as_tensor(values)
    return {
        "torch_s": torch_s,
        "scipy_s": scipy_s,
        "speedup": scipy_s / torch_s,
        "torch_residual": float(ours.residual.max()),
        "scipy_residual": float(residuals.max()),
        "value_difference": float((ours.value.double().cpu() - ref).abs().max() / ref.abs().max()),
    }
