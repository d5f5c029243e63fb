"""``aelpn results show``: a summary of any results file; ``aelpn results seed-spread``: the seed-to-seed spread
table of the combined datasets."""

from __future__ import annotations

import sys

from aelpn.core.commands import add_output


def _show(a):
    from aelpn.report.results import parse_selection, show, table

    selection = parse_selection(a.sel)
    if a.csv:
        table(a.path, a.var, selection).to_csv(sys.stdout, index=False)
    else:
        print(show(a.path, a.var, selection))


def _seed_spread(a):
    from aelpn.report.seed_spread import SOURCES, write_seed_spread

    write_seed_spread({name: getattr(a, name) for name in SOURCES}, a.out)


def register(verbs: dict, commands) -> None:
    q = verbs["results"].add_parser("show", help="summary (mean and std over images per coordinate) of a results file")
    q.add_argument("path", help="a netCDF file under results/ (e.g. results/metrics/noise_sweep.nc)")
    q.add_argument("--var", action="append", default=[], metavar="NAME",
                   help="only this data variable (repeatable), e.g. --var psnr")
    q.add_argument("--sel", action="append", default=[], metavar="KEY=VALUE",
                   help="only this coordinate label (repeatable), e.g. --sel sigma=0.1 --sel variant=aelpn")
    q.add_argument("--csv", action="store_true",
                   help="print a CSV table instead: one row per coordinate, <var>_mean and <var>_std over images")
    q.set_defaults(func=_show)
    q = verbs["results"].add_parser("seed-spread", help="seed-to-seed spread table (markdown) of the combined "
                                                         "datasets' training replicates")
    for name in ("noise-sweep", "inverse", "cbsd68", "claims"):
        q.add_argument(f"--{name}", default=None, help=f"results/metrics/{name.replace('-', '_')}.nc (absent: its rows "
                                                       "are left out)")
    add_output(q, "--out", "the table (markdown), e.g. results/tables/seed_spread.md")
    q.set_defaults(func=_seed_spread)
