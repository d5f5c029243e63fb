"""Jacobian asymmetry of the trained proximal networks on evaluation images (paper §2 footnote: the
normalization trick is not the gradient of a convex function).

A map f is a gradient field f = grad psi exactly when its Jacobian J = D f is symmetric (J = hess psi). For
random probes v ~ N(0, I) the asymmetry is

    a(y, v) = ||J v - J^T v|| / ||J v||,    J = D f(y),

with J v by forward-mode (``torch.func.jvp``) and J^T v by reverse-mode (``torch.func.vjp``) differentiation of
the model in float64. Every exact-prox variant gives a(y, v) at float64 round-off (~1e-15); the normalization
trick f(y) = s_y g((y - m_y) / s_y) + m_y does not. The points y = x + sigma n are the evaluation crops with
Gaussian noise at the training sigma (the denoiser's operating point), the noise of image i seeded by
``aelpn.sweeps.evaluate.noise_seed(seed, "jacobian", i)`` and the probes of image i by ``(seed, "jacobian", "probes", i)``,
so every variant is probed at the same points in the same directions.

The spectrum: the ``jacobian.rank_directions`` = k largest singular values s_1 >= ... >= s_k of J at
the same points, by subspace iteration on J^T J (``jacobian.rank_iterations`` steps of V <- orth(J^T J V), then
Rayleigh-Ritz: s_i^2 are the eigenvalues of (J V)^T (J V)), stored as s_i / s_1. The paper's homogeneous
variants have J = grad h grad h^T + 2 alpha I in each linear region (ScaleLPN; AE-LPN adds the mean direction),
so s_2 / s_1 (s_3 / s_1) is ~2 alpha / s_1; a full-rank prox keeps s_k / s_1 far from 0.

Memory. Both measurements hold one reverse-mode graph of f at a batch of B = ``jacobian.batch_size`` images (the
activations of the forward and the hand-written reverse pass that the pullback reads) while one forward-mode
product J v runs beside it, so in float64 the job's peak resident memory is about

    R_0 + B * c * 8 * model.width * S^2 bytes,    S = data.crop_size,

8 width S^2 bytes being one image's first feature map (the later, smaller maps are in c): c = 30 for the softplus
variants (lpn, shift, normtrick, unconstrained), 25 with squared features (scale_sq, aelpn_sq), 19.6 for the
leaky-ReLU scale and aelpn, measured as peak RSS at widths 64 and 256, 64 and 128 px, B 1 and 2 (linear in each;
docs/benchmarks.md); R_0 is the process without them (about 1 GiB on CPU). At paper shapes (width 256, 128 px)
that is 0.94 GiB per image. It does not grow with the probes P or the directions k: the products run under
``torch.no_grad``, which the ``torch.func`` transforms inside ignore, so no graph reaches the model's parameters
(which require grad); with one, each J v kept its own activations until the end, P (or k) times the memory
(12 GiB for one paper-shape image and 8 probes). ``jacobian.batch_size`` is the chunk that bounds the memory; the
images of a chunk draw the same noise and probes as alone (seeded per image), so the chunking does not change the
numbers.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr
from tqdm import tqdm

from aelpn.core import io, provenance
from aelpn.core.device import configure, describe
from aelpn.core.seeding import derive_seed
from aelpn.core.titles import TITLES
from aelpn.models.files import ModelFileError, check_image_model, proximal_sigma
from aelpn.sweeps.evaluate import gaussian_noise, noise_seed

_VARS = {
    "asymmetry": ("Jacobian asymmetry ||J v - J^T v|| / ||J v|| of f at y = x + sigma n, mean over probes v", "1"),
    "asymmetry_max": ("largest Jacobian asymmetry over the probes v", "1"),
    "singular_value_ratio": ("s_i / s_1, the i-th largest singular value of J = D f(y) over the largest "
                             "(subspace iteration), at the same points y", "1"),
    "rank_index": ("i of s_i", "1"),
    "exact_prox": ("1 if the variant is an exact proximal operator by construction, else 0", "1"),
    "sigma": ("noise level of y, the sigma the model file records (the model is the prox of sigma^2 R)", "1"),
    "variant": ("model variant", "1"),
    "image": ("evaluation crop id", "1"),
}


@torch.no_grad()
def jacobian_asymmetry(f, y: torch.Tensor, probes: torch.Tensor) -> torch.Tensor:
    """``||J v - J^T v|| / ||J v||`` per image and probe, J = D f(y_b); ``y`` (B, ...) and ``probes``
    (P, B, ...) in the model's dtype; returns (B, P). f must act on each batch element independently.
    One reverse-mode graph serves every probe; no graph reaches f's parameters (``no_grad``, which the
    ``torch.func`` transforms inside ignore), so the memory does not grow with P (module docstring)."""
    _, pullback = torch.func.vjp(f, y)
    out = []
    for v in probes:
        _, jv = torch.func.jvp(f, (y,), (v,))
        (jtv,) = pullback(v)
        out.append((jv - jtv).flatten(1).norm(dim=1) / jv.flatten(1).norm(dim=1))
    return torch.stack(out, dim=1)


@torch.no_grad()
def top_singular_values(f, y: torch.Tensor, start: torch.Tensor, iterations: int) -> torch.Tensor:
    """The k largest singular values of J = D f(y_b) per image, (B, k) in decreasing order, by subspace iteration
    on J^T J from ``start`` (k, B, ...) and a final Rayleigh-Ritz step; f acts on each batch element independently.
    As ``jacobian_asymmetry``: one reverse-mode graph, no graph to f's parameters, memory independent of k."""
    k, batch = start.shape[0], start.shape[1]
    _, pullback = torch.func.vjp(f, y)

    def jac(v):
        return torch.stack([torch.func.jvp(f, (y,), (vi,))[1] for vi in v])

    def orth(v):
        q = torch.linalg.qr(v.reshape(k, batch, -1).permute(1, 2, 0))[0]  # (B, n, k)
        return q.permute(2, 0, 1).reshape(v.shape)

    v = orth(start)
    for _ in range(iterations):
        v = orth(torch.stack([pullback(w)[0] for w in jac(v)]))
    jv = jac(v).reshape(k, batch, -1).permute(1, 0, 2)  # (B, k, n)
    gram = jv @ jv.transpose(1, 2)
    return torch.linalg.eigvalsh(gram).flip(-1).clamp(min=0).sqrt()


def probe_directions(seed: int, image_indices: list[int], shape: tuple[int, ...], probes: int) -> torch.Tensor:
    """Standard normal probes (P, B, *shape) in float64; those of image i from a generator seeded
    ``derive_seed(seed, "jacobian", "probes", i)``."""
    per_image = [torch.randn((probes, *shape), generator=torch.Generator().manual_seed(
        derive_seed(seed, "jacobian", "probes", f"image{i}")), dtype=torch.float64) for i in image_indices]
    return torch.stack(per_image, dim=1)


def measure_jacobian(cfg: dict, model_paths: list[str], crops_path: str, out: str) -> xr.Dataset:
    """Jacobian asymmetry and top singular values of each model in ``model_paths`` (one per ``model.variants``,
    in that order) at the first ``jacobian.images`` evaluation crops plus noise at the sigma the model's file records
    (the noise level it is the prox at), with ``jacobian.probes`` probes per image, and its
    ``jacobian.rank_directions`` largest singular values, in float64; writes ``out`` (dims variant, image,
    rank_index). cfg: seed, compute, model, jacobian."""
    from aelpn.data import load_crops
    from aelpn.models import load_model

    jcfg, variants = cfg["jacobian"], list(cfg["model"]["variants"])
    if len(model_paths) != len(variants):
        raise ModelFileError(f"one model per variant {variants} expected, got {len(model_paths)} paths")
    device = configure(cfg["compute"])
    x, ids = load_crops(crops_path)
    for path in model_paths:
        check_image_model(path, tuple(x.shape[1:]))
    n = min(jcfg["images"] or len(ids), len(ids))
    x, ids = x[:n].double(), list(ids[:n])
    noise = gaussian_noise(x.shape, [noise_seed(cfg["seed"], "jacobian", i) for i in range(n)])
    v = probe_directions(cfg["seed"], list(range(n)), tuple(x.shape[1:]), jcfg["probes"])
    v0 = probe_directions(derive_seed(cfg["seed"], "spectrum"), list(range(n)), tuple(x.shape[1:]),
                          jcfg["rank_directions"])
    mean, largest, exact, sigmas = np.empty((len(variants), n)), np.empty((len(variants), n)), [], []
    ratio = np.empty((len(variants), n, jcfg["rank_directions"]))
    for k, (variant, path) in enumerate(zip(variants, tqdm(model_paths, desc="jacobian", unit="model"))):
        model = load_model(path, device=device).double()
        if model.variant != variant:
            raise ModelFileError(f"{path}: holds variant '{model.variant}', expected '{variant}' (model.variants order)")
        exact.append(int(model.exact_prox))
        sigmas.append(proximal_sigma(path))
        y = x + sigmas[-1] * noise
        for start in range(0, n, jcfg["batch_size"]):
            sl = slice(start, min(start + jcfg["batch_size"], n))
            a = jacobian_asymmetry(model, y[sl].to(device), v[:, sl].to(device)).cpu().numpy()
            mean[k, sl], largest[k, sl] = a.mean(axis=1), a.max(axis=1)
            sv = top_singular_values(model, y[sl].to(device), v0[:, sl].to(device), jcfg["rank_iterations"])
            ratio[k, sl] = (sv / sv[:, :1]).cpu().numpy()
    ds = xr.Dataset(
        {"asymmetry": (("variant", "image"), mean), "asymmetry_max": (("variant", "image"), largest),
         "singular_value_ratio": (("variant", "image", "rank_index"), ratio)},
        coords={"variant": variants, "exact_prox": ("variant", np.array(exact, dtype=np.int8)),
                "sigma": ("variant", np.array(sigmas)),
                "image": np.array(ids, dtype=object), "rank_index": np.arange(1, jcfg["rank_directions"] + 1)},
    )
    provenance.annotate(ds, _VARS)
    ds.attrs = provenance.attrs(TITLES["jacobian"], cfg, describe(device))
    ds.attrs.update(probes=int(jcfg["probes"]), dtype="float64")
    io.write_netcdf(ds, out, float32=False)
    return ds
