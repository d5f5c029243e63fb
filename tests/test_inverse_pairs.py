"""The comparisons that change one factor only (aelpn.core.pairs): every shipped config keeps each pair's shared
settings equal, a config that does not is refused naming both keys (the equal-budget check of claims 15b/15c
included), and the two schedule pairs of claim 8 run the same solver, start, denoiser, lam and iterations: with
the scheduled method's schedule flattened to its partner's fixed level, the two give the same estimate."""

from __future__ import annotations

import copy

import pytest
import torch

from aelpn.core.config import ConfigError, load, validate
from aelpn.inverse.methods.registry import get
from aelpn.core.pairs import PAIRS, problems
from aelpn.inverse.priors import LearnedPrior
from configs import REPO
from problem_helpers import measured_problem

CONFIGS = ("config/config.yaml", "config/reference.yaml", "config/quick.yaml", "tests/smoke.yaml")
NOISE = {"gaussian": {"kind": "gaussian", "sigma": 0.01},
         "poisson": {"kind": "poisson", "photons": 100.0, "background": 0.01}}


def level_dependent_denoiser(v: torch.Tensor, sigma) -> torch.Tensor:
    """The Gaussian-prior MMSE denoiser (prior N(0.5, 0.2^2)): its output depends on sigma, so a schedule shows."""
    sigma = torch.as_tensor(sigma, dtype=v.dtype).reshape(-1, *([1] * (v.dim() - 1)))
    return 0.5 + (v - 0.5) * 0.04 / (0.04 + sigma**2)


PRIOR = LearnedPrior("denoiser", level_dependent_denoiser, None, 0.0, "cpu")


@pytest.mark.parametrize("path", CONFIGS)
def test_every_shipped_config_keeps_each_pair_like_for_like(path):
    assert problems(load(REPO / path)["inverse"]) == []


CASES = [(name, i) for name, pair in PAIRS.items() for i in range(len(pair.shared))]


@pytest.mark.parametrize("name,index", CASES)
def test_a_pair_differing_in_a_shared_setting_is_refused(smoke_config, name, index):
    """Each shared setting of each pair, changed on one side only (the reference method's first key), makes the
    config invalid with a line naming the keys of both sides: e.g. the exact likelihood's Newton steps
    (inverse.poisson) against Anscombe's (inverse.pnp_admm_anscombe), each read from its own section."""
    cfg = copy.deepcopy(smoke_config)
    pair = PAIRS[name]
    ours, theirs = pair.shared[index]
    section, key = theirs[0].split(".")
    cfg["inverse"][section][key] = cfg["inverse"][section][key] * 2
    with pytest.raises(ConfigError) as error:
        validate(cfg)
    for side in (ours, theirs):
        for k in side:
            assert f"'inverse.{k}'" in str(error.value)
    assert f"{pair.changed} and {pair.reference} may differ in {pair.factor} only" in str(error.value)


def test_a_pair_is_checked_only_when_both_methods_run(smoke_config):
    cfg = copy.deepcopy(smoke_config)
    cfg["inverse"]["hqs_fixed"]["lam"] = 1.0
    cfg["inverse"]["algorithms"] = [a for a in cfg["inverse"]["algorithms"] if a != "continuation"]
    validate(cfg)


def _solve(name, section, data, x):
    with torch.no_grad():
        return get(name).solve(data, PRIOR, section, 0, x).x


@pytest.mark.parametrize("path", CONFIGS)
@pytest.mark.parametrize("operator", ["inpainting", "blur"])
def test_admm_schedule_pair_differs_in_the_schedule_only(path, operator):
    """admm_annealed with sigma_start = sigma_end = pnp_fixed.sigma is pnp_fixed bit for bit, with each method's
    own lam and iterations from the shipped config: same ADMM, start, denoiser, lam and iterations."""
    icfg = load(REPO / path)["inverse"]
    data, x = measured_problem(operator, NOISE["gaussian"], (3, 8, 8))
    fixed = icfg["pnp_fixed"]["sigma"]
    flattened = dict(icfg["admm_annealed"], sigma_start=fixed, sigma_end=fixed)
    assert torch.equal(_solve("admm_annealed", flattened, data, x), _solve("pnp_fixed", icfg["pnp_fixed"], data, x))


@pytest.mark.parametrize("path", CONFIGS)
@pytest.mark.parametrize("operator,noise", [("inpainting", "gaussian"), ("blur", "gaussian")])
def test_hqs_schedule_pair_differs_in_the_schedule_only(path, operator, noise):
    """continuation started at the noise level (its schedule then constant at its last level) is hqs_fixed, with
    each method's own lam and iterations from the shipped config: same HQS, start A^T y, denoiser, lam and
    iterations."""
    icfg = load(REPO / path)["inverse"]
    data, x = measured_problem(operator, NOISE[noise], (3, 8, 8))
    flattened = dict(icfg["continuation"], per_operator={operator: {"sigma_start": NOISE[noise]["sigma"]}})
    torch.testing.assert_close(_solve("continuation", flattened, data, x),
                               _solve("hqs_fixed", icfg["hqs_fixed"], data, x), rtol=0, atol=1e-12)
