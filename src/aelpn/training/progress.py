"""Progress bars for long work: tqdm on stderr whose refresh interval honours ``TQDM_MININTERVAL`` (seconds;
default 1), so that cluster logs, which keep every carriage-return line, stay short."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

DEFAULT_MININTERVAL = 1.0


def mininterval() -> float:
    """Seconds between refreshes: ``TQDM_MININTERVAL`` if set, else DEFAULT_MININTERVAL."""
    value = os.environ.get("TQDM_MININTERVAL")
    return DEFAULT_MININTERVAL if value in (None, "") else float(value)


def progress(total: int, desc: str, initial: int = 0) -> tqdm:
    """A progress bar over ``total`` steps, starting at ``initial`` (a resumed run)."""
    return tqdm(total=total, initial=initial, desc=desc, file=sys.stderr, mininterval=mininterval(),
                dynamic_ncols=True)
