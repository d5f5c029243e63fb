"""Checkpoints: weights-only loadable, atomic, and an exact round trip for every variant."""

from __future__ import annotations

import pytest
import torch
from model_helpers import image_model, model_1d

import aelpn
from aelpn.models.files import FORMAT, LEGACY_V1, ModelFileError, proximal_sigma, read_model_file
from aelpn.models import VARIANTS, VARIANTS_1D, build_model, load_model, save_model


def _same_outputs(a, b, x):
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("variant", VARIANTS)
def test_image_round_trip(tmp_path, variant):
    model = image_model(variant, channels=3, size=8, depth=2, alpha=1e-3)
    path = save_model(model, tmp_path / "m" / "model.pt", extra={"step": 7, "loss": [0.5, 0.25], "tag": "x",
                                                                  "gamma": torch.tensor(0.1)})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == FORMAT and raw["kind"] == "proxnet" and raw["spec"] == model.spec
    assert raw["extra"]["step"] == 7
    loaded = load_model(path, device="cpu")
    assert not loaded.training and loaded.variant == variant and loaded.exact_prox == model.exact_prox
    assert loaded.spec == model.spec
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _same_outputs(model, loaded, x)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # atomic: no temporary left behind


@pytest.mark.parametrize("variant", VARIANTS_1D)
def test_1d_round_trip(tmp_path, variant):
    model = model_1d(variant)
    loaded = aelpn.load_model(save_model(model, tmp_path / f"{variant}.pt"), device="cpu")
    _same_outputs(model, loaded, torch.linspace(-4, 4, 17, dtype=torch.float64)[:, None])


def test_float32_round_trip_keeps_dtype(tmp_path):
    model = build_model("aelpn", {"width": 4, "depth": 1, "head_width": 4, "softplus_beta": 5.0,
                                  "leaky_slope": 0.1, "alpha": 1e-6, "skip_resize": "bilinear",
                                  "nonneg_init": {"aelpn": "exp"}}, 1, 8, seed=3)
    loaded = load_model(save_model(model, tmp_path / "m.pt"), device="auto")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    _same_outputs(model, loaded.cpu(), torch.rand(2, 1, 8, 8))


def test_rejects_non_plain_extra(tmp_path):
    model = build_model("lpn", {"width": 4, "depth": 1, "head_width": 4, "softplus_beta": 5.0,
                                "leaky_slope": 0.1, "alpha": 1e-6, "skip_resize": "bilinear",
                                  "nonneg_init": {"lpn": "exp"}}, 1, 8)
    with pytest.raises(TypeError, match="extra.opt"):
        save_model(model, tmp_path / "m.pt", extra={"opt": torch.optim.SGD(model.parameters(), lr=1.0)})
    assert not (tmp_path / "m.pt").exists()


def test_rejects_foreign_file(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="other.pt: not an aelpn model file"):
        read_model_file(tmp_path / "other.pt")


def test_truncated_model_file_gives_one_line_naming_the_file(tmp_path):
    path = save_model(model_1d("lpn"), tmp_path / "model.pt")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelFileError) as err:
        aelpn.load_model(path, device="cpu")
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "delete it and rerun" in message


def test_reads_the_earlier_v1_format(tmp_path):
    model = model_1d("scale")
    torch.save({"format": LEGACY_V1, "aelpn_version": "0", "spec": dict(model.spec), "state_dict": model.state_dict(),
                "extra": {}}, tmp_path / "v1.pt")
    _same_outputs(model, aelpn.load_model(tmp_path / "v1.pt", device="cpu"),
                  torch.linspace(-4, 4, 17, dtype=torch.float64)[:, None])


def test_a_save_interrupted_mid_write_leaves_the_previous_model_intact(tmp_path, monkeypatch):
    old, new = model_1d("lpn", seed=0), model_1d("lpn", seed=1)
    path = save_model(old, tmp_path / "model.pt")
    before = path.read_bytes()
    real_save = torch.save

    def save_half_then_die(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        with open(f, "r+b") as fh:  # a killed writer leaves a truncated file
            fh.truncate(50)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_model(new, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_a_proximal_network_file_says_which_prox_it_is(tmp_path):
    """The sigma of D = prox_{sigma^2 R} comes from the file (``extra["sigma"]``), as every consumer reads it; a
    file without it is refused in one line rather than read at a sigma from some config."""
    from aelpn.inverse.priors import load_proximal_networks

    path = save_model(model_1d("lpn"), tmp_path / "lpn" / "model.pt", extra={"sigma": 0.07})
    assert proximal_sigma(path) == 0.07
    (prior,) = load_proximal_networks([path], ["lpn"], "cpu")
    assert prior.sigma == 0.07
    bare = save_model(model_1d("lpn"), tmp_path / "bare.pt")
    with pytest.raises(ModelFileError, match="does not record the noise level"):
        proximal_sigma(bare)


def test_a_corrupt_file_is_corrupt_not_untrusted(tmp_path):
    """Bytes that are no pickle at all fail the weights-only unpickler too; only an import or call it refuses is
    'untrusted content', anything else is a truncated or corrupt file to delete and rewrite."""
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError) as err:
        read_model_file(bad)
    assert "truncated or corrupt" in str(err.value) and "untrusted" not in str(err.value)
