"""``aelpn data fetch`` and ``aelpn data crops``."""

from __future__ import annotations

from aelpn.core.commands import add_job, add_output, job_config


def _fetch(a):
    cfg = job_config(a)
    from aelpn.data.fetch import fetch

    fetch(cfg["data"], a.out)


def _crops(a):
    cfg = job_config(a)
    from aelpn.data.crops import make_crops

    make_crops(a.images, a.split, cfg["data"], cfg["seed"], a.out)


def register(verbs: dict, commands) -> None:
    q = add_job(verbs["data"], "fetch", "data fetch", "fetch, verify and safely extract BSDS500 into a directory",
                _fetch)
    add_output(q, "--out", "output directory (images/{train,val,test}/*.jpg)", directory=True)
    q = add_job(verbs["data"], "crops", "data crops", "crop one split into a netCDF file", _crops)
    q.add_argument("--images", required=True, help="directory written by 'aelpn data fetch'")
    q.add_argument("--split", required=True, choices=["train", "val", "test"], help="BSDS500 split to crop")
    add_output(q, "--out", "output crops (netCDF)")
