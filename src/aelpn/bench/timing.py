"""Interleaved timing: candidates alternate round by round so a load change on a shared machine hits all of
them alike. Each round times ``calls`` calls after synchronising the device; a candidate's figure is the
median over rounds, its spread the interquartile range, in wall-clock and process CPU seconds per call."""

from __future__ import annotations

import statistics
import time
from typing import Callable, NamedTuple

import torch


class Timing(NamedTuple):
    """Seconds per call: median over rounds, first and third quartiles, and the median process CPU time."""

    median: float
    q1: float
    q3: float
    cpu_median: float


def synchronize(device: torch.device | None) -> None:
    """Wait for queued kernels (a CUDA timer that does not synchronise measures the launch, not the work)."""
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return median, q1, q3


def interleaved_times(candidates: dict[str, Callable[[], object]], rounds: int, calls: int,
                      device: torch.device | None = None) -> dict[str, Timing]:
    """{name: Timing} over ``rounds`` rounds of ``calls`` calls of every candidate (one warm-up call each)."""
    for fn in candidates.values():
        fn()
    synchronize(device)
    walls = {name: [] for name in candidates}
    cpus = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            synchronize(device)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                fn()
            synchronize(device)
            walls[name].append((time.perf_counter() - wall) / calls)
            cpus[name].append((time.process_time() - cpu) / calls)
    out = {}
    for name in candidates:
        median, q1, q3 = _quartiles(walls[name])
        out[name] = Timing(median, q1, q3, statistics.median(cpus[name]))
    return out
