"""Errors of the data stage. Each message names the file, URL or archive member at fault."""

from __future__ import annotations


class DataError(RuntimeError):
    """The data stage cannot produce a verified BSDS500 copy."""


class SourceUnavailable(DataError):
    """A configured source cannot be used (missing path, unreachable URL); the next source is tried."""


class IntegrityError(DataError):
    """A download is truncated or does not match its configured md5, sha256 or size; nothing is extracted."""


class UnsafeArchiveError(DataError):
    """An archive holds members that could write outside the target directory; nothing is extracted."""


class LayoutError(DataError):
    """A source has no unique ``images/{train,val,test}`` folder, or not the BSDS500 number of images."""
