"""Atomic output: every file is written to a temporary sibling and renamed into place, so a killed
job never leaves a half-written file behind (the temporary a killed writer leaves is removed by the next
write of the same file)."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import xarray as xr

NETCDF_ENGINE = "netcdf4"
TEMPORARY_SUFFIX = ".tmp"
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``, on error removed.
    Temporaries of ``path`` left by a killed writer are removed first (each file has one writer: its job)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(_temporary_pattern(path)):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _temporary_pattern(path: Path) -> str:
    """The glob matching the temporaries ``atomic_path(path)`` creates (mkstemp's random part is 8 characters)."""
    return f".{glob.escape(path.name)}.{'?' * 8}{TEMPORARY_SUFFIX}"


INTEGER_FILL = -1


def write_netcdf(ds: xr.Dataset, path: str | Path, float32: bool = True,
                 integers: dict[str, str] | None = None) -> Path:
    """Write ``ds`` atomically as netCDF-4 (zlib, float variables as float32 unless ``float32`` is False).
    ``integers`` maps the variables that hold counts or flags (whole numbers, NaN where nothing ran) to their
    netCDF integer type (e.g. int32, int8): NaN is stored as the CF ``_FillValue`` -1, which xarray reads back as
    NaN. A value that is not a whole number is a ValueError."""
    integers = integers or {}
    encoding = {}
    for name, var in ds.data_vars.items():
        enc = {"zlib": True, "complevel": 4}
        if name in integers:
            values = np.asarray(var.values, dtype=float)
            finite = values[np.isfinite(values)]
            if np.any(finite != np.round(finite)):
                raise ValueError(f"variable '{name}' is stored as {integers[name]} but holds values that are not whole")
            enc.update(dtype=integers[name], _FillValue=INTEGER_FILL)
        elif float32 and var.dtype.kind == "f":
            enc["dtype"] = "float32"
        encoding[name] = enc
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine=NETCDF_ENGINE, encoding=encoding)
    return Path(path)


class DatasetError(ValueError):
    """A netCDF file that is missing or cannot be read; the message names it and says what to do."""


class OutputError(ValueError):
    """An output path that cannot be written (a directory where a file goes, a file where a directory goes, a
    folder that is read-only or missing on a read-only disk); found before any computation."""


def check_writable(path: str | Path, directory: bool = False) -> Path:
    """Raise OutputError naming ``path`` unless a writer can create it: it is not an existing directory (a file
    output) or an existing non-directory (a ``directory`` output), and its nearest existing ancestor is a directory
    in which a file can be created (tried with a temporary file, removed at once: permission bits do not tell for
    root or on a read-only mount). Nothing else is created."""
    path = Path(path)
    if directory and path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file, but this output is a directory; remove it or choose another path")
    if not directory and path.is_dir():
        raise OutputError(f"{path}: is a directory, but this output is a file; name a file (in it or elsewhere)")
    ancestor = path.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{path}: cannot be written: {ancestor} is a file, not a directory")
    try:
        fd, probe = tempfile.mkstemp(prefix=".aelpn-write-check.", dir=ancestor)
    except OSError as err:
        raise OutputError(f"{path}: cannot be written in {ancestor} ({err.strerror}); choose a writable "
                          "directory") from None
    os.close(fd)
    os.unlink(probe)
    return path


def read_netcdf(path: str | Path) -> xr.Dataset:
    """Open a netCDF file fully into memory and close it (no file handle is kept); a missing, truncated or
    non-netCDF file is a DatasetError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file; run snakemake to produce it (or check the path)")
    try:
        with xr.open_dataset(path, engine=NETCDF_ENGINE) as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetError(f"{path}: not a readable netCDF file ({first}); it is truncated or was not written by "
                           "aelpn: delete it and rerun snakemake to rewrite it") from None


def save_torch(obj, path: str | Path) -> Path:
    """torch.save atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def file_digest(path: str | Path) -> str:
    """First 16 hex digits of the file's sha256 (identifies the data a run was trained on)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return Path(path)
