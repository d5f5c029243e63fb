"""The claims table as a figure: one row per claim of claims.nc, grouped by kind (seed claims, project claims,
construction checks), long cells wrapped to fixed column widths so that every cell is readable at the page width,
the verdict cell coloured by the verdict, the number of training replicates behind each value in its own column; the
title is the headline (the seed claims counted, the other kinds apart) and says what the intervals are over."""

from __future__ import annotations

import textwrap

import numpy as np
import xarray as xr

from aelpn.claims.definitions import KINDS
from aelpn.claims.evaluate import headline
from aelpn.core.replicates import describe

VERDICT_COLOURS = {"holds": "#b7e4c7", "fails": "#f4a6a6", "inconclusive": "#ffe08a", "premise unmet": "#c9b8e8",
                   "not measured": "#dddddd"}
# (header, characters per line): the columns' wrap widths; their sum sets the page width
COLUMNS = (("kind", 12), ("claim", 9), ("source", 20), ("statement", 44), ("threshold", 13), ("measured [95 % CI]", 22),
           ("repl.", 5), ("verdict", 13), ("PSNR", 12), ("decided by / note", 46))
FONT_SIZE = 7.0
CHAR_INCH = 0.066   # width of one column character at FONT_SIZE (a wide glyph's), padding included
LINE_INCH = 0.125   # height of one wrapped line at FONT_SIZE
MARGIN_INCH = 0.1   # blank page border on either side of the table
PAD = 0.02          # text inset from the cell's left edge, a fraction of the cell width


def measured(ds: xr.Dataset, i: int) -> str:
    """'value [ci_low, ci_high] units', '-' when not measured."""
    value, low, high = (float(ds[name].values[i]) for name in ("value", "ci_low", "ci_high"))
    if not np.isfinite(value):
        return "-"
    units = " dB" if ds["units"].values[i] == "dB" else ""
    interval = f" [{low:.3g}, {high:.3g}]" if np.isfinite(low) else ""
    return f"{value:.3g}{interval}{units}"


def intervals(ds: xr.Dataset) -> str:
    """What the intervals are over: the test images with one training replicate, replicates and images with
    several (``aelpn.claims.interval``), the replicates named."""
    seeds = [int(s) for s in str(ds.attrs["training_seeds"]).split(", ")]
    confidence = f"{ds.attrs.get('confidence', 0.95):.0%}"
    if len(seeds) == 1:
        return f"{confidence} paired-bootstrap intervals over test images; {describe(seeds)}"
    return (f"{confidence} two-level paired-bootstrap intervals over replicates and test images; "
            f"{describe(seeds)}; repl.: replicates behind the value")


def grouped(ds: xr.Dataset) -> list[int]:
    """The claims' indices grouped by kind, in KINDS order (table order within a kind)."""
    kinds = ds["kind"].values
    return [int(i) for kind in KINDS for i in np.flatnonzero(kinds == kind)]


def table_rows(ds: xr.Dataset) -> list[list[str]]:
    """The text of every cell, one list per claim grouped by kind, in COLUMNS order (unwrapped)."""
    rows = []
    for i in grouped(ds):
        decided = str(ds["decided_by"].values[i])
        note = str(ds["note"].values[i])
        rows.append([str(ds["kind"].values[i]), str(ds["claim"].values[i]), str(ds["source"].values[i]),
                     str(ds["statement"].values[i]), str(ds["threshold"].values[i]), measured(ds, i), str(int(ds["replicates"].values[i])),
                     str(ds["verdict"].values[i]),
                     str(ds["psnr_convention"].values[i]), "; ".join(t for t in (decided, note) if t)])
    return rows


def claims_figure(ds: xr.Dataset):
    """The figure: a title line with the verdict counts and the wrapped table filling the page below it."""
    import matplotlib.pyplot as plt

    widths = np.array([w for _, w in COLUMNS], dtype=float)
    wrapped = [["\n".join(textwrap.wrap(cell, width) or [""]) for cell, (_, width) in zip(row, COLUMNS)]
               for row in table_rows(ds)]
    lines = [1] + [max(cell.count("\n") + 1 for cell in row) for row in wrapped]
    table_height = LINE_INCH * sum(lines) + 0.04 * len(lines)
    title_height = 0.45
    width = CHAR_INCH * widths.sum() + 2 * MARGIN_INCH
    height = table_height + title_height + MARGIN_INCH
    fig = plt.figure(figsize=(width, height), layout="none")
    ax = fig.add_axes((MARGIN_INCH / width, MARGIN_INCH / height, 1.0 - 2 * MARGIN_INCH / width,
                       table_height / height))
    ax.axis("off")
    tab = ax.table(cellText=wrapped, colLabels=[name for name, _ in COLUMNS], colWidths=list(widths / widths.sum()),
                   cellLoc="left", loc="upper left", bbox=(0.0, 0.0, 1.0, 1.0))
    tab.auto_set_font_size(False)
    tab.set_fontsize(FONT_SIZE)
    total = sum(lines)
    for (r, c), cell in tab.get_celld().items():
        cell.set_height(lines[r] / total)
        cell.PAD = PAD
        cell.get_text().set_verticalalignment("center")
        if r == 0:
            cell.set_text_props(weight="bold")
    verdict_col = [name for name, _ in COLUMNS].index("verdict")
    for row, i in enumerate(grouped(ds)):
        tab[row + 1, verdict_col].set_facecolor(VERDICT_COLOURS[str(ds["verdict"].values[i])])
    fig.suptitle(f"{headline(ds)}\n{intervals(ds)}", y=1.0 - 0.08 / height, va="top", fontsize=9)
    return fig, tab
