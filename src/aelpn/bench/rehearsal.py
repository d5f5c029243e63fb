"""The paper rehearsal (``aelpn bench --rehearsal SCRATCH``): every paper-scale job of the workflow run once, at
the paper config's shapes (model width, crop size, batches, image size), with only its counts (training steps,
images, solver iterations, variants) shrunk, each in its own process so that its peak RSS is its own
(``os.wait4``'s ``ru_maxrss`` of that child). Each job is the rule's own ``aelpn`` command on the inputs the
earlier jobs wrote, so the rehearsal runs the code the workflow runs.

Work and runtime. A job's work is ``sum(steps keys) * prod(scaled keys)`` of its config (a list counts by its
length, a list of numbers by its sum, ``images: null`` by the JPEGs of its split). The measured throughput is
``work_rehearsal / seconds``, with ``seconds`` the wall time of the whole process (start-up, model building and
file writing included, so the throughput is a lower bound); the runtime a paper-scale job needs is

    runtime_min = work_paper / throughput / 60 * margin,

rounded up to a whole minute, printed beside the SLURM profile's current request (``runtime`` of its
``set-resources``, the first attempt)."""

from __future__ import annotations

import copy
import csv
import io
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from aelpn.core.io import write_text
from aelpn.data.cbsd68 import cbsd68_ids

# What a key set to null counts: the images of an evaluation split, or another key's list.
NULL_MEANS = {"inverse.variants": "model.variants"}


@dataclass(frozen=True)
class Rule:
    """One Snakemake rule of the paper DAG: its ``aelpn`` command (a function of the rehearsal's files and
    config), its unit, the keys whose values are summed (training steps) and multiplied (images, iterations,
    variants) into its work, and the keys set to the rehearsal's step count without counting (checkpoints,
    validation cadence)."""

    name: str
    unit: str
    steps: tuple[str, ...]
    scaled: tuple[str, ...]
    cadence: tuple[str, ...]
    argv: Callable[[dict, dict], list]


def _get(cfg: dict, key: str):
    for part in key.split("."):
        cfg = cfg[part]
    return cfg


def _set(cfg: dict, key: str, value) -> None:
    *parents, last = key.split(".")
    for part in parents:
        cfg = cfg[part]
    cfg[last] = value


def count(value, steps: bool = False) -> float:
    """What a config value counts: a number itself; a list of steps (``steps``) its sum, any other list (of
    variants, noise levels, pairs) its length."""
    if isinstance(value, list):
        return sum(value) if steps else len(value)
    return value


def work(cfg: dict, rule: Rule, split_images: dict[str, int]) -> float:
    """``sum(steps keys) * prod(scaled keys)`` of ``cfg`` (1 for an empty product or sum). A null images key
    counts the images of its split (``split_images``: ``data.max_images.<split>`` its own split, any other the
    evaluation split; ``cbsd68.images`` the 68 CBSD68 images), another null key the list ``NULL_MEANS`` names."""
    def value(key, steps=False):
        v = _get(cfg, key)
        if v is None and key == "cbsd68.images":
            return len(cbsd68_ids())
        if v is None and key.startswith("data.max_images."):
            return split_images[cfg["data"]["splits"][key.rsplit(".", 1)[1]]]
        if v is None:
            return split_images[cfg["data"]["splits"]["evaluate"]] if key.endswith("images") else \
                count(_get(cfg, NULL_MEANS[key]))
        return count(v, steps)
    steps = sum(value(k, True) for k in rule.steps) if rule.steps else 1
    return steps * math.prod(value(k) for k in rule.scaled)


def _shrunk(value, n: int, steps: bool):
    """The rehearsal's value of a count: ``n`` for a number or null, ``[n] * len`` for a list of steps
    (``steps``), the first element of any other list."""
    if isinstance(value, list):
        return [n] * len(value) if steps else value[:1]
    return n


def runtime_minutes(work_paper: float, per_s: float, margin: float) -> int:
    """``ceil(work_paper / per_s / 60 * margin)``: the minutes a paper-scale job needs at throughput ``per_s``
    (work units per second), with ``margin`` (> 1) for a slower node, a busy filesystem or a retry's growth."""
    if per_s <= 0 or margin <= 0:
        raise ValueError(f"throughput {per_s} and margin {margin} must be positive")
    return math.ceil(work_paper / per_s / 60.0 * margin)


def profile_runtimes(profile: str | Path) -> dict[str, str]:
    """Each rule's ``runtime`` request in the SLURM profile's ``set-resources`` (as written, e.g. ``480 *
    attempt``), and ``default-resources``' under the key ``default``."""
    doc = yaml.safe_load(Path(profile).read_text())
    out = {name: str(res["runtime"]) for name, res in doc.get("set-resources", {}).items() if "runtime" in res}
    out["default"] = str(doc["default-resources"]["runtime"])
    return out


def rehearsal_files(d: Path, variant: str) -> dict[str, Path]:
    """The rehearsal's files in the scratch directory ``d``; the proximal network of ``variant`` in ``d/<variant>/``,
    the workflow's layout (results/models/seed{N}/<variant>/model.pt), from which the cbsd68 rule labels it."""
    files = {k: d / f"{k}" for k in ("train.nc", "validate.nc", "evaluate.nc", "prox1d.pt", "prox1d_log.nc",
                                      "noise_sweep.nc", "jacobian.nc", "denoiser.pt", "denoiser_log.nc",
                                      "unrolled_log.nc", "unrolled", "flow.pt", "flow_log.nc", "vae.pt", "vae_log.nc",
                                      "inverse.nc", "adaptivity.nc", "blind.pt", "blind_log.nc", "blind.nc",
                                      "cbsd68.nc", "BSDS500")}
    return files | {k: d / variant / k for k in ("model.pt", "model_log.nc")}


def rules(cfg: dict) -> list[Rule]:
    """The paper-scale rules in the order their inputs appear, each with its command on the rehearsal's files
    (``f``: ``rehearsal_files``) and ``cfg`` (the rehearsal config: one variant, the first adaptivity pair's
    problem)."""
    variant, variant1d = cfg["model"]["variants"][0], cfg["prox1d"]["variants"][0]
    problem = cfg["inverse"]["adaptivity"][0]["trained_on"] if cfg["inverse"]["adaptivity"] else \
        next(iter(cfg["inverse"]["problems"]))
    t = "train.nc"
    return [
        Rule("crops", "images", (), ("data.max_images.train",), (),
             lambda f, c: ["data", "crops", "--split", c["data"]["splits"]["train"], "--out", f[t]]),
        Rule("train", "steps", ("train.steps_pretrain", "train.steps_pm"), (),
             ("train.checkpoint_every", "train.validate_every"),
             lambda f, c: ["train", "proxnet", "--variant", variant, "--train", f[t], "--val", f["validate.nc"],
                           "--out", f["model.pt"], "--train-log", f["model_log.nc"]]),
        Rule("prox1d_train", "steps", ("prox1d.steps",), (), ("prox1d.average_steps", "prox1d.checkpoint_every"),
             lambda f, c: ["train", "prox1d", "--variant", variant1d, "--out", f["prox1d.pt"],
                           "--train-log", f["prox1d_log.nc"]]),
        Rule("sweep", "images", (), ("noise_sweep.images",), (),
             lambda f, c: ["evaluate", "noise_sweep", "--variant", variant, "--model", f["model.pt"],
                           "--crops", f["evaluate.nc"], "--out", f["noise_sweep.nc"]]),
        Rule("jacobian", "image iterations", (), ("jacobian.images", "model.variants", "jacobian.rank_iterations"),
             (),
             lambda f, c: ["evaluate", "jacobian", "--crops", f["evaluate.nc"], "--out", f["jacobian.nc"],
                           f["model.pt"]]),
        Rule("inverse_denoiser", "steps", ("inverse.denoiser.steps",), (), ("inverse.denoiser.checkpoint_every",),
             lambda f, c: ["train", "denoiser", "--crops", f[t], "--out", f["denoiser.pt"],
                           "--train-log", f["denoiser_log.nc"]]),
        Rule("cbsd68", "image networks", (), ("cbsd68.images", "model.variants"), (),
             lambda f, c: ["evaluate", "cbsd68", "--images", f["BSDS500"], "--denoiser", f["denoiser.pt"],
                           "--out", f["cbsd68.nc"], f["model.pt"]]),
        Rule("inverse_unrolled", "steps", ("inverse.unrolled.steps",), (), ("inverse.unrolled.checkpoint_every",),
             lambda f, c: ["train", "unrolled", "--problem", problem, "--crops", f[t], "--denoiser",
                           f["denoiser.pt"], "--out", f["unrolled"] / f"{problem}.pt", "--train-log",
                           f["unrolled_log.nc"]]),
        Rule("inverse_flow", "steps", ("inverse.flow.steps",), (), ("inverse.flow.checkpoint_every",),
             lambda f, c: ["train", "flow", "--crops", f[t], "--out", f["flow.pt"], "--train-log", f["flow_log.nc"]]),
        Rule("inverse_vae", "steps", ("inverse.vae.steps",), (), ("inverse.vae.checkpoint_every",),
             lambda f, c: ["train", "vae", "--crops", f[t], "--out", f["vae.pt"], "--train-log", f["vae_log.nc"]]),
        Rule("inverse_run", "image iterations", (), ("inverse.images", "inverse.variants",
                                                     "inverse.pnp_admm.max_iter"), (),
             lambda f, c: ["evaluate", "inverse", "--algorithm", "pnp_admm", "--problem", problem, "--crops",
                           f["evaluate.nc"], "--prior", f["model.pt"], "--out", f["inverse.nc"]]),
        Rule("inverse_adaptivity", "images", (), ("inverse.images", "inverse.adaptivity"), (),
             lambda f, c: ["evaluate", "adaptivity", "--crops", f["evaluate.nc"], "--out", f["adaptivity.nc"],
                           f["unrolled"] / f"{problem}.pt"]),
        Rule("blind_train", "steps", ("blind.network.steps", "blind.network.head_steps"), (),
             ("blind.network.checkpoint_every",),
             lambda f, c: ["train", "blind", "--crops", f[t], "--denoiser", f["denoiser.pt"], "--out",
                           f["blind.pt"], "--train-log", f["blind_log.nc"]]),
        Rule("blind_run", "image iterations", (), ("blind.images", "blind.variants", "blind.map.max_iter"), (),
             lambda f, c: ["evaluate", "blind", "--crops", f["evaluate.nc"], "--prior", f["model.pt"], "--network",
                           f["blind.pt"], "--out", f["blind.nc"]]),
    ]


@dataclass(frozen=True)
class Counts:
    """The rehearsal's counts: training ``steps`` (also the checkpoint and validation cadence), evaluation
    ``images`` (also the images of each split cropped), solver ``iterations``."""

    steps: int = 2
    images: int = 1
    iterations: int = 2


# Keys the config's checks tie to a rehearsed count (examples at most the images, equal iteration counts).
TIED = ("data.max_images.train", "data.max_images.val", "data.max_images.test", "train.validate_images",
        "figures.example_images", "inverse.examples", "blind.examples", "inverse.pnp_admm_anscombe.max_iter",
        "inverse.pnp_admm_wls.max_iter")


def _count_of(key: str, counts: Counts) -> int:
    if key.endswith(("images", "examples")) or ".max_images." in key:
        return counts.images
    return counts.iterations if key.endswith(("max_iter", "iterations")) else counts.steps


def rehearsal_config(paper: dict, counts: Counts) -> dict:
    """``paper`` with every count of every rule shrunk (``_shrunk``) and nothing else changed: the shapes (model
    widths, crop size, batches, noise levels) stay the paper's; the keys ``TIED`` to a count follow it, and
    proximal matching keeps one step per stage at least (``train.pm_stages``). A null list key becomes the first
    element of the list it stands for; the blind study's first prior must be the first trained variant (one
    proximal network); one replicate, of training seed = the master seed."""
    cfg = copy.deepcopy(paper)
    for key in NULL_MEANS:
        if _get(cfg, key) is None:
            _set(cfg, key, _get(cfg, NULL_MEANS[key]))
    steps = {k for r in rules(cfg) for k in (*r.steps, *r.cadence)}
    keys = steps | {k for r in rules(cfg) for k in r.scaled}
    for key in sorted(keys | set(TIED)):
        _set(cfg, key, _shrunk(_get(cfg, key), _count_of(key, counts), key in steps))
    cfg["train"]["steps_pm"] = max(cfg["train"]["steps_pm"], cfg["train"]["pm_stages"])
    cfg["seeds"] = [cfg["seed"]]  # one replicate (a job's cost is the same in each), trained with the master seed
    if cfg["blind"]["variants"] != cfg["model"]["variants"]:
        raise ValueError(f"the rehearsal trains {cfg['model']['variants']} but the blind study's first prior is "
                         f"{cfg['blind']['variants']}: list the same variant first in model.variants")
    return cfg


def _run(argv: list[str], log: Path, check: bool = True) -> tuple[float, float, str]:
    """Run ``aelpn ARGV`` in a child process; its wall seconds, peak RSS (MiB, its own ``ru_maxrss``) and status
    (``ok``, ``exit N`` or ``signal N``: 9 is usually the kernel's out-of-memory killer). With ``check``, a
    failure raises RuntimeError naming the log."""
    cmd = [sys.executable, "-c", "import sys; from aelpn.cli import main; sys.exit(main())", *map(str, argv)]
    with open(log, "w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    state = "ok" if code == 0 else f"exit {code}" if code > 0 else f"signal {-code}"
    if check and code:
        raise RuntimeError(f"aelpn {' '.join(map(str, argv[:4]))} failed ({state}); see {log}")
    return seconds, usage.ru_maxrss / 1024, state


def _split_images(images_dir: Path, splits: dict) -> dict[str, int]:
    return {s: len(list((images_dir / "images" / s).glob("*.jpg"))) for s in set(splits.values())}


def rehearse(paper: dict, images_dir: str | Path, scratch: str | Path, counts: Counts, margin: float,
             profile: str | Path, threads: int | None = None, only: tuple[str, ...] = ()) -> list[dict]:
    """Run every rule of ``rules`` once on the rehearsal config of ``paper`` in ``scratch`` (crops from the
    BSDS500 directory ``images_dir``); one row per rule: its work and unit, wall seconds, throughput, peak RSS,
    device, the work of the paper-scale job, the runtime it needs (``runtime_minutes`` with ``margin``) and the
    profile's current request. The BSDS500 copy (``aelpn data fetch``) and the validation and evaluation crops
    are written first, unmeasured (kept when present). A rule that fails gets its status (exit code or signal,
    log ``SCRATCH/<rule>.log``) and no runtime, and the rehearsal goes on; ``only`` rehearses those rules alone,
    on the inputs an earlier rehearsal left in ``scratch``."""
    from aelpn.core.device import resolve

    scratch, images_dir = Path(scratch).resolve(), Path(images_dir).resolve()
    cfg = rehearsal_config(paper, counts)
    files = rehearsal_files(scratch, cfg["model"]["variants"][0])
    for folder in (files["unrolled"], files["model.pt"].parent):  # the adaptivity job reads unrolled/<problem>.pt
        folder.mkdir(parents=True, exist_ok=True)
    cfg["data"]["sources"] = [{"path": str(images_dir)}]
    config = write_text(yaml.safe_dump(cfg, sort_keys=False), scratch / "rehearsal.yaml")
    device = resolve(cfg["compute"]["device"]).type
    head = ["--threads", str(threads)] if threads else []
    requests, split_images = profile_runtimes(profile), _split_images(images_dir, paper["data"]["splits"])
    bsds = scratch / "BSDS500"
    if not bsds.is_dir():
        _run(["data", "fetch", "--config", config, "--out", bsds], scratch / "fetch.log")
    for role in ("validate", "evaluate"):
        split = cfg["data"]["splits"][role]
        if not files[f"{role}.nc"].is_file():
            _run([*head, "data", "crops", "--config", config, "--images", bsds, "--split", split, "--out",
                  files[f"{role}.nc"]], scratch / f"crops_{role}.log")
    rows = []
    for rule in rules(cfg):
        if only and rule.name not in only:
            continue
        argv = rule.argv(files, cfg)
        if argv[:2] == ["data", "crops"]:
            argv += ["--images", bsds]
        seconds, rss, state = _run([*head, *argv[:2], "--config", config, *argv[2:]], scratch / f"{rule.name}.log",
                                   check=False)
        done, paper_work = work(cfg, rule, split_images), work(paper, rule, split_images)
        per_s = done / seconds if state == "ok" else math.nan
        rows.append({"rule": rule.name, "status": state, "unit": rule.unit, "device": device, "work": done,
                     "seconds": seconds, "per_s": per_s, "peak_rss_mib": rss, "paper_work": paper_work,
                     "runtime_min": runtime_minutes(paper_work, per_s, margin) if state == "ok" else "",
                     "margin": margin, "profile_runtime": requests.get(rule.name, requests["default"])})
    return rows


def write_csv(rows: list[dict], path: str | Path) -> Path:
    """The rows as CSV (atomic write)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return write_text(buf.getvalue(), path)


def table(rows: list[dict]) -> str:
    """A markdown table of the rows: throughput, peak RSS, and the derived runtime beside the profile's."""
    lines = ["| rule | status | device | work | seconds | throughput | peak RSS (MiB) | paper work "
             "| needs (min, margin) | profile runtime (min) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['rule']} | {r['status']} | {r['device']} | {r['work']:g} {r['unit']} | "
                     f"{r['seconds']:.1f} | {r['per_s']:.3g} {r['unit']}/s | {r['peak_rss_mib']:.0f} | "
                     f"{r['paper_work']:g} | {r['runtime_min']} (x{r['margin']:g}) | {r['profile_runtime']} |")
    return "\n".join(lines)
