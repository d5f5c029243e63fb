# Training: one job per image model variant (L1 pre-training, then proximal matching).


rule train:
    input:
        train=f"results/data/crops/{SPLIT['train']}.nc",
        val=f"results/data/crops/{SPLIT['validate']}.nc",
    output:
        model="results/models/{variant}/model.pt",
        log="results/models/{variant}/train_log.nc",
    params:
        cfg=job_config("train proxnet"),
    threads: 1
    resources:
        mem_mb=MEM_MB["train"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/train/{variant}.log",
    benchmark:
        "benchmarks/train/{variant}.tsv"
    # "(?!)" matches nothing: every variant's weights came from elsewhere
    wildcard_constraints:
        variant="|".join(TRAINED_VARIANTS) or "(?!)",
    shell:
        "aelpn --threads {threads} train proxnet --config {params.cfg:q} --variant {wildcards.variant} "
        "--train {input.train} --val {input.val} --out {output.model} --train-log {output.log} > {log} 2>&1"


rule training_logs:
    input:
        expand("results/models/{variant}/train_log.nc", variant=TRAINED_VARIANTS),
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
