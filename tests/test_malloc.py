"""Every ``aelpn`` process keeps freed memory (``aelpn.core.malloc``): a large buffer freed and allocated again
reuses mapped pages instead of faulting each page in again. Counted in page faults, never in time."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aelpn.core.malloc import _glibc, keep_freed_memory

# In a fresh interpreter: optionally run the aelpn entry point, then allocate, touch and free a 64 MiB tensor
# (above glibc's default mmap thresholds), then four times a 48 MiB one; print the minor page faults of those
# four rounds (each fits in the freed 64 MiB when freed memory is kept).
_REALLOCATE = """
import resource, sys, torch
if sys.argv[1] == "entry":
    from aelpn.cli import main
    main(["config", "validate", sys.argv[2]])
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.empty(16 * 2**20).fill_(1.0)
start = faults()
for _ in range(4):
    torch.empty(12 * 2**20).fill_(1.0)
print(faults() - start)
"""
PAGES = 48 * 2**20 // 4096  # pages of one 48 MiB buffer

glibc_only = pytest.mark.skipif(_glibc() is None, reason="the malloc settings are glibc's")


def _faults(repo, mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _REALLOCATE, mode, str(repo / "config" / "quick.yaml")],
                          capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@glibc_only
def test_the_entry_point_keeps_freed_memory(repo):
    """Without the setting each of the four rounds faults the whole buffer in again; through ``aelpn``'s main
    at most one does (glibc may place the first one beside the freed block), the others reuse its pages."""
    assert _faults(repo, "plain") >= 4 * PAGES * 0.9
    assert _faults(repo, "entry") < 1.5 * PAGES


@glibc_only
def test_glibc_accepts_the_thresholds():
    assert keep_freed_memory() is True
