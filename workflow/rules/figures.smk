# Figures rendered by papermill notebooks, every figure of the workflow in one place: one rule per figure,
# PDF + PNG under results/figures/, the executed notebook under results/notebooks/, the PNG in the report with
# workflow/report/<name>.rst.

# figure name -> (metrics file it plots, notebook parameters besides paths and dpi)
FIGURE_SOURCES = {
    "prox1d": ("results/metrics/prox1d.nc", {}),
    "noise_sweep": ("results/metrics/noise_sweep.nc", {"train_sigma": config["train"]["sigma"]}),
    "denoising_examples": ("results/metrics/noise_sweep.nc", {}),
    "affine_sweep": ("results/metrics/affine_sweep.nc", {"sigma": config["affine_sweep"]["sigma"]}),
    "cbsd68": ("results/metrics/cbsd68.nc", {"train_sigma": config["train"]["sigma"],
                                             "resamples": config["claims"]["resamples"],
                                             "confidence": config["claims"]["confidence"], "seed": config["seed"]}),
    "training_curves": ("results/metrics/training.nc", {}),
    "inverse_table": ("results/metrics/inverse.nc", {}),
    "inverse_grid": ("results/metrics/inverse.nc", {}),
    "inverse_iterations": ("results/metrics/inverse.nc", {}),
    "inverse_uncertainty": ("results/metrics/inverse.nc", {}),
    "blind_landscape": ("results/metrics/blind.nc", {}),
    "blind_results": ("results/metrics/blind.nc", {}),
    "claims": ("results/metrics/claims.nc", {}),
}

for _figure, (_metrics, _extra) in FIGURE_SOURCES.items():

    rule:
        name:
            f"figure_{_figure}"
        input:
            nc=_metrics,
            nb=workflow.source_path(f"../notebooks/{_figure}.ipynb"),
        output:
            pdf=figure_outputs(_figure)["pdf"],
            png=report(
                figure_outputs(_figure)["png"],
                caption=f"../report/{_figure}.rst",
                category="Figures",
            ),
            nb=figure_outputs(_figure)["nb"],
        params:
            extra=json.dumps({"dpi": config["figures"]["dpi"], **_extra}, sort_keys=True),
        conda:
            "../envs/aelpn.yaml"
        log:
            f"logs/figures/{_figure}.log",
        benchmark:
            f"benchmarks/figures/{_figure}.tsv"
        localrule: True
        shell:
            "MPLBACKEND=Agg papermill --kernel python3 --cwd . --log-output {input.nb} {output.nb} "
            "-p metrics_path {input.nc} "
            "-p out_pdf {output.pdf} -p out_png {output.png} -y {params.extra:q} > {log} 2>&1"

    if _figure != "training_curves" or TRAINED_VARIANTS:  # no curves when every variant's weights came from elsewhere
        FIGURES.extend([figure_outputs(_figure)["pdf"], figure_outputs(_figure)["png"]])
