"""Evaluate every claim on the pipeline's metrics datasets and write ``claims.nc`` (dim ``claim``).

Per claim: source, statement, quantity, units, the PSNR convention it uses, the threshold (text and numeric
bounds), the measured value, its paired-bootstrap interval over images (``claims.resamples`` resamples at
``claims.confidence``, numpy generator seeded by (seed, "claims", claim id)), the cell that decided it, the
verdict: ``holds`` when the value and its whole interval lie inside the holding range, ``fails`` when both lie
outside it, ``inconclusive`` when the interval crosses a bound, ``premise unmet`` when the data contradict a
premise of the claim (``Measurement.unmet``: the value is kept, the claim is not tested), ``not measured`` when a
dataset is missing, a measured reason sets the row aside (the note says which) or the value is not finite.
Quantities without an image axis are decided by their value. Each row carries the claim's kind (seed claim,
project claim, construction check); the headline counts the seed claims only. A failing claim is a finding: it
is written like any other.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from aelpn.claims.datasets import NotMeasured, identify
from aelpn.claims.definitions import KINDS, SEED, Claim, ClaimData, claims
from aelpn.claims.interval import bootstrap_interval
from aelpn.core import io, provenance
from aelpn.core.seeding import derive_seed
from aelpn.core.titles import TITLES

HOLDS, FAILS, INCONCLUSIVE, PREMISE_UNMET, NOT_MEASURED = (
    "holds", "fails", "inconclusive", "premise unmet", "not measured")
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE, PREMISE_UNMET, NOT_MEASURED)
_TEXT = ("source", "statement", "quantity", "units", "psnr_convention", "threshold", "decided_by", "verdict", "note")
_NUMBERS = ("lower", "upper", "value", "ci_low", "ci_high")
_VARS = {
    "source": ("where the claim is made", "1"),
    "statement": ("the claim", "1"),
    "quantity": ("the measured quantity", "1"),
    "units": ("unit of value, lower, upper, ci_low, ci_high of the claim (dB, pixel, ratio or 1)", "1"),
    "psnr_convention": ("PSNR the claim compares: clipped (estimate clipped to [0, 1]), unclipped, equivariance", "1"),
    "threshold": ("the claim holds when the value satisfies this", "1"),
    "images": ("evaluation images behind the value (0: no image axis)", "1"),
    "decided_by": ("the cell (variant, problem, (a, b), ...) whose mean is the value", "1"),
    "verdict": ("holds (value and interval inside the holding range), fails (both outside), inconclusive (the "
                "interval crosses a bound), premise unmet (the data contradict a premise: not tested) or not "
                "measured (missing data, a measured reason, or a value that is not finite)", "1"),
    "note": ("why a claim was not measured or its premise is unmet; budgets and other context", "1"),
    "claim": ("claim id (docs/claims.md)", "1"),
    "kind": ("seed claim (a seed's sentence), project claim (the pipeline's own) or construction check (cannot "
             "fail by design: a regression test, not evidence)", "1"),
}
# The numbers of different claims have different units (dB, pixel, ratio, 1), all dimensionless: CF has one
# ``units`` per variable, so these carry units "1" and name each claim's unit in the auxiliary coordinate
# ``units`` (dim claim, listed in their CF ``coordinates`` attribute).
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
    whole interval [low, high] must lie inside (holds) or entirely outside (fails) the range [lower, upper]
    (NaN bound: none). A value that is not finite is not measured."""
    if not math.isfinite(value):
        return NOT_MEASURED
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
    decided = verdict(value, low, high, lower, upper, m.per_image)
    if m.unmet and decided != NOT_MEASURED:
        decided = PREMISE_UNMET
    row.update(value=value, ci_low=low, ci_high=high, images=images,
               decided_by=m.cells[m.decisive(m.cell_means(everything))], verdict=decided,
               note="; ".join(text for text in (m.unmet, m.note) if text))
    return row


def evaluate_claims(cfg: dict, data: ClaimData) -> xr.Dataset:
    """The claims table of every row of ``claims(cfg)`` (dim ``claim``, coordinate ``kind``). cfg: seed, train,
    prox1d, inverse, blind, claims."""
    table_rows = claims(cfg)
    rows = [evaluate_claim(claim, data, cfg) for claim in table_rows]
    ds = xr.Dataset(coords={"claim": [c.id for c in table_rows],
                            "kind": ("claim", np.array([c.kind for c in table_rows], dtype=object))})
    for name in _TEXT:
        ds[name] = ("claim", np.array([str(r[name]) for r in rows], dtype=object))
    for name in _NUMBERS:
        ds[name] = ("claim", np.array([r[name] for r in rows], dtype=np.float64))
    ds["images"] = ("claim", np.array([r["images"] for r in rows], dtype=np.int32))
    for name, long_name in _PER_CLAIM_UNITS.items():
        ds[name].attrs.update(long_name=f"{long_name}, in the claim's unit (coordinate 'units')", units="1")
    return provenance.annotate(ds.set_coords("units"), _VARS)


def failed(ds: xr.Dataset) -> list[str]:
    """Ids of the claims that do not hold (fails, inconclusive, premise unmet or not measured)."""
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


def counts(ds: xr.Dataset, kind: str) -> str:
    """'of N seed claims, a holds, b fails, ...' for the rows of one kind (verdicts in VERDICTS order, zeros
    left out)."""
    verdicts = ds["verdict"].values[ds["kind"].values == kind]
    parts = [f"{int((verdicts == v).sum())} {v}" for v in VERDICTS if (verdicts == v).any()]
    return f"of {verdicts.size} {kind}s, " + ", ".join(parts) if parts else f"no {kind}s"


def headline(ds: xr.Dataset) -> str:
    """The count a reader takes away: the seed claims only; the other kinds follow, counted apart."""
    return "; ".join([counts(ds, SEED).capitalize()] + [counts(ds, k) for k in KINDS if k != SEED])


def table(ds: xr.Dataset) -> str:
    """The claims as a plain-text table grouped by kind (id, verdict, value [interval], threshold, quantity), under
    the headline."""
    lines = [headline(ds)]
    kinds, width = ds["kind"].values, max(len(str(c)) for c in ds["claim"].values)
    for kind in KINDS:
        lines.append(f"-- {kind}s")
        for i in np.flatnonzero(kinds == kind):
            r = {name: ds[name].values[i] for name in ds.data_vars}
            interval = "" if not np.isfinite(r["ci_low"]) else f" [{r['ci_low']:.4g}, {r['ci_high']:.4g}]"
            value = "-" if not np.isfinite(r["value"]) else f"{r['value']:.4g}{interval}"
            extra = r["note"] or r["decided_by"]
            lines.append(f"{ds['claim'].values[i]:>{width}} {r['verdict']:<13} {value:<30} {r['threshold']:<18} "
                         f"{r['quantity']} ({extra})")
    return "\n".join(lines)
