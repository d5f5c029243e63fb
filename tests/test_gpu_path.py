"""The GPU-path options of ``compute`` (aelpn.core.gpu_path): no-ops on the CPU, bitwise; channels-last gives the
same values; a failing torch.compile falls back to eager with one warning line. The CUDA branches run here on
CPU tensors by naming a CUDA device: the functions only decide by ``device.type``, they move nothing."""

from __future__ import annotations

import pytest
import torch

from aelpn.core import gpu_path
from aelpn.core.gpu_path import CompiledOrEager, batch_layout, step_model
from aelpn.models import VARIANTS
from aelpn.training.proxnets import image_batch_loss
from model_helpers import image_model

CUDA = torch.device("cuda")
CPU = torch.device("cpu")
OFF = {"device": "cpu", "amp": False, "tf32": False, "channels_last": False, "compile": False}
ON = {**OFF, "channels_last": True, "compile": True}
TCFG = {"batch_size": 3, "steps_pretrain": 2, "steps_pm": 2, "pm_stages": 1}


def _trained(compute: dict, tcfg: dict, steps: int) -> torch.nn.Module:
    model = image_model("lpn", size=8, seed=3).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    crops = torch.rand((6, 1, 8, 8), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    loss_at = image_batch_loss(step_model(compute, model, CPU), crops, tcfg, "lpn", torch.Generator().manual_seed(7),
                               compute, CPU)
    for step in range(steps):
        optimizer.zero_grad()
        loss_at(step).loss.backward()
        optimizer.step()
        model.project_()
    return model


def test_options_on_the_cpu_are_a_noted_no_op_bitwise(smoke_config, monkeypatch, capsys):
    monkeypatch.setattr(torch, "compile", lambda *a, **k: (_ for _ in ()).throw(AssertionError("compiled on CPU")))
    tcfg = {**smoke_config["train"], **TCFG}
    off, on = _trained(OFF, tcfg, 4), _trained(ON, tcfg, 4)
    for (name, a), b in zip(off.named_parameters(), on.parameters()):
        assert torch.equal(a, b), name
        assert a.is_contiguous() and b.is_contiguous(), name
    assert capsys.readouterr().out.count("compute.channels_last, compute.compile act on CUDA only: ignored on cpu") == 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_channels_last_keeps_the_values_of_the_step(variant):
    """The model and the batch in channels-last format: same output and gradient (float64, 1e-12)."""
    y = torch.rand((2, 3, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    reference = image_model(variant, channels=3, size=8, seed=3)
    changed = image_model(variant, channels=3, size=8, seed=3)
    forward = step_model({**OFF, "channels_last": True}, changed, CUDA)
    assert forward is changed
    convs = [p for p in changed.parameters() if p.dim() == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert any(not p.is_contiguous() for p in convs)
    y_last = batch_layout({**OFF, "channels_last": True}, CUDA, y)
    assert y_last.is_contiguous(memory_format=torch.channels_last) and not y_last.is_contiguous()
    assert batch_layout({**OFF, "channels_last": True}, CPU, y) is y
    out_ref, out = reference(y), forward(y_last)
    torch.testing.assert_close(out, out_ref, rtol=0, atol=1e-12)
    out_ref.square().sum().backward()
    out.square().sum().backward()
    for (name, a), b in zip(reference.named_parameters(), changed.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-10, atol=1e-12, msg=name)


def test_a_failing_compile_falls_back_to_eager_with_one_warning_line(monkeypatch, capsys):
    def broken(model):
        def call(*args):
            raise RuntimeError("backend 'inductor' failed: no triton\ntraceback details")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    model = image_model("lpn", size=8, seed=3)
    forward = step_model({**OFF, "compile": True}, model, CUDA)
    assert isinstance(forward, CompiledOrEager) and forward.compiled
    y = torch.rand((2, 1, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = model(y)
    assert torch.equal(forward(y), expected) and torch.equal(forward(y), expected)
    err = capsys.readouterr().err
    assert err == ("warning: compute.compile: torch.compile failed (RuntimeError: backend 'inductor' failed: no "
                   "triton); the training step runs eager\n")
    assert not forward.compiled and forward.error == "RuntimeError: backend 'inductor' failed: no triton"


def test_a_working_compile_is_what_the_step_calls(monkeypatch, capsys):
    calls = []

    def compiled(model):
        def call(*args):
            calls.append(len(args))
            return model(*args)
        return call

    monkeypatch.setattr(torch, "compile", compiled)
    model = image_model("lpn", size=8, seed=3)
    forward = step_model({**OFF, "compile": True}, model, CUDA)
    y = torch.rand((2, 1, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    forward(y)
    forward(y)
    assert calls == [1, 1] and forward.compiled and forward.error is None
    assert capsys.readouterr().err == ""
    assert step_model({**OFF, "compile": True}, model, CPU) is model
    assert gpu_path.cpu_note(OFF, CPU) is None


def test_only_the_first_call_may_fall_back(monkeypatch):
    """Once compiled code has run, a later error (e.g. a CUDA error) propagates instead of turning eager."""
    def compiled(model):
        calls = []

        def call(*args):
            calls.append(1)
            if len(calls) > 1:
                raise RuntimeError("CUDA error: an illegal memory access was encountered")
            return model(*args)
        return call

    monkeypatch.setattr(torch, "compile", compiled)
    forward = step_model({**OFF, "compile": True}, image_model("lpn", size=8, seed=3), CUDA)
    y = torch.rand((2, 1, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    forward(y)
    with pytest.raises(RuntimeError, match="illegal memory access"):
        forward(y)
    assert forward.compiled
