"""Denoising sweeps of one trained variant on the evaluation crops.

* Noise sweep (paper Fig. 2): y = x + sigma n for every test sigma; PSNR of f(y) against x both clipped
  (``psnr``) and unclipped (``psnr_unclipped``, the paper's convention), SSIM (clipped).
* Affine sweep: y = x + sigma n at one sigma; for every scale a and shift b, the equivariance PSNR of
  f(a y + b) against a f(y) + b and the denoising PSNR of f(a y + b) against a x + b (both with peak a, see
  ``aelpn.core.metrics``; the noise is scaled with a). Separately the paper's Fig. 4 protocol, ``brightness_psnr``:
  t = a x + b + sigma n with the noise NOT scaled by a, b = 0 (darken) or 1 - a (brighten), and the unclipped
  PSNR (data range 1) of f(t) against a x + b. For an affine-equivariant f, f(t) - (a x + b) =
  a (f(x + (sigma / a) n) - x), so this PSNR does not depend on b and equals the unclipped PSNR at noise
  sigma / a minus 20 log10 a.

The noise n of an (image, sigma) pair comes from its own ``torch.Generator`` seeded by (config seed, sweep,
image index in the crops file, sigma index), drawn on the CPU: every variant sees the same noisy images.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
import xarray as xr

from aelpn.core import metrics
from aelpn.core import io, provenance
from aelpn.core.config import ConfigError
from aelpn.models.files import ModelFileError, check_image_model
from aelpn.core.device import configure, describe
from aelpn.core.progress import progress_bar
from aelpn.core.seeding import derive_seed
from aelpn.sweeps import KINDS

Denoiser = Callable[[torch.Tensor], torch.Tensor]

_NOISE_VARS = {
    "psnr": ("denoising PSNR of f(x + sigma n) against x (estimate clipped to [0, 1])", "dB"),
    "psnr_unclipped": ("denoising PSNR of f(x + sigma n) against x (data range 1, not clipped: the paper's "
                       "convention)", "dB"),
    "ssim": ("SSIM of f(x + sigma n) against x (estimate clipped to [0, 1]; Gaussian 11x11 window)", "1"),
    "input_psnr": ("PSNR of the noisy input x + sigma n against x (clipped to [0, 1])", "dB"),
    "input_psnr_unclipped": ("PSNR of the noisy input x + sigma n against x (not clipped)", "dB"),
    "clean": ("clean example image x", "1"),
    "noisy": ("noisy example image x + sigma n (not clipped)", "1"),
    "denoised": ("denoised example image f(x + sigma n) (not clipped)", "1"),
    "sigma": ("test noise standard deviation", "1"),
    "example_sigma": ("noise standard deviation of the example images", "1"),
}
_AFFINE_VARS = {
    "equivariance_psnr": (
        f"equivariance PSNR of f(a y + b) against a f(y) + b, peak a (capped at {metrics.EQUIVARIANCE_CAP_DB:g} dB)",
        "dB",
    ),
    "denoising_psnr": ("denoising PSNR of f(a y + b) against a x + b, peak a (clipped to [b, a + b])", "dB"),
    "brightness_psnr": ("paper Fig. 4: PSNR of f(a x + b + sigma n) against a x + b, noise not scaled by a, "
                        "data range 1, not clipped", "dB"),
    "brightness_shift": ("shift b of the paper protocol: 0 (darken) or 1 - a (brighten)", "1"),
    "scale": ("brightness scale a", "1"),
    "offset": ("offset b of the affine map a y + b", "1"),
    "brightness": ("paper protocol shift: darken (b = 0) or brighten (b = 1 - a)", "1"),
}
# The paper's two shifts of the Fig. 4 protocol.
BRIGHTNESS = ("darken", "brighten")
# Variables that do not depend on the variant (identical in every per-variant file).
SHARED = {"noise_sweep": ("input_psnr", "input_psnr_unclipped", "clean", "noisy"), "affine_sweep": ()}


def brightness_shift(brightness: str, scale: float) -> float:
    """The shift b of the paper's Fig. 4 protocol at scale a: 0 to darken, 1 - a to brighten (white stays
    white)."""
    return {"darken": 0.0, "brighten": 1.0 - scale}[brightness]


def noise_seed(seed: int, kind: str, image_index: int, sigma_index: int = 0) -> int:
    """The seed of the noise of one (image, sigma) pair, ``derive_seed(seed, kind, image, sigma)``;
    independent of the variant."""
    return derive_seed(seed, kind, f"image{image_index}", f"sigma{sigma_index}")


def gaussian_noise(shape: Sequence[int], seeds: Sequence[int]) -> torch.Tensor:
    """Standard normal noise of ``shape`` (B, ...), element i drawn on the CPU from a generator seeded ``seeds[i]``."""
    return torch.stack([torch.randn(tuple(shape[1:]), generator=torch.Generator().manual_seed(s)) for s in seeds])


def denoise(denoiser: Denoiser, y: torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    """``denoiser`` applied to ``y`` in batches on ``device`` without gradients; result on the CPU, in y's dtype."""
    out = []
    with torch.no_grad():
        for start in range(0, y.shape[0], batch_size):
            out.append(denoiser(y[start : start + batch_size].to(device)).detach().to(y.dtype).cpu())
    return torch.cat(out)


def _select_images(x: torch.Tensor, ids: list[str], count: int | None, key: str):
    if count is not None and count > x.shape[0]:
        raise ConfigError(f"config key '{key}': {count} images requested but the crops file has {x.shape[0]}")
    n = x.shape[0] if count is None else count
    return x[:n], list(ids[:n])


def _image_coords(ids: list[str]) -> dict:
    return {"image": ("image", np.array(ids, dtype=object), {"long_name": "evaluation crop id", "units": "1"})}


def noise_sweep(
    denoiser: Denoiser, x: torch.Tensor, ids: list[str], cfg: dict, device: torch.device
) -> xr.Dataset:
    """PSNR/SSIM of ``denoiser(x + sigma n)`` per (sigma, image) and the example images; ``cfg`` has seed,
    noise_sweep and figures. ``x`` (N, C, H, W) in [0, 1] are the crops in file order."""
    sweep, fig = cfg["noise_sweep"], cfg["figures"]
    sigmas = [float(s) for s in sweep["sigmas"]]
    missing = [s for s in fig["example_sigmas"] if not any(np.isclose(s, sigmas))]
    if missing:
        raise ConfigError(f"config key 'figures.example_sigmas': {missing} not in noise_sweep.sigmas {sigmas}")
    x, ids = _select_images(x, ids, sweep["images"], "noise_sweep.images")
    n_examples = fig["example_images"]
    if n_examples > len(ids):
        raise ConfigError(f"config key 'figures.example_images': {n_examples} > {len(ids)} evaluated images")
    example_index = [int(np.argmin(np.abs(np.array(sigmas) - s))) for s in fig["example_sigmas"]]

    psnr, psnr_unclipped, ssim, input_psnr, input_psnr_unclipped = [], [], [], [], []
    noisy_ex, denoised_ex = {}, {}
    for j, sigma in enumerate(progress_bar(sigmas, desc="noise sweep", unit="sigma")):
        seeds = [noise_seed(cfg["seed"], "noise_sweep", i, j) for i in range(len(ids))]
        y = x + sigma * gaussian_noise(x.shape, seeds)
        f_y = denoise(denoiser, y, sweep["batch_size"], device)
        psnr.append(metrics.psnr(f_y, x))
        psnr_unclipped.append(metrics.psnr_unclipped(f_y, x))
        ssim.append(metrics.ssim(f_y, x))
        input_psnr.append(metrics.psnr(y, x))
        input_psnr_unclipped.append(metrics.psnr_unclipped(y, x))
        if j in example_index:
            noisy_ex[j], denoised_ex[j] = y[:n_examples], f_y[:n_examples]

    image = ("example_image", "channel", "y", "x")
    ds = xr.Dataset(
        {
            "psnr": (("sigma", "image"), torch.stack(psnr).numpy()),
            "psnr_unclipped": (("sigma", "image"), torch.stack(psnr_unclipped).numpy()),
            "ssim": (("sigma", "image"), torch.stack(ssim).numpy()),
            "input_psnr": (("sigma", "image"), torch.stack(input_psnr).numpy()),
            "input_psnr_unclipped": (("sigma", "image"), torch.stack(input_psnr_unclipped).numpy()),
            "clean": (image, x[:n_examples].numpy()),
            "noisy": (("example_sigma",) + image, torch.stack([noisy_ex[j] for j in example_index]).numpy()),
            "denoised": (("example_sigma",) + image, torch.stack([denoised_ex[j] for j in example_index]).numpy()),
        },
        coords={
            "sigma": sigmas,
            "example_sigma": [sigmas[j] for j in example_index],
            "example_image": ("example_image", np.array(ids[:n_examples], dtype=object)),
            **_image_coords(ids),
        },
    )
    ds["example_image"].attrs.update(long_name="example crop id", units="1")
    return provenance.annotate(ds, _NOISE_VARS)


def affine_sweep(
    denoiser: Denoiser, x: torch.Tensor, ids: list[str], cfg: dict, device: torch.device
) -> xr.Dataset:
    """Equivariance and denoising PSNR of ``denoiser(a y + b)``, y = x + sigma n, per (scale, shift, image),
    and the paper protocol's PSNR of ``denoiser(a x + b + sigma n)`` against a x + b per (scale, brightness,
    image), with the same n; ``cfg`` has seed and affine_sweep. ``x`` (N, C, H, W) in [0, 1] are the crops in
    file order. The equivariance PSNR compares f(a y + b) with a f(y) + b in float64 (a module ``denoiser`` through
    a float64 copy of it, a function on float64 inputs): float32 round-off of a trained network
    (relative ~1e-6 after its layers) alone costs an exactly equivariant map about 1 dB of the 100 dB cap,
    float64 round-off none, so the cap separates "equivariant by construction" from "approximately"."""
    sweep = cfg["affine_sweep"]
    x, ids = _select_images(x, ids, sweep["images"], "affine_sweep.images")
    seeds = [noise_seed(cfg["seed"], "affine_sweep", i) for i in range(len(ids))]
    noise = sweep["sigma"] * gaussian_noise(x.shape, seeds)
    y = x + noise
    exact = copy.deepcopy(denoiser).double() if isinstance(denoiser, torch.nn.Module) else denoiser
    y64 = y.double()
    f_y = denoise(exact, y64, sweep["batch_size"], device)
    scales, shifts = [float(a) for a in sweep["scales"]], [float(b) for b in sweep["shifts"]]
    eq = torch.empty(len(scales), len(shifts), len(ids), dtype=torch.float64)
    den = torch.empty_like(eq)
    pairs = [(i, k) for i in range(len(scales)) for k in range(len(shifts))]
    for i, k in progress_bar(pairs, desc="affine sweep", unit="(a,b)"):
        a, b = scales[i], shifts[k]
        f_t = denoise(denoiser, a * y + b, sweep["batch_size"], device)
        eq[i, k] = metrics.equivariance_psnr(denoise(exact, a * y64 + b, sweep["batch_size"], device), a * f_y + b, a)
        den[i, k] = metrics.affine_psnr(f_t, x, a, b).double()
    bright = torch.empty(len(scales), len(BRIGHTNESS), len(ids), dtype=torch.float64)
    bright_shift = np.empty((len(scales), len(BRIGHTNESS)))
    pairs = [(i, k) for i in range(len(scales)) for k in range(len(BRIGHTNESS))]
    for i, k in progress_bar(pairs, desc="affine sweep, paper protocol", unit="(a,b)"):
        b = bright_shift[i, k] = brightness_shift(BRIGHTNESS[k], scales[i])
        clean = scales[i] * x + b
        bright[i, k] = metrics.psnr_unclipped(denoise(denoiser, clean + noise, sweep["batch_size"], device), clean)
    dims = ("scale", "offset", "image")
    ds = xr.Dataset(
        {"equivariance_psnr": (dims, eq.numpy()), "denoising_psnr": (dims, den.numpy()),
         "brightness_psnr": (("scale", "brightness", "image"), bright.numpy())},
        coords={"scale": scales, "offset": shifts, "brightness": np.array(BRIGHTNESS, dtype=object),
                "brightness_shift": (("scale", "brightness"), bright_shift), **_image_coords(ids)},
    )
    return provenance.annotate(ds, _AFFINE_VARS)


def per_variant(ds: xr.Dataset, kind: str, variant: str) -> xr.Dataset:
    """Add the length-1 ``variant`` dimension to every variable except the variant-independent ones."""
    shared = list(SHARED[kind])
    out = ds.drop_vars(shared).expand_dims(variant=[variant])
    out["variant"].attrs.update(long_name="model variant", units="1")
    return out.assign({name: ds[name] for name in shared})


def run_sweep(kind: str, cfg: dict, variant: str, model_path: str, crops_path: str, out: str) -> xr.Dataset:
    """Run sweep ``kind`` (noise_sweep|affine_sweep) of the model at ``model_path`` on the crops at
    ``crops_path``; write the per-variant netCDF ``out`` (dims variant[1], sigma|scale,offset, image)."""
    from aelpn.data import load_crops
    from aelpn.models import load_model

    if kind not in KINDS:
        raise ConfigError(f"unknown sweep kind '{kind}'; expected one of {KINDS}")
    device = configure(cfg["compute"])
    model = load_model(model_path, device=device, kind="proxnet")
    if model.variant != variant:
        raise ModelFileError(f"{model_path}: holds variant '{model.variant}', but the sweep is for '{variant}'")
    x, ids = load_crops(crops_path)
    check_image_model(model_path, tuple(x.shape[1:]))
    run = noise_sweep if kind == "noise_sweep" else affine_sweep
    ds = per_variant(run(model, x, ids, cfg, device), kind, variant)
    ds.attrs = provenance.attrs(f"aelpn {kind.replace('_', ' ')} of variant {variant}", cfg, describe(device))
    ds.attrs.update(model=str(model_path), crops=str(crops_path))
    io.write_netcdf(ds, out)
    return ds
