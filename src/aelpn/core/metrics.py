"""Per-image image-quality metrics (one value per batch element, no reduction).

Conventions (every PSNR in the pipeline is one of these):

* **Denoising PSNR** ``psnr(x_hat, x)``: the estimate is clipped to the clean image's range [0, 1], then
  PSNR = 10 log10(1 / MSE(clip(x_hat), x)), by ``deepinv.loss.metric.PSNR`` (which adds 1e-8 to the
  normalised MSE, so it saturates at 80 dB). SSIM by ``deepinv.loss.metric.SSIM`` (torchmetrics, Gaussian
  window 11, sigma 1.5, data range 1) on the same clipped estimate. (The LPN/AE-LPN reference code scores
  with skimage's ``structural_similarity``, a uniform 7 x 7 window: SSIM values are not comparable across the
  two.)
* **Unclipped PSNR** ``psnr_unclipped(x_hat, x)``: 10 log10(1 / MSE(x_hat, x)) with data range 1, in float64,
  no clipping and no floor: the paper's convention (skimage ``peak_signal_noise_ratio(x, x_hat,
  data_range=1)`` on the raw estimate). For x in [0, 1] it never exceeds the clipped PSNR (clipping to
  [0, 1] can only reduce the error) and equals it when the estimate stays in [0, 1].
* **Equivariance PSNR** ``equivariance_psnr(f(a y + b), a f(y) + b, a)``: the peak is the dynamic range
  ``a`` of the transformed image, PSNR = 10 log10(a^2 / MSE), computed in float64 without clipping. An
  exactly equivariant map has MSE = 0 and infinite PSNR, so the value is capped at ``EQUIVARIANCE_CAP_DB``
  (100 dB). The affine sweep evaluates both sides in float64 (``aelpn.sweeps.evaluate.affine_sweep``): float32
  round-off through a trained width-32 network measured 99.3 dB at reference scale, float64 round-off gives
  far more than 100 dB, so a map that is equivariant by construction (AE-LPN, normalization trick) shows as
  the cap; a model equivariant only approximately shows 10-90 dB.
* **Affine denoising PSNR** ``affine_psnr(f(a y + b), x, a, b)``: PSNR of an estimate of ``a x + b`` with the
  peak ``a`` (its dynamic range), i.e. the denoising PSNR of ``(f(a y + b) - b) / a`` against ``x``; the
  estimate is thus clipped to [b, a + b].
"""

from __future__ import annotations

import torch
from deepinv.loss.metric import PSNR, SSIM

EQUIVARIANCE_CAP_DB = 100.0

_PSNR = PSNR(max_pixel=1.0, min_pixel=0.0, reduction=None)
_SSIM = SSIM(max_pixel=1.0, min_pixel=0.0, reduction=None)
# Images per SSIM call: its 11x11 convolutions unfold every pixel's window (121 values for each of 5 maps), so
# the buffer grows with the batch (2 GiB for 200 crops at 64 px; 160 MiB for 16).
SSIM_CHUNK = 16


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Denoising PSNR (dB) per image, ``10 log10(1 / MSE(clip(x_hat, 0, 1), x))``; shape (B,)."""
    return _PSNR(x_hat.clamp(0.0, 1.0), x)


def psnr_unclipped(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Unclipped PSNR (dB) per image with data range 1, ``10 log10(1 / MSE(x_hat, x))``, MSE over all
    entries in float64; shape (B,)."""
    mse = (x_hat.double() - x.double()).flatten(1).square().mean(dim=1)
    return -10.0 * torch.log10(mse)


def ssim(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """SSIM per image of ``clip(x_hat, 0, 1)`` against ``x`` (data range 1); shape (B,). Computed
    ``SSIM_CHUNK`` images at a time (each image's value depends on that image alone)."""
    clipped = x_hat.clamp(0.0, 1.0)
    return torch.cat([_SSIM(clipped[i : i + SSIM_CHUNK], x[i : i + SSIM_CHUNK])
                      for i in range(0, x.shape[0], SSIM_CHUNK)])


def affine_psnr(x_hat: torch.Tensor, x: torch.Tensor, scale: float, shift: float) -> torch.Tensor:
    """Denoising PSNR (dB) of an estimate of ``a x + b`` with peak ``a`` (the range of ``a x + b``):
    ``10 log10(a^2 / MSE(clip(x_hat, b, a + b), a x + b)) = psnr((x_hat - b) / a, x)``; shape (B,)."""
    return psnr((x_hat - shift) / scale, x)


def equivariance_psnr(transformed_output: torch.Tensor, output_transformed: torch.Tensor, scale: float) -> torch.Tensor:
    """Equivariance PSNR (dB) per image, ``min(10 log10(a^2 / MSE(f(a y + b), a f(y) + b)), 100)``,
    with MSE over all pixels in float64 and the peak ``a`` the dynamic range of the transformed image."""
    diff = (transformed_output.double() - output_transformed.double()).flatten(1)
    mse = diff.square().mean(dim=1)
    value = 10.0 * torch.log10(torch.as_tensor(float(scale) ** 2, dtype=torch.float64) / mse)
    return value.clamp(max=EQUIVARIANCE_CAP_DB)
