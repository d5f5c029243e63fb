"""The Jacobian rank of the homogeneous variants. The paper's scale model, psi = h^2/2 with h piecewise
linear, has J_f = grad h grad h^T + 2 alpha I in each linear region: rank one (two for AE-LPN, whose mean
passes through), so it can only output a multiple of one direction. The squared-feature variants beyond the paper
sum one PSD rank-one term per active feature, and their rank must grow with the network."""

from __future__ import annotations

import pytest
import torch
from model_helpers import image_model

N = 3 * 8 * 8


def jacobian_rank(variant: str, seed: int) -> int:
    """Numerical rank (singular values above 1e-6 of the largest) of J_f at a random input, alpha = 0, float64."""
    model = image_model(variant, channels=3, size=8, seed=seed, depth=2, width=4, head_width=4, alpha=0.0)
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    jac = torch.autograd.functional.jacobian(lambda z: model(z.view(1, 3, 8, 8)).flatten(), x.flatten())
    s = torch.linalg.svdvals(jac)
    return int((s > 1e-6 * s[0]).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("variant", ["scale_sq", "aelpn_sq"])
def test_squared_feature_jacobian_rank_well_above_one(variant, seed):
    assert jacobian_rank(variant, seed) >= N // 2


@pytest.mark.parametrize("variant, rank", [("scale", 1), ("aelpn", 2)])
def test_paper_homogeneous_variants_are_rank_one(variant, rank):
    """The check itself, and the fact it rests on: the paper's constructions give rank one (plus the mean)."""
    assert jacobian_rank(variant, 0) == rank
