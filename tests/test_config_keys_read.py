"""Keys that share a value in config/config.yaml (and have distinct ones in tests/smoke.yaml) are each read where
they are meant to be: a key read in place of its twin changes what these tests see."""

from __future__ import annotations

import copy
import re
from numbers import Number
from types import SimpleNamespace

from aelpn.claims import jacobian
from aelpn.claims.definitions import claims
from aelpn.inverse.methods.diffpir import METHOD as DIFFPIR
from aelpn.models import save_model
from aelpn.prox1d.splitnormal import SplitNormal
from aelpn.solvers import diffusion
from configs import REPO
from model_helpers import image_model


def test_split_normal_reads_its_three_keys(smoke_config):
    pcfg = smoke_config["prox1d"]
    prior = SplitNormal.from_config(pcfg)
    assert (prior.sigma_left, prior.sigma_right, prior.noise_sigma) == \
        (pcfg["sigma_left"], pcfg["sigma_right"], pcfg["noise_sigma"])


def test_diffpir_runs_with_the_operators_lam_and_zeta(smoke_config, monkeypatch):
    section = smoke_config["inverse"]["diffpir"]
    calls = []
    monkeypatch.setattr(diffusion, "diffpir", lambda data, network, steps, lam, zeta, seed: calls.append(
        (steps, lam, zeta, seed)) or data.y)
    DIFFPIR.solve(SimpleNamespace(operator="inpainting", y=0.0), SimpleNamespace(network=None), section, 7, None)
    setting = section["per_operator"]["inpainting"]
    assert calls == [(section["steps"], setting["lam"], setting["zeta"], 7)]


def test_jacobian_probes_are_jacobian_probes(smoke_config, tmp_path, crops_file, monkeypatch):
    cfg = copy.deepcopy(smoke_config)
    cfg["compute"]["device"] = "cpu"
    cfg["model"]["variants"] = ["normtrick"]
    cfg["jacobian"].update(images=1, batch_size=1)
    path = tmp_path / "normtrick" / "model.pt"
    save_model(image_model("normtrick", channels=3, size=8, seed=1).float(), path,
               extra={"sigma": cfg["train"]["sigma"]})
    counts = []
    directions = jacobian.probe_directions
    monkeypatch.setattr(jacobian, "probe_directions", lambda *args: counts.append(args[-1]) or directions(*args))
    jacobian.measure_jacobian(cfg, [str(path)], str(crops_file(tmp_path / "test.nc", "test", 1, 8)),
                              str(tmp_path / "jacobian.nc"))
    # the asymmetry probes, then the start directions of the spectrum
    assert counts == [cfg["jacobian"]["probes"], cfg["jacobian"]["rank_directions"]]


def _claim_rows() -> dict[str, str]:
    """The row of docs/claims.md's claim table for each claim id ("2a–c" and "9a/9b" name several)."""
    rows = {}
    table = (REPO / "docs" / "claims.md").read_text().split("## The claims", 1)[1].split("\n#", 1)[0]
    for line in table.splitlines():
        cell = re.match(r"\| ([0-9][0-9a-z–/]*)(?:\[\w+\])? \|", line)  # "12a[prior]": one claim per prior
        if not cell:
            continue
        for part in cell.group(1).split("/"):
            number, first, last = re.fullmatch(r"(\d+)([a-z]?)(?:–([a-z]))?", part).groups()
            letters = [chr(c) for c in range(ord(first), ord(last or first) + 1)] if first else [""]
            rows.update({number + letter: line for letter in letters})
    return rows


def test_each_claim_threshold_is_the_key_docs_claims_md_names(smoke_config):
    """Every claims.* key gets a value of its own, so a claim's bound names the key it was read from: that key is
    the one docs/claims.md gives for the claim (a margin read from its twin would name another)."""
    cfg = copy.deepcopy(smoke_config)
    keys = [k for k, v in cfg["claims"].items() if isinstance(v, Number) and not isinstance(v, bool)]
    cfg["claims"].update({k: 1000.0 + i for i, k in enumerate(keys)})
    rows = _claim_rows()
    checked = []
    for claim in claims(cfg):
        for bound in claim.bounds(cfg):
            named = [k for k in keys if abs(bound) == cfg["claims"][k]]
            if named:
                assert f"`{named[0]}`" in rows[claim.id.split("[")[0]], f"claim {claim.id} reads claims.{named[0]}"
                checked.append(claim.id)
    assert len(checked) >= 25
