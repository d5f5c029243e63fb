"""Interleaved timing: candidates alternate round by round so a load change on a shared machine hits all of
them alike; each keeps its fastest round (the least disturbed), in wall-clock and process CPU seconds."""

from __future__ import annotations

import time
from typing import Callable


def best_times(candidates: dict[str, Callable[[], object]], rounds: int, calls: int) -> dict[str, tuple[float, float]]:
    """{name: (wall seconds per call, CPU seconds per call)}, each the minimum over ``rounds`` rounds of
    ``calls`` calls (after one warm-up call of every candidate)."""
    for fn in candidates.values():
        fn()
    best = {name: (float("inf"), float("inf")) for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                fn()
            wall, cpu = (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best
