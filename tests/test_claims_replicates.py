"""Claims over training replicates: the value is the mean of the per-replicate statistics, the interval the two-level
paired bootstrap (replicates, then images within each); with one replicate both equal the one-level bootstrap over
images draw for draw. Synthetic datasets of tests/test_claims.py, float64 where numeric."""

from __future__ import annotations

import numpy as np
import pytest

from aelpn.claims import ClaimData, evaluate_claims
from aelpn.claims.definitions import claims
from aelpn.claims.interval import bootstrap_interval, replicate_mean
from aelpn.cli import main
from aelpn.core.io import DatasetError, read_netcdf, write_netcdf
from aelpn.core.seeding import derive_seed
from test_claims import cfg, holding_values, stack_replicates, write_datasets  # noqa: F401 (cfg: the claims fixture)


def _replicates(tmp_path, values: list[dict]) -> dict:
    """The datasets of len(values) replicates, training seeds 10, 11, ..., replicate k from values[k]."""
    parts = []
    for k, v in enumerate(values):
        (tmp_path / f"r{k}").mkdir()
        parts.append(write_datasets(tmp_path / f"r{k}", v, seed=10 + k))
    return stack_replicates(tmp_path, parts)


def _row(cfg, paths, claim: str):
    return evaluate_claims(cfg, ClaimData(**paths)).sel(claim=claim)


def _width(row) -> float:
    return row["ci_high"].item() - row["ci_low"].item()


def _one_level(statistic, images: int, resamples: int, confidence: float, generator) -> tuple[float, float]:
    """The paired bootstrap over images before replicates existed (main at afe3fdc, aelpn.claims.interval)."""
    draws = generator.integers(0, images, size=(resamples, images))
    values = np.array([statistic(idx) for idx in draws])
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def test_one_replicate_gives_the_one_level_interval_over_images_draw_for_draw(cfg, tmp_path):
    """A seed dimension of length 1: every claim's value and interval are those of the one-level bootstrap over images
    with the same generator, and the note says that the interval is over test images only."""
    data = ClaimData(**write_datasets(tmp_path, holding_values(), seed=7))
    ds = evaluate_claims(cfg, data)
    assert ds.attrs["training_seeds"] == "7"
    for claim in claims(cfg):
        m = claim.measure(data.replicate(7), cfg)
        row = ds.sel(claim=claim.id)
        assert row["replicates"].item() == 1
        assert row["value"].item() == m.statistic(np.arange(m.images))
        if m.per_image:
            generator = np.random.default_rng(derive_seed(cfg["seed"], "claims", claim.id))
            low, high = _one_level(m.statistic, m.images, cfg["claims"]["resamples"], cfg["claims"]["confidence"],
                                   generator)
            assert (row["ci_low"].item(), row["ci_high"].item()) == (low, high), claim.id
            assert "1 replicate: interval over test images only" in row["note"].item()
        else:
            assert np.isnan(row["ci_low"].item()) and "1 replicate: no interval" in row["note"].item()


def test_disagreeing_replicates_widen_the_interval(cfg, tmp_path):
    """Claim 2a (AE-LPN - LPN at claims.robust_sigma) on two replicates, the second's effect shifted by 2 dB: the
    interval is wider than with two identical replicates and wider than one replicate's; the value is the mean of
    the two replicates' values."""
    one = _row(cfg, write_datasets(tmp_path, holding_values()), "2a")
    (tmp_path / "same").mkdir()
    same = _row(cfg, _replicates(tmp_path / "same", [holding_values(), holding_values()]), "2a")
    shifted = holding_values()
    shifted["denoise"][0.5]["aelpn"] += 2.0
    (tmp_path / "apart").mkdir()
    apart = _row(cfg, _replicates(tmp_path / "apart", [holding_values(), shifted]), "2a")
    assert same["replicates"].item() == apart["replicates"].item() == 2
    assert same["value"].item() == pytest.approx(one["value"].item(), abs=1e-12)
    assert apart["value"].item() == pytest.approx(one["value"].item() + 1.0, abs=1e-5)
    assert _width(apart) > 10 * _width(same) and _width(apart) > 10 * _width(one)
    assert "per replicate seed 10" in apart["note"].item()


def test_replicates_straddling_the_threshold_are_inconclusive(cfg, tmp_path):
    """Each replicate alone is decisive on its images (one far above the 0.5 dB robustness margin, one below it),
    their mean is above it: the two-level interval reaches below the margin, so claim 2a is inconclusive, where
    pooling the replicates' images would hold."""
    margin = cfg["claims"]["robustness_margin_db"]
    above, below = holding_values(), holding_values()
    above["denoise"][0.5]["aelpn"] = 20.0 + margin + 3.0
    below["denoise"][0.5]["aelpn"] = 20.0 + margin - 1.0
    for k, v in enumerate((above, below)):
        (tmp_path / f"alone{k}").mkdir()
        alone = _row(cfg, write_datasets(tmp_path / f"alone{k}", v), "2a")
        assert alone["verdict"].item() == ("holds" if k == 0 else "fails")
    row = _row(cfg, _replicates(tmp_path, [above, below]), "2a")
    assert row["value"].item() == pytest.approx(margin + 1.0, abs=0.05)
    assert row["ci_low"].item() < margin < row["value"].item()
    assert row["verdict"].item() == "inconclusive"


def test_a_quantity_without_an_image_axis_has_an_interval_over_replicates(cfg, tmp_path):
    """Claim 6a (the 1-D scale model's max prox error, one number per replicate): identical replicates hold with
    the degenerate interval [v, v]; replicates on either side of prox1d.target_max_error are inconclusive."""
    target = cfg["prox1d"]["target_max_error"]
    good, bad = holding_values(), holding_values()
    good["prox_error"]["scale"], bad["prox_error"]["scale"] = 0.5 * target, 2.0 * target
    (tmp_path / "same").mkdir()
    same = _row(cfg, _replicates(tmp_path / "same", [good, good]), "6a")
    assert same["verdict"].item() == "holds" and same["images"].item() == 0
    assert same["ci_low"].item() == pytest.approx(0.5 * target) == same["ci_high"].item()
    row = _row(cfg, _replicates(tmp_path, [good, bad]), "6a")
    assert row["value"].item() == pytest.approx(1.25 * target)
    assert row["ci_low"].item() == pytest.approx(0.5 * target) and row["ci_high"].item() == pytest.approx(2 * target)
    assert row["verdict"].item() == "inconclusive"


def test_a_claim_missing_on_one_replicate_is_not_measured_and_names_it(cfg, tmp_path):
    """blind.nc: AE-LPN's MAP converged on seed 10, not on seed 11: its rows are not measured, the note names
    seed 11; LPN's rows are measured on both."""
    bad = holding_values()
    bad["blind_residual"]["aelpn"] = 2.0 * cfg["claims"]["blind_map_residual_max"]
    ds = evaluate_claims(cfg, ClaimData(**_replicates(tmp_path, [holding_values(), bad])))
    row = ds.sel(claim="12a[aelpn]")
    assert row["verdict"].item() == "not measured" and row["replicates"].item() == 0
    assert row["note"].item().startswith("seed 11: MAP not converged")
    assert ds.sel(claim="12a[lpn]")["verdict"].item() == "holds"


def test_two_level_draws_resample_replicates_then_images():
    """bootstrap_interval over two replicates whose per-image values are constants 0 and 1: a draw's statistic is
    the share of replicate 1 among the drawn two (0, 0.5 or 1), whatever images were drawn; with one replicate
    and one image there is nothing to resample."""
    per_replicate = [lambda idx: 0.0, lambda idx: 1.0]
    low, high = bootstrap_interval(replicate_mean(per_replicate), 2, 5, 400, 0.9, np.random.default_rng(0))
    assert (low, high) == (0.0, 1.0)
    assert np.isnan(bootstrap_interval(replicate_mean(per_replicate[:1]), 1, 1, 400, 0.9,
                                       np.random.default_rng(0))).all()


def test_a_dataset_without_the_seed_dimension_is_one_line_naming_it(cfg, tmp_path, capsys):
    """noise_sweep.nc written before training seeds were a dimension: ClaimData refuses it, and ``aelpn claims``
    prints one line naming the file and exits 2."""
    paths = write_datasets(tmp_path, holding_values())
    old = tmp_path / "old_noise_sweep.nc"
    write_netcdf(read_netcdf(paths["noise_sweep"]).isel(seed=0), old)
    paths["noise_sweep"] = str(old)
    with pytest.raises(DatasetError, match=f"{old}: no 'seed' dimension"):
        ClaimData(**paths).seeds()
    import yaml

    from aelpn.core.config import select
    from aelpn.core.slices import sections

    config = tmp_path / "cfg.yaml"
    config.write_text(yaml.safe_dump(select(cfg, *sections("claims"))))
    args = ["claims", "--config", str(config), "--out", str(tmp_path / "claims.nc")]
    for name, path in paths.items():
        args += [f"--{name.replace('_', '-')}", path]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(old) in err and "seed" in err


def test_datasets_of_different_replicates_are_refused(cfg, tmp_path):
    paths = write_datasets(tmp_path, holding_values(), seed=0)
    (tmp_path / "other").mkdir()
    paths["inverse"] = write_datasets(tmp_path / "other", holding_values(), seed=5)["inverse"]
    with pytest.raises(DatasetError, match="training seeds"):
        ClaimData(**paths).seeds()


def test_the_claims_figure_shows_the_replicates_of_every_row(cfg, tmp_path):
    """Two replicates: every measured row's 'repl.' cell reads 2, a row not measured 0, and the title names the
    two-level interval and the training seeds."""
    import matplotlib

    matplotlib.use("Agg")
    from aelpn.claims.figure import COLUMNS, claims_figure, grouped

    paths = _replicates(tmp_path, [holding_values(), holding_values()])
    del paths["jacobian"]
    ds = evaluate_claims(cfg, ClaimData(**paths))
    fig, tab = claims_figure(ds)
    column = [name for name, _ in COLUMNS].index("repl.")
    shown = {str(ds["claim"].values[i]): tab[row + 1, column].get_text().get_text()
             for row, i in enumerate(grouped(ds))}
    assert shown["1a"] == "2" and shown["5a"] == "0"
    assert "two-level paired-bootstrap intervals over replicates and test images; 2 replicates (training seeds 10, " \
           "11)" in fig.get_suptitle()


def test_claims_nc_keeps_every_replicates_value_for_the_seed_table(cfg, tmp_path):
    """claims.nc ``replicate_value`` (claim, seed): claim 2a on each replicate alone, its mean the row's value; the
    seed-spread table lists it per seed with the spread (2 dB apart by construction)."""
    from aelpn.claims import run_claims
    from aelpn.report.seed_spread import seed_spread_table

    shifted = holding_values()
    shifted["denoise"][0.5]["aelpn"] += 2.0
    paths = _replicates(tmp_path, [holding_values(), shifted])
    ds = run_claims(cfg, ClaimData(**paths), str(tmp_path / "claims.nc"))
    per_seed = ds["replicate_value"].sel(claim="2a")
    assert per_seed["seed"].values.tolist() == [10, 11]
    assert per_seed.sel(seed=11).item() - per_seed.sel(seed=10).item() == pytest.approx(2.0, abs=1e-5)
    assert per_seed.mean().item() == pytest.approx(ds.sel(claim="2a")["value"].item())
    table = seed_spread_table({"claims": str(tmp_path / "claims.nc")})
    row = next(line for line in table.splitlines() if line.startswith("| claim 2a: "))
    assert row.endswith("| 2 |")
    assert "claim 1b" not in table  # a project claim
