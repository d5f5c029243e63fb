"""The paper rehearsal (``aelpn bench --rehearsal``): the runtime a paper-scale job needs from a measured
throughput, the work of each rule, the rehearsal config (paper shapes, small counts), and (slow) the rehearsal
itself on CPU with CUDA hidden."""

from __future__ import annotations

import csv

import pytest

from aelpn.bench.rehearsal import (Counts, profile_runtimes, rehearsal_config, rehearsal_files, rules,
                                   runtime_minutes, work)
from aelpn.cli import main
from aelpn.core.config import load
from aelpn.data.crops import load_crops
from aelpn.models import load_model

SPLITS = {"train": 200, "val": 100, "test": 200}


def _rule(cfg: dict, name: str):
    return next(r for r in rules(cfg) if r.name == name)


def test_runtime_is_paper_work_over_throughput_times_margin_rounded_up():
    # 40000 steps at 10 steps/s: 66.67 min; x 2 = 133.3 -> 134
    assert runtime_minutes(40000, 10.0, 2.0) == 134
    assert runtime_minutes(40000, 10.0, 1.0) == 67
    assert runtime_minutes(600, 10.0, 1.0) == 1  # exactly one minute stays one
    assert runtime_minutes(600, 20.0, 3.0) == 2  # ceil(1.5)
    with pytest.raises(ValueError):
        runtime_minutes(600, 0.0, 2.0)


def test_work_of_the_paper_rules(paper_config):
    cfg = paper_config
    assert work(cfg, _rule(cfg, "train"), SPLITS) == cfg["train"]["steps_pretrain"] + cfg["train"]["steps_pm"]
    assert work(cfg, _rule(cfg, "prox1d_train"), SPLITS) == sum(cfg["prox1d"]["steps"])
    # inverse.images: null counts the evaluation split, inverse.variants: null every variant
    assert work(cfg, _rule(cfg, "inverse_run"), SPLITS) == \
        200 * len(cfg["model"]["variants"]) * cfg["inverse"]["pnp_admm"]["max_iter"]
    assert work(cfg, _rule(cfg, "crops"), {"train": 7, "val": 5, "test": 3}) == 7
    assert work(cfg, _rule(cfg, "inverse_adaptivity"), SPLITS) == 200 * len(cfg["inverse"]["adaptivity"])
    assert work(cfg, _rule(cfg, "blind_run"), SPLITS) == \
        cfg["blind"]["images"] * len(cfg["blind"]["variants"]) * cfg["blind"]["map"]["max_iter"]


def test_rehearsal_config_keeps_the_paper_shapes_and_shrinks_the_counts(paper_config):
    counts = Counts(steps=3, images=2, iterations=5)
    cfg = load(rehearsal_config(paper_config, counts))
    for key in (("model", "width"), ("data", "crop_size"), ("train", "batch_size"), ("noise_sweep", "batch_size"),
                ("noise_sweep", "sigmas"), ("inverse", "denoiser"), ("inverse", "unrolled", "batch_size")):
        a, b = cfg, paper_config
        for k in key:
            a, b = a[k], b[k]
        if key == ("inverse", "denoiser"):
            a, b = {k: v for k, v in a.items() if k not in ("steps", "checkpoint_every")}, \
                {k: v for k, v in b.items() if k not in ("steps", "checkpoint_every")}
        assert a == b, key
    assert cfg["train"]["steps_pretrain"] == 3
    assert cfg["train"]["steps_pm"] == max(3, cfg["train"]["pm_stages"])
    assert cfg["prox1d"]["steps"] == [3] * len(paper_config["prox1d"]["steps"])
    assert cfg["inverse"]["denoiser"]["steps"] == 3
    assert cfg["noise_sweep"]["images"] == cfg["inverse"]["images"] == cfg["blind"]["images"] == 2
    assert cfg["inverse"]["pnp_admm"]["max_iter"] == 5
    assert cfg["model"]["variants"] == cfg["inverse"]["variants"] == cfg["blind"]["variants"] == \
        paper_config["model"]["variants"][:1]
    assert cfg["inverse"]["adaptivity"] == paper_config["inverse"]["adaptivity"][:1]
    assert cfg["seeds"] == [paper_config["seed"]] and len(paper_config["seeds"]) == 3  # each rule's job runs once
    assert paper_config["train"]["steps_pretrain"] == 20000, "the paper config itself is left unchanged"


def test_profile_runtimes_reads_the_requests(repo):
    requests = profile_runtimes(repo / "workflow/profiles/slurm/config.yaml")
    assert requests["train"] == "480 * attempt"
    assert requests["default"] == "30 * attempt"
    # every rule the profile sizes is rehearsed, and nothing else
    assert {r.name for r in rules(load(repo / "config/config.yaml"))} == set(requests) - {"default"}


def test_every_rehearsed_rule_finds_the_proximal_network_in_its_variant_folder(tmp_path, paper_config):
    """The workflow's layout, results/models/seed{N}/<variant>/model.pt: the cbsd68 rule labels a network by its
    folder and refuses one whose file holds another variant (the first CPU rehearsal to reach it stopped there)."""
    cfg = load(rehearsal_config(paper_config, Counts(steps=1, images=1, iterations=1)))
    variant = cfg["model"]["variants"][0]
    files = rehearsal_files(tmp_path, variant)
    models = [a for r in rules(cfg) for a in r.argv(files, cfg) if str(a).endswith("model.pt")]
    assert {"train", "sweep", "jacobian", "cbsd68", "inverse_run", "blind_run"} <= \
        {r.name for r in rules(cfg) if files["model.pt"] in r.argv(files, cfg)}
    assert models and all(a == tmp_path / variant / "model.pt" for a in models)


@pytest.mark.slow
@pytest.mark.rehearsal
def test_rehearsal_runs_every_paper_rule_at_paper_shapes_on_cpu(tmp_path, repo, paper_config, shared_bsds,
                                                                monkeypatch, capsys):
    """Every paper-scale rule runs at the paper's shapes on CPU with CUDA hidden (no CUDA-only path), one process
    each with its own peak RSS. Minutes: proximal matching keeps one training step per stage at batch 64 of
    128x128 crops at width 256."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    scratch, out = tmp_path / "rehearsal", tmp_path / "rehearsal.csv"
    assert main(["--threads", "2", "bench", "--paper", str(repo / "config/config.yaml"), "--images",
                 str(shared_bsds), "--rehearsal", str(scratch), "--rehearsal-steps", "1", "--rehearsal-images", "1",
                 "--rehearsal-iterations", "1", "--rehearsal-out", str(out),
                 "--profile", str(repo / "workflow/profiles/slurm/config.yaml")]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["rule"] for r in rows] == [r.name for r in rules(paper_config)]
    for row in rows:
        assert row["status"] == "ok" and row["device"] == "cpu", row
        assert float(row["peak_rss_mib"]) > 50, row
        assert float(row["per_s"]) > 0 and int(row["runtime_min"]) >= 1, row
    size = paper_config["data"]["crop_size"]
    assert load_crops(scratch / "train.nc")[0].shape[-2:] == (size, size)
    spec = load_model(scratch / paper_config["model"]["variants"][0] / "model.pt", device="cpu").spec
    assert spec["width"] == paper_config["model"]["width"] and spec["image_size"] == size
    assert "profile runtime" in capsys.readouterr().out
