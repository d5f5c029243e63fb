"""Run as a script by tests/test_jacobian.py: the peak resident memory (bytes) that ``jacobian_asymmetry`` with
``count`` probes and ``top_singular_values`` with ``count`` directions (one iteration) add to this process, for
count = 1 and count = argv[1], each measured from a reset of the peak (Linux ``/proc/self/clear_refs``) after one
unmeasured call, on a float64 model whose parameters require grad, as a loaded model's do; prints JSON
{"asymmetry": [1, n], "spectrum": [1, n]}. Run it with a fixed ``MALLOC_MMAP_THRESHOLD_`` (glibc) so that freed
tensors leave the resident set and the peaks do not depend on the order of the calls."""

from __future__ import annotations

import json
import sys

import torch

from aelpn.claims.jacobian import jacobian_asymmetry, top_singular_values
from model_helpers import image_model


def _rss(key: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(key))


def added_peak(call) -> int:
    """VmHWM after ``call()`` minus VmRSS before it, the peak reset in between."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = _rss("VmRSS")
    call()
    return _rss("VmHWM") - before


def main(count: int) -> dict:
    torch.set_num_threads(1)
    model = image_model("lpn", channels=3, size=64, seed=0, width=32, depth=2, head_width=8)
    gen = torch.Generator().manual_seed(0)
    y = torch.rand((2, 3, 64, 64), generator=gen, dtype=torch.float64)
    v = torch.randn((count, 2, 3, 64, 64), generator=gen, dtype=torch.float64)
    jacobian_asymmetry(model, y, v[:1]), top_singular_values(model, y, v[:1], 1)
    return {"asymmetry": [added_peak(lambda: jacobian_asymmetry(model, y, v[:n])) for n in (1, count)],
            "spectrum": [added_peak(lambda: top_singular_values(model, y, v[:n], 1)) for n in (1, count)]}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
