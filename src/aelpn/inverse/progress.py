"""Progress bars of the solver and sampler loops: tqdm, refreshed every TQDM_MININTERVAL seconds (default 5)."""

from __future__ import annotations

import os

from tqdm import tqdm


def progress(iterable, desc: str, total: int | None = None) -> tqdm:
    """``iterable`` wrapped in a transient tqdm bar named ``desc``; the refresh interval is read from the
    environment variable TQDM_MININTERVAL (seconds, default 5)."""
    return tqdm(iterable, desc=desc, total=total, leave=False,
                mininterval=float(os.environ.get("TQDM_MININTERVAL", 5)))
