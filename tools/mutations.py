"""The catalogue of semantic mutations run by ``tools/mutate.py``: each is a deliberate bug a reviewer would
expect some fast test to catch (a sign flip, a dropped term, a wrong constant, an ignored config key), with the
test files that should kill it. Edits are exact source snippets: when the source changes so that a snippet no
longer matches (or matches a different number of times than ``count``), the mutation is reported stale and
must be updated here, never skipped."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in ``path`` (relative to src/aelpn); ``old`` must occur exactly ``count`` times."""

    path: str
    old: str
    new: str
    count: int = 1


@dataclass(frozen=True)
class Mutation:
    name: str
    area: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]
    description: str = field(default="")


def _m(name, area, tests, description, *edits):
    return Mutation(name, area, tuple(edits), tuple(f"tests/{t}" for t in tests), description)


MODELS = ("test_models_properties.py", "test_models_explicit_gradient.py")
LOSSES = ("test_losses.py",)
TRAINING = ("test_train.py", "test_training_loop.py")
OPERATORS = ("test_inverse_operators.py",)
POISSON = ("test_inverse_poisson.py", "test_inverse_operators.py")
PNP = ("test_inverse_pnp.py",)
DIFFUSION = ("test_inverse_diffusion.py",)
METRICS = ("test_sweeps.py",)
IO = ("test_io_atomic.py", "test_models_io.py")
STEP_BOUNDS = ("test_step_bounds.py",)
PRECISION = ("test_stored_precision.py",)

CATALOGUE: tuple[Mutation, ...] = (
    # models
    _m("nonneg-projection-off", "models", MODELS, "W >= 0 projection of the z-path does nothing",
       Edit("models/layers.py", "self.weight.data.clamp_(min=0)", "self.weight.data.clamp_(min=-float(\"inf\"))", count=2)),
    _m("mean-projection-sign", "models", MODELS, "shift variant adds the gradient's mean instead of removing it",
       Edit("models/variants.py", "return psi, grad - grad.mean(dims, keepdim=True) + mean",
            "return psi, grad + grad.mean(dims, keepdim=True) + mean")),
    _m("mean-energy-dropped", "models", MODELS, "||P x||^2 / 2 dropped from the shift variant's potential",
       Edit("models/variants.py", "+ 0.5 * x[0].numel() * mean.flatten().square()", "", count=2)),
    _m("normtrick-scale-dropped", "models", MODELS, "normalization trick forgets to rescale by s_x",
       Edit("models/variants.py", "out = std * self.inner(centred / std) + mean", "out = self.inner(centred / std) + mean")),
    # losses and schedule
    _m("l1-squared", "losses", LOSSES, "L1 loss computes the MSE",
       Edit("training/losses.py", "return (pred - target).abs().mean()", "return (pred - target).pow(2).mean()")),
    _m("pm-gamma-not-squared", "losses", LOSSES, "proximal matching divides by gamma instead of gamma^2",
       Edit("training/losses.py", "torch.exp(-sq_dist / gamma**2)", "torch.exp(-sq_dist / gamma)")),
    _m("pm-stages-increasing", "losses", LOSSES, "gamma grows over the stages instead of halving",
       Edit("training/losses.py", "2.0 ** (stages - 1 - stage)", "2.0**stage")),
    _m("lr-pm-ignored", "losses", LOSSES + TRAINING, "config key train.lr_pm ignored (lr_pretrain throughout)",
       Edit("training/losses.py", 'return StepSetting(PM, float(train_cfg["lr_pm"][variant]), gamma)',
            'return StepSetting(PM, float(train_cfg["lr_pretrain"][variant]), gamma)')),
    # training loop
    _m("always-l1", "training", TRAINING, "training never uses proximal matching",
       Edit("training/proxnets.py", "        if setting.phase == L1:\n            loss, stage = losses.l1_loss(pred, x), L1",
            "        if True:\n            loss, stage = losses.l1_loss(pred, x), L1")),
    _m("lr-schedule-ignored", "training", TRAINING, "the optimizer keeps Adam's default learning rate",
       Edit("training/loop.py", 'group["lr"] = lr', 'group["lr"] = group["lr"]')),
    _m("noise-half-sigma", "training", TRAINING, "training batches at half the configured sigma",
       Edit("training/proxnets.py", "y = x + sigma * noise.to(device)", "y = x + 0.5 * sigma * noise.to(device)")),
    _m("projection-once-at-end", "training", TRAINING, "weights projected once after the last step only",
       Edit("training/loop.py", "            if project is not None:\n                project()\n", ""),
       Edit("training/loop.py", "    write(run.steps)\n", "    if project is not None:\n        project()\n    write(run.steps)\n")),
    _m("inf-loss-not-stopped", "training", TRAINING, "only NaN losses are bad, +-inf passes",
       Edit("training/loop.py", "if not math.isfinite(loss):", "if math.isnan(loss):")),
    _m("squared-features-unrectified", "models", MODELS,
       "the squared-feature gradient uses t_k instead of relu(t_k) (not the gradient of psi, not monotone)",
       Edit("models/variants.py", "direct.append(a * r)", "direct.append(a * t)")),
    _m("squared-features-head-only", "models", ("test_models_rank.py",),
       "the squared-feature potential keeps only the head's features (rank <= head_width)",
       Edit("models/variants.py", "for t, layer in zip(ts, self.output_layers()):",
            "for t, layer in list(zip(ts, self.output_layers()))[-1:]:"),
       Edit("models/variants.py", "return psi, self.core.reverse(direct, cache)",
            "return psi, self.core.reverse([None] * (len(ts) - 1) + direct, cache)")),
    _m("unit-gain-degree-1", "models", ("test_models_init.py",),
       "the unit-gain rescaling treats the 2-homogeneous scale model as linear in its output weights",
       Edit("models/variants.py", "output_degree = 2", "output_degree = 1")),
    _m("unit-gain-tiny-hidden-weights", "models", ("test_models_init.py",),
       "the unit-gain init keeps the reference mean exp(-10) on the hidden constrained layers",
       Edit("models/layers.py", "w.normal_(-math.log(fan_in), NONNEG_INIT_STD", "w.normal_(NONNEG_INIT_MEAN, NONNEG_INIT_STD")),
    _m("rollback-lr-kept", "training", TRAINING, "a rollback does not lower the learning rate",
       Edit("training/loop.py", "lr_scale *= recipe.divergence.lr_factor", "lr_scale *= 1.0")),
    _m("rollback-not-checkpointed", "training", TRAINING,
       "the regular checkpoints forget the rollbacks (a resume after one trains at the full rate)",
       Edit("training/loop.py", "monitor=monitor.state(), recovery=recovery_state())\n                write(done)",
            "monitor=monitor.state(), recovery=state_mod.NO_RECOVERY)\n                write(done)")),
    _m("rollback-to-the-bad-weights", "training", TRAINING,
       "a spike right after a checkpoint rolls back to that checkpoint, which holds the weights that spiked",
       Edit("training/loop.py", "state_mod.load_before(ckpt, run.fingerprint, step)",
            "state_mod.load_before(ckpt, run.fingerprint, step + 1)")),
    _m("lr-warmup-ignored", "training", TRAINING, "config key lr_warmup ignored",
       Edit("training/loop.py", "float(lr_at(step)) * recipe.warmup_factor(step) * lr_scale",
            "float(lr_at(step)) * lr_scale", count=2)),
    _m("grad-clip-ignored", "training", TRAINING, "config key grad_clip ignored",
       Edit("training/loop.py", "clip_grad_norm_(model.parameters(), recipe.grad_clip)",
            "clip_grad_norm_(model.parameters(), float('inf'))")),
    # operators and the Gaussian data term
    _m("blur-width-ignored", "operators", OPERATORS, "config key blur_sigma ignored (width 1)",
       Edit("physics/problems.py", 'kernel = _gaussian_kernel(self.spec["blur_sigma"], dtype)',
            "kernel = _gaussian_kernel(1.0, dtype)")),
    _m("mask-ratio-ignored", "operators", OPERATORS, "config key keep ignored (half the pixels kept)",
       Edit("physics/problems.py", '< self.spec["keep"]', "< 0.5")),
    _m("lipschitz-doubled", "operators", OPERATORS + PNP, "Lipschitz constant of grad f doubled",
       Edit("physics/problems.py", "return 1.0 / self.sigma**2", "return 2.0 / self.sigma**2")),
    _m("gaussian-prox-weight", "operators", OPERATORS + PNP, "Gaussian prox weight gamma / sigma instead of / sigma^2",
       Edit("physics/problems.py", "physics.prox_l2(x, y, gamma / self.sigma**2)", "physics.prox_l2(x, y, gamma / self.sigma)")),
    # Poisson prox
    _m("cg-steepest-descent", "poisson", POISSON, "CG reduced to steepest descent (no conjugation)",
       Edit("physics/poisson.py", "p = r + rr_new / rr.clamp_min(torch.finfo(rhs.dtype).tiny) * p", "p = r")),
    _m("line-search-removed", "poisson", POISSON, "full Newton steps, never halved",
       Edit("physics/poisson.py", "better = feasible(t) & (objective(t) <= current)",
            "better = torch.ones_like(current, dtype=torch.bool)")),
    _m("feasibility-guard-removed", "poisson", POISSON, "A x + b > 0 neither checked nor implied by f = +inf",
       Edit("physics/poisson.py", "better = feasible(t) & (", "better = ("),
       Edit("physics/poisson.py",
            '        return torch.where((u > 0).flatten(1).all(1), val, torch.full_like(val, float("inf")))',
            "        return val")),
    _m("poisson-gradient-sign", "poisson", POISSON, "grad f = c A^T (y / u - 1)",
       Edit("physics/poisson.py", "return self.photons * physics.A_adjoint(1 - y / u)",
            "return self.photons * physics.A_adjoint(y / u - 1)")),
    _m("poisson-identity-root", "poisson", POISSON, "closed-form prox takes the negative root",
       Edit("physics/poisson.py", "u = (-q + torch.sqrt(", "u = (-q - torch.sqrt(")),
    # PnP solvers
    _m("admm-rho-sigma", "pnp", PNP, "ADMM penalty lam / sigma instead of lam / sigma^2",
       Edit("solvers/pnp.py", "rho = lam / sigma_train**2", "rho = lam / sigma_train")),
    _m("admm-dual-sign", "pnp", PNP, "ADMM dual update u - x + z",
       Edit("solvers/pnp.py", 'return {"z": z, "u": s["u"] + x - z}', 'return {"z": z, "u": s["u"] - x + z}')),
    _m("pgd-step-sigma", "pnp", PNP, "PGD step sigma / lam instead of sigma^2 / lam",
       Edit("solvers/pnp.py", "tau = sigma_train**2 / lam", "tau = sigma_train / lam")),
    _m("red-weight-inverted", "pnp", PNP, "RED fixed-point prox weight lam / sigma^2 instead of sigma^2 / lam",
       Edit("solvers/pnp.py", "    gamma = sigma_train**2 / lam\n", "    gamma = lam / sigma_train**2\n")),
    _m("stopping-inverted", "pnp", PNP, "images stop when the change exceeds tol",
       Edit("solvers/pnp.py", "stopped = active & (change < tol)", "stopped = active & (change > tol)")),
    _m("continuation-reversed", "pnp", PNP, "continuation sigma_k increases",
       Edit("solvers/pnp.py", "torch.exp((1 - frac) * math.log(sigma_start) + frac * end.log())",
            "torch.exp(frac * math.log(sigma_start) + (1 - frac) * end.log())")),
    _m("diffpir-prox-weight-inverted", "pnp", DIFFUSION, "DiffPIR data prox weight s^2 / gamma",
       Edit("solvers/diffusion.py", "return data.prox(x0, (1 - abar_t) / abar_t / lam)",
            "return data.prox(x0, lam * abar_t / (1 - abar_t))")),
    # metrics
    _m("psnr-unclipped", "metrics", METRICS, "denoising PSNR without clipping to [0, 1]",
       Edit("core/metrics.py", "return _PSNR(x_hat.clamp(0.0, 1.0), x)", "return _PSNR(x_hat, x)")),
    _m("equivariance-peak", "metrics", METRICS, "equivariance PSNR peak a instead of a^2",
       Edit("core/metrics.py", "float(scale) ** 2", "float(scale)")),
    _m("affine-psnr-unscaled", "metrics", METRICS, "affine PSNR forgets the division by a",
       Edit("core/metrics.py", "return psnr((x_hat - shift) / scale, x)", "return psnr(x_hat - shift, x)")),
    # quiet bugs that would change a published number
    _m("lr-of-lpn-for-every-variant", "training", ("test_train.py",), "every variant trained with LPN's rates",
       Edit("training/proxnets.py", "lpn_schedule(tcfg, variant, step, n_entries).lr",
            'lpn_schedule(tcfg, "lpn", step, n_entries).lr')),
    _m("noise-shared-by-channels", "training", ("test_train.py",), "one noise draw shared by R, G and B",
       Edit("training/proxnets.py", "noise = torch.randn((len(idx), *x_train.shape[1:]), generator=gen)",
            "noise = torch.randn((len(idx), 1, *x_train.shape[2:]), generator=gen).expand(-1, x_train.shape[1], "
            "-1, -1)")),
    _m("crop-corners-shared", "data", ("test_data_crops.py",), "every training image cropped at the same corners",
       Edit("data/crops.py", 'gen = generator(seed, "crops", split, image_id) if training else None',
            'gen = generator(seed, "crops", split) if training else None')),
    _m("ssim-unclipped", "metrics", METRICS, "SSIM of the unclipped estimate",
       Edit("core/metrics.py", "return _SSIM(x_hat.clamp(0.0, 1.0), x)", "return _SSIM(x_hat, x)")),
    _m("dps-guidance-sign", "pnp", DIFFUSION, "DPS moves up the measurement residual's gradient",
       Edit("solvers/diffusion.py", "x = (mean + var**0.5 * z - step).detach()",
            "x = (mean + var**0.5 * z + step).detach()")),
    _m("diffpir-zeta-weights-the-estimated-noise", "pnp", ("test_inverse_crosscheck.py",),
       "DiffPIR's zeta weights the estimated noise instead of the fresh one",
       Edit("solvers/diffusion.py", "((1 - zeta) ** 0.5 * eps_hat + zeta**0.5 * noise())",
            "(zeta**0.5 * eps_hat + (1 - zeta) ** 0.5 * noise())")),
    _m("continuation-from-mid-grey", "pnp", ("test_inverse_crosscheck.py",),
       "continuation starts from the mid-grey-filled init, not DPIR's A^T y",
       Edit("solvers/pnp.py", "z0 = data.back_projection()", "z0 = data.init()")),
    _m("combine-only-all-nan-refused", "io", ("test_combine.py",), "combine accepts NaN on some images",
       Edit("core/combine.py", "bool(var.isnull().any())", "bool(var.isnull().all())")),
    # claims
    _m("adaptivity-comparator-on-the-training-problem", "claims", ("test_claims.py",),
       "claim 9a's PnP comparator taken on the problem the network was trained on",
       Edit("claims/definitions.py", "pnp = _denoiser_pnp(ds, cfg, p)\n                    cells.append",
            "pnp = _denoiser_pnp(ds, cfg, t)\n                    cells.append"),
       Edit("claims/definitions.py", "rows.append(adapt.isel(pair=k).values - psnr.sel(estimator=pnp, problem=p).values)",
            "rows.append(adapt.isel(pair=k).values - psnr.sel(estimator=pnp, problem=t).values)")),
    _m("holds-without-the-interval", "claims", ("test_claims.py",), "a value inside the range holds whatever its interval",
       Edit("claims/evaluate.py", "if holds and _inside(low, lower, upper) and _inside(high, lower, upper):",
            "if holds:")),
    _m("robustness-of-a-non-denoiser", "claims", ("test_claims.py",),
       "robustness claims ignore whether the variants denoise at all",
       Edit("claims/definitions.py", 'unmet = _not_denoising(data, cfg, (better, worse)) if sigma_key == "claims.robust_sigma" else ""',
            'unmet = ""')),
    _m("training-cost-of-every-component", "claims", ("test_claims.py",),
       "11a takes the largest training time of every denoiser-labelled estimator (flow, VAE, ULA...)",
       Edit("claims/definitions.py", 'if get(a).prior == "denoiser"]', "]")),
    _m("sample-gap-as-mean-psnr", "claims", ("test_claims.py",), "claim 10 averages per-image PSNR gaps",
       Edit("claims/definitions.py", "return 10.0 * np.log10(_mean_ratio(picked))",
            "return (10.0 * np.log10(picked[:, 0] / picked[:, 1])).mean(axis=-1)")),
    _m("netcdf-error-raw", "io", ("test_cli_errors.py",), "an unreadable netCDF input ends in the library's traceback",
       Edit("core/io.py", "    except (OSError, ValueError) as err:\n        first =", "    except KeyError as err:\n        first =")),
    # what the files say about themselves
    _m("prox-sigma-from-elsewhere", "io", ("test_models_io.py",),
       "the proximal networks are loaded at a fixed sigma, not the one their file records",
       Edit("inverse/priors.py", "load_model(path, device=device), proximal_sigma(path),",
            "load_model(path, device=device), 0.1,")),
    _m("lam-not-from-the-job", "io", ("test_inverse_pipeline.py",), "inverse.nc's lam is not the one each job wrote",
       Edit("inverse/combine.py", 'ran[ei, pi], lam[ei] = 1, float(part["lam"])', 'ran[ei, pi] = 1')),
    _m("channels-unlabelled-order", "io", ("test_inverse_pipeline.py",), "colour channels labelled in the wrong order",
       Edit("core/provenance.py", 'return ["R", "G", "B"] if channels == 3', 'return ["B", "G", "R"] if channels == 3')),
    _m("core-imports-a-stage", "layers", ("test_layers.py",), "core.config imports the inverse method registry again",
       Edit("core/config.py", "    lines = []\n    for i, pair in enumerate(icfg[\"adaptivity\"]):",
            "    from aelpn.inverse.methods.registry import names\n\n    lines = [a for a in icfg[\"algorithms\"] "
            "if a not in names()]\n    for i, pair in enumerate(icfg[\"adaptivity\"]):")),
    # blind deblurring
    _m("exact-regularizer-sign", "blind", ("test_blind_objective.py",), "R_D(f(v)) adds psi(v) instead of subtracting it",
       Edit("blind/landscape.py", "reg = (_dot(v, x) - psi - 0.5 * _dot(x, x)) / prior.sigma**2",
            "reg = (_dot(v, x) + psi - 0.5 * _dot(x, x)) / prior.sigma**2")),
    _m("box-dropped", "blind", ("test_blind_objective.py",), "the MAP's box [0, 1]^n projection does nothing",
       Edit("blind/landscape.py", "return (lambda x: x.clamp(0.0, 1.0)) if box else (lambda x: x)",
            "return lambda x: x")),
    _m("claim-12-on-improper-priors", "claims", ("test_claims.py",), "claim 12 reads every learned prior, proper or not",
       Edit("claims/definitions.py", "picked = argmin.isel(prior=np.flatnonzero(learned & proper))",
            "picked = argmin.isel(prior=np.flatnonzero(learned))")),
    # atomic output
    _m("write-in-place", "io", IO, "atomic_path writes the destination directly",
       Edit("core/io.py", "        yield Path(tmp)\n        os.replace(tmp, path)\n", "        yield path\n")),
    _m("model-saved-in-place", "io", IO, "save_model bypasses the atomic writer",
       Edit("models/files.py", "return save_torch(payload, path)", "torch.save(payload, path)\n    return Path(path)")),
    # quiet-bug classes (issue 37): (a) a config key read in place of one sharing its value in config/config.yaml
    _m("steps-pm-read-as-steps-pretrain", "config-key", LOSSES + ("test_train.py",),
       "the proximal-matching stages are cut by train.steps_pretrain instead of train.steps_pm",
       Edit("training/losses.py", '* stages // train_cfg["steps_pm"]', '* stages // train_cfg["steps_pretrain"]')),
    _m("probes-read-as-rank-directions", "config-key", ("test_jacobian.py", "test_config_keys_read.py"),
       "the Jacobian asymmetry uses jacobian.rank_directions probes instead of jacobian.probes",
       Edit("claims/jacobian.py", 'tuple(x.shape[1:]), jcfg["probes"])',
            'tuple(x.shape[1:]), jcfg["rank_directions"])')),
    _m("continuation-margin-read-as-unrolled", "config-key", ("test_config_keys_read.py",),
       "claim 8's threshold read from claims.unrolled_margin_db",
       Edit("claims/definitions.py", '_above("continuation_margin_db")', '_above("unrolled_margin_db")')),
    _m("theta-ratio-read-as-map-theta", "config-key", ("test_config_keys_read.py",),
       "claim 13a's threshold read from claims.blind_map_theta_max",
       Edit("claims/definitions.py", '_below("blind_theta_ratio_max")', '_below("blind_map_theta_max")')),
    _m("shift-gap-read-as-lpn-gap", "config-key", ("test_config_keys_read.py",),
       "claim 14d's threshold read from claims.sq_lpn_gap_max_db",
       Edit("claims/definitions.py", '_below("sq_shift_gap_max_db")', '_below("sq_lpn_gap_max_db")')),
    _m("diffpir-lam-read-as-zeta", "config-key", ("test_config_keys_read.py",),
       "DiffPIR's lam read from the operator's zeta",
       Edit("inverse/methods/diffpir.py", 'setting["lam"], setting["zeta"]', 'setting["zeta"], setting["zeta"]')),
    _m("noise-sigma-read-as-sigma-left", "config-key", ("test_prox1d.py", "test_config_keys_read.py"),
       "the 1-D study's noise level read from prox1d.sigma_left",
       Edit("prox1d/splitnormal.py", 'float(prox1d_cfg["noise_sigma"]))', 'float(prox1d_cfg["sigma_left"]))')),
    # (b) a flag that sets a stored dtype or precision, accepted and ignored
    _m("netcdf-float32-false-ignored", "precision", PRECISION, "write_netcdf stores float32 even with float32=False",
       Edit("core/io.py", "if float32 and var.dtype.kind == \"f\":", "if var.dtype.kind == \"f\":")),
    _m("netcdf-float32-true-ignored", "precision", PRECISION, "write_netcdf keeps float64 even with float32=True",
       Edit("core/io.py", "if float32 and var.dtype.kind == \"f\":", "if False and var.dtype.kind == \"f\":")),
    _m("claims-nc-in-float32", "precision", ("test_claims.py",), "claims.nc written in float32",
       Edit("claims/evaluate.py", "io.write_netcdf(ds, out, float32=False)", "io.write_netcdf(ds, out)")),
    _m("jacobian-nc-in-float32", "precision", ("test_jacobian.py",), "jacobian.nc written in float32",
       Edit("claims/jacobian.py", "io.write_netcdf(ds, out, float32=False)", "io.write_netcdf(ds, out)")),
    _m("blind-nc-in-float32", "precision", ("test_blind_pipeline.py",), "blind.nc written in float32",
       Edit("blind/dataset.py", "write_netcdf(ds, out, float32=False)", "write_netcdf(ds, out)")),
    _m("model-dtype-ignored", "precision", PRECISION, "load_model builds float32 whatever the file's weights hold",
       Edit("models/files.py", "model.to(dtypes.pop())", "dtypes.pop()")),
    _m("log-field-dtype-ignored", "precision", PRECISION, "training logs store every field as a float",
       Edit("training/log.py", "np.asarray(log[name], dtype=f.dtype)", "np.asarray(log[name], dtype=float)")),
    _m("rollback-record-dtype-ignored", "precision", PRECISION, "the rollback records' steps stored as floats",
       Edit("training/log.py", "np.asarray([r[key] for r in rollbacks], dtype=dtype)",
            "np.asarray([r[key] for r in rollbacks], dtype=float)")),
    # (c) a step size or stability bound with the wrong power or a dropped term
    _m("ula-step-prior-sigma-power", "step-bound", STEP_BOUNDS,
       "ULA's step bound uses alpha / s instead of alpha / s^2",
       Edit("solvers/langevin.py", "return fraction / (data.lipschitz() + alpha / sigma**2)",
            "return fraction / (data.lipschitz() + alpha / sigma)")),
    _m("ula-step-data-term-dropped", "step-bound", STEP_BOUNDS, "ULA's step bound forgets the likelihood's L_f",
       Edit("solvers/langevin.py", "return fraction / (data.lipschitz() + alpha / sigma**2)",
            "return fraction / (alpha / sigma**2)")),
    _m("pnp-flow-step-sqrt-lipschitz", "step-bound", STEP_BOUNDS, "PnP-Flow's gradient step fraction / sqrt(L)",
       Edit("solvers/flow.py", "step_fraction / lipschitz * times[k] ** alpha",
            "step_fraction / lipschitz**0.5 * times[k] ** alpha")),
    _m("flow-admm-rho-sigma-power", "step-bound", STEP_BOUNDS, "flow-ADMM's penalty lam / s instead of lam / s^2",
       Edit("solvers/flow.py", "rho = [lam / flow_noise_level(t) ** 2 for t in times]",
            "rho = [lam / flow_noise_level(t) for t in times]")),
    _m("gaussian-lipschitz-sigma-power", "step-bound", STEP_BOUNDS + OPERATORS,
       "L_f = 1 / sigma instead of 1 / sigma^2",
       Edit("physics/problems.py", "return 1.0 / self.sigma**2", "return 1.0 / self.sigma")),
    _m("pgd-stability-bound-doubled", "step-bound", PNP, "PnP-PGD accepts steps up to 2 / L",
       Edit("solvers/pnp.py", "if tau * lipschitz > 1.0 + 1e-9:", "if tau * lipschitz > 2.0 + 1e-9:")),
    _m("dps-step-residual-squared", "step-bound", DIFFUSION, "DPS's step zeta' / ||r||^2 instead of zeta' / ||r||",
       Edit("solvers/diffusion.py", "scale = zeta / sq.detach().sqrt().clamp_min(",
            "scale = zeta / sq.detach().clamp_min(")),
    _m("admm-diffusion-rho-sigma-power", "step-bound", ("test_inverse_diffusion_step.py",),
       "annealed ADMM's penalty lam / sigma_k instead of lam / sigma_k^2",
       Edit("solvers/admm_diffusion_step.py", "rho = lam / sigmas**2", "rho = lam / sigmas")),
    _m("blind-map-rho-sigma-power", "step-bound", ("test_blind_objective.py",),
       "the blind MAP's ADMM penalty lam / sigma instead of lam / sigma^2",
       Edit("blind/landscape.py", "rho = lam / prior.sigma**2", "rho = lam / prior.sigma")),
    # (d) a combine that refuses an all-NaN metric but accepts NaN on some images of a method that ran
    _m("combine-refuses-all-nan-runs-only", "nan", ("test_combine.py",),
       "combine_runs refuses a run whose variable is all NaN, accepts NaN on some of its images",
       Edit("core/combine.py", "bool(var.isnull().any())",
            "bool(var.isnull().all([d for d in var.dims if d != dim]).any())")),
    _m("combine-checks-complex-only", "nan", ("test_combine.py",), "combine_runs checks NaN in complex variables only",
       Edit("core/combine.py", 'var.dtype.kind in "fc" and bool', 'var.dtype.kind in "c" and bool')),
    _m("inverse-combine-all-nan-only", "nan", ("test_inverse_pipeline.py",),
       "combine inverse refuses an estimator's all-NaN metric only",
       Edit("inverse/combine.py", "if np.isnan(data[name][ei, pi]).any():", "if np.isnan(data[name][ei, pi]).all():")),
    _m("inverse-combine-psnr-unchecked", "nan", ("test_inverse_pipeline.py",),
       "combine inverse lets NaN PSNR through for estimators that ran",
       Edit("inverse/combine.py", 'COMPLETE = ("psnr", "ssim",', 'COMPLETE = ("ssim",')),
    _m("training-log-loss-nan-allowed", "nan", ("test_combine.py",), "combine training accepts a NaN loss",
       Edit("training/proxnets.py", 'LOG_NAN_OK = ("gamma", "val_psnr")',
            'LOG_NAN_OK = ("gamma", "val_psnr", "loss")')),
    _m("sweep-nan-allowed", "nan", ("test_combine.py",), "combine noise_sweep / affine_sweep accepts NaN PSNRs",
       Edit("sweeps/combine.py", "shared=SHARED[kind])", 'shared=SHARED[kind], nan_ok=("psnr", "denoising_psnr"))')),
)
