"""The training progress bar: refresh interval from TQDM_MININTERVAL, and only what the stage has (no
gamma=nan during L1 pre-training)."""

from __future__ import annotations

import math

import torch

from aelpn.training import Step
from aelpn.training.loop import _postfix
from aelpn.training.progress import DEFAULT_MININTERVAL, progress


def test_refresh_interval_follows_tqdm_mininterval(monkeypatch):
    monkeypatch.setenv("TQDM_MININTERVAL", "30")
    bar = progress(10, "x")
    assert bar.mininterval == 30.0
    bar.close()
    monkeypatch.delenv("TQDM_MININTERVAL")
    bar = progress(10, "x", initial=4)
    assert bar.mininterval == DEFAULT_MININTERVAL and bar.n == 4
    bar.close()


def test_postfix_shows_what_the_stage_has():
    l1 = _postfix(Step(torch.tensor(0.5), {"gamma": math.nan, "phase": 0, "sigma": 0.1}, "l1"), 0.5)
    assert l1 == {"stage": "l1", "sigma": "0.1", "loss": "0.5"}
    pm = _postfix(Step(torch.tensor(0.2), {"gamma": 8.0, "phase": 1, "sigma": 0.1}, "pm gamma=8"), 0.2)
    assert pm == {"stage": "pm gamma=8", "gamma": "8", "sigma": "0.1", "loss": "0.2"}
