"""Download one file with a progress bar and verify it against its configured md5, sha256 or byte size
before anything else reads it. A failed or mismatching download is deleted."""

from __future__ import annotations

import hashlib
import http.client
import logging
import urllib.error
import urllib.request
from pathlib import Path

from aelpn import __version__
from aelpn.core.progress import progress_bar
from aelpn.data.errors import IntegrityError, SourceUnavailable

log = logging.getLogger(__name__)

CHUNK = 1 << 20
TIMEOUT = 60.0
ALGORITHMS = ("md5", "sha256")


def download(url: str, dest: str | Path, expected: dict, timeout: float = TIMEOUT) -> dict:
    """Stream ``url`` to ``dest`` and return its ``{"size", "md5", "sha256"}``.

    ``expected`` holds any of ``size`` (bytes), ``md5``, ``sha256``. Raises SourceUnavailable when the URL
    cannot be opened (network or HTTP error), IntegrityError when the body is shorter than announced,
    interrupted, or differs from ``expected``; in both cases ``dest`` does not exist afterwards."""
    dest = Path(dest)
    request = urllib.request.Request(url, headers={"User-Agent": f"aelpn/{__version__}"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise SourceUnavailable(f"{url}: cannot be reached (HTTP {err.code} {err.reason})") from err
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        raise SourceUnavailable(f"{url}: cannot be reached ({getattr(err, 'reason', err)})") from err
    try:
        with response:
            announced = response.headers.get("Content-Length")
            announced = int(announced) if announced and announced.isdigit() else None
            actual = _stream(response, dest, announced or expected.get("size"), url)
        if announced is not None and actual["size"] != announced:
            raise IntegrityError(
                f"{dest.name} from {url} is truncated: {actual['size']} of {announced} announced bytes "
                "(the partial download was deleted)"
            )
        verify(actual, expected, f"{dest.name} from {url}")
        log.info("%s: %d bytes from %s, md5 %s, sha256 %s", dest, actual["size"], url, actual["md5"], actual["sha256"])
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return actual


def _stream(response, dest: Path, total: int | None, url: str) -> dict:
    hashes = {a: hashlib.new(a) for a in ALGORITHMS}
    size = 0
    with open(dest, "wb") as out, progress_bar(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"download {dest.name}"
    ) as bar:
        while True:
            try:
                chunk = response.read(CHUNK)
            except (http.client.HTTPException, OSError) as err:
                raise IntegrityError(f"{dest.name} from {url}: interrupted after {size} bytes ({err})") from err
            if not chunk:
                break
            out.write(chunk)
            for h in hashes.values():
                h.update(chunk)
            size += len(chunk)
            bar.update(len(chunk))
    return {"size": size, **{a: h.hexdigest() for a, h in hashes.items()}}


def file_digests(path: str | Path) -> dict:
    """``{"size", "md5", "sha256"}`` of a local file."""
    hashes = {a: hashlib.new(a) for a in ALGORITHMS}
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashes.values():
                h.update(chunk)
            size += len(chunk)
    return {"size": size, **{a: h.hexdigest() for a, h in hashes.items()}}


def verify(actual: dict, expected: dict, what: str) -> None:
    """Raise IntegrityError naming ``what`` and the expected value for every configured check
    (size, md5, sha256) that ``actual`` fails."""
    wrong = [
        f"{key} is {actual[key]}, expected {expected[key]}"
        for key in ("size", *ALGORITHMS)
        if key in expected and actual[key] != expected[key]
    ]
    if wrong:
        kind = "truncated or corrupt" if "size" in expected and actual["size"] < expected["size"] else "corrupt"
        raise IntegrityError(f"{what}: {kind} download (deleted): " + "; ".join(wrong))

