"""Fetch BSDS500 from the first usable configured source into ``out_dir/images/{train,val,test}/*.jpg``
with a ``SHA256SUMS`` manifest and ``source.json``. The directory is built in a hidden temporary sibling
and renamed into place at the end, so an interrupted fetch leaves no half-filled output; the hidden folder of a
killed fetch (its process gone) is removed by the next fetch."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from aelpn.core.io import write_text
from aelpn.core.progress import progress_bar
from aelpn.data.download import download, file_digests
from aelpn.data.errors import DataError, IntegrityError, SourceUnavailable
from aelpn.data.extract import Archive, copy_hashing
from aelpn.data.layout import BSDS_COUNTS, IMAGES_DIR, locate_images

log = logging.getLogger(__name__)

SOURCE_JSON = "source.json"
MANIFEST = "SHA256SUMS"


def fetch(data_cfg: dict, out_dir: str | Path) -> Path:
    """Try ``data_cfg["sources"]`` in order and build ``out_dir`` from the first usable one.

    A ``path`` that does not exist and a ``url`` that cannot be reached are skipped (logged); a download
    that fails its checksum, an unsafe archive or a wrong layout/count stops with an error. Relative paths
    are resolved against the working directory. Returns ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(out_dir)
    tmp = _new_sibling(out_dir, "tmp")
    try:
        record = _first_usable(data_cfg["sources"], tmp)
        manifest = "".join(f"{digest}  {name}\n" for name, digest in sorted(record.pop("digests").items()))
        write_text(manifest, tmp / MANIFEST)
        record["checksum"] = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        record["manifest"] = MANIFEST
        write_text(json.dumps(record, indent=2) + "\n", tmp / SOURCE_JSON)
        _replace_dir(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("BSDS500 from %s in %s (%s)", record["location"], out_dir, record["checksum"])
    return out_dir


def read_source(images_dir: str | Path) -> dict:
    """The ``source.json`` record written by :func:`fetch` into ``images_dir``."""
    path = Path(images_dir) / SOURCE_JSON
    if not path.is_file():
        raise DataError(f"{path}: not found; is {images_dir} a directory written by 'aelpn data fetch'?")
    return json.loads(path.read_text())


def _first_usable(sources: list[dict], tmp: Path) -> dict:
    skipped = []
    for i, source in enumerate(sources):
        key = f"data.sources[{i}]"
        try:
            record = _from_path(source["path"], tmp) if "path" in source else _from_url(source, tmp)
        except SourceUnavailable as err:
            log.warning("%s skipped: %s", key, err)
            skipped.append(f"{key}: {err}")
            continue
        counts = {split: 0 for split in BSDS_COUNTS}
        for name in record["digests"]:
            counts[PurePosixPath(name).parts[1]] += 1
        return {"source": source, **record, "counts": counts, "skipped": skipped}
    raise DataError("no configured BSDS500 source could be used; tried:\n  " + "\n  ".join(skipped))


def _from_path(path: str, tmp: Path) -> dict:
    location = Path(path).expanduser()
    if not location.exists():
        raise SourceUnavailable(f"{path}: no such file or directory (resolved to {location.absolute()})")
    if location.is_dir():
        return _from_directory(location, tmp)
    return {"kind": "archive", "location": str(location.resolve()), **_from_archive(location, tmp)}


def _from_url(source: dict, tmp: Path) -> dict:
    url = source["url"]
    expected = {k: source[k] for k in ("size", "md5", "sha256") if k in source}
    downloads = tmp / ".download"
    downloads.mkdir(exist_ok=True)
    archive = downloads / (PurePosixPath(urlparse(url).path).name or "download")
    digests = download(url, archive, expected)
    record = _from_archive(archive, tmp, digests, where=url)
    shutil.rmtree(downloads)
    verified = [f"{k} {v}" for k, v in expected.items()]
    return {"kind": "download", "location": url, **record, "verified": verified}


def _from_archive(archive: Path, tmp: Path, digests: dict | None = None, where: str | None = None) -> dict:
    with Archive(archive, where) as a:
        splits = locate_images(a.files, a.name)
        targets = {name: _target(tmp, split, name) for split, names in splits.items() for name in names}
        written = a.extract(targets, desc=f"extract {archive.name}")
    return {
        "archive": digests or file_digests(archive),
        "digests": {_relative(targets[name], tmp): digest for name, digest in written.items()},
        "verified": [],
    }


def _from_directory(root: Path, tmp: Path) -> dict:
    names = [
        (Path(d) / f).relative_to(root.parent).as_posix() for d, _, files in os.walk(root) for f in files
    ]
    splits = locate_images(names, str(root))
    digests = {}
    for name in progress_bar([n for names in splits.values() for n in names], desc=f"copy {root.name}", unit="file"):
        target = _target(tmp, PurePosixPath(name).parts[-2], name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(root.parent / name, "rb") as src, open(target, "xb") as out:
            digests[_relative(target, tmp)] = copy_hashing(src, out)
    images_dir = root.parent / PurePosixPath(splits["train"][0]).parent.parent
    verified = _check_manifest(images_dir.parent / MANIFEST, digests)
    return {"kind": "directory", "location": str(root.resolve()), "digests": digests, "verified": verified}


def _check_manifest(path: Path, digests: dict[str, str]) -> list[str]:
    """Compare the copied images with a ``SHA256SUMS`` file beside their ``images`` folder, if present."""
    if not path.is_file():
        return []
    listed = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            listed[name.lstrip("*")] = digest
    wrong = [
        f"{name}: sha256 is {digest}, expected {listed.get(name, '(not listed)')}"
        for name, digest in sorted(digests.items())
        if listed.get(name) != digest
    ]
    if wrong:
        raise IntegrityError(f"{path}: images do not match their checksums:\n  " + "\n  ".join(wrong))
    return [f"{MANIFEST} of the source ({len(digests)} images)"]


def _target(tmp: Path, split: str, name: str) -> Path:
    return tmp / IMAGES_DIR / split / PurePosixPath(name).name


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())


def _new_sibling(out_dir: Path, kind: str) -> Path:
    """A new hidden directory ``.<name>.<host>-<pid>.<random>.<kind>`` beside ``out_dir`` (created with the
    umask's permissions, unlike mkdtemp); host and pid say whether its fetch is still running."""
    path = out_dir.parent / f".{out_dir.name}.{_host()}-{os.getpid()}.{secrets.token_hex(4)}.{kind}"
    path.mkdir()
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_siblings(out_dir: Path) -> list[Path]:
    """Remove the hidden folders of killed fetches into ``out_dir``: those of this host whose process is gone,
    and those without an owner (older versions). A running fetch's folder, or another host's, is kept."""
    owner = r"(?:(?P<host>[A-Za-z0-9-]+)-(?P<pid>\d+)\.)?"
    pattern = re.compile(rf"\.{re.escape(out_dir.name)}\.{owner}[0-9a-f]{{8}}\.(tmp|old)")
    removed = []
    for path in out_dir.parent.iterdir():
        m = pattern.fullmatch(path.name)
        if m and path.is_dir() and (m["pid"] is None or (m["host"] == _host() and not _alive(int(m["pid"])))):
            log.info("removing %s, left by a killed fetch", path)
            shutil.rmtree(path)
            removed.append(path)
    return removed


def _replace_dir(new: Path, out_dir: Path) -> None:
    """Rename ``new`` onto ``out_dir``, replacing an existing directory."""
    if out_dir.exists():
        old = _new_sibling(out_dir, "old")
        os.replace(out_dir, old / out_dir.name)
        os.replace(new, out_dir)
        shutil.rmtree(old)
    else:
        os.replace(new, out_dir)
