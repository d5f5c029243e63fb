# Blind deblurring: the blind MMSE network trained on the blur family (from the conditional denoiser),
# then the MAP landscape J(theta), the alternating joint MAP, the blind MMSE estimate and the non-blind bounds
# on the evaluation crops (results/metrics/blind.nc); its two figures are rendered in figures.smk.
BLIND_CFG = job_config("evaluate blind")


rule blind_train:
    input:
        crops=f"results/data/crops/{SPLIT['train']}.nc",
        denoiser="results/models/inverse/denoiser.pt",
    output:
        model="results/models/blind/network.pt",
        log="results/models/blind/network_log.nc",
    params:
        cfg=job_config("train blind"),
    threads: 1
    resources:
        mem_mb=MEM_MB["blind_train"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/blind/train.log",
    benchmark:
        "benchmarks/blind/train.tsv"
    shell:
        "aelpn --threads {threads} train blind --config {params.cfg:q} --crops {input.crops} "
        "--denoiser {input.denoiser} --out {output.model} --train-log {output.log} > {log} 2>&1"


rule blind_run:
    input:
        crops=f"results/data/crops/{SPLIT['evaluate']}.nc",
        prior=expand("results/models/{variant}/model.pt", variant=config["blind"]["variants"]),
        network="results/models/blind/network.pt",
    output:
        "results/metrics/blind.nc",
    params:
        cfg=BLIND_CFG,
    threads: 1
    resources:
        mem_mb=MEM_MB["blind_run"],
        gpu=1,
    conda:
        "../envs/aelpn.yaml"
    log:
        "logs/blind/run.log",
    benchmark:
        "benchmarks/blind/run.tsv"
    shell:
        "aelpn --threads {threads} evaluate blind --config {params.cfg:q} --crops {input.crops} --prior {input.prior} "
        "--network {input.network} --out {output} > {log} 2>&1"
