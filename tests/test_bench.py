"""The benchmark harness runs end to end on tiny sizes and writes a valid, CF-annotated netCDF file; its
analytic FLOP count matches the multiply-adds the network actually performs; the scipy baseline solves the
same inversion as the torch regularizer. No timing is asserted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from model_helpers import image_model, small_cfg
from torch import nn

from aelpn.bench import BenchSettings, run_bench
from aelpn.bench.baseline import scipy_regularizer
from aelpn.bench.crops import bench_crops
from aelpn.bench.flops import conv3x3_flops, core_macs, matmul_flops
from aelpn.bench.peak import _conv, _matmul
from aelpn.bench.run import _peak_fractions
from aelpn.bench.gpu import GPUCheckError, _on_device, gpu_check, gpu_table
from aelpn.bench.timing import _quartiles
from aelpn.bench.training import trained_model
from aelpn.bench.workflow import _absolute_sources
from aelpn.cli import main
from aelpn.core.io import read_netcdf
from aelpn.models import build_model, save_model
from aelpn.models.regularizer import regularizer


def test_bench_end_to_end(tmp_path, smoke_config, shared_bsds, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "bench" / "bench.nc"
    table = run_bench(smoke_config, smoke_config, out, BenchSettings(
        variants=("lpn", "normtrick", "aelpn"), images_dir=str(shared_bsds), warmup_steps=2, crops=4, rounds=1,
        calls=1, paper_size=8, paper_batch=2, regularizer_images=2, pnp_size=8, pnp_iterations=2))
    ds = read_netcdf(out)
    assert ds.sizes == {"width_setting": 2, "variant": 3}
    for name in list(ds.data_vars) + list(ds.coords):
        assert {"long_name", "units"} <= set(ds[name].attrs), name
    for name in ("cpu_model", "cpu_cores", "torch_threads", "bench_device", "git_describe", "config_hash"):
        assert name in ds.attrs, name
    assert (ds["training_images_per_s"] > 0).all() and (ds["baseline_images_per_s"] > 0).all()
    assert (ds["training_images_per_s_q1"] <= ds["training_images_per_s"]).all()
    assert (ds["weights_state"] == "warmed up 2 steps").all()
    assert (ds["training_step_gflop"].sel(width_setting="quick") > 0).all()
    assert ds["regularizer_speedup"] > 0 and ds["pnp_ratio"] > 0
    assert math.isnan(float(ds["workflow_full_s"]))  # not requested
    assert ds["training_speedup"].attrs["target"] == 1.5
    assert table.count("| train step") == 6 + 3 and "PnP-ADMM iteration" in table and "not run" in table
    assert ds["peak_cpu_conv_gflops"] > 0 and ds["peak_cpu_matmul_gflops"] > 0
    assert math.isnan(float(ds["peak_gpu_bf16_gflops"])) == (not torch.cuda.is_available())
    assert "| peak: CPU fp32 3x3 convolution |" in table and "| train step aelpn (paper) / peak |" in table


def test_bench_cli(tmp_path, repo, shared_bsds, capsys):
    torch.set_num_threads(1)
    smoke = str(repo / "tests" / "smoke.yaml")
    out = tmp_path / "b.nc"
    assert main(["bench", "--quick", smoke, "--paper", smoke, "--out", str(out), "--variants", "scale",
                 "--images", str(shared_bsds), "--warmup-steps", "1",
                 "--rounds", "1", "--paper-size", "8", "--paper-batch", "1", "--regularizer-images", "1",
                 "--pnp-size", "8", "--pnp-iterations", "1"]) == 0
    assert "| train step scale (paper" in capsys.readouterr().out and out.exists()


@pytest.mark.parametrize("depth,size", [(1, 8), (2, 16), (3, 16)])
def test_flop_count_matches_the_layers(depth, size):
    """core_macs equals the multiply-adds of every conv / linear layer, counted from their output shapes."""
    model = build_model("lpn", small_cfg(width=5, depth=depth, head_width=3), 2, size)
    counted = {"x": 0, "z": 0}
    core = model.core
    reads_x = {id(core.lin0), id(core.head_skip), *map(id, core.skips)}

    def hook(module, inputs, output):
        macs = output[0].numel() * module.weight[0].numel()
        counted["x" if id(module) in reads_x else "z"] += macs

    for m in core.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        core(torch.rand(1, 2, size, size))
    assert core_macs(model.spec) == (counted["x"], counted["z"])


def test_scipy_baseline_agrees_with_torch_regularizer():
    model = image_model("lpn", channels=1, size=8, depth=2, width=6, alpha=0.05)
    y0 = torch.rand(2, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        x = model(y0)
    ours = regularizer(model, x, tol=1e-10)
    values, ys, residuals = scipy_regularizer(model, x, 1e-8)
    assert (residuals <= 1e-7).all()  # scipy's CG stops on precision loss slightly above its gtol
    torch.testing.assert_close(torch.as_tensor(values), ours.value, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(torch.as_tensor(ys), ours.y, rtol=0, atol=1e-5)


def test_workflow_config_points_at_the_repo_data(tmp_path, repo):
    copy = _absolute_sources(repo / "config" / "quick.yaml", repo, tmp_path)
    import yaml

    paths = [s["path"] for s in yaml.safe_load(copy.read_text())["data"]["sources"] if "path" in s]
    assert paths and all(p.startswith("/") and p == str((repo / "../shared/data/BSDS500").resolve()) for p in paths)


def test_bench_crops_are_real_seeded_crops(shared_bsds):
    a = bench_crops(shared_bsds, 16, 3, 3, seed=0)
    assert a.shape == (3, 3, 16, 16) and 0 <= a.min() and a.max() <= 1 and a.std() > 0.01
    assert torch.equal(a, bench_crops(shared_bsds, 16, 3, 3, seed=0))
    assert not torch.equal(a, bench_crops(shared_bsds, 16, 3, 3, seed=1))


def test_timed_model_is_the_trained_file_or_a_warmed_up_one(tmp_path, shared_bsds):
    crops = bench_crops(shared_bsds, 8, 4, 1, seed=0)
    cfg = small_cfg(width=4, depth=1)
    fresh = build_model("lpn", cfg, 1, 8, seed=0)
    warm, state = trained_model("lpn", cfg, crops, 2, 0, torch.device("cpu"), None, 3, 1e-2, 0.1)
    assert state == "warmed up 3 steps"
    assert any(not torch.equal(p, q) for p, q in zip(fresh.parameters(), warm.parameters()))
    save_model(warm, tmp_path / "lpn" / "model.pt")
    loaded, state = trained_model("lpn", cfg, crops, 2, 0, torch.device("cpu"), str(tmp_path / "lpn" / "model.pt"),
                                  3, 1e-2, 0.1)
    assert state.startswith("trained") and all(torch.equal(p, q) for p, q in zip(warm.parameters(), loaded.parameters()))
    with pytest.raises(ValueError, match="needs scale at 1x8px"):
        trained_model("scale", cfg, crops, 2, 0, torch.device("cpu"), str(tmp_path / "lpn" / "model.pt"), 0, 0.0, 0.1)


def test_timing_reports_median_and_quartiles():
    assert _quartiles([4.0, 1.0, 3.0, 2.0, 5.0]) == (3.0, 2.0, 4.0)
    assert _quartiles([2.5]) == (2.5, 2.5, 2.5)


def test_gpu_check_path_runs_on_cpu_and_keeps_everything_on_the_device(smoke_config, shared_bsds):
    """The GPU check's code path at tiny sizes on the CPU: every field finite, one row per variant and choice
    (amp, TF32, channels-last and compile are no-ops on the CPU, so their numbers equal fp32's: same seeds, same
    batches)."""
    torch.set_num_threads(1)
    crops = bench_crops(shared_bsds, 16, 6, 3, seed=0)
    ds = gpu_check(smoke_config, crops, steps=4, batch=2, variants=("lpn", "aelpn"), require_cuda=False,
                   peak_rounds=1)
    assert ds.sizes == {"variant": 2, "choice": 5}
    for name in ("images_per_s", "achieved_tflops", "first_step_s", "final_loss", "val_psnr"):
        assert np.isfinite(ds[name].values).all(), name
    assert (ds["val_psnr"] == ds["val_psnr"].sel(choice="fp32")).all()
    assert (ds["final_loss"] == ds["final_loss"].sel(choice="fp32")).all()
    assert (ds["val_psnr_vs_fp32"] == 0).all() and (ds["compiled"] == 0).all()
    assert np.isfinite(float(ds["pnp_admm_psnr"])) and float(ds["diffpir_seconds"]) > 0
    table = gpu_table(ds)
    assert "| aelpn | amp+channels_last+compile |" in table and "aelpn not run" in table  # no bf16 peak on a CPU
    assert np.isnan(ds["bf16_peak_fraction"].values).all() and ds["bf16_peak_fraction"].attrs["target"] == 0.4
    ds["bf16_peak_fraction"][:] = [[0.1, 0.2, 0.3, 0.35, 0.45], [0.1, 0.2, 0.3, 0.39, 0.2]]  # a variant's best counts
    assert "training step >= 40% of the bf16 peak: lpn met, aelpn not met" in gpu_table(ds)


def test_gpu_check_refuses_to_fall_back_to_the_cpu():
    with pytest.raises(GPUCheckError, match="result on cpu, expected cuda"):
        _on_device("training lpn (fp32)", torch.device("cuda"), torch.zeros(2))
    with pytest.raises(GPUCheckError, match="non-finite"):
        _on_device("PnP-ADMM", torch.device("cpu"), torch.tensor([1.0, float("nan")]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_gpu_check_cli_without_cuda_exits_non_zero(repo, capsys):
    smoke = str(repo / "tests" / "smoke.yaml")
    assert main(["bench", "--paper", smoke, "--gpu-check", "--gpu-size", "16", "--gpu-crops", "4"]) != 0
    assert "torch cannot see a CUDA device" in capsys.readouterr().err


@pytest.mark.parametrize("m,n,k", [(3, 5, 7), (16, 1, 9)])
def test_matmul_peak_flops_are_2mnk_as_torch_counts_them(m, n, k):
    from torch.utils.flop_counter import FlopCounterMode

    a, b = torch.ones(m, k), torch.ones(k, n)
    with FlopCounterMode(display=False) as counter:
        torch.mm(a, b)
    assert matmul_flops(m, n, k) == counter.get_total_flops() == 2 * m * n * k


def test_conv_peak_flops_match_the_bench_flop_counter():
    """conv3x3_flops is 2 N Cout H W Cin 9, the count torch's FLOP counter gives and, for the first layer of a
    model (one stride-1 conv reading x), the bench's own ``core_macs`` layer count."""
    from torch.utils.flop_counter import FlopCounterMode

    fn, flops = _conv(torch.device("cpu"), torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as counter:
        fn()
    assert flops == counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.conv2d(torch.ones(2, 3, 6, 5), torch.ones(4, 3, 3, 3), padding=1)
    assert conv3x3_flops(2, 3, 4, 6, 5) == counter.get_total_flops() == 2 * 2 * 4 * 6 * 5 * 3 * 9
    spec = {"channels": 3, "image_size": 8, "width": 4, "depth": 1, "head_width": 2}
    first_layer = spec["width"] * spec["image_size"] ** 2 * spec["channels"] * 9
    assert conv3x3_flops(1, 3, 4, 8, 8) == 2 * first_layer
    assert core_macs(spec)[0] >= first_layer
    _, mm_flops = _matmul(6, torch.float32, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert mm_flops == 2 * 6**3


def test_peak_fraction_is_the_achieved_rate_over_the_peak_of_the_device():
    import xarray as xr

    ds = xr.Dataset({"training_achieved_gflops": (("width_setting", "variant"), [[10.0, 20.0], [30.0, 60.0]])},
                    coords={"width_setting": ["quick", "paper"], "variant": ["lpn", "aelpn"]})
    rates = {"cpu_matmul": 200e9, "cpu_conv": 100e9, "gpu_tf32": 400e12, "gpu_bf16": 800e12}
    _peak_fractions(ds, rates, torch.device("cpu"))
    assert ds["training_peak_fraction"].values.tolist() == [[0.1, 0.2], [0.3, 0.6]]
    assert ds["training_peak_fraction"].attrs == {"peak": "cpu_conv", "target": 0.6}
    assert float(ds["peak_cpu_matmul_gflops"]) == 200.0
    _peak_fractions(ds, rates, torch.device("cuda"))
    assert ds["training_peak_fraction"].values.tolist() == [[10 / 8e5, 20 / 8e5], [30 / 8e5, 60 / 8e5]]
    assert ds["training_peak_fraction"].attrs == {"peak": "gpu_bf16", "target": 0.4}
    _peak_fractions(ds, {"cpu_conv": 100e9}, torch.device("cpu"))
    assert math.isnan(float(ds["peak_gpu_bf16_gflops"]))
