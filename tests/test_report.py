"""`snakemake --report` after the whole smoke DAG: one self-contained HTML holding every figure (with its
caption), the rule graph and the job runtimes, built from the recorded run without rerunning anything."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from workflow_utils import snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(smoke_run) -> tuple[Path, str]:
    _, workdir, configfile = smoke_run
    built = snakemake(workdir, configfile, "--report", "results/report.html")
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-5000:]
    return workdir, (workdir / "results" / "report.html").read_text()


def _script_json(html: str, script_id: str):
    """The JSON value the report assigns in ``<script id=...>var name = {...};</script>``."""
    found = re.search(rf'<script id="{script_id}">\s*var \w+ = (.*?);\s*</script>', html, re.S)
    assert found, f"report has no <script id={script_id!r}> block"
    return json.loads(found.group(1))


def test_every_figure_is_embedded_with_a_caption(report):
    workdir, html = report
    figures = sorted(p.relative_to(workdir).as_posix() for p in (workdir / "results" / "figures").glob("*.png"))
    assert len(figures) >= 5, figures
    results = _script_json(html, "results")
    assert sorted(k for k in results if k.startswith("results/figures/")) == figures
    for path in figures:
        entry = results[path]
        assert re.sub(r"<[^>]+>", "", entry["caption"]).strip(), f"{path}: empty caption"
        payload = entry["data_uri"].split("base64,", 1)[1]
        assert base64.b64decode(payload) == (workdir / path).read_bytes(), f"{path}: embedded bytes differ"


def test_rule_graph_and_runtimes_cover_the_workflow(report):
    workdir, html = report
    graph = _script_json(html, "rulegraph")
    nodes = {n["rule"] for d in graph["data"] if d["name"] == "node-data" for n in d["values"]}
    runtimes = {r["rule"] for r in _script_json(html, "runtimes")["data"]["values"]}
    for rule in ("fetch_bsds500", "crops", "train", "prox1d_train", "sweep", "inverse_run", "figure_prox1d", "all"):
        assert rule in nodes, f"{rule} missing from the rule graph"
    for rule in ("crops", "train", "prox1d_train", "sweep", "figure_prox1d"):
        assert rule in runtimes, f"{rule} missing from the runtimes"
