"""The plumbing every stage uses: the validated config (``config``), the config sections of each job
(``slices``), atomic netCDF/torch/text writes (``io``), provenance attributes (``provenance``), seeds
(``seeding``), device setup (``device``), glibc malloc settings (``malloc``), progress bars (``progress``), image metrics (``metrics``) and the
completeness-checked combination of per-job files (``combine``). It imports no stage."""
