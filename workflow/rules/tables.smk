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
