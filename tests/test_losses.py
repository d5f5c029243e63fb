"""Losses and the L1 -> proximal-matching schedule."""

from __future__ import annotations

import math

import pytest
import torch

from aelpn.training.losses import L1, PM, l1_loss, lpn_schedule, proximal_matching_loss


def _pair(seed=0, shape=(5, 3, 4, 4)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64), torch.randn(shape, generator=g, dtype=torch.float64)


def test_l1_is_mean_absolute_error():
    a, b = _pair()
    assert l1_loss(a, b).item() == pytest.approx(sum(abs(u - v) for u, v in zip(a.flatten().tolist(),
                                                                             b.flatten().tolist())) / a.numel())


def test_proximal_matching_uses_per_sample_euclidean_norm_and_batch_mean():
    a, b = _pair()
    gamma = 3.0
    expected = sum(1 - math.exp(-((a[i] - b[i]) ** 2).sum().item() / gamma**2) for i in range(len(a))) / len(a)
    assert proximal_matching_loss(a, b, gamma).item() == pytest.approx(expected, rel=1e-12)
    # The distance is over all C*H*W entries of a sample: reshaping within a sample changes nothing.
    assert proximal_matching_loss(a.flatten(1), b.flatten(1), gamma).item() == pytest.approx(expected, rel=1e-12)


def test_proximal_matching_is_bounded_and_vanishes_only_at_the_target():
    a, b = _pair()
    assert proximal_matching_loss(a, a, 1.0).item() == 0.0
    values = [proximal_matching_loss(a, a + t * (b - a), 10.0).item() for t in (0.01, 0.1, 1.0, 10.0)]
    assert all(0 < v < 1 for v in values[:-1]) and values == sorted(values)
    assert values[-1] == pytest.approx(1.0)
    # Small errors: 1 - exp(-d^2/g^2) ~ d^2/g^2 (quadratic near 0); far errors get no gradient (robust).
    d = (a[:1] - b[:1]).pow(2).sum().item()
    small = proximal_matching_loss(a[:1] * 1e-4, b[:1] * 1e-4, 1.0).item()
    assert small == pytest.approx(d * 1e-8, rel=1e-6)
    far = (a[:1] * 100).requires_grad_(True)
    proximal_matching_loss(far, b[:1], 1.0).backward()
    assert far.grad.abs().max().item() < 1e-100


def test_schedule_pretrain_then_equal_pm_stages_halving_gamma():
    cfg = {"steps_pretrain": 6, "steps_pm": 8, "lr_pretrain": {"lpn": 1e-3, "aelpn": 1e-5},
           "lr_pm": {"lpn": 1e-4, "aelpn": 2e-5}, "pm_stages": 4, "gamma_min": 0.08}
    n = 3 * 16 * 16
    settings = [lpn_schedule(cfg, "lpn", s, n) for s in range(14)]
    assert [s.phase for s in settings] == [L1] * 6 + [PM] * 8
    assert all(s.lr == 1e-3 and math.isnan(s.gamma) for s in settings[:6])
    assert all(s.lr == 1e-4 for s in settings[6:])
    g = 0.08 * math.sqrt(n)
    assert [s.gamma for s in settings[6:]] == pytest.approx([8 * g] * 2 + [4 * g] * 2 + [2 * g] * 2 + [g] * 2)
    assert [lpn_schedule(cfg, "aelpn", s, n).lr for s in range(14)] == [1e-5] * 6 + [2e-5] * 8  # per variant
    with pytest.raises(ValueError, match="step 14"):
        lpn_schedule(cfg, "lpn", 14, n)


def test_schedule_uneven_stage_lengths_cover_every_stage():
    cfg = {"steps_pretrain": 0, "steps_pm": 10, "lr_pretrain": {"lpn": 1e-3}, "lr_pm": {"lpn": 1e-4}, "pm_stages": 4,
           "gamma_min": 1.0}
    gammas = [lpn_schedule(cfg, "lpn", s, 1).gamma for s in range(10)]
    counts = {g: gammas.count(g) for g in set(gammas)}
    assert sorted(counts) == [1.0, 2.0, 4.0, 8.0] and set(counts.values()) <= {2, 3}
    assert gammas == sorted(gammas, reverse=True)
