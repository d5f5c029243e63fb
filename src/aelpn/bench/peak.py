"""The machine's own peak, measured in the benchmark run beside the fast paths: the FLOP rate of one large fp32
matrix product and one large 3x3 convolution (the training step's main operation) with the threads torch uses,
and on a CUDA device TF32 and bfloat16 matrix products. A fast path's rate divided by a peak is the share of
what the machine can do that it reaches."""

from __future__ import annotations

import torch

from aelpn.bench.flops import conv3x3_flops, matmul_flops
from aelpn.bench.timing import interleaved_times

# Shapes: a square matrix product, and a 3x3 convolution at the paper width (256 channels) on a batch of 32 px
# images, the paper-width step of ``aelpn bench``.
MATMUL_SIZE = 2048
CONV_SHAPE = {"batch": 8, "in_channels": 256, "out_channels": 256, "height": 32, "width": 32}
GPU_MATMUL_SIZE = 8192


def _matmul(size: int, dtype: torch.dtype, device: torch.device, gen: torch.Generator):
    a = torch.randn(size, size, generator=gen).to(device, dtype)
    b = torch.randn(size, size, generator=gen).to(device, dtype)
    return lambda: torch.mm(a, b), matmul_flops(size, size, size)


def _conv(device: torch.device, gen: torch.Generator):
    s = CONV_SHAPE
    x = torch.randn(s["batch"], s["in_channels"], s["height"], s["width"], generator=gen).to(device)
    w = torch.randn(s["out_channels"], s["in_channels"], 3, 3, generator=gen).to(device)
    return lambda: torch.nn.functional.conv2d(x, w, padding=1), conv3x3_flops(**s)


def peak_rates(device: torch.device, rounds: int, calls: int, seed: int) -> dict[str, float]:
    """FLOP/s (median over interleaved rounds) of: ``cpu_matmul`` (fp32, ``MATMUL_SIZE``), ``cpu_conv``
    (fp32, ``CONV_SHAPE``) and, on a CUDA ``device``, ``gpu_tf32`` and ``gpu_bf16`` (``GPU_MATMUL_SIZE``)."""
    gen = torch.Generator().manual_seed(seed)
    cpu = torch.device("cpu")
    candidates = {"cpu_matmul": _matmul(MATMUL_SIZE, torch.float32, cpu, gen), "cpu_conv": _conv(cpu, gen)}
    rates = {}
    with torch.no_grad():
        times = interleaved_times({k: fn for k, (fn, _) in candidates.items()}, rounds, calls)
        rates.update({k: candidates[k][1] / times[k].median for k in candidates})
        if device.type == "cuda":
            allow = torch.backends.cuda.matmul.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = True
            gpu = {"gpu_tf32": _matmul(GPU_MATMUL_SIZE, torch.float32, device, gen),
                   "gpu_bf16": _matmul(GPU_MATMUL_SIZE, torch.bfloat16, device, gen)}
            times = interleaved_times({k: fn for k, (fn, _) in gpu.items()}, rounds, calls, device)
            torch.backends.cuda.matmul.allow_tf32 = allow
            rates.update({k: gpu[k][1] / times[k].median for k in gpu})
    return rates
