"""PnP-ADMM cost per iteration against one call of its prior, the proximal network (``aelpn.solvers.pnp``)."""

from __future__ import annotations

import torch

from aelpn.bench.timing import interleaved_times
from aelpn.solvers.pnp import pnp_admm
from aelpn.physics.problems import build_problem


@torch.no_grad()
def _prox_calls(model, x: torch.Tensor, calls: int) -> None:
    for _ in range(calls):
        model(x)


def deblurring_problem(inverse_cfg: dict) -> str:
    """The first configured blur problem with Gaussian noise (else the first blur problem)."""
    blurs = [n for n, p in inverse_cfg["problems"].items() if p["operator"] == "blur"]
    gaussian = [n for n in blurs if inverse_cfg["problems"][n]["noise"]["kind"] == "gaussian"]
    if not blurs:
        raise KeyError("config key 'inverse.problems': the PnP benchmark needs a blur problem")
    return (gaussian or blurs)[0]


def pnp_iteration_cost(model, inverse_cfg: dict, problem: str, batch: int, iterations: int, rounds: int,
                       seed: int) -> dict:
    """Seconds per PnP-ADMM iteration (median of interleaved runs of ``iterations`` iterations, tol 0 so none stops early) and per
    prox call f(x) (runs of as many calls) on the same batch of seeded images of the model's size; their ratio."""
    spec = model.spec
    shape = (spec["channels"], spec["image_size"], spec["image_size"])
    prob = build_problem(problem, inverse_cfg, shape)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, *shape, generator=gen)
    params = prob.sample_params(batch, gen)
    data = prob.data_term(prob.physics(params), prob.measure(x, params, gen))
    sigma, lam = 0.1, inverse_cfg["pnp_admm"]["lam"]
    times = interleaved_times({
        "admm": lambda: pnp_admm(data, model, sigma, lam, iterations, 0.0),
        "prox": lambda: _prox_calls(model, x, iterations),
    }, rounds, 1, x.device)
    admm_s, prox_s = times["admm"].median / iterations, times["prox"].median / iterations
    return {"iteration_s": admm_s, "prox_s": prox_s, "ratio": admm_s / prox_s,
            "cpu_ratio": times["admm"].cpu_median / times["prox"].cpu_median}
