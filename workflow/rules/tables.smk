# Metrics tables in the report: `aelpn results show FILE OPTIONS --csv` (mean and std over images per coordinate).
# Adding a table is one line: name -> (metrics file, options choosing its variables and coordinates).
TABLES = {
    "inverse": ("results/metrics/inverse.nc", "--var psnr --var ssim --var seconds"),
}

for _table, (_metrics, _options) in TABLES.items():

    rule:
        name:
            f"table_{_table}"
        input:
            _metrics,
        output:
            report(f"results/tables/{_table}.csv", caption="../report/table.rst", category="Tables"),
        params:
            options=_options,
        conda:
            "../envs/aelpn.yaml"
        log:
            f"logs/tables/{_table}.log",
        benchmark:
            f"benchmarks/tables/{_table}.tsv"
        localrule: True
        shell:
            "aelpn results show {input} {params.options} --csv > {output} 2> {log}"

    TABLE_FILES.append(f"results/tables/{_table}.csv")


# The seed-to-seed spread of the headline numbers over the training replicates (the datasets' 'seed' dimension):
# docs/reproducibility.md.
rule table_seed_spread:
    input:
        noise_sweep="results/metrics/noise_sweep.nc",
        inverse="results/metrics/inverse.nc",
        cbsd68="results/metrics/cbsd68.nc",
        claims="results/metrics/claims.nc",
    output:
        report("results/tables/seed_spread.md", caption="../report/seed_spread.rst", category="Tables"),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/tables/seed_spread.log",
    benchmark:
        "benchmarks/tables/seed_spread.tsv"
    localrule: True
    shell:
        "aelpn results seed-spread --noise-sweep {input.noise_sweep} --inverse {input.inverse} "
        "--cbsd68 {input.cbsd68} --claims {input.claims} --out {output} > {log} 2>&1"


TABLE_FILES.append("results/tables/seed_spread.md")
