"""Loading the learned priors an inverse-problem method runs with, by the prior kind its registry entry
declares (aelpn.inverse.methods.base.PRIOR_KINDS): every trained proximal network of ``model.variants``, the
conditional denoiser, the problem's unrolled network, the flow-matching model or the VAE, or nothing for a
hand-crafted regulariser. The single-network kinds and the hand-crafted one all take the ``prior`` label
``denoiser`` (the method's one prior)."""

from __future__ import annotations

from dataclasses import dataclass
import torch

from aelpn.inverse.jobs import DENOISER_PRIOR, proximal_variants
from aelpn.models.denoiser import load_denoiser
from aelpn.models.files import ModelFileError, load_model, proximal_sigma, read_model_file
from aelpn.models.flow import load_flow
from aelpn.models.unrolled import load_unrolled
from aelpn.models.vae import load_vae


@dataclass
class LearnedPrior:
    """One learned component: ``label`` (the ``prior`` coordinate: a variant name or ``denoiser``), the network (None
    for a hand-crafted regulariser),
    ``sigma`` (the noise level a proximal network is the prox at, recorded in its file; None for the others) and the
    training seconds and device recorded with it."""

    label: str
    network: torch.nn.Module | None
    sigma: float | None
    train_seconds: float
    train_device: str


def _prox_network_cost(path: str) -> tuple[float, str]:
    """Training seconds and device of a proximal network, from its model file's ``extra`` (NaN if not recorded:
    weights trained elsewhere)."""
    extra = read_model_file(path)["extra"]
    return float(extra.get("train_seconds", float("nan"))), str(extra.get("device", "unknown"))


def load_proximal_networks(paths, variants: list[str], device) -> list[LearnedPrior]:
    """One trained proximal network per variant of ``variants``, in that order, from ``paths``
    (``results/models/seed{s}/{variant}/model.pt``), each the prox of sigma^2 R with the sigma its file records. A network is
    known by the variant its file records, not by its path: a file holding another variant is refused."""
    paths = [str(p) for p in paths]
    if len(paths) != len(variants):
        raise ModelFileError(f"proximal-network methods need one model per variant {variants}, got {len(paths)} "
                             f"(--prior {' '.join(paths)})")
    out = []
    for variant, path in zip(variants, paths):
        network = load_model(path, device=device, kind="proxnet")
        if network.variant != variant:
            raise ModelFileError(f"{path}: holds variant '{network.variant}', expected '{variant}' "
                                 "(the models in the order of the config's variants)")
        out.append(LearnedPrior(variant, network, proximal_sigma(path), *_prox_network_cost(path)))
    return out


def load_priors(kind: str, paths: list[str], cfg: dict, device) -> list[LearnedPrior]:
    """The learned priors of ``kind`` from ``paths``: the proximal networks of
    ``aelpn.inverse.jobs.proximal_variants`` (``load_proximal_networks``), or one conditional denoiser, unrolled
    network, flow or VAE file, or, for a hand-crafted regulariser, no file and no network (nothing trained: 0 s).
    cfg: model, inverse."""
    paths = [str(p) for p in paths]
    if kind == "proximal_network":
        return load_proximal_networks(paths, proximal_variants(cfg), device)
    if kind == "handcrafted":
        if paths:
            raise ModelFileError(f"a hand-crafted prior takes no model file, got {len(paths)} "
                                 f"(--prior {' '.join(paths)})")
        return [LearnedPrior(DENOISER_PRIOR, None, None, 0.0, "none")]
    if len(paths) != 1:
        raise ModelFileError(f"a {kind} prior is one file, got {len(paths)} (--prior {' '.join(paths)})")
    loader = {"denoiser": load_denoiser, "unrolled": load_unrolled, "flow": load_flow, "vae": load_vae}[kind]
    model, meta = loader(paths[0], device=device)
    return [LearnedPrior(DENOISER_PRIOR, model, None, meta["train_seconds"], meta["train_device"])]
