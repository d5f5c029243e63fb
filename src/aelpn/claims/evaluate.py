"""Evaluate every claim on the pipeline's metrics datasets and write ``claims.nc`` (dim ``claim``).

Per claim: source, statement, quantity, units, the PSNR convention it uses, the threshold (text and numeric
bounds), the measured value, its paired-bootstrap interval over images (``claims.resamples`` resamples at
``claims.confidence``, numpy generator seeded by (seed, "claims", claim id)), the cell that decided it, the
verdict: ``holds`` when the value and its whole interval lie inside the holding range, ``fails`` when both lie
outside it (or a premise of the claim is contradicted, ``Measurement.unmet``), ``inconclusive`` when the
interval crosses a bound, ``not measured`` when a dataset is missing. Quantities without an image axis are
decided by their value. A failing claim is a finding: it is written like any other.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from aelpn.claims.datasets import NotMeasured, identify
from aelpn.claims.definitions import CLAIMS, Claim, ClaimData
from aelpn.claims.interval import bootstrap_interval
from aelpn.core import io, provenance
from aelpn.core.seeding import derive_seed
from aelpn.core.titles import TITLES

HOLDS, FAILS, INCONCLUSIVE, NOT_MEASURED = "holds", "fails", "inconclusive", "not measured"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, NOT_MEASURED)
_TEXT = ("source", "statement", "quantity", "units", "psnr_convention", "threshold", "decided_by", "verdict", "note")
_NUMBERS = ("lower", "upper", "value", "ci_low", "ci_high")
_VARS = {
    "source": ("where the claim is made", "1"),
    "statement": ("the claim", "1"),
    "quantity": ("the measured quantity", "1"),
    "units": ("units of value, lower, upper, ci_low, ci_high", "1"),
    "psnr_convention": ("PSNR the claim compares: clipped (estimate clipped to [0, 1]), unclipped, equivariance", "1"),
    "threshold": ("the claim holds when the value satisfies this", "1"),
    "images": ("evaluation images behind the value (0: no image axis)", "1"),
    "decided_by": ("the cell (variant, problem, (a, b), ...) whose mean is the value", "1"),
    "verdict": ("holds (value and interval inside the holding range), fails (both outside, or a premise "
                "contradicted), inconclusive (the interval crosses a bound) or not measured", "1"),
    "note": ("why a claim was not measured or fails whatever its value; budgets and other context", "1"),
    "claim": ("claim id (docs/claims.md)", "1"),
}
# The numbers of different claims have different units (dB, px, ratio, 1): each row's are in its ``units``
# variable, so these carry no CF ``units`` attribute but point to it.
_PER_CLAIM_UNITS = {
    "lower": "lower bound of the holding range (NaN: none)",
    "upper": "upper bound of the holding range (NaN: none)",
    "value": "measured value (mean over images, reduced over cells)",
    "ci_low": "lower end of the paired-bootstrap interval over images (NaN: no image axis)",
    "ci_high": "upper end of the paired-bootstrap interval over images (NaN: no image axis)",
}


def _inside(value: float, lower: float, upper: float) -> bool:
    return (math.isnan(lower) or value >= lower) and (math.isnan(upper) or value <= upper)


def verdict(value: float, low: float, high: float, lower: float, upper: float, per_image: bool) -> str:
    """holds / fails / inconclusive: by the value alone without an image axis; otherwise the value and the
    whole interval [low, high] must lie inside (holds) or entirely outside (fails) the range [lower, upper]."""
    if not math.isfinite(value):
        return FAILS
    holds = _inside(value, lower, upper)
    if not per_image:
        return HOLDS if holds else FAILS
    if math.isnan(low):
        return INCONCLUSIVE
    if holds and _inside(low, lower, upper) and _inside(high, lower, upper):
        return HOLDS
    if not holds and ((not math.isnan(lower) and high < lower) or (not math.isnan(upper) and low > upper)):
        return FAILS
    return INCONCLUSIVE


def threshold_text(lower: float, upper: float, units: str) -> str:
    """'>= 0 dB', '<= 1 dB' or 'in [2.01, 4.01] dB' (units '1' and 'ratio' are not written)."""
    unit = f" {units}" if units == "dB" else ""
    if math.isnan(upper):
        return f">= {lower:g}{unit}"
    if math.isnan(lower):
        return f"<= {upper:g}{unit}"
    return f"in [{lower:.3g}, {upper:.3g}]{unit}"


def evaluate_claim(claim: Claim, data: ClaimData, cfg: dict) -> dict:
    """One row of the claims table (a dict of the variables in ``_TEXT``, ``_NUMBERS`` and images)."""
    ccfg = cfg["claims"]
    lower, upper = claim.bounds(cfg)
    row = {"source": claim.source, "statement": claim.statement, "quantity": claim.quantity, "units": claim.units,
           "psnr_convention": claim.convention(cfg), "threshold": threshold_text(lower, upper, claim.units),
           "lower": lower, "upper": upper, "value": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "images": 0, "decided_by": "", "verdict": NOT_MEASURED, "note": ""}
    try:
        m = claim.measure(data, cfg)
    except NotMeasured as missing:
        row["note"] = str(missing)
        return row
    everything = np.arange(m.images)
    value = m.statistic(everything)
    images = m.images if m.per_image else 0
    generator = np.random.default_rng(derive_seed(cfg["seed"], "claims", claim.id))
    if m.per_image:
        low, high = bootstrap_interval(m.statistic, images, ccfg["resamples"], ccfg["confidence"], generator)
    else:
        low, high = math.nan, math.nan
    decided = FAILS if m.unmet else verdict(value, low, high, lower, upper, m.per_image)
    row.update(value=value, ci_low=low, ci_high=high, images=images,
               decided_by=m.cells[m.decisive(m.cell_means(everything))], verdict=decided,
               note="; ".join(text for text in (m.unmet, m.note) if text))
    return row


def evaluate_claims(cfg: dict, data: ClaimData) -> xr.Dataset:
    """The claims table of every claim in ``CLAIMS`` (dim ``claim``). cfg: seed, train, prox1d, claims."""
    rows = [evaluate_claim(claim, data, cfg) for claim in CLAIMS]
    ds = xr.Dataset(coords={"claim": [c.id for c in CLAIMS]})
    for name in _TEXT:
        ds[name] = ("claim", np.array([str(r[name]) for r in rows], dtype=object))
    for name in _NUMBERS:
        ds[name] = ("claim", np.array([r[name] for r in rows], dtype=np.float64))
    ds["images"] = ("claim", np.array([r["images"] for r in rows], dtype=np.int32))
    for name, long_name in _PER_CLAIM_UNITS.items():
        ds[name].attrs.update(long_name=f"{long_name}, in the claim's units", units_variable="units")
    return provenance.annotate(ds, _VARS)


def failed(ds: xr.Dataset) -> list[str]:
    """Ids of the claims that do not hold (fails, inconclusive or not measured)."""
    return [str(c) for c, v in zip(ds["claim"].values, ds["verdict"].values) if v != HOLDS]


def run_claims(cfg: dict, data: ClaimData, out: str) -> xr.Dataset:
    """Check that each given file is the dataset it is given as (``aelpn.claims.datasets.identify``), then evaluate
    the claims, print the table and write ``out`` (claims.nc)."""
    for kind in TITLES:
        if getattr(data, kind) is not None:
            identify(getattr(data, kind), kind)
    ds = evaluate_claims(cfg, data)
    ds.attrs = provenance.attrs("aelpn claims of the AE-LPN paper and the PnP-vs-unrolled notes, checked", cfg, "cpu")
    ds.attrs.update(confidence=float(cfg["claims"]["confidence"]), resamples=int(cfg["claims"]["resamples"]),
                    inputs=", ".join(f"{k}={v}" for k, v in vars(data).items() if not k.startswith("_")))
    io.write_netcdf(ds, out, float32=False)
    print(table(ds), flush=True)
    return ds


def table(ds: xr.Dataset) -> str:
    """The claims as a plain-text table (id, value [interval], threshold, verdict)."""
    lines = []
    for i, claim in enumerate(ds["claim"].values):
        r = {name: ds[name].values[i] for name in ds.data_vars}
        interval = "" if not np.isfinite(r["ci_low"]) else f" [{r['ci_low']:.4g}, {r['ci_high']:.4g}]"
        value = "-" if not np.isfinite(r["value"]) else f"{r['value']:.4g}{interval}"
        extra = r["note"] or r["decided_by"]
        lines.append(f"{claim:>4} {r['verdict']:<12} {value:<30} {r['threshold']:<18} {r['quantity']} ({extra})")
    return "\n".join(lines)
