"""The method registry (every consumer reads it) and its deepinv interfaces: PnP-ADMM and vanilla PnP equal
deepinv's own ADMM with the same prior and data fidelity (float64)."""

from __future__ import annotations

import copy

import deepinv as dinv
import pytest
import torch

from aelpn.cli import build_parser
from aelpn.core.config import ConfigError, schema, validate
from aelpn.inverse.priors import LearnedPrior
from aelpn.models.denoiser import build_denoiser
from aelpn.inverse.jobs import applicable, jobs, map_weight, trace_length
from aelpn.inverse.methods.base import Method
from aelpn.inverse.methods.registry import METHODS, get, names
from aelpn.physics.problems import build_problem
from configs import SHIPPED, shipped_config

SHAPE = (3, 8, 6)
NOISE = {"gaussian": {"kind": "gaussian", "sigma": 0.05},
         "poisson": {"kind": "poisson", "photons": 50.0, "background": 0.02}}


def test_every_registered_method_has_a_schema_section_and_one_in_every_config():
    inverse = schema()["properties"]["inverse"]
    assert inverse["properties"]["algorithms"]["items"]["enum"] == list(names()), "schema enum = registry"
    for name in names():
        assert name in inverse["properties"] and name in inverse["required"], name
        for config in SHIPPED:
            assert name in shipped_config(config)["inverse"], (config, name)


def test_validation_accepts_registered_methods_only(smoke_config):
    validate(smoke_config)
    bad = copy.deepcopy(smoke_config)
    bad["inverse"]["algorithms"].append("pnp_nope")
    with pytest.raises(ConfigError, match=r"inverse\.algorithms\.\d+': unknown value 'pnp_nope' \(one of: pnp_admm, pnp_pgd"):
        validate(bad)


@pytest.mark.parametrize("pair, message", [
    ({"trained_on": "blurry", "evaluated_on": "inpaint50"}, r"adaptivity\.1\.trained_on': 'blurry' is not a problem"),
    ({"trained_on": "inpaint50", "evaluated_on": "inpaint50"}, r"adaptivity\.1': trained_on and evaluated_on"),
])
def test_validation_checks_adaptivity_pairs_against_the_problems(smoke_config, pair, message):
    smoke_config["inverse"]["adaptivity"].append(pair)
    with pytest.raises(ConfigError, match=message):
        validate(smoke_config)


def test_cli_algorithm_choices_are_the_registry():
    evaluate = build_parser()._subparsers._group_actions[0].choices["evaluate"]
    run = evaluate._subparsers._group_actions[0].choices["inverse"]
    (action,) = [a for a in run._actions if a.dest == "algorithm"]
    assert list(action.choices) == names()


def test_jobs_follow_each_methods_likelihoods(smoke_config):
    icfg = smoke_config["inverse"]
    for name, method in METHODS.items():
        for spec in icfg["problems"].values():
            assert applicable(name, spec) == (spec["noise"]["kind"] in method.likelihoods)
    assert ("pnp_pgd", "poisson_blur1") not in jobs(icfg) and ("pnp_fixed", "poisson_blur1") in jobs(icfg)


def test_trace_length_is_the_largest_traced_budget(smoke_config):
    icfg = smoke_config["inverse"]
    icfg["pnp_fixed"]["iterations"] = 17
    icfg["ula"]["iterations"] = 1000  # untraced: does not count
    assert trace_length(icfg) == 17


def test_a_method_declares_a_known_prior_kind_and_likelihoods():
    with pytest.raises(ValueError, match="prior kind 'gan'"):
        Method("m", prior="gan", likelihoods=("gaussian",), trace=None, solve=lambda *a: None)
    with pytest.raises(ValueError, match="likelihoods"):
        Method("m", prior="denoiser", likelihoods=("laplace",), trace=None, solve=lambda *a: None)


def measured(noise: str):
    cfg = {"problems": {"p": {"operator": "blur", "blur_sigma": 1.0, "noise": NOISE[noise]}},
           "poisson": {"newton_iterations": 3, "cg_iterations": 10}}
    gen = torch.Generator().manual_seed(0)
    problem = build_problem("p", cfg, SHAPE)
    x = torch.rand((2, *SHAPE), generator=gen, dtype=torch.float64) * 0.8 + 0.1
    params = problem.sample_params(2, gen)
    y = problem.measure(x, params, gen)
    return problem, problem.physics(params, dtype=torch.float64), y, x


def deepinv_admm(problem, physics, y, denoiser, sigma: float, lam: float, iterations: int, x0):
    """deepinv's ADMM on f + (s^2 / lam) R with our data fidelity and the PnP prior of ``denoiser`` at ``sigma``:
    stepsize gamma = s^2 / lam = 1 / rho, relaxation beta = 1, started from (x0, 0)."""
    model = dinv.optim.optim_builder(
        "ADMM", max_iter=iterations, early_stop=False, data_fidelity=problem.likelihood(),
        prior=dinv.optim.PnP(denoiser), params_algo={"stepsize": sigma**2 / lam, "lambda": 1.0, "g_param": sigma},
        custom_init=lambda y, physics: (x0, torch.zeros_like(x0)))
    with torch.no_grad():
        return model(y, physics)


@pytest.mark.parametrize("noise", ["gaussian", "poisson"])
def test_pnp_admm_equals_deepinv_admm_with_the_same_prior_and_data_fidelity(noise):
    problem, physics, y, x = measured(noise)
    data = problem.data_term(physics, y)

    def network(v):  # a nonlinear stand-in for a proximal network: shrink towards 1/2, then squash
        return 0.5 + 0.45 * torch.tanh(1.5 * (v - 0.5))

    section = {"lam": 0.7, "max_iter": 25, "tol": 1e-300}
    prior = LearnedPrior("lpn", network, 0.1, 0.0, "cpu")
    ours = get("pnp_admm").solve(data, prior, section, 0, x)
    theirs = deepinv_admm(problem, physics, y, lambda v, sigma: network(v), 0.1, 0.7, 25, data.init())
    assert int(ours.iterations.min()) == 25
    assert torch.allclose(ours.x, theirs, rtol=0, atol=1e-12)


def test_vanilla_pnp_equals_deepinv_admm_with_the_conditional_denoiser():
    problem, physics, y, x = measured("gaussian")
    data = problem.data_term(physics, y)
    denoiser = build_denoiser(3, {"width": 4, "blocks": 1, "pixel_std": 0.25}, seed=0).double().eval()
    assert isinstance(denoiser, dinv.models.Denoiser)
    section = {"sigma": 0.05, "lam": 0.23, "iterations": 6}
    with torch.no_grad():
        ours = get("pnp_fixed").solve(data, LearnedPrior("denoiser", denoiser, None, 0.0, "cpu"), section, 0, x)
    theirs = deepinv_admm(problem, physics, y, denoiser, 0.05, 0.23, 6, data.init())
    assert torch.allclose(ours.x, theirs, rtol=0, atol=1e-10)


def test_map_weight_is_each_map_methods_own_lam(paper_config):
    """inverse.nc's `lam` coordinate: the MAP methods report their own section's lam (ADMM and PGD differ at
    paper scale), every other method NaN."""
    icfg = paper_config["inverse"]
    assert map_weight(icfg, "pnp_admm") == icfg["pnp_admm"]["lam"] == 1.0
    assert map_weight(icfg, "pnp_pgd") == icfg["pnp_pgd"]["lam"] == 100.0
    assert map_weight(icfg, "red") == icfg["red"]["lam"]
    assert map_weight(icfg, "vae_admm") == icfg["vae_admm"]["lam"]
    for name in ("continuation", "hqs_fixed", "pnp_fixed", "tv_admm", "wavelet_admm", "unrolled", "diffpir", "dps", "ula", "pnp_flow", "flow_admm",
                 "flow_posterior"):
        assert map_weight(icfg, name) != map_weight(icfg, name)  # NaN
