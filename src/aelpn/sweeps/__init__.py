"""The denoising sweeps (paper Figs. 2 and 4): the trained networks over noise levels and brightness transforms
(``evaluate``) and the combination of the per-variant files (``combine``)."""

KINDS = ("noise_sweep", "affine_sweep")
