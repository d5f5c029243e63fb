"""The benchmark run: every measurement in one process, written to one netCDF file and printed as a
markdown table of ratios against the baselines and the targets of the project."""

from __future__ import annotations

import math
import resource
from dataclasses import asdict, dataclass
from pathlib import Path

import xarray as xr

from aelpn.bench.crops import bench_crops
from aelpn.bench.machine import machine_attrs
from aelpn.bench.peak import peak_rates
from aelpn.bench.pnp import deblurring_problem, pnp_iteration_cost
from aelpn.bench.regularizer import regularizer_speed
from aelpn.bench.training import trained_model, training_throughput
from aelpn.bench.workflow import workflow_times
from aelpn.core import provenance
from aelpn.core.device import configure
from aelpn.core.io import write_netcdf
from aelpn.core.progress import progress_bar
from aelpn.models import VARIANTS, build_model, load_model

TARGETS = {"training_speedup": 1.5, "regularizer_speedup": 10.0, "pnp_ratio": 1.1, "workflow_full_s": 900.0,
           "workflow_noop_s": 10.0}
# The paper-width training step's share of the machine's peak: of the 3x3 convolution on a CPU, of the bf16
# matrix product on a GPU (``aelpn.bench.peak``).
PEAK_TARGETS = {"cpu": ("cpu_conv", 0.6), "cuda": ("gpu_bf16", 0.4)}
PEAK_LABELS = {"cpu_matmul": "CPU fp32 matrix product", "cpu_conv": "CPU fp32 3x3 convolution",
               "gpu_tf32": "GPU TF32 matrix product", "gpu_bf16": "GPU bf16 matrix product"}


@dataclass
class BenchSettings:
    """Sizes of the measurements. Quick width: the quick config's crop size and batch. Paper width: the paper
    config's model on ``paper_size`` crops in batches of ``paper_batch`` (a 128x128 batch of 64 does not fit a
    2-core CPU in reasonable time). Training steps run on ``crops`` real crops of the BSDS500 training images
    in ``images_dir``, at a trained state: ``models_dir/{variant}/model.pt`` where it matches the shape, else
    ``warmup_steps`` warm-up steps. ``workflow_scratch``: run the whole quick pipeline there (minutes)."""

    variants: tuple[str, ...] = VARIANTS
    images_dir: str = "../shared/data/BSDS500"
    models_dir: str | None = None
    warmup_steps: int = 200
    crops: int = 64
    rounds: int = 7
    calls: int = 2
    paper_size: int = 32
    paper_batch: int = 4
    regularizer_images: int = 16
    regularizer_tol: float = 1e-5
    regularizer_model: str | None = None
    pnp_size: int = 128
    pnp_batch: int = 1
    pnp_iterations: int = 10
    workflow_scratch: str | None = None
    repo: str = "."
    workflow_config: str = "config/quick.yaml"


def _settings(cfg: dict) -> dict:
    """(channels, quick crop size, quick batch) of a config."""
    return 1 if cfg["data"]["grayscale"] else 3, cfg["data"]["crop_size"], cfg["train"]["batch_size"]


def _training(quick: dict, paper: dict, s: BenchSettings, device) -> xr.Dataset:
    channels, size, batch = _settings(quick)
    setups = {"quick": (quick["model"], size, batch), "paper": (paper["model"], s.paper_size, s.paper_batch)}
    crops = {sz: bench_crops(s.images_dir, sz, s.crops, channels, quick["seed"]) for _, sz, _ in setups.values()}
    rows, states = {}, {}
    for (name, (model_cfg, sz, b)), variant in progress_bar([(kv, v) for kv in setups.items() for v in s.variants],
                                                    desc="bench training"):
        path = Path(s.models_dir) / variant / "model.pt" if s.models_dir and name == "quick" else None
        model, states[name, variant] = trained_model(
            variant, model_cfg, crops[sz], b, quick["seed"], device, str(path) if path else None,
            s.warmup_steps, quick["train"]["lr_pretrain"][variant], quick["train"]["sigma"])
        rows[name, variant] = training_throughput(model, crops[sz], b, s.rounds, s.calls, quick["seed"], device)
    fields = next(iter(rows.values())).keys()
    data = {f: (("width_setting", "variant"), [[rows[w, v][f] for v in s.variants] for w in setups]) for f in fields}
    data["weights_state"] = (("width_setting", "variant"), [[states[w, v] for v in s.variants] for w in setups])
    coords = {"width_setting": list(setups), "variant": list(s.variants),
              "width": ("width_setting", [setups[w][0]["width"] for w in setups]),
              "image_size": ("width_setting", [setups[w][1] for w in setups]),
              "batch": ("width_setting", [setups[w][2] for w in setups])}
    return xr.Dataset(data, coords=coords)


def _peak_fractions(ds: xr.Dataset, rates: dict[str, float], device) -> None:
    """Add the measured peaks (GFLOP/s; NaN where not measured) and every training row's share of the peak
    its target names, ``training_peak_fraction = training_achieved_gflops / peak``."""
    for name in PEAK_LABELS:
        ds[f"peak_{name}_gflops"] = rates.get(name, math.nan) / 1e9
    peak, target = PEAK_TARGETS[device.type]
    ds["training_peak_fraction"] = ds["training_achieved_gflops"] / ds[f"peak_{peak}_gflops"]
    ds["training_peak_fraction"].attrs.update(peak=peak, target=target)


def _regularizer_model(quick: dict, s: BenchSettings, device):
    if s.regularizer_model:
        return load_model(s.regularizer_model, device=device)
    channels, size, _ = _settings(quick)
    return build_model("lpn", quick["model"], channels, size, seed=quick["seed"]).to(device).eval()


def run_bench(quick: dict, paper: dict, out: str | Path, settings: BenchSettings | None = None) -> str:
    """Measure everything, write ``out`` (netCDF) and return the markdown table. ``quick`` and ``paper`` are
    full configs (quick and paper scale); the compute section of ``quick`` picks the device."""
    s = settings or BenchSettings()
    device = configure(quick["compute"])
    ds = _training(quick, paper, s, device)
    _peak_fractions(ds, peak_rates(device, s.rounds, s.calls, quick["seed"]), device)
    reg = regularizer_speed(_regularizer_model(quick, s, device), s.regularizer_images, s.regularizer_tol,
                            quick["seed"])
    channels = _settings(quick)[0]
    pnp_model = build_model("lpn", quick["model"], channels, s.pnp_size, seed=quick["seed"]).to(device).eval()
    pnp = pnp_iteration_cost(pnp_model, quick["inverse"], deblurring_problem(quick["inverse"]), s.pnp_batch,
                             s.pnp_iterations, s.rounds, quick["seed"])
    wf = {"full_s": math.nan, "noop_s": math.nan, "peak_job_rss_mib": math.nan}
    if s.workflow_scratch:
        wf = workflow_times(s.repo, Path(s.repo) / s.workflow_config, s.workflow_scratch)
    for k, v in reg.items():
        ds[f"regularizer_{k}"] = v
    for k, v in pnp.items():
        ds[f"pnp_{k}"] = v
    for k, v in wf.items():
        ds[f"workflow_{k}"] = v
    ds["bench_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _annotate(ds)
    for name, target in TARGETS.items():
        ds[name].attrs["target"] = target
    attrs = provenance.attrs("aelpn benchmarks", {"quick": quick["model"], "paper": paper["model"]},
                             str(device))
    ds.attrs.update(attrs)
    ds.attrs.update(machine_attrs(device))
    ds.attrs["settings"] = repr(asdict(s))
    ds.attrs.update(pnp_problem=deblurring_problem(quick["inverse"]), pnp_size=s.pnp_size)
    write_netcdf(ds, out)
    return table(ds)


def _annotate(ds: xr.Dataset) -> None:
    provenance.annotate(ds, {
        "width_setting": ("model width setting (quick or paper config)", "1"),
        "variant": ("model variant", "1"),
        "width": ("network width (channels)", "1"),
        "image_size": ("benchmark image size (pixels per side)", "1"),
        "batch": ("training batch size", "1"),
        "training_images_per_s": ("training throughput, hand-written gradient (median round)", "s-1"),
        "training_images_per_s_q1": ("training throughput, hand-written gradient (first quartile)", "s-1"),
        "training_images_per_s_q3": ("training throughput, hand-written gradient (third quartile)", "s-1"),
        "baseline_images_per_s": ("training throughput, reference autograd double backward (median round)", "s-1"),
        "baseline_images_per_s_q1": ("training throughput, reference method (first quartile)", "s-1"),
        "baseline_images_per_s_q3": ("training throughput, reference method (third quartile)", "s-1"),
        "training_speedup": ("median training step speed-up over the reference method, same flush (wall)", "1"),
        "training_cpu_speedup": ("median training step speed-up over the reference method (process CPU)", "1"),
        "weights_state": ("state of the timed weights (trained model file or warm-up steps)", "1"),
        "training_step_gflop": ("analytic FLOPs of one training step", "1e9"),
        "training_achieved_gflops": ("achieved FLOP rate of the training step", "1e9 s-1"),
        "training_peak_fraction": ("training step FLOP rate / the measured peak of its device (attribute peak)",
                                   "1"),
        **{f"peak_{k}_gflops": (f"measured peak: {label} (NaN: not measured)", "1e9 s-1")
           for k, label in PEAK_LABELS.items()},
        "regularizer_torch_s": ("wall time of the batched torch regularizer", "s"),
        "regularizer_scipy_s": ("wall time of the per-image scipy CG regularizer", "s"),
        "regularizer_speedup": ("regularizer speed-up over per-image scipy CG", "1"),
        "regularizer_torch_residual": ("largest final relative residual, torch", "1"),
        "regularizer_scipy_residual": ("largest final relative residual, scipy", "1"),
        "regularizer_value_difference": ("largest |R_torch - R_scipy| / max |R_scipy|", "1"),
        "pnp_iteration_s": ("PnP-ADMM wall time per iteration", "s"),
        "pnp_prox_s": ("wall time of one proximal-network call on the same batch", "s"),
        "pnp_ratio": ("PnP-ADMM iteration time / prox call time (wall clock)", "1"),
        "pnp_cpu_ratio": ("PnP-ADMM iteration time / prox call time (process CPU time)", "1"),
        "workflow_full_s": ("wall time of the whole quick pipeline (NaN: not run)", "s"),
        "workflow_noop_s": ("wall time of a no-op rerun of the DAG (NaN: not run)", "s"),
        "workflow_peak_job_rss_mib": ("largest peak resident memory of a workflow job", "MiB"),
        "bench_peak_rss_mib": ("peak resident memory of the benchmark process", "MiB"),
    })


def _met(value: float, target: float, higher_is_better: bool) -> str:
    if math.isnan(value):
        return "not run"
    return "yes" if (value >= target if higher_is_better else value <= target) else "no"


def table(ds: xr.Dataset) -> str:
    """Markdown table of the measured ratios against the targets."""
    lines = ["| measurement | value | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for name, label in PEAK_LABELS.items():
        if not math.isnan(float(ds[f"peak_{name}_gflops"])):
            lines.append(f"| peak: {label} | {float(ds[f'peak_{name}_gflops']):.1f} GFLOP/s | | | | |")
    fraction = ds["training_peak_fraction"]
    peak_label, peak_target = PEAK_LABELS[fraction.attrs["peak"]], fraction.attrs["target"]
    peak_value = float(ds[f"peak_{fraction.attrs['peak']}_gflops"])
    target = TARGETS["training_speedup"]
    for w in ds["width_setting"].values:
        sel = ds.sel(width_setting=w)
        setup = f"width {int(sel['width'])}, {int(sel['image_size'])}px, batch {int(sel['batch'])}"
        for v in ds["variant"].values:
            r = sel.sel(variant=v)
            ratio = float(r["training_speedup"])
            lines.append(f"| train step {v} ({w}: {setup}) | {float(r['training_images_per_s']):.1f} img/s "
                         f"[{float(r['training_images_per_s_q1']):.1f}, {float(r['training_images_per_s_q3']):.1f}], "
                         f"{float(r['training_achieved_gflops']):.1f} GFLOP/s "
                         f"({float(r['training_peak_fraction']):.0%} of peak) | "
                         f"{float(r['baseline_images_per_s']):.1f} img/s "
                         f"[{float(r['baseline_images_per_s_q1']):.1f}, {float(r['baseline_images_per_s_q3']):.1f}] "
                         f"(reference, same flush) | {ratio:.2f}x "
                         f"(CPU {float(r['training_cpu_speedup']):.2f}x) | >= {target}x | "
                         f"{_met(ratio, target, True)} |")
    paper = ds.sel(width_setting="paper")
    for v in ds["variant"].values:
        share = float(paper["training_peak_fraction"].sel(variant=v))
        lines.append(f"| train step {v} (paper) / peak | {share:.0%} of {peak_label} | "
                     f"{peak_value:.1f} GFLOP/s | {share:.2f} | "
                     f">= {peak_target:.0%} | {_met(share, peak_target, True)} |")
    ratio = float(ds["regularizer_speedup"])
    lines.append(f"| regularizer, {float(ds['regularizer_torch_residual']):.1e} max residual | "
                 f"{float(ds['regularizer_torch_s']):.2f} s | {float(ds['regularizer_scipy_s']):.2f} s (scipy CG, "
                 f"residual {float(ds['regularizer_scipy_residual']):.1e}) | {ratio:.1f}x | "
                 f">= {TARGETS['regularizer_speedup']}x | {_met(ratio, TARGETS['regularizer_speedup'], True)} |")
    ratio = float(ds["pnp_ratio"])
    lines.append(f"| PnP-ADMM iteration ({ds.attrs['pnp_problem']}, {ds.attrs['pnp_size']}px) | "
                 f"{float(ds['pnp_iteration_s']) * 1e3:.1f} ms | "
                 f"{float(ds['pnp_prox_s']) * 1e3:.1f} ms (one prox call) | {ratio:.2f}x "
                 f"(CPU {float(ds['pnp_cpu_ratio']):.2f}x) | "
                 f"<= {TARGETS['pnp_ratio']}x | {_met(ratio, TARGETS['pnp_ratio'], False)} |")
    for name, label in (("workflow_full_s", "quick run of every figure"), ("workflow_noop_s", "no-op rerun")):
        value = float(ds[name])
        lines.append(f"| {label} | {value:.1f} s | | | <= {TARGETS[name]:.0f} s | "
                     f"{_met(value, TARGETS[name], False)} |")
    lines.append(f"| peak memory | bench {float(ds['bench_peak_rss_mib']):.0f} MiB, largest workflow job "
                 f"{float(ds['workflow_peak_job_rss_mib']):.0f} MiB | | | | |")
    return "\n".join(lines)
