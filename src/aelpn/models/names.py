"""The model variant names (torch-free, so the CLI and the workflow can read them without importing torch)."""

# The paper's five, then the variants beyond the paper (squared-feature potentials, full-rank Jacobian), then the
# baselines: trained like them, but not proximal operators (the unconstrained LPN skeleton).
PAPER_VARIANTS = ("lpn", "scale", "shift", "normtrick", "aelpn")
BEYOND_PAPER_VARIANTS = ("scale_sq", "aelpn_sq")
BASELINE_VARIANTS = ("unconstrained",)
VARIANTS = PAPER_VARIANTS + BEYOND_PAPER_VARIANTS + BASELINE_VARIANTS
VARIANTS_1D = ("lpn", "scale", "normtrick")
