"""The real download path of `aelpn.data.fetch` against a loopback HTTP server: checksums verified before
extraction, truncation detected, unusable sources skipped in order."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from fake_bsds import BERKELEY_PREFIX, GITHUB_PREFIX, closed_port_url, files, serve, write_tgz, write_zip

from aelpn.data.fetch import fetch
from aelpn.data.errors import DataError, IntegrityError
from configs import job_slice


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """The two published layouts: GitHub mirror zip (with non-image extras) and Berkeley tgz."""
    root = tmp_path_factory.mktemp("archives")
    github = files(GITHUB_PREFIX, seed=1)
    extras = {
        f"{GITHUB_PREFIX}/train/Thumbs.db": b"not an image",
        "BSDS500-master/BSDS500/data/groundTruth/train/2.mat": b"segmentation",
    }
    berkeley = files(BERKELEY_PREFIX, seed=2)
    return {
        "master.zip": (write_zip(root / "master.zip", {**github, **extras}).read_bytes(), github),
        "BSR_bsds500.tgz": (write_tgz(root / "BSR_bsds500.tgz", berkeley).read_bytes(), berkeley),
    }


@pytest.fixture(scope="module")
def url(archives):
    with serve({f"/{name}": data for name, (data, _) in archives.items()}) as base:
        yield base


def _cfg(smoke_config, sources):
    """A data section with ``sources``, validated against the schema like a job's slice."""
    return job_slice(smoke_config, "data", data={"sources": sources})["data"]


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _assert_nothing_left(tmp_path):
    """No output and no temporary sibling (no partial download, no extracted file) remains."""
    assert list(tmp_path.iterdir()) == []


def test_zip_with_md5_is_downloaded_verified_and_extracted(tmp_path, url, archives, smoke_config, capsys):
    data, members = archives["master.zip"]
    out = fetch(_cfg(smoke_config, [{"url": f"{url}/master.zip", "md5": _md5(data)}]), tmp_path / "BSDS500")

    for name, content in members.items():
        split, fname = name.split("/")[-2:]
        assert (out / "images" / split / fname).read_bytes() == content
    assert sorted(p.name for p in out.iterdir()) == ["SHA256SUMS", "images", "source.json"]
    assert {s: len(list((out / "images" / s).iterdir())) for s in ("train", "val", "test")} == {
        "train": 200,
        "val": 100,
        "test": 200,
    }
    record = json.loads((out / "source.json").read_text())
    assert record["kind"] == "download" and record["location"] == f"{url}/master.zip"
    assert record["archive"] == {"size": len(data), "md5": _md5(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert record["verified"] == [f"md5 {_md5(data)}"]
    assert record["counts"] == {"train": 200, "val": 100, "test": 200}
    assert record["checksum"] == "sha256:" + hashlib.sha256((out / "SHA256SUMS").read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BSDS500"]
    assert "download master.zip" in capsys.readouterr().err


def test_tgz_with_size_is_downloaded_and_extracted(tmp_path, url, archives, smoke_config):
    data, members = archives["BSR_bsds500.tgz"]
    out = fetch(_cfg(smoke_config, [{"url": f"{url}/BSR_bsds500.tgz", "size": len(data)}]), tmp_path / "d")
    name, content = next(iter(members.items()))
    assert (out / "images" / name.split("/")[-2] / name.split("/")[-1]).read_bytes() == content
    assert json.loads((out / "source.json").read_text())["verified"] == [f"size {len(data)}"]


def test_wrong_md5_names_file_and_digest_and_extracts_nothing(tmp_path, url, smoke_config):
    wrong = "0" * 32
    with pytest.raises(IntegrityError) as err:
        fetch(_cfg(smoke_config, [{"url": f"{url}/master.zip", "md5": wrong}]), tmp_path / "BSDS500")
    assert "master.zip" in str(err.value) and f"expected {wrong}" in str(err.value)
    _assert_nothing_left(tmp_path)


def test_wrong_sha256_stops_before_later_sources(tmp_path, url, archives, smoke_config):
    data, _ = archives["BSR_bsds500.tgz"]
    sources = [
        {"url": f"{url}/BSR_bsds500.tgz", "sha256": "f" * 64},
        {"url": f"{url}/BSR_bsds500.tgz", "size": len(data)},
    ]
    with pytest.raises(IntegrityError, match="BSR_bsds500.tgz.*expected f{64}"):
        fetch(_cfg(smoke_config, sources), tmp_path / "BSDS500")
    _assert_nothing_left(tmp_path)


def test_size_check_detects_a_short_file(tmp_path, url, archives, smoke_config):
    data, _ = archives["master.zip"]
    with pytest.raises(IntegrityError, match=rf"master.zip.*truncated.*expected {len(data) + 1}"):
        fetch(_cfg(smoke_config, [{"url": f"{url}/master.zip", "size": len(data) + 1}]), tmp_path / "BSDS500")
    _assert_nothing_left(tmp_path)


def test_body_shorter_than_content_length_is_truncated(tmp_path, url, archives, smoke_config):
    data, _ = archives["master.zip"]
    with pytest.raises(IntegrityError, match=rf"master.zip.*truncated: {len(data) // 2} of {len(data)}"):
        fetch(_cfg(smoke_config, [{"url": f"{url}/truncated/master.zip", "md5": _md5(data)}]), tmp_path / "B")
    _assert_nothing_left(tmp_path)


def test_missing_path_and_unreachable_urls_are_skipped(tmp_path, url, archives, smoke_config, caplog):
    data, _ = archives["master.zip"]
    sources = [
        {"path": str(tmp_path / "absent")},
        {"url": closed_port_url(), "md5": _md5(data)},
        {"url": f"{url}/missing.zip", "md5": _md5(data)},
        {"url": f"{url}/master.zip", "md5": _md5(data)},
    ]
    with caplog.at_level(logging.WARNING, logger="aelpn.data"):
        out = fetch(_cfg(smoke_config, sources), tmp_path / "BSDS500")
    record = json.loads((out / "source.json").read_text())
    assert record["source"] == sources[3]
    assert [s.split(":")[0] for s in record["skipped"]] == [f"data.sources[{i}]" for i in range(3)]
    assert "no such file or directory" in record["skipped"][0]
    assert "cannot be reached" in record["skipped"][1] and "404" in record["skipped"][2]
    assert [r.message.split(" ")[0] for r in caplog.records] == [f"data.sources[{i}]" for i in range(3)]


def test_no_usable_source_lists_what_was_tried(tmp_path, smoke_config):
    sources = [{"path": str(tmp_path / "absent")}, {"url": closed_port_url(), "size": 1}]
    with pytest.raises(DataError, match=r"(?s)tried:.*data.sources\[0\].*absent.*data.sources\[1\].*reached"):
        fetch(_cfg(smoke_config, sources), tmp_path / "out" / "BSDS500")
    assert list((tmp_path / "out").iterdir()) == []


def test_existing_output_is_replaced(tmp_path, url, archives, smoke_config):
    data, _ = archives["master.zip"]
    out = tmp_path / "BSDS500"
    (out / "images").mkdir(parents=True)
    (out / "stale").write_text("old")
    fetch(_cfg(smoke_config, [{"url": f"{url}/master.zip", "md5": _md5(data)}]), out)
    assert not (out / "stale").exists() and (out / "source.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BSDS500"]
