"""The skip-layer resize D of the convolutional ICNN (``model.skip_resize``): bilinear is exactly the LPN
reference's ``interpolate(x, (s, s), mode="bilinear")``, average pooling is the block mean, each hand-written
adjoint satisfies <D x, g> = <x, D^T g>, and the paper config defaults to the reference operator."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import SKIP_RESIZE, image_model

from aelpn.core.config import ConfigError, validate
from aelpn.models import build_from_spec, load_model, save_model


def _core(skip_resize, size=16, depth=3):
    return image_model("lpn", channels=2, size=size, depth=depth, skip_resize=skip_resize).core


def _rand(shape, seed):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_bilinear_is_the_reference_interpolate_and_differs_from_pooling_beyond_factor_2():
    bilinear, avgpool = _core("bilinear"), _core("avgpool")
    x = _rand((3, 2, 16, 16), seed=1)
    for size in (8, 4, 2):
        reference = F.interpolate(x, (size, size), mode="bilinear")
        torch.testing.assert_close(bilinear._resize(x, size), reference, rtol=0, atol=1e-15)
        torch.testing.assert_close(avgpool._resize(x, size), F.avg_pool2d(x, 16 // size), rtol=0, atol=1e-15)
        gap = (bilinear._resize(x, size) - avgpool._resize(x, size)).abs().max().item()
        assert gap < 1e-15 if size == 8 else gap > 1e-2, size  # equal at factor 2 only
    assert torch.equal(bilinear._resize(x, 16), x)


@pytest.mark.parametrize("skip_resize", SKIP_RESIZE)
def test_adjoint_of_the_resize(skip_resize):
    core = _core(skip_resize)
    x = _rand((2, 2, 16, 16), seed=2)
    for size in (16, 8, 4, 2):
        g = _rand((2, 2, size, size), seed=3 + size)
        lhs = (core._resize(x, size) * g).sum()
        rhs = (x * core._resize_adjoint(g, size)).sum()
        torch.testing.assert_close(lhs, rhs, rtol=1e-13, atol=0)


def test_paper_default_and_schema(paper_config):
    assert paper_config["model"]["skip_resize"] == "bilinear"
    paper_config["model"]["skip_resize"] = "nearest"
    with pytest.raises(ConfigError, match="'model.skip_resize'"):
        validate(paper_config)
    with pytest.raises(ValueError, match="model.skip_resize must be one of bilinear, avgpool"):
        image_model("lpn", skip_resize="nearest")


def test_skip_resize_travels_with_the_model_file(tmp_path):
    """A saved model rebuilds with its own resize; a file written before the key existed used pooling."""
    model = image_model("aelpn", channels=1, size=8, depth=2, skip_resize="avgpool")
    loaded = load_model(save_model(model, tmp_path / "m.pt"), device="cpu")
    assert loaded.phi.core.skip_resize == "avgpool"
    legacy = {k: v for k, v in model.spec.items() if k != "skip_resize"}
    assert build_from_spec(legacy).phi.core.skip_resize == "avgpool"
