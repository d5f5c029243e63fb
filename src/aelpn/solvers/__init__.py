"""Solvers of y = A x + noise with a learned prior, each taking a data term (``aelpn.physics``) and a network:
splitting methods PnP-ADMM, PnP-PGD, RED, continuation and fixed-level HQS (``pnp``), DiffPIR and DPS (``diffusion``), the
diffusion-step ADMM (``admm_diffusion_step``) and the same ADMM with hand-crafted proxes, TV and
L1-wavelet (``handcrafted``), PnP-Flow, flow ADMM and flow posterior sampling (``flow``),
PnP-ULA (``langevin``) and the ADMM whose z-update projects onto a VAE's range (``vae_projection``)."""

from aelpn.solvers.admm_diffusion_step import admm_diffusion
from aelpn.solvers import handcrafted
from aelpn.solvers.diffusion import diffpir, dps
from aelpn.solvers.flow import flow_admm, flow_posterior, pnp_flow
from aelpn.solvers.langevin import pnp_ula
from aelpn.solvers.pnp import Solution, continuation_schedule, hqs_fixed, pnp_admm, pnp_continuation, pnp_pgd, red
from aelpn.solvers.vae_projection import vae_admm

__all__ = ["Solution", "admm_diffusion", "continuation_schedule", "diffpir", "dps", "flow_admm", "flow_posterior",
           "hqs_fixed", "handcrafted", "pnp_admm", "pnp_continuation", "pnp_flow", "pnp_pgd", "pnp_ula", "red", "vae_admm"]
