# Training: one job per replicate (training seed) and image model variant (L1 pre-training, then proximal matching).


rule train:
    input:
        train=f"results/data/crops/{SPLIT['train']}.nc",
        val=f"results/data/crops/{SPLIT['validate']}.nc",
    output:
        model="results/models/seed{seed}/{variant}/model.pt",
        log="results/models/seed{seed}/{variant}/train_log.nc",
    params:
        cfg=lambda wildcards: job_config("train proxnet", seed=wildcards.seed),
    threads: 1
    resources:
        mem_mb=MEM_MB["train"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/train/seed{seed}/{variant}.log",
    benchmark:
        "benchmarks/train/seed{seed}/{variant}.tsv"
    # "(?!)" matches nothing: every variant's weights came from elsewhere
    wildcard_constraints:
        variant="|".join(TRAINED_VARIANTS) or "(?!)",
    shell:
        "aelpn --threads {threads} train proxnet --config {params.cfg:q} --variant {wildcards.variant} "
        "--train {input.train} --val {input.val} --out {output.model} --train-log {output.log} > {log} 2>&1"


rule training_logs:
    input:
        expand("results/models/seed{seed}/{variant}/train_log.nc", seed=SEEDS, variant=TRAINED_VARIANTS),
    output:
        "results/metrics/training.nc",
    params:
        cfg=job_config("combine training", trained_variants_slice()),
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/train/combine.log",
    benchmark:
        "benchmarks/train/combine.tsv"
    localrule: True
    shell:
        "aelpn combine training --config {params.cfg:q} --out {output} {input} > {log} 2>&1"
