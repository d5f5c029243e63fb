"""The registry of inverse-problem methods: adding a method is one module in this package (its ``METHOD``), one
line below and its config section ``inverse.<name>`` (schema and config files). The workflow's DAG, the
config check of ``inverse.algorithms``, the CLI's ``--algorithm`` choices, the job runner and the combine all
read it."""

from __future__ import annotations

from aelpn.inverse.methods import (admm_annealed, admm_diffusion, continuation, diffpir, dps, flow_admm,
                                   flow_posterior, hqs_fixed, pnp_admm, pnp_admm_anscombe, pnp_admm_wls, pnp_fixed,
                                   pnp_flow, pnp_pgd, red, tv_admm, ula, unrolled, vae_admm, wavelet_admm)
from aelpn.inverse.methods.base import Method

METHODS: dict[str, Method] = {m.name: m for m in (
    pnp_admm.METHOD,
    pnp_pgd.METHOD,
    red.METHOD,
    continuation.METHOD,
    hqs_fixed.METHOD,
    pnp_fixed.METHOD,
    unrolled.METHOD,
    diffpir.METHOD,
    dps.METHOD,
    ula.METHOD,
    admm_annealed.METHOD,
    admm_diffusion.METHOD,
    tv_admm.METHOD,
    wavelet_admm.METHOD,
    pnp_admm_wls.METHOD,
    pnp_admm_anscombe.METHOD,
    pnp_flow.METHOD,
    flow_admm.METHOD,
    flow_posterior.METHOD,
    vae_admm.METHOD,
)}


def names() -> list[str]:
    """Every registered method name, in registration order."""
    return list(METHODS)


def get(name: str) -> Method:
    """The method ``name``; a KeyError naming the registered ones otherwise."""
    if name not in METHODS:
        raise KeyError(f"unknown inverse-problem method '{name}' (registered: {', '.join(METHODS)})")
    return METHODS[name]
