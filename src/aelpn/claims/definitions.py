"""The claims of the AE-LPN paper and of the PnP-vs-unrolled-vs-diffusion notes that the pipeline checks.

Each claim measures per-image values in one or more cells (a variant, an (a, b) pair, a problem, ...), takes
the mean over images in each cell and reduces the cells to one number: ``min`` or ``max`` (a claim about
*every* cell is decided by its worst one), or ``farthest`` from a target. The claim holds when that number lies
in [lower, upper] (inclusive; NaN = unbounded). Thresholds come from the config's ``claims`` section (claim 6
from ``prox1d.target_max_error``), the test noise levels from ``train.sigma`` and ``claims.robust_sigma``.

Every claim declares its kind: a seed claim (a sentence of the seeds, quoted where the seed states it), a project
claim (the pipeline's own statement, with its own threshold) or a construction check (a row that cannot fail by
design: a regression test, not evidence). Some claims are stated once per cell of the config (one row per
adaptivity pair, per learned prior of ``blind.variants``): ``claims(cfg)`` expands them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import xarray as xr

from aelpn.claims import datasets
from aelpn.claims.datasets import NotMeasured
from aelpn.core import replicates
from aelpn.core.config import ConfigError
from aelpn.core.io import DatasetError
from aelpn.core.metrics import EQUIVARIANCE_CAP_DB
from aelpn.core.pairs import PAIRS
from aelpn.core.titles import TITLES

NAN = float("nan")
# PSNR ratio of one posterior sample to the posterior mean: E||X_s - x||^2 = 2 E||E[X|y] - x||^2 for x and X_s
# drawn from the same posterior, i.e. 10 log10(2) dB.
SAMPLE_GAP_DB = 10.0 * math.log10(2.0)


@dataclass
class Measurement:
    """Per-image ``values`` (cells, images) reduced by ``reduce`` (min | max | farthest from ``target``) over
    the cells' means; ``per_image`` False for quantities without an image axis (one column, no interval).
    ``cell_value`` replaces the mean over images (values then (cells, ..., images), e.g. a ratio of two means);
    ``note`` is written in the row; ``unmet`` names a premise of the claim that the data contradict: the verdict
    is then ``premise unmet`` whatever its value."""

    values: np.ndarray
    cells: list[str]
    reduce: str
    target: float = NAN
    per_image: bool = True
    cell_value: Callable[[np.ndarray], np.ndarray] | None = None
    note: str = ""
    unmet: str = ""

    @property
    def images(self) -> int:
        return self.values.shape[-1]

    def cell_means(self, indices: np.ndarray) -> np.ndarray:
        picked = self.values[..., indices]
        return picked.mean(axis=-1) if self.cell_value is None else self.cell_value(picked)

    def decisive(self, means: np.ndarray) -> int:
        if self.reduce == "min":
            return int(np.argmin(means))
        if self.reduce == "max":
            return int(np.argmax(means))
        return int(np.argmax(np.abs(means - self.target)))

    def statistic(self, indices: np.ndarray) -> float:
        means = self.cell_means(indices)
        return float(means[self.decisive(means)])


SEED, PROJECT, CHECK = "seed claim", "project claim", "construction check"
KINDS = (SEED, PROJECT, CHECK)


@dataclass(frozen=True)
class Claim:
    """One checked statement: ``measure(data, cfg)`` gives the Measurement, ``bounds(cfg)`` (lower, upper);
    ``kind`` one of KINDS."""

    id: str
    source: str
    statement: str
    quantity: str
    units: str
    convention: Callable[[dict], str]
    bounds: Callable[[dict], tuple[float, float]]
    measure: Callable[["ClaimData", dict], Measurement]
    kind: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind '{self.kind}' is not one of {KINDS}")


@dataclass(frozen=True)
class PerCell:
    """A claim stated once per cell of the config: ``rows(cfg)`` gives one Claim per cell."""

    id: str
    rows: Callable[[dict], list[Claim]]


@dataclass
class ClaimData:
    """Paths of the metrics datasets (None: not produced by this run), each opened once and checked to be the
    dataset it is given as, with the ``seed`` dimension of the training replicates
    (``aelpn.claims.datasets.identify``). ``replicate(seed)`` is the view a claim measures: every reader's data at
    that training seed."""

    noise_sweep: str | None = None
    affine_sweep: str | None = None
    jacobian: str | None = None
    prox1d: str | None = None
    inverse: str | None = None
    adaptivity: str | None = None
    blind: str | None = None
    seed: int | None = None
    _cache: dict = field(default_factory=dict)

    def _file(self, name: str) -> xr.Dataset:
        path = getattr(self, name)
        if path is None:
            raise NotMeasured(f"no {name}.nc dataset was given")
        if ("file", name) not in self._cache:
            self._cache[("file", name)] = datasets.identify(path, name)
        return self._cache[("file", name)]

    def given(self) -> list[str]:
        """The names of the datasets given (paths not None)."""
        return [name for name in TITLES if getattr(self, name) is not None]

    def seeds(self) -> list[int]:
        """The training seeds of the replicates, the same in every given dataset (else a DatasetError naming two
        files that differ); [] when none is given."""
        found = {name: replicates.seeds(self._file(name)) for name in self.given()}
        first = next(iter(found), None)
        for name, own in found.items():
            if own != found[first]:
                raise DatasetError(f"{getattr(self, name)}: training seeds {own}, but {getattr(self, first)} has "
                                   f"{found[first]}; every metrics dataset must come from the same replicates")
        return found[first] if found else []

    def replicate(self, seed: int) -> "ClaimData":
        """The same datasets (and cache) seen at one training seed."""
        return replace(self, seed=seed)

    def get(self, name: str, *args):
        """The reader ``name``'s data (``aelpn.claims.datasets``) at this view's training seed."""
        key = (name, *args)
        path_of = {"noise_input": "noise_sweep"}
        if key not in self._cache:
            reader = {"noise_sweep": datasets.noise_sweep_psnr, "noise_input": datasets.noise_sweep_input_psnr,
                      "affine_sweep": datasets.equivariance_psnr,
                      "jacobian": datasets.jacobian_asymmetry, "prox1d": datasets.prox_max_error,
                      "inverse": datasets.inverse, "adaptivity": datasets.adaptivity_psnr,
                      "blind": datasets.blind}[name]
            self._cache[key] = reader(self._file(path_of.get(name, name)), *args)
        whole = self._cache[key]
        if isinstance(whole, tuple):
            return (whole[0].sel({replicates.SEED: self.seed}), *whole[1:])
        return whole.sel({replicates.SEED: self.seed})


# --- denoising (paper §4, Figs. 2 and 4) -------------------------------------------------------------------

def _at_sigma(psnr: xr.DataArray, sigma: float, key: str) -> xr.DataArray:
    match = np.flatnonzero(np.isclose(psnr["sigma"].values, sigma))
    if match.size == 0:
        raise ConfigError(f"config key '{key}': {sigma} is not a test noise level of noise_sweep.nc "
                          f"({psnr['sigma'].values.tolist()}); add it to noise_sweep.sigmas")
    return psnr.isel(sigma=int(match[0]))


def _variant(da: xr.DataArray, variant: str) -> xr.DataArray:
    if variant not in da["variant"].values:
        raise NotMeasured(f"variant '{variant}' was not trained (model.variants)")
    return da.sel(variant=variant)


def _not_denoising(data: ClaimData, cfg: dict, variants: tuple[str, ...]) -> str:
    """The variants whose mean PSNR at train.sigma is not above their noisy input's: a robustness claim is about
    denoisers (a constant predictor is 'robust' too), so it fails for them. '' when every variant denoises."""
    psnr = data.get("noise_sweep", cfg["claims"]["denoising_psnr"])
    sigma = cfg["train"]["sigma"]
    noisy = float(_at_sigma(data.get("noise_input", cfg["claims"]["denoising_psnr"]), sigma, "train.sigma").mean())
    at = _at_sigma(psnr, sigma, "train.sigma")
    out = []
    for v in variants:
        own = float(_variant(at, v).mean())
        if not own > noisy:
            out.append(f"{v} does not denoise: {own:.2f} dB against its noisy input's {noisy:.2f} dB at "
                       f"sigma={sigma:g}")
    return "; ".join(out)


def _psnr_difference(better: str, worse: str, sigma_key: str):
    """PSNR(better) - PSNR(worse) at one noise level; at claims.robust_sigma (a robustness claim) both must also
    denoise at train.sigma (``_not_denoising``)."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        psnr = data.get("noise_sweep", cfg["claims"]["denoising_psnr"])
        sigma = cfg["train"]["sigma"] if sigma_key == "train.sigma" else cfg["claims"]["robust_sigma"]
        at = _at_sigma(psnr, sigma, sigma_key)
        diff = (_variant(at, better) - _variant(at, worse)).values[None]
        unmet = _not_denoising(data, cfg, (better, worse)) if sigma_key == "claims.robust_sigma" else ""
        return Measurement(diff, [f"sigma={sigma:g}"], "min", unmet=unmet)
    return measure


def _over_input(variant: str):
    """PSNR(variant) - PSNR(noisy input) at every test sigma up to claims.sq_input_sigma_max (cells: sigma)."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        psnr = _variant(data.get("noise_sweep", cfg["claims"]["denoising_psnr"]), variant)
        noisy = data.get("noise_input", cfg["claims"]["denoising_psnr"])
        sigmas = [s for s in psnr["sigma"].values if s <= cfg["claims"]["sq_input_sigma_max"] + 1e-12]
        if not sigmas:
            raise ConfigError(f"config key 'claims.sq_input_sigma_max': no test noise level of noise_sweep.nc is "
                              f"at most {cfg['claims']['sq_input_sigma_max']}")
        rows = [(psnr.sel(sigma=s) - noisy.sel(sigma=s)).values for s in sigmas]
        return Measurement(np.array(rows), [f"sigma={s:g}" for s in sigmas], "min")
    return measure


def _equivariance_cap(data: ClaimData, cfg: dict) -> Measurement:
    eq = data.get("affine_sweep")
    cells, rows = [], []
    for variant in ("aelpn", "normtrick"):
        per = _variant(eq, variant)
        for a in per["scale"].values:
            for b in per["offset"].values:
                cells.append(f"{variant} a={a:g} b={b:g}")
                rows.append(per.sel(scale=a, offset=b).values)
    return Measurement(np.array(rows), cells, "min")


def _lpn_equivariance(data: ClaimData, cfg: dict) -> Measurement:
    per = _variant(data.get("affine_sweep"), "lpn")
    cells, rows = [], []
    for a in per["scale"].values:
        for b in per["offset"].values:
            if not (np.isclose(a, 1.0) and np.isclose(b, 0.0)):
                cells.append(f"lpn a={a:g} b={b:g}")
                rows.append(per.sel(scale=a, offset=b).values)
    if not rows:
        raise NotMeasured("the affine sweep has no (a, b) other than (1, 0)")
    return Measurement(np.array(rows), cells, "max")


def _asymmetry(exact: bool):
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        asym = data.get("jacobian")
        chosen = [str(v) for v, e in zip(asym["variant"].values, asym["exact_prox"].values) if bool(e) == exact]
        if not exact:
            chosen = [v for v in chosen if v == "normtrick"]
        if not chosen:
            raise NotMeasured(f"jacobian.nc has no {'exact-prox variant' if exact else 'normtrick variant'}")
        return Measurement(np.stack([asym.sel(variant=v).values for v in chosen]), chosen, "max" if exact else "min")
    return measure


def _prox1d_error(variant: str):
    """Max |f(x) - prox(x)| of one 1-D variant's saved model (the Polyak-Ruppert average of the last
    prox1d.average_steps iterates, a deviation from the research code, which keeps the last iterate); the
    last iterate's error goes in the note."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        errors = data.get("prox1d")
        error = float(_variant(errors["prox_max_error"], variant))
        last = float(_variant(errors["prox_max_error_last_iterate"], variant))
        note = f"{variant}: saved (averaged) model {error:.3g}, last iterate {last:.3g}"
        return Measurement(np.array([[error]]), [variant], "max", per_image=False, note=note)
    return measure


# --- inverse problems (PnP vs unrolled vs diffusion notes) --------------------------------------------------

def _estimator(ds: xr.Dataset, algorithm: str, prior: str | None = None) -> str:
    algorithms, priors = ds["algorithm"].values.astype(str), ds["prior"].values.astype(str)
    hits = [str(e) for e, a, p in zip(ds["estimator"].values, algorithms, priors)
            if a == algorithm and (prior is None or p == prior)]
    if not hits:
        what = algorithm if prior is None else f"{algorithm}[{prior}]"
        raise NotMeasured(f"inverse.nc has no estimator {what} (inverse.algorithms, model.variants)")
    if len(hits) > 1:
        raise ValueError(f"inverse.nc: {len(hits)} estimators of algorithm '{algorithm}'; name the prior")
    return hits[0]


def _ran(ds: xr.Dataset, estimators: list[str], problems: list[str]) -> list[str]:
    ok = ds["applicable"].sel(estimator=estimators).all("estimator")
    return [p for p in problems if bool(ok.sel(problem=p))]


def _inverse_difference(better: str, worse: str, which: Callable[[dict], bool], label: str):
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        ds, specs = data.get("inverse")
        b, w = _estimator(ds, better), _estimator(ds, worse)
        problems = _ran(ds, [b, w], [p for p in ds["problem"].values.astype(str) if which(specs[p])])
        if not problems:
            raise NotMeasured(f"no {label} problem on which both {better} and {worse} ran")
        psnr = ds["psnr"]
        rows = [(psnr.sel(estimator=b, problem=p) - psnr.sel(estimator=w, problem=p)).values for p in problems]
        return Measurement(np.array(rows), problems, "min")
    return measure


def _pair_gain(*names: str):
    """Per (pair, problem) cell: PSNR(changed) - PSNR(reference) of the method pairs ``names`` of
    aelpn.core.pairs.PAIRS, which differ in one factor only (their shared settings are equal by the config
    check), on every problem on which both ran."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        ds, _ = data.get("inverse")
        cells, rows = [], []
        for name in names:
            pair = PAIRS[name]
            changed, reference = _estimator(ds, pair.changed), _estimator(ds, pair.reference)
            for p in _ran(ds, [changed, reference], list(ds["problem"].values.astype(str))):
                cells.append(f"{p}: {pair.changed} - {pair.reference}")
                rows.append((ds["psnr"].sel(estimator=changed, problem=p)
                             - ds["psnr"].sel(estimator=reference, problem=p)).values)
        if not rows:
            raise NotMeasured(f"no problem on which both methods of a pair of {', '.join(names)} ran")
        factors = ", ".join(dict.fromkeys(PAIRS[n].factor for n in names))
        return Measurement(np.array(rows), cells, "min", note=f"pairs differing in {factors} only")
    return measure


def _gaussian(spec: dict) -> bool:
    return spec["noise"]["kind"] == "gaussian"


def _poisson(spec: dict) -> bool:
    return spec["noise"]["kind"] == "poisson"


def _best_of(ds: xr.Dataset, algorithms, problem: str, what: str) -> str:
    """The estimator of one of ``algorithms`` (every prior) with the highest mean PSNR among those that ran on
    ``problem``; NotMeasured naming ``what`` when none did."""
    ran = [str(e) for e, a in zip(ds["estimator"].values, ds["algorithm"].values.astype(str))
           if a in algorithms and _ran(ds, [str(e)], [problem])]
    if not ran:
        raise NotMeasured(f"none of {what} ran on {problem}")
    return max(ran, key=lambda e: float(ds["psnr"].sel(estimator=e, problem=problem).mean()))


def _denoiser_pnp(ds: xr.Dataset, cfg: dict, problem: str) -> str:
    """The PnP estimator driven by the conditional denoiser (of claims.pnp_methods) with the highest mean PSNR on
    ``problem``: the unrolled network's like-for-like comparator (same denoiser, same architecture)."""
    methods = cfg["claims"]["pnp_methods"]
    return _best_of(ds, methods, problem, f"claims.pnp_methods {methods}")


def _adaptivity_own(data: ClaimData, cfg: dict) -> Measurement:
    """Per network trained on problem t: PSNR(unrolled) - PSNR(best of claims.pnp_methods) on t."""
    ds, _ = data.get("inverse")
    adapt = data.get("adaptivity")
    psnr = ds["psnr"].sel(image=adapt["image"].values)
    unrolled = _estimator(ds, "unrolled")
    cells, rows = [], []
    for t in dict.fromkeys(adapt["trained_on"].values.astype(str)):
        pnp = _denoiser_pnp(ds, cfg, t)
        cells.append(f"{t} net on {t} vs {pnp}")
        rows.append((psnr.sel(estimator=unrolled, problem=t) - psnr.sel(estimator=pnp, problem=t)).values)
    return Measurement(np.array(rows), cells, "min")


def _adaptivity_cross(data: ClaimData, cfg: dict) -> tuple[list[str], np.ndarray]:
    """Every cross-operator pair of adaptivity.nc (trained_on != problem): its cell name and its per-image
    PSNR(network trained on t, applied to p) - PSNR(best of claims.pnp_methods on p), (pairs, images)."""
    ds, _ = data.get("inverse")
    adapt = data.get("adaptivity")
    psnr = ds["psnr"].sel(image=adapt["image"].values)
    trained, evaluated = adapt["trained_on"].values.astype(str), adapt["problem"].values.astype(str)
    cells, rows = [], []
    for k, (t, p) in enumerate(zip(trained, evaluated)):
        if t != p:
            pnp = _denoiser_pnp(ds, cfg, p)
            cells.append(f"{t} net on {p} vs {pnp}")
            rows.append(adapt.isel(pair=k).values - psnr.sel(estimator=pnp, problem=p).values)
    if not rows:
        raise NotMeasured("adaptivity.nc has no cross-operator pair (inverse.adaptivity)")
    return cells, np.array(rows)


def _adaptivity_pair(trained_on: str, applied_to: str):
    """One cross-operator pair: PSNR(network trained on ``trained_on``, applied to ``applied_to``) - PSNR(best of
    claims.pnp_methods on ``applied_to``)."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        cells, rows = _adaptivity_cross(data, cfg)
        k = [c.startswith(f"{trained_on} net on {applied_to} vs ") for c in cells]
        if not any(k):
            raise NotMeasured(f"adaptivity.nc has no pair {trained_on} -> {applied_to}")
        i = k.index(True)
        return Measurement(rows[i:i + 1], cells[i:i + 1], "max")
    return measure


def _pair_share(margin: float) -> Callable[[np.ndarray], np.ndarray]:
    """The share of pairs (rows of picked (pairs, images)) whose mean is at most -margin, as one cell."""
    return lambda picked: np.array([np.mean(picked.mean(axis=-1) <= -margin)])


def _adaptivity_share(data: ClaimData, cfg: dict) -> Measurement:
    """Seed claim 9a as a share: of the cross-operator pairs, the fraction on which the unrolled network is at least
    claims.adaptivity_margin_db below the best same-denoiser PnP (mean over images); resampled like any mean."""
    cells, rows = _adaptivity_cross(data, cfg)
    margin = cfg["claims"]["adaptivity_margin_db"]
    note = "; ".join(f"{c}: {r.mean():+.2f} dB" for c, r in zip(cells, rows))
    return Measurement(rows, [f"{len(cells)} cross-operator pairs"], "max", cell_value=_pair_share(margin), note=note)


def _adaptivity_pairs(cfg: dict) -> list[tuple[str, str]]:
    return [(p["trained_on"], p["evaluated_on"]) for p in cfg["inverse"]["adaptivity"]
            if p["trained_on"] != p["evaluated_on"]]


def _mean_ratio(picked: np.ndarray) -> np.ndarray:
    """mean of the first row / mean of the second, per cell; picked (cells, 2, images)."""
    return picked[:, 0].mean(axis=-1) / picked[:, 1].mean(axis=-1)


def _mse_ratio_db(picked: np.ndarray) -> np.ndarray:
    """10 log10(mean MSE of one sample / mean MSE of the posterior mean) per cell; picked (cells, 2, images)."""
    return 10.0 * np.log10(_mean_ratio(picked))


def _sample_gap(data: ClaimData, cfg: dict) -> Measurement:
    """The posterior-sampling identity in MSE over images (PSNR peak 1: MSE = 10^(-PSNR/10))."""
    ds, specs = data.get("inverse")
    ula = _estimator(ds, "ula")
    if "psnr_sample" not in ds:
        raise NotMeasured("inverse.nc has no variable 'psnr_sample' (PSNR of one ULA sample)")
    problems = [p for p in _ran(ds, [ula], list(ds["problem"].values.astype(str)))
                if np.isfinite(ds["psnr_sample"].sel(estimator=ula, problem=p).values).all()]
    if not problems:
        raise NotMeasured("no problem with ULA posterior-mean and single-sample PSNR")
    mse = lambda name, p: 10.0 ** (-ds[name].sel(estimator=ula, problem=p).values / 10.0)  # noqa: E731
    rows = [np.stack([mse("psnr_sample", p), mse("psnr", p)]) for p in problems]
    return Measurement(np.array(rows), problems, "farthest", target=SAMPLE_GAP_DB, cell_value=_mse_ratio_db)


def _training_cost(data: ClaimData, cfg: dict) -> Measurement:
    """Per problem: the unrolled network's training (its own, plus the conditional denoiser's it starts from)
    over the denoiser's share (its training / the number of problems), the PnP methods' cost per problem."""
    from aelpn.inverse.methods.registry import get

    ds, _ = data.get("inverse")
    unrolled = _estimator(ds, "unrolled")
    driven = [str(e) for e, a in zip(ds["estimator"].values, ds["algorithm"].values.astype(str))
              if get(a).prior == "denoiser"]
    seconds = ds["train_seconds"].sel(estimator=driven).values if driven else np.array([np.nan])
    if not np.isfinite(seconds).any():
        raise NotMeasured("inverse.nc records no training time of the conditional denoiser")
    denoiser = float(np.nanmax(seconds))
    problems = _ran(ds, [unrolled], list(ds["problem"].values.astype(str)))
    share = denoiser / ds.sizes["problem"]
    own = {p: float(ds["train_seconds"].sel(estimator=unrolled, problem=p)) for p in problems}
    rows = [[(own[p] + denoiser) / share] for p in problems]
    note = (f"unrolled: {min(own.values()):.0f}-{max(own.values()):.0f} s of its own + {denoiser:.0f} s of the "
            f"denoiser it starts from; the denoiser's share {share:.0f} s")
    return Measurement(np.array(rows), problems, "min", per_image=False, note=note)


def _inference_time(data: ClaimData, cfg: dict) -> Measurement:
    ds, _ = data.get("inverse")
    unrolled = _estimator(ds, "unrolled")
    problems = _ran(ds, [unrolled], list(ds["problem"].values.astype(str)))
    sec, cells, rows = ds["seconds"], [], []
    for p in problems:
        pnp = _denoiser_pnp(ds, cfg, p)
        cells.append(f"{p} vs {pnp}")
        rows.append((sec.sel(estimator=unrolled, problem=p) / sec.sel(estimator=pnp, problem=p)).values)
    return Measurement(np.array(rows), cells, "max")


def _diffusion_step_gain(data: ClaimData, cfg: dict) -> Measurement:
    """Per problem: PSNR(ADMM with a reverse-diffusion step as z-update) - PSNR(PnP-ADMM with the best proximal
    network on that problem): the project's own comparison with the learned proxes (another ADMM, another
    iteration count), not the seed's (claim 15a)."""
    ds, _ = data.get("inverse")
    step = _estimator(ds, "admm_diffusion")
    problems = _ran(ds, [step], list(ds["problem"].values.astype(str)))
    cells, rows = [], []
    for p in problems:
        best = _best_of(ds, ("pnp_admm",), p, "the pnp_admm estimators")
        cells.append(f"{p} vs {best}")
        rows.append((ds["psnr"].sel(estimator=step, problem=p) - ds["psnr"].sel(estimator=best, problem=p)).values)
    if not rows:
        raise NotMeasured("admm_diffusion ran on no problem")
    return Measurement(np.array(rows), cells, "min")


def _likelihood_order(better: str, worse: str):
    """Per Poisson problem and proximal network: PSNR(better likelihood) - PSNR(worse likelihood), the same PnP-ADMM
    and prior."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        ds, specs = data.get("inverse")
        algorithms, priors = ds["algorithm"].values.astype(str), ds["prior"].values.astype(str)
        by = {(a, p): str(e) for e, a, p in zip(ds["estimator"].values, algorithms, priors)}
        cells, rows = [], []
        for problem in [p for p in ds["problem"].values.astype(str) if _poisson(specs[p])]:
            for prior in dict.fromkeys(priors[algorithms == better]):
                b, w = by.get((better, prior)), by.get((worse, prior))
                if b and w and _ran(ds, [b, w], [problem]):
                    cells.append(f"{problem} [{prior}]")
                    rows.append((ds["psnr"].sel(estimator=b, problem=problem)
                                 - ds["psnr"].sel(estimator=w, problem=problem)).values)
        if not rows:
            raise NotMeasured(f"no Poisson problem on which both {better} and {worse} ran with the same prior")
        return Measurement(np.array(rows), cells, "min")
    return measure


# --- blind deblurring (the notes' last slides, Nguyen, Pauwels & Weiss 2024) ---------------------------------------

def _blind_prior(ds: xr.Dataset, prior: str, cfg: dict) -> tuple[str, str]:
    """The measured reasons that qualify a learned prior's MAP rows: NotMeasured when its MAP solves did not
    converge (the largest ADMM residual ``map_residual`` over the landscape above claims.blind_map_residual_max);
    else (unmet, note): ``unmet`` names the theorem's premise x in min_local(p_X) when the truths are not modes
    (median fixed-point gap ||f(x) - x|| / ||x|| above claims.blind_mode_gap_max), '' when they are."""
    if prior not in ds["prior"].values:
        raise NotMeasured(f"blind.nc has no prior {prior} (blind.variants)")
    for variable in ("map_residual", "fixed_point_gap"):
        if variable not in ds:
            raise NotMeasured(f"blind.nc has no variable '{variable}'")
    ccfg = cfg["claims"]
    residual = float(ds["map_residual"].sel(prior=prior).max())
    if not residual <= ccfg["blind_map_residual_max"]:
        raise NotMeasured(f"MAP not converged: {prior}'s largest ADMM residual over the landscape {residual:.3g} > "
                          f"claims.blind_map_residual_max {ccfg['blind_map_residual_max']:g}")
    gap = float(ds["fixed_point_gap"].sel(prior=prior).median())
    unmet = "" if gap <= ccfg["blind_mode_gap_max"] else (
        f"premise x in min_local(p_X) unmet: median ||f(x) - x|| / ||x|| of the truths {gap:.3g} > "
        f"claims.blind_mode_gap_max {ccfg['blind_mode_gap_max']:g}")
    return unmet, f"{prior}: ADMM residual <= {residual:.3g}, median fixed-point gap {gap:.3g}"


def _map_argmin(prior: str):
    """Claim 12a for one learned prior: the grid argmin of J(theta) per image (the theorem's global minimiser
    (delta, y) is theta = 0)."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        ds = data.get("blind")
        unmet, note = _blind_prior(ds, prior, cfg)
        return Measurement(ds["theta_argmin"].sel(prior=prior).values[None], [prior], "max", note=note, unmet=unmet)
    return measure


def _local_drift(prior: str):
    """Claim 12b for one learned prior: |theta - theta_true| per image after the local search from the truth (the
    alternating joint MAP started at (theta_true, x), blind.nc ``local_theta_drift``)."""
    def measure(data: ClaimData, cfg: dict) -> Measurement:
        ds = data.get("blind")
        unmet, note = _blind_prior(ds, prior, cfg)
        if "local_theta_drift" not in ds:
            raise NotMeasured("blind.nc has no variable 'local_theta_drift' (the local search from the truth)")
        return Measurement(ds["local_theta_drift"].sel(prior=prior).values[None], [prior], "max", note=note,
                           unmet=unmet)
    return measure


def _blind_estimator(ds: xr.Dataset, name: str) -> str:
    if name not in ds["estimator"].values:
        raise NotMeasured(f"blind.nc has no estimator {name}")
    return name


def _mmse_theta_error(data: ClaimData, cfg: dict) -> Measurement:
    """The blind MMSE network's mean |theta_hat - theta| over that of the best constant predictor on the same
    images (the median of the true widths, which minimises the mean absolute error of any constant)."""
    ds = data.get("blind")
    mmse = _blind_estimator(ds, "blind_mmse")
    if "theta_true" not in ds:
        raise NotMeasured("blind.nc has no variable 'theta_true'")
    truth = ds["theta_true"].values
    constant = float(np.median(truth))
    errors = np.stack([ds["theta_error"].sel(estimator=mmse).values, np.abs(truth - constant)])
    note = (f"network {errors[0].mean():.3g} px, best constant ({constant:.3g} px) {errors[1].mean():.3g} px, "
            f"{truth.size} images")
    return Measurement(errors[None], [mmse], "max", cell_value=_mean_ratio, note=note)


def _blindness_penalty_gap(data: ClaimData, cfg: dict) -> Measurement:
    """Per learned prior: the alternating joint MAP's blindness penalty minus the blind MMSE network's (each:
    PSNR given the true width - blind PSNR, blind.nc ``blindness_penalty``), so that the supervised network's
    head start with the true width cancels; the raw PSNR differences go in the note."""
    ds = data.get("blind")
    mmse = _blind_estimator(ds, "blind_mmse")
    if "blindness_penalty" not in ds:
        raise NotMeasured("blind.nc has no variable 'blindness_penalty'")
    learned = [str(p) for p in ds["prior"].values[ds["learned"].values == 1]] if "learned" in ds.coords else []
    cells = [f"map_alternating[{p}]" for p in learned if f"map_alternating[{p}]" in ds["estimator"].values]
    if not cells:
        raise NotMeasured("blind.nc has no alternating joint MAP estimator (blind.variants)")
    penalty, psnr = ds["blindness_penalty"], ds["psnr"]
    rows = [(penalty.sel(estimator=e) - penalty.sel(estimator=mmse)).values for e in cells]
    raw = ", ".join(f"{e} {float((psnr.sel(estimator=mmse) - psnr.sel(estimator=e)).mean()):+.2f} dB"
                    for e in cells)
    note = (f"blindness penalties: blind_mmse {float(penalty.sel(estimator=mmse).mean()):.2f} dB, "
            + ", ".join(f"{e} {float(penalty.sel(estimator=e).mean()):.2f} dB" for e in cells)
            + f"; raw PSNR(blind_mmse) - PSNR(joint MAP): {raw}")
    return Measurement(np.array(rows), cells, "min", note=note)


# --- the table ------------------------------------------------------------------------------------------------

def _denoising(cfg: dict) -> str:
    return cfg["claims"]["denoising_psnr"]


def _fixed(name: str) -> Callable[[dict], str]:
    return lambda cfg: name


def _above(key: str, sign: float = 1.0) -> Callable[[dict], tuple[float, float]]:
    return lambda cfg: (sign * cfg["claims"][key] + 0.0, NAN)  # + 0.0: no negative zero


def _below(key: str, sign: float = 1.0) -> Callable[[dict], tuple[float, float]]:
    return lambda cfg: (NAN, sign * cfg["claims"][key] + 0.0)


PAPER, NOTES, PROX = "AE-LPN paper", "PnP vs unrolled notes", "Neural proximal operators notes"
PROX_QUESTION = "question in seed 000 (neural proximal operators notes), answered here"
OWN = "the project's own comparison"
BEYOND = "beyond the paper (squared features)"
PRICE = "this project: the price of exactness at equal capacity"
CLAIMS: tuple[Claim | PerCell, ...] = (
    Claim("1a", f"{PAPER} §4", "\"AE-LPNs' performance is lower than that of more flexible LPNs when "
          "tested at the same noise level seen during training\"",
          "PSNR(lpn) - PSNR(aelpn) at train.sigma", "dB", _denoising,
          _above("in_distribution_gap_min_db"), _psnr_difference("lpn", "aelpn", "train.sigma"), SEED),
    Claim("1b", "beyond the paper", "the in-distribution price of equivariance is small",
          "PSNR(lpn) - PSNR(aelpn) at train.sigma", "dB", _denoising,
          _below("in_distribution_gap_max_db"), _psnr_difference("lpn", "aelpn", "train.sigma"), PROJECT),
    Claim("2a", f"{PAPER} §4", "\"equivariant models are significantly more robust to changes in the noise "
          "level at testing time\": AE-LPN against LPN",
          "PSNR(aelpn) - PSNR(lpn) at claims.robust_sigma", "dB", _denoising,
          _above("robustness_margin_db"), _psnr_difference("aelpn", "lpn", "claims.robust_sigma"), SEED),
    Claim("2b", f"{PAPER} §4", "\"equivariant models are significantly more robust to changes in the noise "
          "level at testing time\": scale-only against LPN",
          "PSNR(scale) - PSNR(lpn) at claims.robust_sigma", "dB", _denoising,
          _above("robustness_margin_db"), _psnr_difference("scale", "lpn", "claims.robust_sigma"), SEED),
    Claim("2c", f"{PAPER} §4", "\"equivariant models are significantly more robust to changes in the "
          "noise level at testing time\": the normalization trick against LPN",
          "PSNR(normtrick) - PSNR(lpn) at claims.robust_sigma", "dB", _denoising,
          _above("robustness_margin_db"), _psnr_difference("normtrick", "lpn", "claims.robust_sigma"), SEED),
    Claim("3", f"{PAPER} §4", "\"scale equivariance seems to be more important than shift "
          "equivariance\"",
          "PSNR(scale) - PSNR(shift) at claims.robust_sigma", "dB", _denoising,
          _above("scale_over_shift_margin_db"), _psnr_difference("scale", "shift", "claims.robust_sigma"), SEED),
    Claim("4a", f"{PAPER} §4, Fig. 4", "AE-LPN and the normalization trick are affine-equivariant",
          "min over (variant, a, b) of the equivariance PSNR", "dB", _fixed("equivariance (peak a, unclipped)"),
          lambda cfg: (EQUIVARIANCE_CAP_DB - cfg["claims"]["equivariance_cap_tolerance_db"], NAN),
          _equivariance_cap, CHECK),
    Claim("4b", f"{PAPER} §4, Fig. 4", "LPN is not affine-equivariant",
          "max over (a, b) != (1, 0) of LPN's equivariance PSNR", "dB", _fixed("equivariance (peak a, unclipped)"),
          _below("lpn_equivariance_max_db"), _lpn_equivariance, SEED),
    Claim("5a", f"{PAPER} §2 footnote", "the normalization trick is not a gradient field",
          "Jacobian asymmetry ||Jv - J'v|| / ||Jv|| of normtrick", "1", _fixed("n/a"),
          _above("asymmetry_min"), _asymmetry(exact=False), SEED),
    Claim("5b", f"{PAPER} §2", "every exact-prox variant has a symmetric Jacobian",
          "max over exact-prox variants of the Jacobian asymmetry", "1", _fixed("n/a"),
          _below("symmetry_max"), _asymmetry(exact=True), CHECK),
    Claim("6a", f"{PAPER} Fig. 1", "the 1-D scale-equivariant LPN learns the split-normal prox",
          "max |f(x) - prox(x)| on the grid, scale variant", "1", _fixed("n/a"),
          lambda cfg: (NAN, cfg["prox1d"]["target_max_error"]), _prox1d_error("scale"), SEED),
    Claim("6b", f"{PAPER} Fig. 1", "the 1-D LPN, not equivariant, does not learn it",
          "max |f(x) - prox(x)| on the grid, lpn variant", "1", _fixed("n/a"),
          lambda cfg: (cfg["prox1d"]["target_max_error"], NAN), _prox1d_error("lpn"), SEED),
    Claim("7", f"{NOTES}: unrolled > vanilla PnP", "\"Unrolled > vanilla-PnP by up to 5 dB\": the "
          "unrolled network beats vanilla PnP on its Gaussian problems",
          "min over Gaussian problems of PSNR(unrolled) - PSNR(pnp_fixed)", "dB", _fixed("clipped"),
          _above("unrolled_margin_db"), _inverse_difference("unrolled", "pnp_fixed", _gaussian, "Gaussian"), SEED),
    Claim("8", f"{NOTES}: vanilla needs continuation", "\"Vanilla not satisfactory · Requires continuation\": the "
          "sigma schedule improves PnP with the same solver, start, denoiser, lam and iterations",
          "min over problems and the two schedule pairs of PSNR(admm_annealed) - PSNR(pnp_fixed) and "
          "PSNR(continuation) - PSNR(hqs_fixed)", "dB", _fixed("clipped"),
          _above("continuation_margin_db"), _pair_gain("schedule_admm", "schedule_hqs"), SEED),
    Claim("9a", f"{NOTES}: adaptivity", "\"Adaptivity: [PnP] any inverse problem, [unrolled] problem-dependent\": "
          "an unrolled network falls below PnP with the same denoiser on an operator it was not trained for",
          "share of the cross-operator pairs on which PSNR(unrolled net) - PSNR(best of claims.pnp_methods) <= "
          "-claims.adaptivity_margin_db", "1", _fixed("clipped"), _above("adaptivity_share_min"), _adaptivity_share,
          SEED),
    PerCell("9a", lambda cfg: [
        Claim(f"9a[{t}>{p}]", f"{NOTES}: adaptivity, one pair", f"the network trained on {t} falls below PnP with "
              f"the same denoiser on {p}", f"PSNR(unrolled {t} net on {p}) - PSNR(best of claims.pnp_methods on {p})",
              "dB", _fixed("clipped"), _below("adaptivity_margin_db", sign=-1.0), _adaptivity_pair(t, p), PROJECT)
        for t, p in _adaptivity_pairs(cfg)]),
    Claim("9b", f"{NOTES}: adaptivity", "on its own operator the unrolled network is above PnP with the same "
          "denoiser", "min over trained_on of PSNR(unrolled) - PSNR(best of claims.pnp_methods)", "dB",
          _fixed("clipped"), _above("adaptivity_margin_db"), _adaptivity_own, SEED),
    Claim("10", "posterior-sampling identity (not in the seeds)", "for exact posterior samples, one sample's MSE is "
          "twice the posterior mean's: 10 log10(2) = 3.01 dB (an identity for the MSE over images, not for a mean "
          "of per-image PSNRs)", "10 log10(mean MSE of one ULA sample / mean MSE of the ULA mean), problem "
          "farthest from 3.01 dB", "dB", _fixed("clipped"),
          lambda cfg: (SAMPLE_GAP_DB - cfg["claims"]["sample_gap_tolerance_db"],
                       SAMPLE_GAP_DB + cfg["claims"]["sample_gap_tolerance_db"]), _sample_gap, PROJECT),
    Claim("11a", f"{NOTES}: training cost", "the unrolled network costs more to train per problem than the "
          "denoiser's share", "min over problems of (unrolled + denoiser training s) / (denoiser training s / "
          "problems)", "ratio", _fixed("n/a"), _above("unrolled_train_ratio_min"), _training_cost, CHECK),
    Claim("11b", f"{NOTES}: inference time", "the unrolled network infers faster than PnP with the same denoiser",
          "max over problems of mean per-image s(unrolled) / s(best of claims.pnp_methods)", "ratio",
          _fixed("n/a"), _below("unrolled_inference_ratio_max"), _inference_time, SEED),
    PerCell("12", lambda cfg: [row for prior in cfg["blind"]["variants"] for row in (
        Claim(f"12a[{prior}]", f"{NOTES}: MAP for blind deblurring (theorem)", f"\"A global minimizer at (delta, "
              f"y)\": MAP's global minimum is at theta = 0 for the learned prior {prior}", "mean grid argmin of "
              "J(theta)", "pixel", _fixed("n/a"), _below("blind_map_theta_max"), _map_argmin(prior), SEED),
        Claim(f"12b[{prior}]", f"{NOTES}: MAP for blind deblurring (theorem)", f"\"A local minimizer at (h(theta), "
              f"x)\": the local search from the truth stays near theta_true for the learned prior {prior}",
              "mean |theta - theta_true| after the alternating joint MAP started at (theta_true, x)", "pixel",
              _fixed("n/a"), _below("blind_local_drift_max"), _local_drift(prior), SEED))]),
    Claim("13a", f"{NOTES}: the MMSE behaves differently", "\"The MMSE behaves "
          "differently\": the blind MMSE network recovers the blur width",
          "mean |theta_hat - theta| of the blind MMSE network / that of the best constant predictor", "ratio",
          _fixed("n/a"), _below("blind_theta_ratio_max"), _mmse_theta_error, SEED),
    Claim("13b", f"{NOTES}: unrolled works for blind problems", "the blind MMSE network loses less to blindness "
          "than joint MAP", "min over learned priors of the blindness penalty (PSNR with the true width - blind PSNR) "
          "of the alternating joint MAP - that of the blind MMSE network", "dB", _fixed("clipped"),
          _above("blind_mmse_margin_db"), _blindness_penalty_gap, SEED),
    Claim("14a", BEYOND, "the squared-feature AE-LPN is at or above its noisy input up to claims.sq_input_sigma_max",
          "min over sigma <= claims.sq_input_sigma_max of PSNR(aelpn_sq) - PSNR(noisy input)", "dB", _denoising,
          _above("sq_input_margin_db"), _over_input("aelpn_sq"), PROJECT),
    Claim("14b", BEYOND, "the squared-feature AE-LPN is close to LPN at the training noise level",
          "PSNR(lpn) - PSNR(aelpn_sq) at train.sigma", "dB", _denoising,
          _below("sq_lpn_gap_max_db"), _psnr_difference("lpn", "aelpn_sq", "train.sigma"), PROJECT),
    Claim("14c", BEYOND, "the squared-feature AE-LPN keeps AE-LPN's robustness to the noise level",
          "PSNR(aelpn_sq) - PSNR(lpn) at claims.robust_sigma", "dB", _denoising,
          _above("sq_robust_margin_db"), _psnr_difference("aelpn_sq", "lpn", "claims.robust_sigma"), PROJECT),
    Claim("14d", BEYOND, "the squared-feature scale model is close to shift-only at the training noise level",
          "PSNR(shift) - PSNR(scale_sq) at train.sigma", "dB", _denoising,
          _below("sq_shift_gap_max_db"), _psnr_difference("shift", "scale_sq", "train.sigma"), PROJECT),
    Claim("15a", f"{PROX}", "\"Placed inside the z-update, a single reverse-diffusion step acts as a vastly superior "
          "proximal operator\" [to the hand-crafted TV and L1-wavelet priors]", "min over problems and hand-crafted "
          "priors of PSNR(admm_diffusion) - PSNR(the same ADMM with the TV or L1-wavelet prox)", "dB",
          _fixed("clipped"), _above("diffusion_step_margin_db"), _pair_gain("tv", "wavelet"), SEED),
    Claim("15b", PROX_QUESTION, "with Poisson noise the exact likelihood is as good as the Anscombe transform's "
          "Gaussian (within claims.equivalence_margin_db), at equal inner-solver budgets",
          "min over Poisson problems and proximal networks of PSNR(pnp_admm) - PSNR(pnp_admm_anscombe)", "dB",
          _fixed("clipped"), _above("equivalence_margin_db", sign=-1.0),
          _likelihood_order("pnp_admm", "pnp_admm_anscombe"), PROJECT),
    Claim("15c", PROX_QUESTION, "the Anscombe transform is as good as weighted least squares (within "
          "claims.equivalence_margin_db), at equal inner-solver budgets",
          "min over Poisson problems and proximal networks of PSNR(pnp_admm_anscombe) - PSNR(pnp_admm_wls)", "dB",
          _fixed("clipped"), _above("equivalence_margin_db", sign=-1.0),
          _likelihood_order("pnp_admm_anscombe", "pnp_admm_wls"), PROJECT),
    Claim("15d", OWN, "the re-noising of the diffusion step, alone, improves the ADMM (same denoiser, schedule, lam "
          "and iterations)", "min over problems of PSNR(admm_diffusion) - PSNR(admm_annealed)", "dB",
          _fixed("clipped"), _above("renoise_margin_db"), _pair_gain("renoise"), PROJECT),
    Claim("15e", f"{OWN} (learned proxes)", "ADMM with the diffusion step beats PnP-ADMM with the best learned "
          "proximal network", "min over problems of PSNR(admm_diffusion) - PSNR(pnp_admm[best proximal network "
          "on the problem])", "dB", _fixed("clipped"), _above("diffusion_step_margin_db"), _diffusion_step_gain, PROJECT),
    Claim("16a", PRICE, "LPN's exact prox costs little against an unconstrained network of the same size",
          "PSNR(unconstrained) - PSNR(lpn) at train.sigma", "dB", _denoising,
          _below("exactness_price_max_db"), _psnr_difference("unconstrained", "lpn", "train.sigma"), PROJECT),
    Claim("16b", PRICE, "the squared-feature AE-LPN's exact, equivariant prox costs little against an unconstrained "
          "network of the same size", "PSNR(unconstrained) - PSNR(aelpn_sq) at train.sigma", "dB", _denoising,
          _below("exactness_price_max_db"), _psnr_difference("unconstrained", "aelpn_sq", "train.sigma"),
          PROJECT),
)


def claims(cfg: dict) -> list[Claim]:
    """Every row of the claims table for the config ``cfg``: CLAIMS with each PerCell expanded."""
    return [row for entry in CLAIMS for row in (entry.rows(cfg) if isinstance(entry, PerCell) else (entry,))]
