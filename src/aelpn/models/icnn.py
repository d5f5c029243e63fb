"""The input-convex core shared by every model: a scalar network h(x) convex in x.

Convexity (Amos et al. ICNN): z_1 = s(W_0 x + b_0); z_{k+1} = s(W_k z_k + H_k D_k x + c_k) with W_k >= 0 and
s convex non-decreasing, so every z_k is convex in x (non-negative sums of convex functions plus affine maps,
composed with s); h = w^T z_L with w >= 0 is convex. H_k (the "skip" layers) and W_0 are free, D_k is a
linear resize. Homogeneous mode drops every bias and uses leaky ReLU (positively 1-homogeneous), so
h(a x) = a h(x) for a > 0, and ReLU on the last features with w >= 0 makes h >= 0.

``value_and_grad`` returns h and grad_x h from one forward pass that keeps s'(t_k) and a hand-written reverse
pass of plain torch ops: g_L = w * s'(t_L), g_{k-1} = s'(t_{k-1}) * W_k^T g_k, grad_x h = W_0^T g_0 + sum_k
D_k^T H_k^T g_k (transposed convolutions / matrix products). It is an ordinary differentiable graph, so a
loss of f = grad psi backpropagates through it once (no autograd-through-autograd).

Skip resizing D_k (``model.skip_resize``), both linear, so convexity does not depend on the choice:

* ``bilinear`` (default; the LPN reference ``lpn_128``): ``F.interpolate(x, (s, s), mode="bilinear")`` with
  torch's defaults align_corners=False, antialias=False. It is separable, D x = M X M^T per channel with the
  (s, S) matrix M of 1-D linear interpolation, so D^T g = M^T G M. At an even factor k = S / s, output pixel i
  averages input pixels k i + k/2 - 1 and k i + k/2 (per axis): at k = 2 it equals average pooling, at k >= 4
  it reads only the two central rows and columns of each k x k block.
* ``avgpool``: the mean of each k x k block, D^T g = g repeated over the block / k^2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aelpn.models.layers import NonNegConv2d, NonNegLinear, activation, init_parameters_

SKIP_RESIZE = ("bilinear", "avgpool")


def interpolation_matrix(size: int, image_size: int, dtype: torch.dtype, device) -> torch.Tensor:
    """The (size, image_size) matrix M of 1-D linear interpolation as ``F.interpolate(..., mode="bilinear")``
    (align_corners=False, antialias=False) applies it along each axis: row i holds the weights of output i."""
    eye = torch.eye(image_size, dtype=dtype, device=device).view(image_size, 1, image_size, 1)
    return F.interpolate(eye, (size, 1), mode="bilinear", align_corners=False, antialias=False)[:, 0, :, 0].T


def _conv_transpose(g: torch.Tensor, weight: torch.Tensor, geometry: dict) -> torch.Tensor:
    """W^T g for the 3x3 convolution of ``weight`` with ``geometry`` (stride, padding, output_padding): at stride 1
    the convolution with the flipped, in/out-swapped kernel (the faster direct kernel), else conv_transpose2d."""
    if tuple(geometry["stride"]) == (1, 1):
        return F.conv2d(g, weight.transpose(0, 1).flip(-2, -1), padding=geometry["padding"])
    return F.conv_transpose2d(g, weight, **geometry)


class ConvICNN(nn.Module):
    """Convolutional ICNN on (B, C, S, S) images, S a multiple of 2**depth (LPN ``lpn_128`` generalised).

    Layers: conv3x3 C->width (free); then strides [2] + [1, 2] * (depth - 1) of conv3x3 width->width (W >= 0),
    each plus a free conv3x3 of x resized (``skip_resize``: bilinear | avgpool) to that layer's input size; a
    head conv width->head_width (W >= 0) whose kernel S / 2**depth covers the whole remaining map, plus its
    free skip conv; a linear head_width->1 (w >= 0). Returns h(x) of shape (B,). The reference's output bias
    is dropped: a constant of psi has no effect on f = grad psi (so the parameter count is the reference's
    minus one).
    """

    def __init__(self, channels: int, image_size: int, width: int, depth: int, head_width: int,
                 act: str, softplus_beta: float, leaky_slope: float, homogeneous: bool,
                 generator: torch.Generator, skip_resize: str, nonneg_init: str):
        super().__init__()
        if depth < 1:
            raise ValueError(f"model.depth must be >= 1, got {depth}")
        if skip_resize not in SKIP_RESIZE:
            raise ValueError(f"model.skip_resize must be one of {', '.join(SKIP_RESIZE)}, got {skip_resize!r}")
        self.skip_resize = skip_resize
        if image_size % 2**depth:
            raise ValueError(
                f"image size {image_size} is not a multiple of 2**model.depth = {2**depth}; "
                f"choose data.crop_size as a multiple of {2**depth} or lower model.depth"
            )
        self.channels, self.image_size, self.depth = channels, image_size, depth
        self.homogeneous = homogeneous
        bias = not homogeneous
        meta = {"device": "meta"}
        self.lin0 = nn.Conv2d(channels, width, 3, padding=1, bias=bias, **meta)
        strides = [2] + [1, 2] * (depth - 1)
        self.lins = nn.ModuleList(NonNegConv2d(width, width, 3, stride=s, padding=1, bias=False, **meta)
                                  for s in strides)
        self.skips = nn.ModuleList(nn.Conv2d(channels, width, 3, stride=s, padding=1, bias=bias, **meta)
                                   for s in strides)
        self.input_sizes = []  # resolution of the z entering each lin layer
        size = image_size
        for s in strides:
            self.input_sizes.append(size)
            size //= s
        self.final_size = size
        self.head = NonNegConv2d(width, head_width, size, bias=False, **meta)
        self.head_skip = nn.Conv2d(channels, head_width, size, bias=bias, **meta)
        self.out = NonNegLinear(head_width, 1, bias=False, **meta)  # a bias would be a constant of psi
        self.to_empty(device="cpu")
        init_parameters_(self, generator, nonneg_init)
        self.act = activation(act, softplus_beta, leaky_slope)
        self.head_act = activation("leaky", softplus_beta, 0.0) if homogeneous else self.act
        # output_padding making each transposed conv restore its layer's input size
        self.output_paddings = [size - ((size - 1) // s) * s - 1 for size, s in zip(self.input_sizes, strides)]

    def _resize(self, x: torch.Tensor, size: int) -> torch.Tensor:
        """D x: ``x`` resized to (size, size) by the ``skip_resize`` operator."""
        if size == self.image_size:
            return x
        if self.skip_resize == "avgpool":
            return F.avg_pool2d(x, self.image_size // size)
        return F.interpolate(x, (size, size), mode="bilinear", align_corners=False, antialias=False)

    def _resize_adjoint(self, g: torch.Tensor, size: int) -> torch.Tensor:
        """D^T g for g of shape (B, C, size, size): M^T G M (bilinear) or g spread over each block / k^2."""
        if size == self.image_size:
            return g
        if self.skip_resize == "avgpool":
            factor = self.image_size // size
            return g.repeat_interleave(factor, -1).repeat_interleave(factor, -2) / factor**2
        m = interpolation_matrix(size, self.image_size, g.dtype, g.device)
        return m.T @ g @ m

    def _pooled(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """x resized to every resolution a skip layer reads: {size: D x}."""
        if x.dim() != 4 or x.shape[1] != self.channels or x.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(
                f"model expects inputs of shape (B, {self.channels}, {self.image_size}, {self.image_size}), "
                f"got {tuple(x.shape)}; larger images need patching"
            )
        sizes = sorted(set(self.input_sizes) | {self.final_size}, reverse=True)
        return {s: self._resize(x, s) for s in sizes}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self._pooled(x)
        z = self.act(self.lin0(x))
        for lin, skip, size in zip(self.lins, self.skips, self.input_sizes):
            z = self.act(lin(z) + skip(pooled[size]))
        z = self.head_act(self.head(z) + self.head_skip(pooled[self.final_size]))
        return self.out(z.flatten(1)).squeeze(1)

    def pre_activations(self, x: torch.Tensor) -> tuple[list[torch.Tensor], dict]:
        """The pre-activations t_0 = W_0 x, t_k = W_k z_{k-1} + H_k D_k x (k = 1..L) and t_head (B, head_width),
        each convex in x (and 1-homogeneous in homogeneous mode), with what ``reverse`` needs."""
        pooled = self._pooled(x)
        ts = [self.lin0(x)]
        for lin, skip, size in zip(self.lins, self.skips, self.input_sizes):
            ts.append(lin(self.act(ts[-1])) + skip(pooled[size]))
        ts.append((self.head(self.act(ts[-1])) + self.head_skip(pooled[self.final_size])).flatten(1))
        return ts, {"slopes": [self.act.derivative(t) for t in ts[:-1]]}

    def reverse(self, direct: list[torch.Tensor | None], cache: dict) -> torch.Tensor:
        """sum_k J_{t_k}(x)^T direct_k: the gradient in x of any function whose partial derivative in each
        pre-activation t_k (others held fixed) is ``direct[k]`` (None: 0), by the chain rule through
        z_k = s(t_k): dt_k = direct_k + s'(t_k) * W_{k+1}^T dt_{k+1}, dx = W_0^T dt_0 + sum_k D_k^T H_k^T dt_k."""
        slopes = cache["slopes"]
        g = direct[-1]
        size = self.final_size
        grad_pooled = {size: (g @ self.head_skip.weight.flatten(1)).view(-1, self.channels, size, size)}
        gz = (g @ self.head.weight.flatten(1)).view(-1, self.head.in_channels, size, size)
        for k in range(len(self.lins), 0, -1):
            lin, skip, size = self.lins[k - 1], self.skips[k - 1], self.input_sizes[k - 1]
            g = gz * slopes[k] if direct[k] is None else gz * slopes[k] + direct[k]
            back = {"stride": lin.stride, "padding": lin.padding, "output_padding": self.output_paddings[k - 1]}
            gx = _conv_transpose(g, skip.weight, back)
            grad_pooled[size] = grad_pooled[size] + gx if size in grad_pooled else gx
            gz = _conv_transpose(g, lin.weight, back)
        g = gz * slopes[0] if direct[0] is None else gz * slopes[0] + direct[0]
        grad = _conv_transpose(g, self.lin0.weight, {"stride": (1, 1), "padding": self.lin0.padding,
                                                     "output_padding": 0})
        for size, gp in grad_pooled.items():
            grad = grad + self._resize_adjoint(gp, size)
        return grad

    def value_and_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h(x) of shape (B,), grad_x h(x) of x's shape): ``pre_activations``, then ``reverse`` from
        dh/dt_head = w * s'(t_head)."""
        ts, cache = self.pre_activations(x)
        h = self.out(self.head_act(ts[-1])).squeeze(1)
        direct = [None] * (len(ts) - 1) + [self.out.weight * self.head_act.derivative(ts[-1])]
        return h, self.reverse(direct, cache)


class DenseICNN(nn.Module):
    """ICNN on scalars (B, 1) (LPN 1-D Laplace network generalised): Linear 1->width (free), depth x
    [Linear width->width (W >= 0) + free Linear 1->width skip], Linear width->1 (w >= 0) plus a free linear
    skip 1->1 (omitted in homogeneous mode, where the last features are ReLU so h >= 0; the reference's
    output bias, a constant of psi, is dropped). Returns (B,).

    Homogeneous mode is initialised as the reference 1-D networks: PyTorch's default bound on every layer,
    the constrained weights projected onto W >= 0 (``init_parameters_(..., "uniform")``). The image networks'
    exp(N(-10, 0.1^2)) init (kept in softplus mode) makes the 2-homogeneous scale model start at
    f = h grad h ~ 1e-8 x, whose gradient vanishes quadratically in the weight scale: proximal matching at
    gamma = 0.1 first has to grow the weights (a short run does not move at all).
    """

    def __init__(self, width: int, depth: int, act: str, softplus_beta: float, leaky_slope: float,
                 homogeneous: bool, generator: torch.Generator):
        super().__init__()
        if depth < 1:
            raise ValueError(f"prox1d.depth must be >= 1, got {depth}")
        self.homogeneous = homogeneous
        bias = not homogeneous
        meta = {"device": "meta"}
        self.lin0 = nn.Linear(1, width, bias=bias, **meta)
        self.lins = nn.ModuleList(NonNegLinear(width, width, bias=False, **meta) for _ in range(depth))
        self.skips = nn.ModuleList(nn.Linear(1, width, bias=bias, **meta) for _ in range(depth))
        self.out = NonNegLinear(width, 1, bias=False, **meta)
        self.out_skip = None if homogeneous else nn.Linear(1, 1, bias=False, **meta)
        self.to_empty(device="cpu")
        init_parameters_(self, generator, nonneg_init="uniform" if homogeneous else "exp")
        self.act = activation(act, softplus_beta, leaky_slope)
        last_act = activation("leaky", softplus_beta, 0.0) if homogeneous else self.act
        self.acts = [self.act] * (depth - 1) + [last_act]

    @staticmethod
    def _check(x: torch.Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != 1:
            raise ValueError(f"1-D model expects inputs of shape (B, 1), got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        z = self.act(self.lin0(x))
        for lin, skip, act in zip(self.lins, self.skips, self.acts):
            z = act(lin(z) + skip(x))
        h = self.out(z)
        if self.out_skip is not None:
            h = h + self.out_skip(x)
        return h.squeeze(1)

    def value_and_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h(x) of shape (B,), dh/dx of shape (B, 1)): forward pass, then the hand-written reverse pass."""
        self._check(x)
        t = self.lin0(x)
        slopes = [self.act.derivative(t)]
        z = self.act(t)
        for lin, skip, act in zip(self.lins, self.skips, self.acts):
            t = lin(z) + skip(x)
            slopes.append(act.derivative(t))
            z = act(t)
        h = self.out(z)
        grad = torch.zeros_like(x)
        if self.out_skip is not None:
            h = h + self.out_skip(x)
            grad = grad + self.out_skip.weight
        g = self.out.weight * slopes.pop()
        for lin, skip, slope in zip(reversed(self.lins), reversed(self.skips), reversed(slopes)):
            grad = grad + g @ skip.weight
            g = (g @ lin.weight) * slope
        return h.squeeze(1), grad + g @ self.lin0.weight
