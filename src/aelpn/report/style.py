"""One plotting style for every figure, fixed variant colours and markers, and byte-stable atomic PDF + PNG output."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import seaborn as sns

from aelpn.core.io import atomic_path
from aelpn.models.names import BASELINE_VARIANTS, BEYOND_PAPER_VARIANTS, VARIANTS

VARIANT_ORDER = VARIANTS
VARIANT_LABELS = {
    "lpn": "LPN",
    "scale": "scale-eq. (by design)",
    "shift": "shift-eq. (by design)",
    "normtrick": "normalization trick",
    "aelpn": "AE-LPN",
    "scale_sq": "scale-eq. sq. features (beyond paper)",
    "aelpn_sq": "AE-LPN sq. features (beyond paper)",
    "unconstrained": "unconstrained (not a prox)",
}
_PALETTE = dict(zip(VARIANT_ORDER, sns.color_palette("colorblind", len(VARIANT_ORDER))))
# Distinct markers keep coinciding curves of different variants visible; the variants beyond the paper are
# also drawn dashed, the baselines dotted (``linestyle``).
_MARKERS = dict(zip(VARIANT_ORDER, ("o", "s", "^", "D", "v", "P", "X", "*")))


def apply() -> None:
    """Set the shared seaborn theme (white grid, paper context, colour-blind palette, readable font sizes)."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.2)
    matplotlib.rcParams.update({"figure.constrained_layout.use": True, "savefig.bbox": "standard",
                                "svg.hashsalt": "aelpn", "image.interpolation": "nearest"})


def color(variant: str):
    """The fixed colour of a variant (the same in every figure)."""
    return _PALETTE[variant]


def marker(variant: str) -> str:
    """The fixed marker of a variant."""
    return _MARKERS[variant]


def linestyle(variant: str) -> str:
    """Solid for the paper's variants, dashed for those beyond the paper, dotted for the baselines."""
    if variant in BASELINE_VARIANTS:
        return ":"
    return "--" if variant in BEYOND_PAPER_VARIANTS else "-"


def label(variant: str) -> str:
    """The display name of a variant."""
    return VARIANT_LABELS.get(variant, variant)


def savefig(fig, pdf: str | Path, png: str | Path, dpi: int = 150) -> None:
    """Write ``fig`` atomically as PDF and PNG with stable bytes (no creation date, no software tag)."""
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
