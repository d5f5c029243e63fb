"""Safe extraction of zip and tar archives. Every member is checked before anything is written: absolute
paths, ``..`` components, symbolic and hard links, devices, fifos and other special members are refused
with an error naming them. Extraction then streams chosen regular files to explicit target paths."""

from __future__ import annotations

import hashlib
import re
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from aelpn.core.progress import progress_bar
from aelpn.data.errors import DataError, UnsafeArchiveError

_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_LISTED = 20


def _path_problem(name: str) -> str | None:
    """Why the member path ``name`` could escape the extraction directory, or None."""
    if not name:
        return "empty name"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "'..' in path"
    return None


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if stat.S_IFMT(mode) in (0, stat.S_IFREG):  # no file type recorded (not a Unix zip) or regular
        return "file"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return f"special file (mode {stat.filemode(mode)})"


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.isreg():
        return "file"
    if member.isdir():
        return "dir"
    if member.issym():
        return f"symbolic link to {member.linkname}"
    if member.islnk():
        return f"hard link to {member.linkname}"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "fifo"
    return f"unsupported member type {member.type!r}"


class Archive:
    """A zip or tar (optionally gzip/bzip2/xz compressed) archive whose members were all checked on opening.

    ``files`` lists the regular file members in archive order. Raises UnsafeArchiveError listing every
    unsafe member, DataError when the file is neither a zip nor a tar archive. Errors name the archive as
    ``name`` (default: its path)."""

    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path)
        self.name = name or str(self.path)
        try:
            entries = self._open()
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as err:
            self.close()
            raise DataError(f"{self.name}: corrupt archive ({err})") from err
        problems = []
        for name, kind, _ in entries:
            why = _path_problem(name) or (None if kind in ("file", "dir") else kind)
            if why:
                problems.append(f"{name!r}: {why}")
        if problems:
            self.close()
            more = [f"... and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else []
            raise UnsafeArchiveError(
                f"{self.name}: refusing to extract an archive with {len(problems)} unsafe member(s), "
                "nothing extracted:\n  " + "\n  ".join(problems[:MAX_LISTED] + more)
            )
        self._members = {name: handle for name, kind, handle in entries if kind == "file"}
        self.files = list(self._members)

    def _open(self) -> list[tuple]:
        """``(name, kind, handle)`` of every member; sets the zip or tar handle."""
        self._zip = self._tar = None
        if zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
            return [(i.filename, _zip_kind(i), i) for i in self._zip.infolist()]
        if tarfile.is_tarfile(self.path):
            self._tar = tarfile.open(self.path, "r:*")
            return [(m.name, _tar_kind(m), m) for m in self._tar.getmembers()]
        raise DataError(f"{self.name}: not a zip or tar archive")

    def extract(self, targets: dict[str, Path], desc: str = "extract") -> dict[str, str]:
        """Write each member ``name`` of ``targets`` to its target path (which must not exist yet), in
        archive order, and return ``{name: sha256 hex digest}`` of the written bytes."""
        missing = sorted(set(targets) - set(self._members))
        if missing:
            raise DataError(f"{self.name}: no regular file member {missing[0]!r}")
        digests = {}
        for name in progress_bar([n for n in self.files if n in targets], desc=desc, unit="file"):
            target = Path(targets[name])
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = self._members[name]
            try:
                source = self._zip.open(handle) if self._zip else self._tar.extractfile(handle)
                with source, open(target, "xb") as out:
                    digests[name] = copy_hashing(source, out)
            except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as err:
                raise DataError(f"{self.name}: corrupt member {name!r} ({err})") from err
        return digests

    def close(self) -> None:
        for a in (self._zip, self._tar):
            if a is not None:
                a.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def copy_hashing(source, out) -> str:
    """Copy file object ``source`` to ``out``; return the sha256 hex digest of the bytes copied."""
    h = hashlib.sha256()
    while chunk := source.read(1 << 20):
        h.update(chunk)
        out.write(chunk)
    return h.hexdigest()

