"""Safe extraction and layout discovery: unsafe archive members are refused before anything is written,
the images folder is found in every published layout, and local copies are checked against SHA256SUMS."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import tarfile
import zipfile

import pytest
from fake_bsds import BERKELEY_PREFIX, GITHUB_PREFIX, files, serve, write_dir, write_tgz, write_zip

from aelpn.data.fetch import fetch
from aelpn.data.errors import DataError, IntegrityError, LayoutError, UnsafeArchiveError
from aelpn.data.extract import Archive
from aelpn.data.layout import locate_images


@pytest.fixture(scope="module")
def github():
    return files(GITHUB_PREFIX)


@pytest.fixture(scope="module")
def berkeley():
    return files(BERKELEY_PREFIX)


def _zip_with(path, members, evil):
    """A zip of ``members`` followed by one unsafe member ``(kind, name)``."""
    write_zip(path, members)
    kind, name = evil
    with zipfile.ZipFile(path, "a") as z:
        info = zipfile.ZipInfo(name)
        if kind == "symlink":
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
        elif kind == "fifo":
            info.create_system = 3
            info.external_attr = (stat.S_IFIFO | 0o644) << 16
            z.writestr(info, b"")
        else:
            z.writestr(info, b"evil")
    return path


def _tgz_with(path, members, evil):
    """A gzipped tar of ``members`` followed by one unsafe member ``(kind, name)``."""
    write_tgz(path, members)
    kind, name = evil
    info = tarfile.TarInfo(name)
    data = b""
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
    elif kind == "device":
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    elif kind == "fifo":
        info.type = tarfile.FIFOTYPE
    else:
        data = b"evil"
        info.size = len(data)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as t, tarfile.open(path, "r:gz") as old:
        for m in old.getmembers():
            t.addfile(m, old.extractfile(m))
        t.addfile(info, io.BytesIO(data))
    path.write_bytes(raw.getvalue())
    return path


ZIP_CASES = [
    (("file", "../evil"), "'..' in path"),
    (("file", f"{GITHUB_PREFIX}/../../../../../evil"), "'..' in path"),
    (("file", "/tmp/evil"), "absolute path"),
    (("file", "C:/evil"), "absolute path"),
    (("symlink", f"{GITHUB_PREFIX}/train/link.jpg"), "symbolic link"),
    (("fifo", "fifo"), "special file"),
]
TAR_CASES = [
    (("file", "../evil"), "'..' in path"),
    (("file", "/tmp/evil"), "absolute path"),
    (("symlink", f"{BERKELEY_PREFIX}/train/link.jpg"), "symbolic link to /etc/passwd"),
    (("hardlink", "hard"), "hard link to /etc/passwd"),
    (("device", "null"), "device"),
    (("fifo", "fifo"), "fifo"),
]


@pytest.mark.parametrize(("evil", "reason"), ZIP_CASES, ids=[c[0][1].split("/")[-1] + c[0][0] for c in ZIP_CASES])
def test_unsafe_zip_member_is_refused_and_nothing_extracted(tmp_path, github, evil, reason):
    archive = _zip_with(tmp_path / "bsds.zip", github, evil)
    with pytest.raises(UnsafeArchiveError) as err:
        fetch({"sources": [{"path": str(archive)}]}, tmp_path / "out" / "BSDS500")
    assert str(archive) in str(err.value) and f"{evil[1]!r}: {reason}" in str(err.value)
    assert "nothing extracted" in str(err.value)
    assert list((tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bsds.zip", "out"]


@pytest.mark.parametrize(("evil", "reason"), TAR_CASES, ids=[c[0][1].split("/")[-1] + c[0][0] for c in TAR_CASES])
def test_unsafe_tar_member_is_refused_and_nothing_extracted(tmp_path, berkeley, evil, reason):
    archive = _tgz_with(tmp_path / "bsds.tgz", berkeley, evil)
    with pytest.raises(UnsafeArchiveError) as err:
        fetch({"sources": [{"path": str(archive)}]}, tmp_path / "out" / "BSDS500")
    assert f"{evil[1]!r}: {reason}" in str(err.value)
    assert list((tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bsds.tgz", "out"]


def test_downloaded_unsafe_archive_with_right_checksum_is_refused(tmp_path, github, smoke_config):
    data = _zip_with(tmp_path / "evil.zip", github, ("file", "../../evil")).read_bytes()
    (tmp_path / "evil.zip").unlink()
    with serve({"/evil.zip": data}) as base:
        source = {"url": f"{base}/evil.zip", "md5": hashlib.md5(data).hexdigest()}
        with pytest.raises(UnsafeArchiveError, match=rf"(?s)^{base}/evil.zip: .*'\.\./\.\./evil': '\.\.' in path"):
            fetch({"sources": [source]}, tmp_path / "out" / "BSDS500")
    assert list((tmp_path / "out").iterdir()) == []


def test_corrupt_local_archives_are_clear_errors(tmp_path, berkeley):
    data = write_tgz(tmp_path / "b.tgz", berkeley).read_bytes()
    (tmp_path / "b.tgz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=rf"{tmp_path / 'b.tgz'}: corrupt"):
        fetch({"sources": [{"path": str(tmp_path / "b.tgz")}]}, tmp_path / "out")
    (tmp_path / "b.txt").write_text("plain text")
    with pytest.raises(DataError, match=rf"{tmp_path / 'b.txt'}: not a zip or tar archive"):
        fetch({"sources": [{"path": str(tmp_path / "b.txt")}]}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_archive_lists_and_extracts_regular_files_only(tmp_path):
    members = {"top/a.txt": b"alpha", "top/sub/b.bin": bytes(range(256))}
    archive = write_zip(tmp_path / "a.zip", members)
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("top/empty/", b"")
    with Archive(archive) as a:
        assert a.files == list(members)
        digests = a.extract({"top/sub/b.bin": tmp_path / "x" / "b"})
        with pytest.raises(FileExistsError):
            a.extract({"top/sub/b.bin": tmp_path / "x" / "b"})
    assert (tmp_path / "x" / "b").read_bytes() == members["top/sub/b.bin"]
    assert digests == {"top/sub/b.bin": hashlib.sha256(members["top/sub/b.bin"]).hexdigest()}
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["b"]


def test_local_zip_and_tgz_in_published_layouts_are_found(tmp_path, github, berkeley):
    zip_out = fetch({"sources": [{"path": str(write_zip(tmp_path / "m.zip", github))}]}, tmp_path / "z")
    tgz = write_tgz(tmp_path / "b.tgz", berkeley)
    tgz_out = fetch({"sources": [{"path": str(tgz)}]}, tmp_path / "t")
    for out, archive in ((zip_out, tmp_path / "m.zip"), (tgz_out, tgz)):
        record = json.loads((out / "source.json").read_text())
        assert record["kind"] == "archive" and record["location"] == str(archive.resolve())
        assert record["archive"]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
        assert record["counts"] == {"train": 200, "val": 100, "test": 200}


def test_local_directory_is_copied_and_checked_against_its_sha256sums(tmp_path):
    members = files("images")
    root = write_dir(tmp_path / "copy", members)
    sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in sorted(members.items()))
    (root / "SHA256SUMS").write_text(sums)
    out = fetch({"sources": [{"path": str(root)}]}, tmp_path / "out")
    record = json.loads((out / "source.json").read_text())
    assert record["verified"] == ["SHA256SUMS of the source (500 images)"]
    assert (out / "SHA256SUMS").read_text() == sums
    assert record["checksum"] == "sha256:" + hashlib.sha256(sums.encode()).hexdigest()

    first = sorted(members)[0]
    (root / first).write_bytes(b"tampered")
    expected = hashlib.sha256(members[first]).hexdigest()
    with pytest.raises(IntegrityError, match=rf"(?s)SHA256SUMS.*{first}: sha256 is .*, expected {expected}"):
        fetch({"sources": [{"path": str(root)}]}, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_images_folder_itself_is_a_valid_directory_source(tmp_path):
    root = write_dir(tmp_path / "data", files("images"))
    out = fetch({"sources": [{"path": str(root / "images")}]}, tmp_path / "out")
    assert json.loads((out / "source.json").read_text())["verified"] == []


def test_layout_errors_name_the_source():
    names = list(files("a/images"))
    assert locate_images(names + ["a/images/train/Thumbs.db"], "src")["train"][0] == "a/images/train/1.jpg"
    with pytest.raises(LayoutError, match=r"src: several .*a/images, b/images"):
        locate_images(names + list(files("b/images")), "src")
    with pytest.raises(LayoutError, match=r"src: not the BSDS500 image counts: val: 99 \(expected 100\)"):
        locate_images([n for n in names if not n.endswith("/val/300.jpg")], "src")
    with pytest.raises(LayoutError, match=r"src: no 'images/\{train,val,test\}' folder"):
        locate_images([n for n in names if "/test/" not in n], "src")
