"""Atomic writes: a write interrupted mid-way (an exception inside the writer, or the writing process killed)
leaves the previous file intact, and no temporary behind once the file is written again, for every writer."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest
import torch
import xarray as xr

from aelpn.report import style
from aelpn.core import io
from aelpn.models.files import save_model
from aelpn.models import build_model
from aelpn.training import state
from model_helpers import small_cfg


class Interrupted(Exception):
    pass


def _partial_then_raise(target_arg: int):
    """A stand-in serializer: writes a few bytes to its target (argument ``target_arg``), then raises."""
    def write(*args, **kwargs):
        Path(args[target_arg]).write_bytes(b"partial")
        raise Interrupted
    return write


def _model_writer(path):
    save_model(build_model("lpn", small_cfg(), 1, 8), path)


def _checkpoint_writer(path, step=1):
    model = torch.nn.Linear(2, 2)
    objects = {"model": model, "optimizer": torch.optim.SGD(model.parameters(), 0.1),
               "generator": torch.Generator().manual_seed(0)}
    state.save(path, fingerprint="f", step=step, objects=objects, log={"loss": [1.0] * step}, monitor={},
               recovery=state.NO_RECOVERY)


def _checkpoint_reader(path):
    """What a resumed run sees: the newest readable checkpoint (``state.load`` falls back to the previous one)."""
    saved = state.load(path, "f")
    return saved["step"], saved["log"]


def _netcdf_writer(path):
    io.write_netcdf(xr.Dataset({"v": ("i", np.arange(3.0))}), path)


def _text_writer(path):
    io.write_text("text\n", path)


def _figure_writer(path):
    style.savefig(matplotlib.figure.Figure(), path, path.with_suffix(".png"))


def _file_bytes(path):
    return path.read_bytes()


# writer, file name, what a reader gets from it, (object, attribute, index of the target argument) of the
# serializer the writer calls
WRITERS = {
    "model": (_model_writer, "model.pt", _file_bytes, (torch, "save", 1)),
    "checkpoint": (_checkpoint_writer, "model.checkpoint.pt", _checkpoint_reader, (torch, "save", 1)),
    "netcdf": (_netcdf_writer, "metrics.nc", _file_bytes, (xr.Dataset, "to_netcdf", 1)),
    "text": (_text_writer, "source.json", _file_bytes, (Path, "write_text", 0)),
    "figure": (_figure_writer, "figure.pdf", _file_bytes, (matplotlib.figure.Figure, "savefig", 1)),
}


def _hidden_temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(io.TEMPORARY_SUFFIX)]


@pytest.mark.parametrize("writer", WRITERS)
def test_an_exception_inside_the_writer_keeps_the_previous_file_and_no_temporary(writer, tmp_path, monkeypatch):
    write, name, read, (owner, attribute, target) = WRITERS[writer]
    path = tmp_path / name
    write(path)
    previous = read(path)
    monkeypatch.setattr(owner, attribute, _partial_then_raise(target))
    with pytest.raises(Interrupted):
        write(path)
    monkeypatch.undo()
    assert read(path) == previous
    assert _hidden_temporaries(tmp_path) == []
    assert not any(p.read_bytes() == b"partial" for p in tmp_path.iterdir()), "a partial file is left"


def _write_large(kind: str, path: Path, started) -> None:
    """The killed process: writes 64 MB of float64 through the atomic writer of ``kind``."""
    data = np.random.default_rng(0).random(8_000_000)
    started.set()
    if kind == "torch":
        io.save_torch({"weights": torch.from_numpy(data)}, path)
    else:
        io.write_netcdf(xr.Dataset({"v": ("i", data)}), path, float32=False)


def _temporaries(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p != path]


@pytest.mark.parametrize("kind", ["torch", "netcdf"])
def test_a_killed_writer_keeps_the_previous_file_and_the_next_write_removes_its_temporary(kind, tmp_path):
    """SIGKILL a process while it writes a 64 MB file: the previous file is untouched; the temporary the kill
    left (no code runs after SIGKILL) is removed by the next write of the same file."""
    path = tmp_path / ("weights.pt" if kind == "torch" else "metrics.nc")
    small = (lambda: io.save_torch({"weights": torch.zeros(3)}, path)) if kind == "torch" else \
        (lambda: io.write_netcdf(xr.Dataset({"v": ("i", np.zeros(3))}), path))
    small()
    previous = path.read_bytes()
    fork = multiprocessing.get_context("fork")  # a copy of this process: no second import of torch
    started = fork.Event()
    child = fork.Process(target=_write_large, args=(kind, path, started))
    child.start()
    try:
        assert started.wait(120), "the writer did not start"
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size > 1 << 20 for p in _temporaries(path) if p.exists()):
            assert child.is_alive(), "the writer finished before it could be killed"
            assert time.monotonic() < deadline, "no temporary grew within 120 s"
            time.sleep(0.005)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.join()
    assert child.exitcode == -signal.SIGKILL
    assert path.read_bytes() == previous
    assert _temporaries(path), "the kill left no temporary: it did not interrupt the write"
    small()
    assert _temporaries(path) == []
