"""Seeds derived from the master seed and a stage name, stable across Python runs and machines
(sha256, never Python's salted ``hash``)."""

from __future__ import annotations

import hashlib

import torch


def derive_seed(seed: int, *names: str) -> int:
    """A 63-bit seed: the first 8 bytes of sha256("seed/name1/name2/...") read little-endian, top bit cleared."""
    blob = "/".join([str(int(seed)), *map(str, names)]).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "little") & (2**63 - 1)


def generator(seed: int, *names: str) -> torch.Generator:
    """A CPU torch.Generator seeded with ``derive_seed(seed, *names)``."""
    return torch.Generator().manual_seed(derive_seed(seed, *names))

