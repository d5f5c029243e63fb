"""A config key read in place of another goes unnoticed when the test config gives both the same value: the
numeric keys of one mapping that share a value in the paper-scale config (config/config.yaml, the values every
other config starts from) have distinct values in the test config tests/smoke.yaml."""

from __future__ import annotations

from itertools import combinations
from numbers import Number

from configs import shipped_config


def _numeric_leaves(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if isinstance(v, Number) and not isinstance(v, bool)}


def shared_value_pairs(cfg: dict, path: str = "") -> list[tuple[str, str]]:
    """Every pair of numeric keys of one mapping of ``cfg`` (recursively) holding equal values, as dotted names."""
    leaves = _numeric_leaves(cfg)
    pairs = [(f"{path}{a}", f"{path}{b}") for a, b in combinations(leaves, 2) if leaves[a] == leaves[b]]
    for key, value in cfg.items():
        if isinstance(value, dict):
            pairs += shared_value_pairs(value, f"{path}{key}.")
    return pairs


def value(cfg: dict, dotted: str):
    for key in dotted.split("."):
        cfg = cfg[key]
    return cfg


def test_shared_value_pairs_finds_equal_keys_of_one_mapping_only():
    cfg = {"a": 1, "b": 1.0, "c": 2, "flag": True, "one": True, "s": {"x": 1, "y": 3, "z": 3}}
    assert shared_value_pairs(cfg) == [("a", "b"), ("s.y", "s.z")]


def test_keys_sharing_a_value_in_the_paper_config_differ_in_the_test_config():
    paper, smoke = shipped_config("config.yaml"), shipped_config("smoke.yaml")
    pairs = shared_value_pairs(paper)
    assert len(pairs) > 50  # the margins of the claims, the per-variant rates, the step counts...
    same = [f"{a} = {b} = {value(smoke, a)}" for a, b in pairs if value(smoke, a) == value(smoke, b)]
    assert not same, "tests/smoke.yaml gives keys that share a value in config/config.yaml the same value: " + \
        "; ".join(same)
