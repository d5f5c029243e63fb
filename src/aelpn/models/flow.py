"""A flow-matching prior on the crops (Lipman et al. 2023, rectified / OT path), built on the conditional
denoiser's architecture; trained by ``aelpn.training.flow``.

Parametrisation (deepinv's ``FlowMatching`` convention: t = 0 is data, t = 1 is noise). In flow units, images
in [-1, 1] (x_0 = 2 image - 1), the linear path is

    x_t = (1 - t) x_0 + t x_1,    x_0 ~ data,  x_1 ~ N(0, I),  t in [0, 1],

with the conditional velocity d x_t / dt = x_1 - x_0. The learned velocity v(x_t, t) approximates
E[x_1 - x_0 | x_t], and since x_1 - x_0 = (x_t - x_0) / t, the one-step denoiser is

    E[x_0 | x_t] = x_t - t v(x_t, t).

The network is a ConditionalDenoiser D(x, s) in image units (EDM-preconditioned DRUNet): x_t / (1 - t) =
x_0 + sigma_t x_1 with sigma_t = t / (1 - t) is x_0 plus Gaussian noise of level sigma_t in flow units, i.e.
sigma_t / 2 in image units, so the model predicts x0_hat(x_t, t) = 2 D((x_t / (1 - t) + 1) / 2, sigma_t / 2) - 1
and its velocity is v(x_t, t) = (x_t - x0_hat) / t. Training minimises the flow-matching loss
E ||v(x_t, t) - (x_1 - x_0)||^2 (t uniform in [t_min, t_max]). ``forward(x, sigma)`` is the image-unit Gaussian
denoiser D, which is what deepinv's diffusion machinery (FlowMatching, PosteriorDiffusion) asks for."""

from __future__ import annotations

import deepinv as dinv
import torch

from aelpn.models.denoiser import ConditionalDenoiser, build_denoiser
from aelpn.models.files import load_model, training_record


class FlowMatchingModel(dinv.models.Denoiser):
    """The velocity field v(x_t, t) of the linear path above, through the image-unit Gaussian denoiser ``net``
    (a ConditionalDenoiser, or any D(x, sigma) with the same signature)."""

    def __init__(self, net: ConditionalDenoiser):
        super().__init__()
        self.net = net
        self.spec = dict(getattr(net, "spec", {}))

    def forward(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """The image-unit Gaussian denoiser D(x, sigma) the flow is built on (deepinv's Denoiser interface)."""
        return self.net(x, sigma)

    @staticmethod
    def _time(t, x: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).flatten()
        return (t.expand(x.shape[0]) if t.numel() == 1 else t).view(-1, *([1] * (x.dim() - 1)))

    def denoise(self, x_t: torch.Tensor, t) -> torch.Tensor:
        """The one-step denoiser E[x_0 | x_t] = x_t - t v(x_t, t) = 2 D((x_t / (1 - t) + 1) / 2, t / (2 (1 - t))) - 1,
        flow units; t a float or a (B,) tensor in (0, 1)."""
        t = self._time(t, x_t)
        return 2 * self.net((x_t / (1 - t) + 1) / 2, (t / (2 * (1 - t))).flatten()) - 1

    def velocity(self, x_t: torch.Tensor, t) -> torch.Tensor:
        """v(x_t, t) = (x_t - E[x_0 | x_t]) / t, the approximation of E[x_1 - x_0 | x_t]."""
        return (x_t - self.denoise(x_t, t)) / self._time(t, x_t)

    def restore(self, image: torch.Tensor, t, noise: torch.Tensor) -> torch.Tensor:
        """PnP-Flow's interpolation then denoising, image units in and out: with z = 2 image - 1,
        z_t = (1 - t) z + t noise, returns (E[x_0 | z_t] + 1) / 2."""
        tt = self._time(t, image)
        return (self.denoise((1 - tt) * (2 * image - 1) + tt * noise, t) + 1) / 2


def build_flow(channels: int, flow_cfg: dict, seed: int) -> FlowMatchingModel:
    """A freshly initialized flow model (its ConditionalDenoiser initialized from ``seed``)."""
    return FlowMatchingModel(build_denoiser(channels, flow_cfg, seed))


def flow_from_spec(spec: dict) -> FlowMatchingModel:
    """A FlowMatchingModel of the architecture ``spec`` (weights to be loaded; ``aelpn.models.files`` kind)."""
    return FlowMatchingModel(ConditionalDenoiser(spec["channels"], spec["width"], spec["blocks"], spec["pixel_std"]))


def load_flow(path: str, device="cpu") -> tuple[FlowMatchingModel, dict]:
    """The trained flow model in eval mode and its metadata (train_seconds, train_device, steps)."""
    return load_model(path, device=device, kind="flow"), training_record(path)
