"""blind.nc: the blind experiment's results, assembled as they are computed (``Results``) and written with CF
attributes and provenance. Dims: estimator (coords ``prior``, ``blind``), prior (the exact-prox variants of
blind.variants and the classical control; coords ``learned``, ``proper_prior``), image, theta_grid, init, alternation,
scale, example, channel, y, x."""

from __future__ import annotations

import numpy as np
import xarray as xr

from aelpn.core.io import write_netcdf
from aelpn.core.provenance import annotate, attrs
from aelpn.core.titles import TITLES

UNITS = {
    "theta_true": ("true blur width of the measurement", "pixel"),
    "objective": ("joint MAP objective J(theta) = f_theta(x_hat(theta)) + lam R(x_hat(theta)), R exact", "1"),
    "data_term": ("data term f_theta(x_hat(theta)) = ||h(theta) * x_hat - y||^2 / (2 sigma^2)", "1"),
    "regularizer": ("R(x_hat(theta)) = R_D / train.sigma^2, exact at x_hat = f(v): "
                    "R_D = <v, f(v)> - psi(v) - ||f(v)||^2 / 2", "1"),
    "psnr_grid": ("PSNR of x_hat(theta) clipped to [0, 1]", "dB"),
    "box_violation": ("largest distance of a pixel of x_hat(theta) to [0, 1]", "1"),
    "map_residual": ("ADMM primal residual max(||x - z||, ||w - z||) / ||z|| of x_hat(theta) at its last iteration "
                     "(large: the MAP solve did not converge)", "1"),
    "theta_argmin": ("grid width of the smallest J(theta)", "pixel"),
    "alternating_theta": ("width of the alternating joint MAP after each round (round 0: the initial x-step)", "pixel"),
    "alternating_objective": ("J(theta, x) of the alternating joint MAP after each round", "1"),
    "local_theta": ("width of the local search from the truth (the alternating joint MAP started at "
                    "(theta_true, x)) after each round", "pixel"),
    "local_theta_drift": ("|theta - theta_true| at the end of the local search from the truth", "pixel"),
    "regularizer_truth": ("R(x) of the true image (NaN: inversion refused)", "1"),
    "regularizer_truth_residual": ("inversion residual ||f(y) - x|| / ||x|| of R(x) (0: closed form)", "1"),
    "regularizer_truth_refused": ("1 if the inversion residual of R(x) exceeds blind.inversion.residual_tol", "1"),
    "regularizer_blurred": ("R(h(theta_true) * x) of the noise-free blurred truth (NaN: inversion refused)", "1"),
    "regularizer_blurred_residual": ("inversion residual of R(h(theta_true) * x) (0: closed form)", "1"),
    "regularizer_blurred_refused": ("1 if the inversion residual of R(h * x) exceeds blind.inversion.residual_tol",
                                    "1"),
    "premise_blur_lowers_regularizer": ("1 if R(h(theta_true) * x) <= R(x), 0 if not, NaN if refused", "1"),
    "fixed_point_gap": ("||f(x) - x|| / ||x|| of the true image (x near a mode of the prior if small)", "1"),
    "regularizer_lower_bound": ("Fenchel-Young lower bound (||a x||^2 / 2 - psi(a x)) / train.sigma^2 of R(a x) "
                                "on the ray of the true image", "1"),
    "regularizer_min": ("smallest exact R over the landscape's estimates", "1"),
    "theta_estimate": ("estimated blur width (NaN: a non-blind estimator given the true width)", "pixel"),
    "theta_error": ("absolute error of the estimated width (NaN: non-blind)", "pixel"),
    "theta_error_constant": ("absolute error of the best constant width (the median of theta_true)", "pixel"),
    "psnr": ("PSNR of the estimate clipped to [0, 1]", "dB"),
    "ssim": ("SSIM of the estimate clipped to [0, 1]", "1"),
    "blindness_penalty": ("PSNR of the same estimator given the true width minus the blind PSNR "
                          "(NaN: non-blind)", "dB"),
    "seconds": ("wall-clock time per image (landscape: the whole grid)", "s"),
    "reconstruction": ("estimate of the example images", "1"),
    "measurement": ("blurred, noisy measurement of the example images", "1"),
    "truth": ("ground-truth example images", "1"),
    "estimator": ("estimator: map_grid / map_alternating / map_true_theta [prior], blind_mmse, unrolled_true_theta",
                  "1"),
    "prior": ("prior whose regularizer defines the MAP: an exact-prox variant or the classical control", "1"),
    "learned": ("1 for a learned prior, 0 for the classical control", "1"),
    "proper_prior": ("1 if exp(-R / s^2) is a proper prior on R^n (by construction and the numerical check)", "1"),
    "image": ("evaluation crop id", "1"),
    "theta_grid": ("blur width of the landscape grid (on the theta prior's support)", "pixel"),
    "init": ("initial width of the alternating joint MAP", "pixel"),
    "alternation": ("round of the alternating joint MAP (0: the initial x-step)", "1"),
    "scale": ("factor a of the probe rays a x of the lower bound", "1"),
    "example": ("id of an example image", "1"),
    "blind": ("1 if the estimator estimates the width, 0 if given the true one", "1"),
}


class Results:
    """What the experiment fills in, per prior (``landscape``, ``alternating``, ``local_search``, ``premises``) and
    per estimator (``estimate``)."""

    def __init__(self, cfg: dict, ids: list[str], theta_true, grid, inits, y, x):
        self.cfg, self.ids, self.theta_true, self.grid, self.inits = cfg, ids, theta_true, grid, inits
        self.examples = min(cfg["blind"]["examples"], len(ids))
        self.y, self.x = y[: self.examples].double().numpy(), x[: self.examples].double().numpy()
        self.priors: dict[str, dict] = {}
        self.estimates: dict[str, dict] = {}

    def landscape(self, prior: str, land) -> None:
        self.priors.setdefault(prior, {}).update(
            objective=land.objective.double().numpy(), data_term=land.data.double().numpy(),
            regularizer=land.regularizer.double().numpy(), psnr_grid=land.psnr.double().numpy(),
            box_violation=land.box_violation.double().numpy(), map_residual=land.residual.double().numpy(),
            theta_argmin=self.grid[land.argmin().numpy()],
            regularizer_min=float(land.regularizer.min()))

    def alternating(self, prior: str, paths) -> None:
        self.priors.setdefault(prior, {}).update(
            alternating_theta=np.stack([p.theta.double().numpy() for p in paths]),
            alternating_objective=np.stack([p.objective.double().numpy() for p in paths]))

    def local_search(self, prior: str, path) -> None:
        """The alternating joint MAP started at (theta_true, x) (aelpn.blind.alternating.AlternatingPath)."""
        theta = path.theta.double().numpy()
        self.priors.setdefault(prior, {}).update(local_theta=theta,
                                                 local_theta_drift=np.abs(theta[-1] - self.theta_true))

    def premises(self, prior: str, prem, bound, proper: bool, reason: str, learned: bool) -> None:
        """The premises (aelpn.blind.premises.Premises), the lower bound on the probe rays, the properness."""
        def np_(t):
            return t.double().numpy()

        self.priors.setdefault(prior, {}).update(
            regularizer_truth=np_(prem.r_truth.value), regularizer_truth_residual=np_(prem.r_truth.residual),
            regularizer_truth_refused=np_(prem.r_truth.refused),
            regularizer_blurred=np_(prem.r_blurred.value), regularizer_blurred_residual=np_(prem.r_blurred.residual),
            regularizer_blurred_refused=np_(prem.r_blurred.refused),
            premise_blur_lowers_regularizer=np_(prem.blur_lowers_r), fixed_point_gap=np_(prem.fixed_point_gap),
            regularizer_lower_bound=np_(bound), proper_prior=int(proper), properness=reason, learned=int(learned))

    def estimate(self, name: str, theta, psnr, ssim, seconds: float, examples, oracle: str | None = None) -> None:
        """One estimator's scores; ``oracle`` names the estimator with the true width its blindness penalty is
        measured against (None: non-blind)."""
        self.estimates[name] = {"theta": theta, "psnr": psnr, "ssim": ssim, "seconds": seconds, "examples": examples,
                                "oracle": oracle}


PER_PRIOR = {
    "objective": ("prior", "theta_grid", "image"), "data_term": ("prior", "theta_grid", "image"),
    "regularizer": ("prior", "theta_grid", "image"), "psnr_grid": ("prior", "theta_grid", "image"),
    "box_violation": ("prior", "theta_grid", "image"), "map_residual": ("prior", "theta_grid", "image"),
    "theta_argmin": ("prior", "image"), "alternating_theta": ("prior", "init", "alternation", "image"),
    "alternating_objective": ("prior", "init", "alternation", "image"),
    "local_theta": ("prior", "alternation", "image"), "local_theta_drift": ("prior", "image"),
    "regularizer_truth": ("prior", "image"), "regularizer_truth_residual": ("prior", "image"),
    "regularizer_truth_refused": ("prior", "image"), "regularizer_blurred": ("prior", "image"),
    "regularizer_blurred_residual": ("prior", "image"), "regularizer_blurred_refused": ("prior", "image"),
    "premise_blur_lowers_regularizer": ("prior", "image"), "fixed_point_gap": ("prior", "image"),
    "regularizer_lower_bound": ("prior", "scale", "image"), "regularizer_min": ("prior",),
}


def write_blind(res: Results, out: str, device: str) -> xr.Dataset:
    """blind.nc from the filled ``res`` (float64 throughout: J(theta) differences are small against J)."""
    priors, names, n = list(res.priors), list(res.estimates), len(res.ids)
    ds = xr.Dataset({name: (dims, np.stack([res.priors[p][name] for p in priors]))
                     for name, dims in PER_PRIOR.items()})
    nan = np.full(n, np.nan)
    theta = np.stack([nan if e["theta"] is None else e["theta"] for e in res.estimates.values()])
    ds["theta_estimate"] = (("estimator", "image"), theta)
    ds["theta_error"] = (("estimator", "image"), np.abs(theta - res.theta_true[None]))
    constant = float(np.median(res.theta_true))
    ds["theta_error_constant"] = ("image", np.abs(res.theta_true - constant))
    for name in ("psnr", "ssim"):
        ds[name] = (("estimator", "image"), np.stack([e[name] for e in res.estimates.values()]).astype(float))
    ds["blindness_penalty"] = (("estimator", "image"), np.stack([
        nan if e["oracle"] is None else res.estimates[e["oracle"]]["psnr"] - e["psnr"] for e in res.estimates.values()
    ]).astype(float))
    ds["seconds"] = (("estimator", "image"), np.stack([np.full(n, e["seconds"]) for e in res.estimates.values()]))
    ds["reconstruction"] = (("estimator", "example", "channel", "y", "x"),
                            np.stack([e["examples"] for e in res.estimates.values()]).astype(float))
    ds["measurement"] = (("example", "channel", "y", "x"), res.y)
    ds["truth"] = (("example", "channel", "y", "x"), res.x)
    ds["theta_true"] = ("image", np.asarray(res.theta_true, dtype=float))
    bcfg = res.cfg["blind"]
    ds = ds.assign_coords(estimator=names, prior=priors, image=res.ids, theta_grid=res.grid, init=res.inits,
                          alternation=np.arange(ds.sizes["alternation"]),
                          scale=np.asarray(bcfg["properness"]["scales"], float),
                          example=res.ids[: res.examples])
    ds = ds.assign_coords(blind=("estimator", [int(e["theta"] is not None) for e in res.estimates.values()]),
                          learned=("prior", [res.priors[p]["learned"] for p in priors]),
                          proper_prior=("prior", [res.priors[p]["proper_prior"] for p in priors]))
    annotate(ds, UNITS)
    ds["theta_error_constant"].attrs["constant"] = constant
    ds.attrs.update(attrs(TITLES["blind"], res.cfg, device),
                    map_lam=bcfg["map"]["lam"], map_box=int(bcfg["map"]["box"]), train_sigma=res.cfg["train"]["sigma"],
                    noise_sigma=bcfg["noise_sigma"], kernel_size=bcfg["kernel_size"],
                    theta_prior_low=bcfg["theta_prior"]["low"], theta_prior_high=bcfg["theta_prior"]["high"],
                    control_beta=bcfg["control"]["beta"],
                    inversion_residual_tol=bcfg["inversion"]["residual_tol"],
                    properness="; ".join(f"{p}: {res.priors[p]['properness']}" for p in priors))
    write_netcdf(ds, out, float32=False)
    return ds
