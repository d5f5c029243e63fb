"""The model variant names (torch-free, so the CLI and the workflow can read them without importing torch)."""

# The paper's five, then the variants beyond the paper (squared-feature potentials, full-rank Jacobian).
PAPER_VARIANTS = ("lpn", "scale", "shift", "normtrick", "aelpn")
BEYOND_PAPER_VARIANTS = ("scale_sq", "aelpn_sq")
VARIANTS = PAPER_VARIANTS + BEYOND_PAPER_VARIANTS
VARIANTS_1D = ("lpn", "scale", "normtrick")
