"""The model variant names (torch-free, so the CLI and the workflow can read them without importing torch)."""

VARIANTS = ("lpn", "scale", "shift", "normtrick", "aelpn")
VARIANTS_1D = ("lpn", "scale", "normtrick")
