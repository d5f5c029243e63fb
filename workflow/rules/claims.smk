# Claims of the AE-LPN paper and of the PnP-vs-unrolled notes, checked on the metrics: the Jacobian
# asymmetry measurement (claim 5; one job per replicate, combined along seed in replicates.smk) and the claims table (its figure is in figures.smk). A failing claim is a finding:
# the rule succeeds.

CLAIMS_METRICS = {
    "noise-sweep": "results/metrics/noise_sweep.nc",
    "affine-sweep": "results/metrics/affine_sweep.nc",
    "jacobian": "results/metrics/jacobian.nc",
    "prox1d": "results/metrics/prox1d.nc",
    "inverse": "results/metrics/inverse.nc",
    "blind": "results/metrics/blind.nc",
}
# The cross-operator evaluation of the unrolled networks exists when the config lists adaptivity pairs.
if config["inverse"].get("adaptivity"):
    CLAIMS_METRICS["adaptivity"] = "results/metrics/adaptivity.nc"


rule jacobian:
    input:
        models=expand("results/models/seed{{seed}}/{variant}/model.pt", variant=VARIANTS),
        crops=f"results/data/crops/{SPLIT['evaluate']}.nc",
    output:
        "results/runs/jacobian/seed{seed}.nc",
    params:
        cfg=lambda wildcards: job_config("evaluate jacobian", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["jacobian"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/claims/seed{seed}/jacobian.log",
    benchmark:
        "benchmarks/claims/seed{seed}/jacobian.tsv"
    shell:
        "aelpn --threads {threads} evaluate jacobian --config {params.cfg:q} --crops {input.crops} --out {output} "
        "{input.models} > {log} 2>&1"


rule claims:
    input:
        **CLAIMS_METRICS,
    output:
        "results/metrics/claims.nc",
    params:
        cfg=job_config("claims"),
        inputs=lambda wildcards, input: " ".join(f"--{name} {path}" for name, path in input.items()),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/claims/claims.log",
    benchmark:
        "benchmarks/claims/claims.tsv"
    localrule: True
    shell:
        "aelpn claims --config {params.cfg:q} {params.inputs} --out {output} > {log} 2>&1"
