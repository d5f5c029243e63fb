"""The comparisons that change one factor only: pairs of inverse-problem methods whose runs must agree on every
setting but the factor a claim compares (claims 8, 15a, 15b, 15c, 15d; docs/claims.md). Each pair names the config
keys, under ``inverse``, that the two methods read for their shared settings; the config check
(aelpn.core.config.cross_key_problems) refuses a config in which both methods run and those keys differ, so no
run can compare them otherwise. A side of ``shared`` is a tuple of keys whose product is the setting: an inner
solver's budget of Newton steps x CG steps against one CG solve's steps."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pair:
    """``changed`` (the method with the factor) against ``reference`` (without it), equal in ``shared``: pairs
    (keys of changed's settings, keys of reference's settings), each side's product compared."""

    factor: str
    changed: str
    reference: str
    shared: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]

    def differences(self, inverse_cfg: dict) -> list[str]:
        """One line per shared setting on which the two methods' config keys differ ([] when the pair is
        like for like, or when one of them is not in inverse.algorithms)."""
        if not {self.changed, self.reference} <= set(inverse_cfg["algorithms"]):
            return []
        out = []
        for ours, theirs in self.shared:
            a, b = _setting(inverse_cfg, ours), _setting(inverse_cfg, theirs)
            if a != b:
                out.append(f"config keys {_names(ours)} = {a:g} and {_names(theirs)} = {b:g} must be equal: "
                           f"{self.changed} and {self.reference} may differ in {self.factor} only")
        return out


def _setting(inverse_cfg: dict, keys: tuple[str, ...]) -> float:
    values = []
    for key in keys:
        section, name = key.split(".")
        values.append(inverse_cfg[section][name])
    return math.prod(values)


def _names(keys: tuple[str, ...]) -> str:
    return " x ".join(f"'inverse.{k}'" for k in keys)


def _same(changed: str, reference: str, names: tuple[str, ...]) -> tuple:
    return tuple(((f"{changed}.{n}",), (f"{reference}.{n}",)) for n in names)


_ADMM = ("sigma_start", "sigma_end", "lam", "iterations")
_PNP = ("lam", "max_iter", "tol")
PAIRS: dict[str, Pair] = {
    "schedule_admm": Pair("the sigma schedule", "admm_annealed", "pnp_fixed",
                          _same("admm_annealed", "pnp_fixed", ("lam", "iterations"))),
    "schedule_hqs": Pair("the sigma schedule", "continuation", "hqs_fixed",
                         _same("continuation", "hqs_fixed", ("lam", "iterations"))),
    "renoise": Pair("the re-noising", "admm_diffusion", "admm_annealed",
                    _same("admm_diffusion", "admm_annealed", _ADMM)),
    "tv": Pair("the z-update's prox", "admm_diffusion", "tv_admm", _same("admm_diffusion", "tv_admm", _ADMM)),
    "wavelet": Pair("the z-update's prox", "admm_diffusion", "wavelet_admm",
                    _same("admm_diffusion", "wavelet_admm", _ADMM)),
    "exact_anscombe": Pair("the likelihood of the x-update", "pnp_admm", "pnp_admm_anscombe",
                           _same("pnp_admm", "pnp_admm_anscombe", _PNP)
                           + ((("poisson.newton_iterations",), ("pnp_admm_anscombe.newton_iterations",)),
                              (("poisson.cg_iterations",), ("pnp_admm_anscombe.cg_iterations",)))),
    "anscombe_wls": Pair("the likelihood of the x-update", "pnp_admm_anscombe", "pnp_admm_wls",
                         _same("pnp_admm_anscombe", "pnp_admm_wls", _PNP)
                         + ((("pnp_admm_anscombe.newton_iterations", "pnp_admm_anscombe.cg_iterations"),
                             ("pnp_admm_wls.cg_iterations",)),)),
}


def problems(inverse_cfg: dict) -> list[str]:
    """Every difference of every pair (``Pair.differences``), for the config check."""
    return [line for pair in PAIRS.values() for line in pair.differences(inverse_cfg)]
