"""Bad inputs through the CLI: one line naming the file or key and what to do, exit status 2, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import xarray as xr

import fake_bsds
from configs import command_slice, config_path

from aelpn.cli import main
from aelpn.core.io import write_netcdf
from aelpn.core.slices import SLICES, sections
from aelpn.data.fetch import remove_stale_siblings


def _one_line_error(capsys, *names: str) -> str:
    stderr = capsys.readouterr().err
    errors = [line for line in stderr.splitlines() if line.startswith("aelpn:")]  # progress bars aside
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    err = errors[0]
    for name in names:
        assert name in err, err
    return err


# ---- aelpn config validate

def test_config_validate_names_a_binary_file(tmp_path, capsys):
    path = tmp_path / "weights.yaml"
    path.write_bytes(bytes(range(256)))
    assert main(["config", "validate", str(path)]) == 2
    assert "not a text file" in _one_line_error(capsys, str(path))


def test_config_validate_names_the_line_of_broken_yaml(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("seed: 0\ncompute: {device: auto\n  amp: [\n")
    assert main(["config", "validate", str(path)]) == 2
    assert "broken YAML at line 3" in _one_line_error(capsys, str(path))


@pytest.mark.parametrize("value, problem", [("[]", "'seeds': [] should be non-empty"),
                                            ("[0, 5, 0]", "'seeds': [0, 5, 0] has non-unique elements"),
                                            ("[0, -1]", "'seeds.1': -1 is less than the minimum of 0"),
                                            ("5", "'seeds': 5 is not of type 'array'")])
def test_config_validate_names_a_bad_list_of_training_seeds(tmp_path, capsys, value, problem):
    path = tmp_path / "seeds.yaml"
    path.write_text(config_path("smoke.yaml").read_text().replace("\nseeds: [0, 5]", f"\nseeds: {value}"))
    assert main(["config", "validate", str(path)]) == 2
    stderr = capsys.readouterr().err
    assert stderr == f"aelpn: invalid configuration:\n  config key {problem}\n", stderr


@pytest.mark.parametrize("command", ["train proxnet", "evaluate jacobian"])
def test_a_job_of_one_replicate_given_several_training_seeds_is_one_line(smoke_config, capsys, command):
    """A training or evaluation job belongs to one replicate: a slice listing two training seeds is refused."""
    job = dict(command_slice(smoke_config, command), seeds=[0, 5])
    assert main([*command.split(), *JOB_ARGUMENTS[command], "--config", json.dumps(job)]) == 2
    _one_line_error(capsys, "config key 'seeds': [0, 5] lists 2 training seeds", f"'aelpn {command}' is a job of one "
                                                                                   "replicate")


def test_a_training_job_trains_with_its_replicate_s_seed(smoke_config, capsys):
    """A training job draws with its slice's seed: a slice whose seed is not its one training seed is refused."""
    job = dict(command_slice(smoke_config, "train prox1d"), seeds=[5])
    assert main(["train", "prox1d", *JOB_ARGUMENTS["train prox1d"], "--config", json.dumps(job)]) == 2
    _one_line_error(capsys, "config key 'seed': 0 differs from the training seed seeds: [5]")


def test_config_validate_names_a_file_that_is_not_a_mapping(tmp_path, capsys):
    path = tmp_path / "list.yaml"
    path.write_text("- seed\n- compute\n")
    assert main(["config", "validate", str(path)]) == 2
    assert "expected a mapping" in _one_line_error(capsys, str(path))


# Every job command with the sections its slice carries (aelpn.core.slices, the one table the workflow's rules
# read too): dropping any one of them is rejected when the slice is loaded, naming the key, not by a KeyError deep
# in the stage.
JOB_ARGUMENTS = {
    "data fetch": ["--out", "d"],
    "data crops": ["--images", "d", "--split", "test", "--out", "c.nc"],
    "train proxnet": ["--variant", "lpn", "--train", "t.nc", "--val", "v.nc", "--out", "m.pt", "--train-log", "l.nc"],
    "train prox1d": ["--variant", "lpn", "--out", "m.pt", "--train-log", "l.nc"],
    "train denoiser": ["--crops", "c.nc", "--out", "d.pt", "--train-log", "l.nc"],
    "train unrolled": ["--problem", "p", "--crops", "c.nc", "--denoiser", "d.pt", "--out", "u.pt", "--train-log",
                       "l.nc"],
    "train flow": ["--crops", "c.nc", "--out", "d.pt", "--train-log", "l.nc"],
    "train vae": ["--crops", "c.nc", "--out", "d.pt", "--train-log", "l.nc"],
    "train blind": ["--crops", "c.nc", "--denoiser", "d.pt", "--out", "b.pt", "--train-log", "l.nc"],
    "evaluate prox1d": ["--out", "o.nc", "m.pt"],
    "evaluate noise_sweep": ["--variant", "lpn", "--model", "m.pt", "--crops", "c.nc", "--out", "o.nc"],
    "evaluate affine_sweep": ["--variant", "lpn", "--model", "m.pt", "--crops", "c.nc", "--out", "o.nc"],
    "evaluate cbsd68": ["--images", "d", "--denoiser", "d.pt", "--out", "o.nc", "m.pt"],
    "evaluate inverse": ["--algorithm", "pnp_admm", "--problem", "p", "--crops", "c.nc", "--prior", "m.pt", "--out",
                         "o.nc"],
    "evaluate adaptivity": ["--crops", "c.nc", "--out", "o.nc", "u.pt"],
    "evaluate blind": ["--crops", "c.nc", "--prior", "m.pt", "--network", "b.pt", "--out", "o.nc"],
    "evaluate jacobian": ["--crops", "c.nc", "--out", "o.nc", "m.pt"],
    "combine training": ["--out", "o.nc", "a.nc"],
    "combine noise_sweep": ["--out", "o.nc", "a.nc"],
    "combine affine_sweep": ["--out", "o.nc", "a.nc"],
    "combine inverse": ["--out", "o.nc", "a.nc"],
    "combine replicates": ["--out", "o.nc", "a.nc"],
    "claims": ["--out", "o.nc"],
}


def test_every_job_command_has_a_slice_and_every_slice_a_command():
    assert set(JOB_ARGUMENTS) == set(SLICES)


@pytest.mark.parametrize("command", sorted(SLICES))
def test_job_without_a_section_it_reads_names_it(smoke_config, capsys, command):
    """For each section the job reads: the full config minus that section exits 2 with one line naming it."""
    for section in sections(command):
        cfg = {key: value for key, value in smoke_config.items() if key != section}
        assert main([*command.split(), *JOB_ARGUMENTS[command], "--config", json.dumps(cfg)]) == 2, section
        err = capsys.readouterr().err
        assert f"config key '{section}': missing (required)" in err and "Traceback" not in err, err


# ---- aelpn results show

@pytest.fixture
def results_file(tmp_path):
    rng = np.random.default_rng(0)
    ds = xr.Dataset(
        {"psnr": (("variant", "sigma", "image"), rng.random((2, 3, 4))),
         "seconds": (("variant", "sigma", "image"), rng.random((2, 3, 4))),
         "train_seconds": (("variant",), np.array([3.0, 4.0]))},
        coords={"variant": ["lpn", "aelpn"], "sigma": np.array([0.05, 0.1, 0.2], dtype=np.float32),
                "image": ["a", "b", "c", "d"]},
    )
    return write_netcdf(ds, tmp_path / "sweep.nc"), ds


def test_results_show_missing_file(tmp_path, capsys):
    path = tmp_path / "nothing.nc"
    assert main(["results", "show", str(path)]) == 2
    assert "no such file" in _one_line_error(capsys, str(path))


def test_results_show_truncated_file_is_kept(results_file, capsys):
    path, _ = results_file
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert main(["results", "show", str(path)]) == 2
    assert "not a readable netCDF file" in _one_line_error(capsys, str(path))
    assert path.read_bytes() == data[: len(data) // 2]  # nothing deleted


def test_results_show_non_netcdf_file(tmp_path, capsys):
    path = tmp_path / "notes.nc"
    path.write_text("seed: 0\n")
    assert main(["results", "show", str(path)]) == 2
    _one_line_error(capsys, str(path))


def test_results_show_selects_rounded_coordinates(results_file, capsys):
    path, ds = results_file
    assert main(["results", "show", str(path), "--var", "psnr", "--sel", "sigma=0.1", "--sel", "variant=aelpn"]) == 0
    out = capsys.readouterr().out
    expected = ds.psnr.isel(sigma=1).sel(variant="aelpn")
    assert f"{float(expected.mean()):.3f} ± {float(expected.std(ddof=1)):.3f}" in out
    assert "seconds" not in out and "0.10000000149" not in out
    assert main(["results", "show", str(path)]) == 0
    assert "sigma: 0.05, 0.1, 0.2" in capsys.readouterr().out


def test_results_show_csv_is_a_tidy_mean_std_table(results_file, capsys):
    path, ds = results_file
    assert main(["results", "show", str(path), "--csv", "--sel", "variant=lpn"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "sigma,psnr_mean,psnr_std,seconds_mean,seconds_std"
    sigma, mean, std, *_ = lines[2].split(",")
    expected = ds.psnr.sel(variant="lpn").isel(sigma=1)
    assert sigma == "0.1"
    assert float(mean) == pytest.approx(float(expected.mean()), rel=1e-6)
    assert float(std) == pytest.approx(float(expected.std(ddof=1)), rel=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--sel", "sigma=0.3"], "sigma is one of 0.05, 0.1, 0.2"),
    (["--sel", "noise=0.1"], "--sel noise: not a coordinate"),
    (["--sel", "sigma"], "expected KEY=VALUE"),
    (["--var", "ssim"], "no variable 'ssim'"),
    (["--csv", "--var", "psnr", "--var", "train_seconds"], "do not share dimensions"),
])
def test_results_show_bad_choices(results_file, capsys, args, message):
    path, _ = results_file
    assert main(["results", "show", str(path), *args]) == 2
    assert message in _one_line_error(capsys)


# ---- data

@pytest.fixture
def raw_bsds(tmp_path):
    """A BSDS500 directory without a SHA256SUMS manifest (nothing can tell a truncated copy)."""
    return fake_bsds.write_dir(tmp_path / "raw", fake_bsds.files(fake_bsds.GITHUB_PREFIX, size=(20, 24)))


def _job(raw, smoke_config):
    data = dict(smoke_config["data"], sources=[{"path": str(raw)}], crop_size=8)
    return json.dumps({"seed": 0, "data": data})


def test_truncated_jpeg_without_manifest_is_named(raw_bsds, tmp_path, smoke_config, capsys):
    victim = raw_bsds / fake_bsds.GITHUB_PREFIX / "test" / "301.jpg"  # the first test image by id
    victim.write_bytes(victim.read_bytes()[:60])
    job, out, nc = _job(raw_bsds, smoke_config), tmp_path / "BSDS500", tmp_path / "test.nc"
    assert main(["data", "fetch", "--config", job, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["data", "crops", "--config", job, "--images", str(out), "--split", "test", "--out", str(nc)]) == 2
    assert "cannot decode the image" in _one_line_error(capsys, str(out / "images" / "test" / "301.jpg"))
    assert not nc.exists()


def test_fetch_removes_folders_of_killed_fetches_only(raw_bsds, tmp_path, smoke_config):
    out = tmp_path / "BSDS500"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = __import__("aelpn.data.fetch", fromlist=["_host"])._host()
    stale = [tmp_path / f".BSDS500.{host}-{dead.stdout.strip()}.0123abcd.tmp", tmp_path / ".BSDS500.89abcdef.tmp"]
    live = [tmp_path / f".BSDS500.{host}-{os.getpid()}.00000000.tmp", tmp_path / ".BSDS500.other-host-1.11111111.tmp"]
    for path in stale + live:
        (path / "images").mkdir(parents=True)
    assert main(["data", "fetch", "--config", _job(raw_bsds, smoke_config), "--out", str(out)]) == 0
    assert [p.exists() for p in stale + live] == [False, False, True, True]
    assert remove_stale_siblings(out) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".BSDS500")) == sorted(p.name for p in live)


# ---- a GPU job whose torch cannot use CUDA

@pytest.mark.parametrize("variable, value", [("CUDA_VISIBLE_DEVICES", "0"), ("SLURM_JOB_GPUS", "0"),
                                             ("SLURM_GPUS_ON_NODE", "1")])
def test_gpu_job_without_cuda_stops_unless_device_cpu(monkeypatch, smoke_config, tmp_path, capsys, variable, value):
    for name in list(os.environ):
        if name.startswith("SLURM_") or name == "CUDA_VISIBLE_DEVICES":
            monkeypatch.delenv(name)
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    job = {"seed": 0, "seeds": [0], "compute": smoke_config["compute"], "prox1d": smoke_config["prox1d"]}
    out = tmp_path / "lpn.pt"
    assert main(["train", "prox1d", "--config", json.dumps(job), "--variant", "lpn", "--out", str(out),
                 "--train-log", str(tmp_path / "lpn_log.nc")]) == 2
    err = _one_line_error(capsys, f"{variable}={value}", "compute.device: cpu")
    assert "cannot use CUDA" in err and not out.exists()
    from aelpn.core.device import configure

    assert configure(dict(smoke_config["compute"], device="cpu")).type == "cpu"


def test_hidden_gpus_are_not_an_assignment(monkeypatch):
    from aelpn.core.device import assigned_gpus

    for name in list(os.environ):
        if name.startswith("SLURM_") or name == "CUDA_VISIBLE_DEVICES":
            monkeypatch.delenv(name)
    for value in ("", "-1", "NoDevFiles"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
        assert assigned_gpus() == {}
    monkeypatch.setenv("SLURM_GPUS", "0")
    assert assigned_gpus() == {}


# ---- netCDF inputs that are missing or not netCDF

@pytest.mark.parametrize("broken", ["missing", "corrupt"])
@pytest.mark.parametrize("command", ["combine noise_sweep", "claims", "combine inverse", "evaluate noise_sweep",
                                     "evaluate inverse"])
def test_a_missing_or_corrupt_netcdf_input_is_one_line(smoke_config, tmp_path, capsys, broken, command):
    """A results or crops file that is not there, or not netCDF (a cut-short write, a text file), is named in one
    line with exit status 2 whichever command reads it, not an OSError traceback from the netCDF library."""
    from aelpn.core.config import select
    from aelpn.models.files import save_model
    from model_helpers import image_model

    bad = tmp_path / "part.nc"
    if broken == "corrupt":
        bad.write_bytes(b"CDF\x01 not really netCDF")
    out = str(tmp_path / "out.nc")
    model = save_model(image_model("lpn", channels=3, size=16).float(), tmp_path / "lpn" / "model.pt",
                       extra={"sigma": 0.1})
    arguments = {
        "combine noise_sweep": ["--out", out, str(bad)],
        "claims": ["--noise-sweep", str(bad), "--out", out],
        "combine inverse": ["--out", out, str(bad)],
        "evaluate noise_sweep": ["--variant", "lpn", "--model", str(model), "--crops", str(bad), "--out", out],
        "evaluate inverse": ["--algorithm", "pnp_admm", "--problem", next(iter(smoke_config["inverse"]["problems"])),
                             "--crops", str(bad), "--prior", str(model), "--out", out],
    }
    cfg = json.dumps(command_slice(smoke_config, command))
    assert main([*command.split(), "--config", cfg, *arguments[command]]) == 2
    _one_line_error(capsys, str(bad), *(["netCDF"] if broken == "corrupt" else []))


def test_a_directory_given_as_the_config_is_named_as_one(tmp_path, capsys):
    assert main(["config", "validate", str(tmp_path)]) == 2
    _one_line_error(capsys, str(tmp_path), "is a directory")


def test_a_json_config_file_keeps_its_numbers(smoke_config, tmp_path, capsys):
    """1e-06 in a .json file is a number (YAML 1.1 would read it as the string '1e-06')."""
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(smoke_config))
    assert "e-0" in path.read_text()
    assert main(["config", "validate", str(path)]) == 0


@pytest.mark.parametrize("command", ["evaluate noise_sweep", "evaluate jacobian"])
def test_a_model_of_the_wrong_variant_or_count_is_one_line(smoke_config, tmp_path, capsys, crops_file, command):
    """sweep given the AE-LPN file for the LPN job; jacobian given one model for seven variants."""
    from aelpn.core.config import select
    from aelpn.models.files import save_model
    from model_helpers import image_model

    crops = crops_file(tmp_path / "test.nc", "test", 3, 16)
    model = save_model(image_model("aelpn", channels=3, size=16).float(), tmp_path / "aelpn" / "model.pt",
                       extra={"sigma": 0.1})
    out = str(tmp_path / "out.nc")
    cfg = json.dumps(command_slice(smoke_config, command))
    if command == "evaluate noise_sweep":
        arguments = ["--variant", "lpn", "--model", str(model), "--crops", str(crops), "--out", out]
    else:
        arguments = ["--crops", str(crops), "--out", out, str(model)]
    assert main([*command.split(), "--config", cfg, *arguments]) == 2
    _one_line_error(capsys, "ModelFileError")
