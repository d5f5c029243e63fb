"""The ``title`` attribute of each metrics dataset the claims read: written by the stage that makes the file and
checked by its readers, so a file is known by what it holds, not by its name or place."""

from __future__ import annotations

TITLES = {
    "noise_sweep": "aelpn noise-level sweep of all variants",
    "affine_sweep": "aelpn affine (brightness) sweep of all variants",
    "jacobian": "aelpn Jacobian asymmetry of the proximal networks",
    "prox1d": "aelpn 1-D split-normal study",
    "inverse": "aelpn inverse problems: PnP vs unrolled vs diffusion",
    "adaptivity": "aelpn inverse problems: unrolled networks across operators",
    "blind": "aelpn blind deblurring: MAP landscape vs blind MMSE",
}
