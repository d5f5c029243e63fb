"""blind.nc: the blind experiment's results, assembled as they are computed (``Results``) and written with CF
attributes and provenance. Dims: estimator (coords ``prior``, ``blind``), prior (the exact-prox variants of
blind.variants), image, theta_grid, init, round, example, channel, y, x."""

from __future__ import annotations

import numpy as np
import xarray as xr

from aelpn.core.io import write_netcdf
from aelpn.core.provenance import annotate, attrs

UNITS = {
    "theta_true": ("true blur width of the measurement", "pixel"),
    "objective": ("joint MAP objective J(theta) = f_theta(x_hat(theta)) + lam R(x_hat(theta))", "1"),
    "data_term": ("data term f_theta(x_hat(theta)) = ||h(theta) * x_hat - y||^2 / (2 sigma^2)", "1"),
    "regularizer": ("learned regularizer R(x_hat(theta)) = R_D / train.sigma^2 (up to a constant)", "1"),
    "psnr_grid": ("PSNR of x_hat(theta) clipped to [0, 1]", "dB"),
    "theta_argmin": ("grid width of the smallest J(theta)", "pixel"),
    "alternating_theta": ("width of the alternating joint MAP after each round (round 0: the initial x-step)", "pixel"),
    "alternating_objective": ("J(theta, x) of the alternating joint MAP after each round", "1"),
    "theta_estimate": ("estimated blur width (NaN: a non-blind estimator given the true width)", "pixel"),
    "theta_error": ("absolute error of the estimated width (NaN: non-blind)", "pixel"),
    "psnr": ("PSNR of the estimate clipped to [0, 1]", "dB"),
    "ssim": ("SSIM of the estimate clipped to [0, 1]", "1"),
    "seconds": ("wall-clock time per image (landscape: the whole grid)", "s"),
    "reconstruction": ("estimate of the example images", "1"),
    "measurement": ("blurred, noisy measurement of the example images", "1"),
    "truth": ("ground-truth example images", "1"),
    "estimator": ("estimator: map_grid / map_alternating / pnp_true_theta [prior], blind_mmse, unrolled_true_theta", "1"),
    "prior": ("exact-prox variant whose regularizer defines the MAP", "1"),
    "image": ("evaluation crop id", "1"),
    "theta_grid": ("blur width of the landscape grid", "pixel"),
    "init": ("initial width of the alternating joint MAP", "pixel"),
    "round": ("round of the alternating joint MAP", "1"),
    "example": ("id of an example image", "1"),
}


class Results:
    """What the experiment fills in, per prior (``landscape``, ``alternating``) and per estimator (``estimate``)."""

    def __init__(self, cfg: dict, ids: list[str], theta_true, grid, inits, y, x):
        self.cfg, self.ids, self.theta_true, self.grid, self.inits = cfg, ids, theta_true, grid, inits
        self.examples = min(cfg["blind"]["examples"], len(ids))
        self.y, self.x = y[: self.examples].float().numpy(), x[: self.examples].float().numpy()
        self.priors: dict[str, dict] = {}
        self.estimates: dict[str, dict] = {}

    def landscape(self, prior: str, land) -> None:
        self.priors.setdefault(prior, {}).update(
            objective=land.objective.double().numpy(), data_term=land.data.double().numpy(),
            regularizer=land.regularizer.double().numpy(), psnr_grid=land.psnr.double().numpy(),
            theta_argmin=self.grid[land.argmin().numpy()])

    def alternating(self, prior: str, paths) -> None:
        self.priors.setdefault(prior, {}).update(
            alternating_theta=np.stack([p.theta.double().numpy() for p in paths]),
            alternating_objective=np.stack([p.objective.double().numpy() for p in paths]))

    def estimate(self, name: str, theta, psnr, ssim, seconds: float, examples) -> None:
        self.estimates[name] = {"theta": theta, "psnr": psnr, "ssim": ssim, "seconds": seconds, "examples": examples}


def write_blind(res: Results, out: str, device: str) -> xr.Dataset:
    """blind.nc from the filled ``res`` (float64 throughout: J(theta) differences are small against J)."""
    priors, names, n = list(res.priors), list(res.estimates), len(res.ids)
    per_prior = {
        "objective": ("prior", "theta_grid", "image"), "data_term": ("prior", "theta_grid", "image"),
        "regularizer": ("prior", "theta_grid", "image"), "psnr_grid": ("prior", "theta_grid", "image"),
        "theta_argmin": ("prior", "image"), "alternating_theta": ("prior", "init", "round", "image"),
        "alternating_objective": ("prior", "init", "round", "image"),
    }
    ds = xr.Dataset({name: (dims, np.stack([res.priors[p][name] for p in priors]))
                     for name, dims in per_prior.items()})
    nan = np.full(n, np.nan)
    theta = np.stack([nan if e["theta"] is None else e["theta"] for e in res.estimates.values()])
    ds["theta_estimate"] = (("estimator", "image"), theta)
    ds["theta_error"] = (("estimator", "image"), np.abs(theta - res.theta_true[None]))
    for name in ("psnr", "ssim"):
        ds[name] = (("estimator", "image"), np.stack([e[name] for e in res.estimates.values()]).astype(float))
    ds["seconds"] = (("estimator", "image"), np.stack([np.full(n, e["seconds"]) for e in res.estimates.values()]))
    ds["reconstruction"] = (("estimator", "example", "channel", "y", "x"),
                            np.stack([e["examples"] for e in res.estimates.values()]).astype(float))
    ds["measurement"] = (("example", "channel", "y", "x"), res.y)
    ds["truth"] = (("example", "channel", "y", "x"), res.x)
    ds["theta_true"] = ("image", np.asarray(res.theta_true, dtype=float))
    ds = ds.assign_coords(estimator=names, prior=priors, image=res.ids, theta_grid=res.grid, init=res.inits,
                          round=np.arange(ds.sizes["round"]), example=res.ids[: res.examples])
    ds = ds.assign_coords(blind=("estimator", [int(e["theta"] is not None) for e in res.estimates.values()]))
    annotate(ds, {**UNITS, "blind": ("1 if the estimator estimates the width, 0 if given the true one", "1")})
    bcfg = res.cfg["blind"]
    ds.attrs.update(attrs("aelpn blind deblurring: MAP landscape vs blind MMSE", res.cfg, device),
                    map_lam=bcfg["map"]["lam"], train_sigma=res.cfg["train"]["sigma"],
                    noise_sigma=bcfg["noise_sigma"], kernel_size=bcfg["kernel_size"])
    write_netcdf(ds, out, float32=False)
    return ds
