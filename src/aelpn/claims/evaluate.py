"""Evaluate every claim on the pipeline's metrics datasets and write ``claims.nc`` (dim ``claim``).

Per claim: source, statement, quantity, units, the PSNR convention it uses, the threshold (text and numeric
bounds), the measured value, its interval, the number of training replicates behind it, the cell that decided it,
the verdict.

The claim is measured on each training replicate alone (``ClaimData.replicate``): the value is the mean over the
replicates of the per-replicate statistic, the interval the two-level paired bootstrap over replicates and images
(``aelpn.claims.interval``; ``claims.resamples`` resamples at ``claims.confidence``, numpy generator seeded by
(seed, "claims", claim id)). With one replicate that is the paired bootstrap over images, draw for draw. A quantity
without an image axis has an interval over the replicates only (none with one replicate: decided by its value). A
replicate on which the claim is not measured makes the row not measured; a premise contradicted on any replicate
makes it premise unmet; the note names the replicate.

Verdict: ``holds`` when the value and its whole interval lie inside the holding range, ``fails`` when both lie
outside it, ``inconclusive`` when the interval crosses a bound, ``premise unmet`` when the data contradict a
premise of the claim (``Measurement.unmet``: the value is kept, the claim is not tested), ``not measured`` when a
dataset is missing, a measured reason sets the row aside (the note says which) or the value is not finite. Each
row carries the claim's kind (seed claim, project claim, construction check); the headline counts the seed claims
only. A failing claim is a finding: it is written like any other.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from aelpn.claims.datasets import NotMeasured
from aelpn.claims.definitions import KINDS, SEED, Claim, ClaimData, Measurement, claims
from aelpn.claims.interval import bootstrap_interval, replicate_mean
from aelpn.core import io, provenance
from aelpn.core.replicates import SEED as SEED_DIM
from aelpn.core.seeding import derive_seed

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
    "replicates": ("training replicates behind the value (its mean over them; 0: not measured)", "1"),
    "seed": ("training seed of the replicate", "1"),
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
    "value": "measured value (mean over training replicates of the mean over images, reduced over cells)",
    "ci_low": "lower end of the two-level paired-bootstrap interval over replicates and images (NaN: none)",
    "ci_high": "upper end of the two-level paired-bootstrap interval over replicates and images (NaN: none)",
    "replicate_value": "the claim's statistic on one training replicate alone (NaN: not measured)",
}


def _inside(value: float, lower: float, upper: float) -> bool:
    return (math.isnan(lower) or value >= lower) and (math.isnan(upper) or value <= upper)


def verdict(value: float, low: float, high: float, lower: float, upper: float, resampled: bool) -> str:
    """holds / fails / inconclusive: by the value alone when nothing was resampled (no image axis, one
    replicate); otherwise the value and the whole interval [low, high] must lie inside (holds) or entirely outside
    (fails) the range [lower, upper] (NaN bound: none). A value that is not finite is not measured."""
    if not math.isfinite(value):
        return NOT_MEASURED
    holds = _inside(value, lower, upper)
    if not resampled:
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


def _per_replicate(texts: list[str], seeds: list[int]) -> str:
    """One text for the replicates: the text itself when they agree, else 'seed s: text' for each that has one."""
    if len(set(texts)) == 1:
        return texts[0]
    return "; ".join(f"seed {s}: {t}" for s, t in zip(seeds, texts) if t)


def measure_replicates(claim: Claim, data: ClaimData, cfg: dict, seeds: list[int]) -> list[Measurement]:
    """The claim's Measurement on each training replicate; NotMeasured (naming the replicate when there are
    several) as soon as one replicate lacks what the claim needs."""
    if not seeds:
        raise NotMeasured("no metrics dataset was given")
    out = []
    for seed in seeds:
        try:
            out.append(claim.measure(data.replicate(seed), cfg))
        except NotMeasured as missing:
            raise NotMeasured(str(missing) if len(seeds) == 1 else f"seed {seed}: {missing}") from None
    return out


def evaluate_claim(claim: Claim, data: ClaimData, cfg: dict, seeds: list[int]) -> dict:
    """One row of the claims table (a dict of the variables in ``_TEXT``, ``_NUMBERS``, images and replicates)
    over the training replicates ``seeds``."""
    ccfg = cfg["claims"]
    lower, upper = claim.bounds(cfg)
    row = {"source": claim.source, "statement": claim.statement, "quantity": claim.quantity, "units": claim.units,
           "psnr_convention": claim.convention(cfg), "threshold": threshold_text(lower, upper, claim.units),
           "lower": lower, "upper": upper, "value": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "images": 0, "replicates": 0, "decided_by": "", "verdict": NOT_MEASURED, "note": "",
           "replicate_value": [math.nan] * len(seeds)}
    try:
        ms = measure_replicates(claim, data, cfg, seeds)
    except NotMeasured as missing:
        row["note"] = str(missing)
        return row
    everything = np.arange(ms[0].images)
    per_replicate = [m.statistic(everything) for m in ms]
    value = float(np.mean(per_replicate))
    per_image = ms[0].per_image
    resampled = per_image or len(ms) > 1
    if resampled:
        generator = np.random.default_rng(derive_seed(cfg["seed"], "claims", claim.id))
        low, high = bootstrap_interval(replicate_mean([m.statistic for m in ms]), len(ms), ms[0].images,
                                       ccfg["resamples"], ccfg["confidence"], generator)
    else:
        low, high = math.nan, math.nan
    decided = verdict(value, low, high, lower, upper, resampled)
    unmet = _per_replicate([m.unmet for m in ms], seeds)
    if unmet and decided != NOT_MEASURED:
        decided = PREMISE_UNMET
    if len(ms) == 1:
        spread = "1 replicate: interval over test images only" if per_image else "1 replicate: no interval"
    else:
        spread = "per replicate " + ", ".join(f"seed {s} {v:.4g}" for s, v in zip(seeds, per_replicate))
    row.update(value=value, ci_low=low, ci_high=high, images=ms[0].images if per_image else 0, replicates=len(ms),
               replicate_value=per_replicate,
               decided_by=_per_replicate([m.cells[m.decisive(m.cell_means(everything))] for m in ms], seeds),
               verdict=decided,
               note="; ".join(t for t in (unmet, _per_replicate([m.note for m in ms], seeds), spread) if t))
    return row


def evaluate_claims(cfg: dict, data: ClaimData) -> xr.Dataset:
    """The claims table of every row of ``claims(cfg)`` (dim ``claim``, coordinate ``kind``) over the training
    replicates of the datasets (attribute ``training_seeds``). cfg: seed, train, prox1d, inverse, blind, claims."""
    table_rows = claims(cfg)
    seeds = data.seeds()
    rows = [evaluate_claim(claim, data, cfg, seeds) for claim in table_rows]
    ds = xr.Dataset(coords={"claim": [c.id for c in table_rows], SEED_DIM: np.array(seeds, dtype=np.int64),
                            "kind": ("claim", np.array([c.kind for c in table_rows], dtype=object))})
    for name in _TEXT:
        ds[name] = ("claim", np.array([str(r[name]) for r in rows], dtype=object))
    for name in _NUMBERS:
        ds[name] = ("claim", np.array([r[name] for r in rows], dtype=np.float64))
    ds["images"] = ("claim", np.array([r["images"] for r in rows], dtype=np.int32))
    ds["replicates"] = ("claim", np.array([r["replicates"] for r in rows], dtype=np.int32))
    ds["replicate_value"] = (("claim", SEED_DIM), np.array([r["replicate_value"] for r in rows], dtype=np.float64)
                             .reshape(len(rows), len(seeds)))
    for name, long_name in _PER_CLAIM_UNITS.items():
        ds[name].attrs.update(long_name=f"{long_name}, in the claim's unit (coordinate 'units')", units="1")
    ds = provenance.annotate(ds.set_coords("units"), _VARS)
    ds.attrs["training_seeds"] = ", ".join(map(str, seeds))
    return ds


def failed(ds: xr.Dataset) -> list[str]:
    """Ids of the claims that do not hold (fails, inconclusive, premise unmet or not measured)."""
    return [str(c) for c, v in zip(ds["claim"].values, ds["verdict"].values) if v != HOLDS]


def run_claims(cfg: dict, data: ClaimData, out: str) -> xr.Dataset:
    """Check that each given file is the dataset it is given as, with the same training replicates
    (``ClaimData.seeds``), then evaluate the claims, print the table and write ``out`` (claims.nc)."""
    data.seeds()
    ds = evaluate_claims(cfg, data)
    ds.attrs = {**provenance.attrs("aelpn claims of the AE-LPN paper and the PnP-vs-unrolled notes, checked", cfg,
                                   "cpu"), "training_seeds": ds.attrs["training_seeds"]}
    ds.attrs.update(confidence=float(cfg["claims"]["confidence"]), resamples=int(cfg["claims"]["resamples"]),
                    inputs=", ".join(f"{k}={getattr(data, k)}" for k in data.given()))
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
    """The claims as a plain-text table grouped by kind (id, verdict, value [interval], threshold, x replicates,
    quantity), under the headline."""
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
                         f"x{r['replicates']} {r['quantity']} ({extra})")
    return "\n".join(lines)
