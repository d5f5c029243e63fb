"""What the benchmarks ran on: CPU model, cores, torch threads, device."""

from __future__ import annotations

import os
import platform

import torch

from aelpn.core.device import describe


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_attrs(device: torch.device) -> dict:
    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "bench_device": describe(device),
        "platform": platform.platform(),
    }
