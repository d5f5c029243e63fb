"""The training progress bar shows only what the stage has (no gamma=nan during L1 pre-training); its refresh
interval (TQDM_MININTERVAL) is aelpn.core.progress's, tested in test_cli_usage."""

from __future__ import annotations

import math

import torch

from aelpn.training import Step
from aelpn.training.loop import _postfix


def test_postfix_shows_what_the_stage_has():
    l1 = _postfix(Step(torch.tensor(0.5), {"gamma": math.nan, "phase": 0, "sigma": 0.1}, "l1"), 0.5)
    assert l1 == {"stage": "l1", "sigma": "0.1", "loss": "0.5"}
    pm = _postfix(Step(torch.tensor(0.2), {"gamma": 8.0, "phase": 1, "sigma": 0.1}, "pm gamma=8"), 0.2)
    assert pm == {"stage": "pm gamma=8", "gamma": "8", "sigma": "0.1", "loss": "0.2"}
