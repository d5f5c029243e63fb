"""Progress bars for long work: every bar of the package is made by :func:`progress_bar` (tqdm on stderr).

``TQDM_MININTERVAL`` (seconds between updates) overrides every bar's own interval, so a cluster log need not
fill with carriage-return lines; without it, a bar that does not write to a terminal (a rule's log file, a SLURM
log) updates at most every ``LOG_MININTERVAL`` seconds."""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

from aelpn.core.config import ConfigError

LOG_MININTERVAL = 30.0  # seconds between updates of a bar written to a file


def progress_bar(iterable=None, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)`` on stderr, with ``mininterval`` from ``TQDM_MININTERVAL`` when it is set,
    else at least ``LOG_MININTERVAL`` when stderr is not a terminal."""
    kwargs.setdefault("file", sys.stderr)
    env = os.environ.get("TQDM_MININTERVAL")
    if env is not None:
        try:
            kwargs["mininterval"] = float(env)
        except ValueError:
            raise ConfigError(f"environment variable TQDM_MININTERVAL={env!r}: expected seconds, e.g. 60") from None
    elif not (hasattr(kwargs["file"], "isatty") and kwargs["file"].isatty()):
        kwargs["mininterval"] = max(kwargs.get("mininterval", 0.1), LOG_MININTERVAL)
    return tqdm(iterable, **kwargs)
