"""The plumbing every stage uses: the validated config (``config``), atomic netCDF/torch/text writes (``io``),
provenance attributes (``provenance``), seeds (``seeding``), device setup (``device``), progress bars
(``progress``) and the completeness-checked combination of per-job files (``combine``)."""
