"""glibc malloc settings of every ``aelpn`` process: keep freed memory for reuse instead of handing it back to
the kernel and faulting it in again.

torch's CPU allocator takes every tensor from ``malloc``. By default glibc serves a block of 128 KiB or more
by its own ``mmap`` and returns it with ``munmap`` when it is freed (the threshold grows with the blocks freed,
but never above 32 MiB), and gives the free top of the heap back above 128 KiB (``M_TRIM_THRESHOLD``). A job
that allocates the same large buffers over and over (the im2col buffers of float64 and 11x11 convolutions:
150 MiB per float64 convolution of a 16-image batch of width 32 at 64 px, 2 GiB for the SSIM of 200 crops)
therefore pays a page fault per 4 KiB page on every allocation. Measured on one reference-scale
affine-sweep job: 22 M minor faults and 45 s of system time beside 64 s of user time.

:func:`keep_freed_memory` raises both thresholds (``mallopt``, before the job allocates its tensors): blocks up
to ``MMAP_THRESHOLD`` come from the heap and a freed heap is kept up to ``TRIM_THRESHOLD``, so a buffer freed
and allocated again reuses pages already mapped. What is freed is not returned to the system before the job
ends, which is what a job wants; the peak resident memory can grow where an aligned request does not fit a kept
block (measured on the affine-sweep job above: 1444 -> 1870 MiB, while the noise-sweep job fell 2221 -> 1535 MiB)."""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameters (malloc.h) and the values set; mallopt takes a C int.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = 2**31 - 1


def _glibc():
    """The C library when it is glibc (``gnu_get_libc_version`` exists), else None (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version
        return libc
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` to ``MMAP_THRESHOLD`` (1 GiB) and ``M_TRIM_THRESHOLD`` to
    ``TRIM_THRESHOLD`` (2 GiB - 1); True when glibc accepted both, False on other C libraries (nothing set)."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TRIM_THRESHOLD,
                                                                                        TRIM_THRESHOLD))
