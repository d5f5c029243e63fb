"""The networks. Learned proximal networks: LPN, scale-only, shift-only, normalization-trick and AE-LPN models
sharing one input-convex core (``icnn``, ``variants``, ``build``) and the regularizer whose prox they are
(``regularizer``). The other priors: the noise-conditional denoiser (``denoiser``), the unrolled HQS network
(``unrolled``), the flow-matching model (``flow``) and the VAE (``vae``). Every trained network is a model file
(``files``: save, load, training record). The variant names import without torch; everything else loads on
first use."""

from aelpn.core.lazy import lazy_exports
from aelpn.models.names import VARIANTS, VARIANTS_1D

_EXPORTS = {
    "ProxNet": "aelpn.models.base",
    "build_from_spec": "aelpn.models.build",
    "build_model": "aelpn.models.build",
    "build_model_1d": "aelpn.models.build",
    "ModelFileError": "aelpn.models.files",
    "load_model": "aelpn.models.files",
    "proximal_sigma": "aelpn.models.files",
    "read_model_file": "aelpn.models.files",
    "save_model": "aelpn.models.files",
    "training_record": "aelpn.models.files",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["VARIANTS", "VARIANTS_1D", *_EXPORTS]
