"""Inverse problems: deepinv physics from config, a noise-conditional denoiser, PnP (ADMM, PGD, RED,
continuation), unrolled HQS, DiffPIR/DPS diffusion, PnP-ULA sampling, Poisson deblurring, evaluation."""
