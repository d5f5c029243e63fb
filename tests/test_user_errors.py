"""The error tier: every user error of issue 37 (outputs that cannot be written, broken or mismatched model files,
bad inverse/prox1d inputs, config problems, claims given a file of the wrong kind) is exactly one line on stderr
naming the file or key, exit status 2, and (outputs) found before any computation starts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import yaml

from aelpn.cli import build_parser, main
from aelpn.core.config import ConfigError, load, select
from aelpn.core.slices import sections
from aelpn.models.files import read_model_file, save_model
from configs import command_slice, config_path
from model_helpers import image_model, model_1d
from test_cli_errors import JOB_ARGUMENTS

# The commands whose CLI handler (not aelpn.core.commands._call_library) starts the work: the function each calls.
HANDLED = {
    "data fetch": "aelpn.data.fetch:fetch",
    "data crops": "aelpn.data.crops:make_crops",
    "evaluate noise_sweep": "aelpn.sweeps.evaluate:run_sweep",
    "evaluate affine_sweep": "aelpn.sweeps.evaluate:run_sweep",
    "combine noise_sweep": "aelpn.sweeps.combine:combine_sweep",
    "combine affine_sweep": "aelpn.sweeps.combine:combine_sweep",
    "claims": "aelpn.claims:run_claims",
}


def _one_line(capsys, *names: str) -> str:
    """The one line on stderr (progress bars and log records aside), holding every name."""
    stderr = capsys.readouterr().err
    lines = [line for line in stderr.splitlines() if line.strip() and "%|" not in line and not line.startswith(
        ("INFO ", "WARNING "))]
    assert len(lines) == 1 and lines[0].startswith("aelpn: "), stderr
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


def _slice(cfg: dict, command: str) -> str:
    out = command_slice(cfg, command)
    if "compute" in out:
        out["compute"] = dict(out["compute"], device="cpu")
    return json.dumps(out)


# ---- outputs that cannot be written: found before the work

def _sentinel(monkeypatch, command: str) -> None:
    """Make the function the command runs fail loudly: the output check must stop the command before it."""
    args = build_parser().parse_args([*command.split(), *JOB_ARGUMENTS[command], "--config", "{}"])
    module, function = (HANDLED.get(command) or args.library).split(":")

    def started(*_, **__):
        raise AssertionError(f"{command}: the computation started before its outputs were checked")

    monkeypatch.setattr(f"{module}.{function}", started)


def _outputs(command: str) -> list[tuple[str, bool]]:
    """(option, is a directory) of each output the command writes."""
    args = build_parser().parse_args([*command.split(), *JOB_ARGUMENTS[command], "--config", "{}"])
    return [("--" + dest.replace("_", "-"), directory) for dest, directory in args.outputs]


def _with(arguments: list[str], option: str, value: str) -> list[str]:
    out = list(arguments)
    out[out.index(option) + 1] = value
    return out


def test_every_command_that_writes_declares_its_outputs():
    for command in JOB_ARGUMENTS:
        flags = [a for a in JOB_ARGUMENTS[command] if a in ("--out", "--train-log")]
        assert sorted(flag for flag, _ in _outputs(command)) == sorted(flags), command


@pytest.mark.parametrize("command", sorted(JOB_ARGUMENTS))
def test_an_output_of_the_wrong_type_stops_before_the_work(smoke_config, tmp_path, capsys, monkeypatch, command):
    """A file output naming a directory, a directory output naming a file, an output below a file."""
    _sentinel(monkeypatch, command)
    folder, plain = tmp_path / "folder", tmp_path / "plain.nc"
    folder.mkdir()
    plain.write_text("a file\n")
    for option, directory in _outputs(command):
        for bad, why in ((plain if directory else folder, "is a file" if directory else "is a directory"),
                         (plain / "below.nc", f"{plain} is a file, not a directory")):
            arguments = _with(JOB_ARGUMENTS[command], option, str(bad))
            assert main([*command.split(), *arguments, "--config", _slice(smoke_config, command)]) == 2
            _one_line(capsys, "OutputError", str(bad), why)
    assert plain.read_text() == "a file\n" and list(folder.iterdir()) == []


def test_an_output_on_an_unwritable_path_stops_before_training(smoke_config, tmp_path, capsys, monkeypatch):
    """/proc takes no new files (whoever runs the test, root included): train proxnet stops before its step 0."""
    command = "train proxnet"
    _sentinel(monkeypatch, command)
    for option in ("--out", "--train-log"):
        arguments = _with(JOB_ARGUMENTS[command], option, "/proc/aelpn-cannot-write/out")
        assert main([*command.split(), *arguments, "--config", _slice(smoke_config, command)]) == 2
        _one_line(capsys, "/proc/aelpn-cannot-write/out", "cannot be written in /proc")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only directory")
def test_an_output_in_a_read_only_directory_stops_before_the_work(smoke_config, tmp_path, capsys, monkeypatch):
    command = "evaluate noise_sweep"
    _sentinel(monkeypatch, command)
    read_only = tmp_path / "read_only"
    read_only.mkdir()
    read_only.chmod(0o555)
    arguments = _with(JOB_ARGUMENTS[command], "--out", str(read_only / "o.nc"))
    assert main([*command.split(), *arguments, "--config", _slice(smoke_config, command)]) == 2
    _one_line(capsys, str(read_only / "o.nc"), "cannot be written")


def test_an_oserror_on_a_named_path_is_one_line(smoke_config, tmp_path, capsys, monkeypatch):
    """An OSError that the check cannot foresee (the disk fills up) on a path the user named: one line, exit 2."""
    import aelpn.data.fetch

    out = tmp_path / "BSDS500"

    def disk_full(*_):
        raise OSError(28, "No space left on device", str(out))

    monkeypatch.setattr(aelpn.data.fetch, "fetch", disk_full)
    assert main(["data", "fetch", "--out", str(out), "--config", _slice(smoke_config, "data fetch")]) == 2
    _one_line(capsys, str(out), "No space left on device")


def test_an_oserror_elsewhere_is_not_hidden(smoke_config, tmp_path, monkeypatch):
    import aelpn.data.fetch

    def bug(*_):
        raise OSError(2, "No such file or directory", "/nonexistent/aelpn-internal")

    monkeypatch.setattr(aelpn.data.fetch, "fetch", bug)
    with pytest.raises(OSError):
        main(["data", "fetch", "--out", str(tmp_path / "B"), "--config", _slice(smoke_config, "data fetch")])


# ---- model files

@pytest.fixture
def lpn_file(tmp_path) -> Path:
    return save_model(image_model("lpn", channels=3, size=16).float(), tmp_path / "good" / "lpn" / "model.pt",
                      extra={"sigma": 0.1, "train_seconds": 1.0, "device": "cpu", "steps": 1})


def _altered(lpn_file: Path, tmp_path: Path, change) -> Path:
    payload = read_model_file(lpn_file)
    path = tmp_path / "altered" / "lpn" / "model.pt"
    path.parent.mkdir(parents=True)
    torch.save(change(payload), path)
    return path


def _without(mapping: dict, key: str) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def _drop_first_weight(payload: dict) -> dict:
    state = dict(payload["state_dict"])
    state.pop("core.lin0.weight")
    return {**payload, "state_dict": state}


def _wrong_shape(payload: dict) -> dict:
    state = dict(payload["state_dict"])
    state["core.lin0.weight"] = torch.zeros(1, 1, 3, 3)
    return {**payload, "state_dict": state}


def _sweep(smoke_config, tmp_path, model: Path, crops: Path) -> list[str]:
    return ["evaluate", "noise_sweep", "--config", _slice(smoke_config, "evaluate noise_sweep"), "--variant", "lpn",
            "--model", str(model), "--crops", str(crops), "--out", str(tmp_path / "sweep.nc")]


@pytest.mark.parametrize("change, message", [
    (lambda p: _without(p, "version"), "without an integer 'version' (got None)"),
    (lambda p: {**p, "version": "2"}, "without an integer 'version' (got '2')"),
    (lambda p: _without(p, "kind"), "without a 'kind'"),
    (lambda p: {**p, "spec": _without(p["spec"], "kind")}, "spec of this proxnet model file lacks the key 'kind'"),
    (_drop_first_weight, "weights do not fit the network its spec describes (missing: core.lin0.weight)"),
    (_wrong_shape, "wrong shape: core.lin0.weight (1, 1, 3, 3) instead of"),
])
def test_a_broken_model_file_is_one_line(smoke_config, tmp_path, capsys, crops_file, lpn_file, change, message):
    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    model = _altered(lpn_file, tmp_path, change)
    assert main(_sweep(smoke_config, tmp_path, model, crops)) == 2
    _one_line(capsys, "ModelFileError", str(model), message)
    assert not (tmp_path / "sweep.nc").exists()


class _RunsCode:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["AELPN_TEST_SENTINEL"]),))


def test_a_pickle_that_would_run_code_is_refused_as_untrusted(smoke_config, tmp_path, capsys, crops_file,
                                                              monkeypatch):
    sentinel = tmp_path / "code_ran"
    monkeypatch.setenv("AELPN_TEST_SENTINEL", str(sentinel))
    model = tmp_path / "lpn" / "model.pt"
    model.parent.mkdir()
    torch.save({"format": "aelpn-model", "version": 2, "payload": _RunsCode()}, model)
    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    assert main(_sweep(smoke_config, tmp_path, model, crops)) == 2
    err = _one_line(capsys, str(model), "refused as untrusted content")
    assert "corrupt" not in err and not sentinel.exists()


@pytest.mark.parametrize("command", ["evaluate noise_sweep", "evaluate jacobian"])
def test_a_model_of_another_crop_size_is_one_line(smoke_config, tmp_path, capsys, crops_file, lpn_file, command):
    """The proximal networks are built for one image size (the head's kernel covers the whole map)."""
    crops = crops_file(tmp_path / "test32.nc", "test", 3, 32)
    if command == "evaluate noise_sweep":
        argv = _sweep(smoke_config, tmp_path, lpn_file, crops)
    else:
        models = [str(lpn_file)] * len(smoke_config["model"]["variants"])
        argv = ["evaluate", "jacobian", "--config", _slice(smoke_config, command), "--crops", str(crops), "--out",
                str(tmp_path / "j.nc"), *models]
    assert main(argv) == 2
    _one_line(capsys, str(lpn_file), "trained on 16x16 crops, given 32x32 crops")


def test_a_model_of_other_channels_is_one_line(smoke_config, tmp_path, capsys, crops_file):
    gray = save_model(image_model("lpn", channels=1, size=16).float(), tmp_path / "lpn" / "model.pt",
                      extra={"sigma": 0.1})
    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    assert main(_sweep(smoke_config, tmp_path, gray, crops)) == 2
    _one_line(capsys, str(gray), "a model of 1-channel images, given 3-channel crops")


@pytest.fixture
def lpn_1d_file(tmp_path) -> Path:
    return save_model(model_1d("lpn").float(), tmp_path / "one_d" / "lpn" / "model.pt",
                      extra={"sigma": 0.1, "variant": "lpn", "train_seconds": 1.0, "device": "cpu", "steps": 1})


def test_a_1d_model_used_as_an_image_model_is_one_line(smoke_config, tmp_path, capsys, crops_file, lpn_1d_file):
    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    assert main(_sweep(smoke_config, tmp_path, lpn_1d_file, crops)) == 2
    _one_line(capsys, str(lpn_1d_file), "a 1-D model", "not an image model")


def test_an_image_model_given_to_prox1d_is_one_line(smoke_config, tmp_path, capsys, lpn_file):
    argv = ["evaluate", "prox1d", "--config", _slice(smoke_config, "evaluate prox1d"), "--out",
            str(tmp_path / "p.nc"), str(lpn_file)]
    assert main(argv) == 2
    _one_line(capsys, str(lpn_file), "not a 1-D model")


# ---- the inverse stage

def _inverse(smoke_config, tmp_path, crops, algorithm, problem, priors, **inverse) -> list[str]:
    cfg = json.loads(_slice(smoke_config, "evaluate inverse"))
    cfg["inverse"].update(inverse)
    return ["evaluate", "inverse", "--config", json.dumps(cfg), "--algorithm", algorithm, "--problem", problem,
            "--crops", str(crops), "--prior", *map(str, priors), "--out", str(tmp_path / "inverse.nc")]


def test_an_unknown_problem_is_one_line(smoke_config, tmp_path, capsys, crops_file, lpn_file):
    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    assert main(_inverse(smoke_config, tmp_path, crops, "pnp_admm", "blur9", [lpn_file])) == 2
    _one_line(capsys, "config key 'inverse.problems.blur9'", "no such problem")


@pytest.mark.parametrize("case", ["count", "proxnet as denoiser", "1-D prior"])
def test_a_wrong_prior_is_one_line(smoke_config, tmp_path, capsys, crops_file, lpn_file, lpn_1d_file, case):
    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    problem = next(iter(smoke_config["inverse"]["problems"]))
    algorithm, priors, variants, message = {
        "count": ("pnp_admm", [lpn_file], None, "one model per variant"),
        "proxnet as denoiser": ("diffpir", [lpn_file], None, "a proxnet model file, but a denoiser is expected"),
        "1-D prior": ("pnp_admm", [lpn_1d_file], ["lpn"], "a 1-D model"),
    }[case]
    argv = _inverse(smoke_config, tmp_path, crops, algorithm, problem, priors, variants=variants)
    assert main(argv) == 2
    _one_line(capsys, str(priors[0]), message)


def test_a_negative_thread_count_is_one_line(capsys):
    assert main(["--threads", "-1", "config", "validate", str(config_path("quick.yaml"))]) == 2
    _one_line(capsys, "--threads -1")


# ---- configs

def _config_file(tmp_path, cfg: dict | str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    return path


def test_missing_keys_are_each_named_once(smoke_config, tmp_path, capsys):
    del smoke_config["data"], smoke_config["compute"]["device"]
    assert main(["config", "validate", str(_config_file(tmp_path, smoke_config))]) == 2
    err = capsys.readouterr().err
    assert err.count("config key 'data': missing") == 1 and err.count("config key 'compute.device': missing") == 1
    assert len(err.strip().splitlines()) == 3, err  # the heading and one line per problem


def test_a_config_of_only_the_seed_names_each_missing_section_once(tmp_path, capsys):
    assert main(["config", "validate", str(_config_file(tmp_path, "seed: 0\n"))]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    required = [k for k in yaml.safe_load(config_path("quick.yaml").read_text()) if k != "seed"]
    assert lines[0] == "aelpn: invalid configuration:" and len(lines) == 1 + len(required), lines
    assert sorted(line.split("'")[1] for line in lines[1:]) == sorted(required)


def test_a_duplicate_key_is_refused(tmp_path, capsys):
    text = config_path("smoke.yaml").read_text()
    path = _config_file(tmp_path, text + "seed: 7\n")
    assert main(["config", "validate", str(path)]) == 2
    err = _one_line(capsys, str(path), "duplicate key 'seed'")
    assert f"line {len(text.splitlines()) + 1}" in err


def test_a_nested_duplicate_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="duplicate key 'device' at line 3"):
        load(_config_file(tmp_path, "compute:\n  device: cpu\n  device: cuda\n"), partial=True)


def test_a_float_without_a_dot_is_a_number(smoke_config, tmp_path):
    """YAML 1.1 reads 1e-3 as the string '1e-3'; the config loader reads it as the number a user means (as YAML 1.2
    and JSON do), and leaves integers, quoted strings and the usual floats as they are."""
    text = config_path("smoke.yaml").read_text()
    assert "  lrs: [1.0e-3, 1.0e-4]\n" in text and "\nseed: 0\n" in text
    text = text.replace("  lrs: [1.0e-3, 1.0e-4]\n", "  lrs: [1e-3, 2E-4]\n")
    cfg = load(_config_file(tmp_path, text))
    assert cfg["prox1d"]["lrs"] == [1e-3, 2e-4] and all(type(v) is float for v in cfg["prox1d"]["lrs"])
    assert type(cfg["seed"]) is int and cfg["train"]["lr_pretrain"] == smoke_config["train"]["lr_pretrain"]
    with pytest.raises(ConfigError, match="seed"):  # a quoted number stays a string
        load(_config_file(tmp_path, text.replace("\nseed: 0\n", "\nseed: '1e3'\n")))


def test_a_float_read_as_a_string_says_how_to_write_it(smoke_config):
    """The workflow validates the config Snakemake read (YAML 1.1): there 1e-3 is a string; the message says how to
    write it."""
    smoke_config["prox1d"]["lrs"] = ["1e-3", 1e-4]
    with pytest.raises(ConfigError, match=r"'prox1d.lrs.0': '1e-3' is not of type 'number'; write 1.0e-03 "):
        load(smoke_config)


# ---- claims given a file of the wrong kind

@pytest.mark.parametrize("given", ["per-job sweep", "crops", "untitled"])
def test_claims_refuse_a_file_of_another_kind(smoke_config, tmp_path, capsys, crops_file, lpn_file, given):
    """A per-job noise sweep (its title says so), crops, or a file without an aelpn title that lacks the dataset's
    variable: one line naming it, before any claim is evaluated (not every claim 'not measured', exit 0)."""
    import xarray as xr

    from aelpn.core.io import write_netcdf

    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    if given == "per-job sweep":
        part = tmp_path / "lpn.nc"
        assert main(_sweep(smoke_config, tmp_path, lpn_file, crops)[:-1] + [str(part)]) == 0
        option, path, message = "--noise-sweep", part, "holds 'aelpn noise sweep of variant lpn'"
    elif given == "crops":
        option, path, message = "--affine-sweep", crops, "not the affine_sweep.nc dataset"
    else:
        path = write_netcdf(xr.Dataset({"asymmetry": ("image", [0.1, 0.2])}), tmp_path / "untitled.nc")
        option, message = "--jacobian", "no variable 'asymmetry' over variant, image"
    capsys.readouterr()
    out = tmp_path / "claims.nc"
    assert main(["claims", "--config", _slice(smoke_config, "claims"), option, str(path), "--out", str(out)]) == 2
    _one_line(capsys, "DatasetError", str(path), message)
    assert not out.exists()
