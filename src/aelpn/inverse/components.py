"""Loading the learned priors an inverse-problem method runs with, by the prior kind its registry entry
declares (aelpn.inverse.methods.base.PRIOR_KINDS): every trained proximal network of ``model.variants``, the
conditional denoiser, the problem's unrolled network, the flow-matching model or the VAE. The single-network
kinds all take the ``prior`` label ``denoiser`` (the method's one learned component)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from aelpn.inverse.denoiser import load_denoiser
from aelpn.inverse.flow import load_flow
from aelpn.inverse.jobs import DENOISER_PRIOR, proximal_variants
from aelpn.inverse.unrolled import load_unrolled
from aelpn.inverse.vae import load_vae


@dataclass
class LearnedPrior:
    """One learned component: ``label`` (the ``prior`` coordinate: a variant name or ``denoiser``), the network,
    ``sigma`` (the noise level a proximal network is the prox at, train.sigma; None for the others) and the
    training seconds and device recorded with it."""

    label: str
    network: torch.nn.Module
    sigma: float | None
    train_seconds: float
    train_device: str


def _prox_network_cost(path: str) -> tuple[float, str]:
    """Training seconds and device of a proximal network, from its checkpoint's ``extra`` (NaN if not recorded)."""
    extra = torch.load(path, map_location="cpu", weights_only=True).get("extra", {})
    return float(extra.get("train_seconds", float("nan"))), str(extra.get("device", "unknown"))


def load_priors(kind: str, paths: list[str], cfg: dict, device) -> list[LearnedPrior]:
    """The learned priors of ``kind`` from ``paths``: one proximal network per variant of
    ``aelpn.inverse.jobs.proximal_variants`` (in that order, ``results/models/{variant}/model.pt``), or one
    conditional denoiser, unrolled network, flow or VAE file. cfg: model, train, inverse."""
    from aelpn.models import load_model

    paths = [str(p) for p in paths]
    if kind == "proximal_network":
        variants = proximal_variants(cfg)
        if len(paths) != len(variants):
            raise ValueError(f"proximal-network methods need one model per variant {variants}, got {len(paths)} paths")
        out = []
        for variant, path in zip(variants, paths):
            if Path(path).parent.name != variant:
                raise ValueError(f"{path}: expected the model of variant '{variant}' "
                                 f"(results/models/{variant}/model.pt)")
            out.append(LearnedPrior(variant, load_model(path, device=device), cfg["train"]["sigma"],
                                    *_prox_network_cost(path)))
        return out
    if len(paths) != 1:
        raise ValueError(f"a {kind} prior is one file, got {len(paths)} paths")
    loader = {"denoiser": load_denoiser, "unrolled": load_unrolled, "flow": load_flow, "vae": load_vae}[kind]
    model, meta = loader(paths[0], device=device)
    return [LearnedPrior(DENOISER_PRIOR, model, None, meta["train_seconds"], meta["train_device"])]
