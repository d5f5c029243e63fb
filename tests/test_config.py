"""The config schema: shipped configs are valid; errors stop early and name the offending key."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from aelpn.core.config import ConfigError, load, select, slice_hash, validate
from configs import SHIPPED, config_path


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid_and_complete(name):
    cfg = load(config_path(name))
    assert set(cfg) == set(load(config_path("config.yaml")))


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["train"].update(stepz=3), "train.stepz"),
        (lambda c: c.update(bogus=1), "bogus"),
        (lambda c: c["train"].update(batch_size="64"), "train.batch_size"),
        (lambda c: c["train"].update(batch_size=0), "train.batch_size"),
        (lambda c: c["model"].update(leaky_slope=1.5), "model.leaky_slope"),
        (lambda c: c["model"].update(variants=["lpn", "nope"]), "model.variants.1"),
        (lambda c: c["data"]["splits"].update(train="training"), "data.splits.train"),
        (lambda c: c["data"]["sources"][1].update(md5="xyz"), "data.sources.1"),
        (lambda c: c["compute"].update(device="tpu"), "compute.device"),
        (lambda c: c["noise_sweep"].pop("sigmas"), "noise_sweep.sigmas"),
        (lambda c: c.pop("train"), "train"),
    ],
)
def test_errors_name_the_key(paper_config, mutate, key):
    mutate(paper_config)
    with pytest.raises(ConfigError, match=f"'{key}'"):
        validate(paper_config)


def test_partial_slice_validates_only_present_sections(paper_config):
    part = select(paper_config, "train")
    assert set(part) == {"seed", "train"}
    validate(part, partial=True)
    with pytest.raises(ConfigError):
        validate(part)
    part["train"]["lr_pm"] = -1
    with pytest.raises(ConfigError, match="'train.lr_pm'"):
        validate(part, partial=True)


def test_partial_slice_without_a_needed_section_names_it(paper_config):
    part = select(paper_config, "compute", "model")
    validate(part, partial=True, needs=("compute",))
    with pytest.raises(ConfigError, match="config key 'inverse': missing") as err:
        validate(part, partial=True, needs=("compute", "inverse", "train"))
    assert "config key 'train': missing" in str(err.value)


def test_slice_hash_is_order_independent(paper_config):
    a = select(paper_config, "model", "train")
    b = json.loads(json.dumps(a, sort_keys=True))
    assert slice_hash(a) == slice_hash(dict(reversed(list(b.items()))))
    b["train"]["sigma"] = 0.2
    assert slice_hash(a) != slice_hash(b)


def test_cli_rejects_bad_slice_before_running(paper_config):
    part = select(paper_config, "data")
    part["data"]["crop_size"] = 3
    out = subprocess.run(
        [sys.executable, "-m", "aelpn.cli", "data", "fetch", "--config", json.dumps(part), "--out", "unused"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "'data.crop_size'" in out.stderr


def test_missing_keys_are_reported_one_line_per_key(paper_config):
    for key in ("width", "depth"):
        paper_config["model"].pop(key)
    paper_config.pop("compute")
    with pytest.raises(ConfigError) as err:
        validate(paper_config)
    lines = str(err.value).splitlines()[1:]
    assert {line.strip() for line in lines} == {"config key 'compute': missing (required)",
                                                "config key 'model.width': missing (required)",
                                                "config key 'model.depth': missing (required)"}


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["data"].update(crop_size=15), "data.crop_size"),  # smoke depth 1: a multiple of 2
        (lambda c: c["figures"].update(example_sigmas=[0.1, 0.25]), "figures.example_sigmas"),
        (lambda c: c["prox1d"].update(lrs=[1e-3]), "prox1d.steps"),
        (lambda c: c["prox1d"].update(grid_max=-9.0), "prox1d.grid_max"),
        (lambda c: c["prox1d"].update(average_steps=31), "prox1d.average_steps"),  # smoke: 20 + 10 steps
        (lambda c: c["train"].update(sigma_range=[0.2, 0.1]), "train.sigma_range"),
        (lambda c: c["train"].update(steps_pm=3), "train.steps_pm"),
        (lambda c: c["train"].update(validate_images=5), "train.validate_images"),
        (lambda c: c["noise_sweep"].update(images=5), "noise_sweep.images"),
        (lambda c: c["inverse"].update(examples=3), "inverse.examples"),
        (lambda c: c["blind"].update(theta_min=1.0), "blind.theta_min"),  # smoke: theta_max 1.0
        (lambda c: c["blind"]["theta_prior"].update(high=0.8), "blind.theta_prior"),  # smoke: theta_max 1.0
        (lambda c: c["blind"].update(examples=3), "blind.examples"),
        (lambda c: c["blind"].update(images=5), "blind.images"),  # smoke: 4 test crops
        (lambda c: c["blind"]["alternating"].update(inits=[0.0, 1.5]), "blind.alternating.inits"),
        (lambda c: c["blind"].update(kernel_size=17), "blind.kernel_size"),  # smoke: 16 px crops
        (lambda c: c["model"].update(variants=["lpn", "scale"]), "blind.variants"),  # blind: lpn, aelpn
        (lambda c: c["inverse"].update(variants=["lpn", "nope"]), "inverse.variants"),
    ],
)
def test_cross_key_constraints_are_checked_at_validation(smoke_config, mutate, key):
    validate(smoke_config)
    mutate(smoke_config)
    with pytest.raises(ConfigError, match=f"'{key}'"):
        validate(smoke_config)
    with pytest.raises(ConfigError, match=f"'{key}'"):  # also in a job's slice holding the sections involved
        validate(select(smoke_config, *[k for k in smoke_config if k != "seed"]), partial=True)
