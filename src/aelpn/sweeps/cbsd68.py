"""The standard denoising benchmark: every proximal network, the conditional denoiser and the noisy input on the
CBSD68 images at full size (``aelpn.data.cbsd68``), at cbsd68.sigmas and train.sigma.

y = x + sigma n with n from its own generator per (image index, sigma index) (``noise_seed``, sweep
``cbsd68``): every method sees the same noisy images. A proximal network trained on S x S crops acts on the whole
image through exact patching at stride S / 2 (``aelpn.models.patched.full_size``: still an exact prox, and as
equivariant as on crops). The conditional denoiser D(y, sigma) gets y replicate-padded to a multiple of 8 (its
DRUNet's three downsamplings) and cropped back. Metrics per image: PSNR of the estimate clipped to [0, 1]
(``aelpn.core.metrics.psnr``) and SSIM; the noisy input is the row ``noisy``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import xarray as xr
from PIL import Image

from aelpn.core import io, metrics, provenance
from aelpn.core.device import configure, describe
from aelpn.core.progress import progress_bar
from aelpn.data.cbsd68 import cbsd68_files
from aelpn.models.files import ModelFileError, load_model
from aelpn.models.patched import full_size
from aelpn.sweeps.evaluate import gaussian_noise, noise_seed

NOISY, DENOISER = "noisy", "denoiser"
DRUNET_MULTIPLE = 8


def read_image(path: Path) -> torch.Tensor:
    """An RGB JPEG as (1, 3, H, W) float32 in [0, 1] (uint8 / 255)."""
    with Image.open(path) as im:
        x = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1).copy())
    return x[None].float() / 255.0


def conditional(denoiser, y: torch.Tensor, sigma: float) -> torch.Tensor:
    """D(y, sigma) on any size: y replicate-padded at the bottom and right to a multiple of 8, then cropped back."""
    height, width = y.shape[-2:]
    pad = (0, -width % DRUNET_MULTIPLE, 0, -height % DRUNET_MULTIPLE)
    return denoiser(F.pad(y, pad, mode="replicate"), sigma)[..., :height, :width]


def evaluate_cbsd68(cfg: dict, images: str, models: list[str], denoiser: str, out: str) -> xr.Dataset:
    """PSNR and SSIM (method, sigma, image) of the noisy input, the proximal networks ``models``
    (``results/models/seed{s}/{variant}/model.pt``, labelled by their directory) and the conditional denoiser on the first
    cbsd68.images CBSD68 images of the fetched ``images`` directory; written to ``out`` (netCDF)."""
    bcfg = cfg["cbsd68"]
    device = configure(cfg["compute"])
    paths = cbsd68_files(images)[: bcfg["images"]]
    sigmas = sorted({float(s) for s in bcfg["sigmas"]} | {float(cfg["train"]["sigma"])})
    variants = [Path(p).parent.name for p in models]
    nets = []
    for variant, path in zip(variants, models):
        model = load_model(path, device=device)
        if model.variant != variant:
            raise ModelFileError(f"{path}: holds variant '{model.variant}', expected '{variant}' (its directory)")
        nets.append(full_size(model, model.spec["image_size"] // 2))
    cond = load_model(denoiser, device=device)
    methods = [NOISY, *variants, DENOISER]
    psnr = np.empty((len(methods), len(sigmas), len(paths)))
    ssim = np.empty_like(psnr)
    shapes = []
    for i, path in enumerate(progress_bar(paths, desc="cbsd68", unit="image")):
        x = read_image(path)
        shapes.append(tuple(x.shape[-2:]))
        noise = gaussian_noise((len(sigmas), *x.shape[1:]), [noise_seed(cfg["seed"], "cbsd68", i, j)
                                                              for j in range(len(sigmas))])
        for j, sigma in enumerate(sigmas):
            y = (x + sigma * noise[j : j + 1]).to(device)
            with torch.no_grad():
                estimates = [y, *(net(y) for net in nets), conditional(cond, y, sigma)]
            for k, estimate in enumerate(estimates):
                estimate = estimate.float().cpu()
                psnr[k, j, i] = float(metrics.psnr(estimate, x)[0])
                ssim[k, j, i] = float(metrics.ssim(estimate, x)[0])
    ids = [p.stem for p in paths]
    ds = xr.Dataset(
        {"psnr": (("estimator", "sigma", "image"), psnr), "ssim": (("estimator", "sigma", "image"), ssim)},
        coords={"estimator": methods, "sigma": sigmas, "image": ids,
                "height": ("image", np.array([s[0] for s in shapes], dtype=np.int32)),
                "width": ("image", np.array([s[1] for s in shapes], dtype=np.int32))},
    )
    provenance.annotate(ds, {
        "psnr": ("PSNR of the estimate (clipped to [0, 1]) against the clean image; method noisy: the input", "dB"),
        "ssim": ("SSIM of the estimate (clipped to [0, 1]) against the clean image", "1"),
        "estimator": ("noisy input, proximal network variant, or the conditional denoiser", "1"),
        "sigma": ("test noise standard deviation (images in [0, 1])", "1"),
        "image": ("CBSD68 image id (BSDS500 val)", "1"),
        "height": ("rows of the evaluated image", "1"),
        "width": ("columns of the evaluated image", "1"),
    })
    ds.attrs.update(provenance.attrs("aelpn CBSD68 denoising benchmark", cfg, describe(device)))
    ds.attrs.update(train_sigma=float(cfg["train"]["sigma"]))
    io.write_netcdf(ds, out)
    return ds

