"""The inverse-problem stage: which jobs the config asks for (``jobs``), the learned priors a job loads
(``priors``), one job solving one problem with one method (``run``), their combination into inverse.nc
(``combine``) and the unrolled networks on problems they were not trained on (``adaptivity``). The methods are
declared in ``methods`` (registry); the physics is ``aelpn.physics``, the algorithms ``aelpn.solvers``, the
networks ``aelpn.models``."""
