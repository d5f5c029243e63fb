"""Analytic FLOP counts: one training step of an image ProxNet (2 FLOPs per multiply-add of the convolution
and linear layers; element-wise work is not counted) and the matrix product and convolution that measure the
machine's peak (``aelpn.bench.peak``)."""

from __future__ import annotations


def core_macs(spec: dict) -> tuple[int, int]:
    """Multiply-adds of one forward pass of the ConvICNN core on one image: (layers reading x: the first conv
    and the skips, layers reading z: the constrained convs, head and output)."""
    c, s, w, depth, hw = spec["channels"], spec["image_size"], spec["width"], spec["depth"], spec["head_width"]
    reads_x = w * s * s * c * 9
    reads_z = 0
    size = s
    for stride in [2] + [1, 2] * (depth - 1):
        size //= stride
        reads_z += w * size * size * w * 9
        reads_x += w * size * size * c * 9
    reads_z += hw * w * size * size + hw
    reads_x += hw * c * size * size
    return reads_x, reads_z


def training_step_flops(spec: dict, batch: int) -> int:
    """FLOPs of loss(f(y)).backward() with f = grad psi by one forward and one hand-written reverse pass:
    forward (x + z) + reverse (x + z) + backprop through the reverse ops (input and weight gradients,
    2 (x + z)) + through the forward ops (weight gradients x + z, input gradients z) = 5 x + 6 z
    multiply-adds per image."""
    reads_x, reads_z = core_macs(spec)
    return 2 * batch * (5 * reads_x + 6 * reads_z)


def matmul_flops(m: int, n: int, k: int) -> int:
    """FLOPs of an (m, k) @ (k, n) matrix product: 2 m n k (one multiply and one add per term)."""
    return 2 * m * n * k


def conv3x3_flops(batch: int, in_channels: int, out_channels: int, height: int, width: int) -> int:
    """FLOPs of a stride-1, padding-1 3x3 convolution: 2 N C_out H W C_in 9."""
    return 2 * batch * out_channels * height * width * in_channels * 9
