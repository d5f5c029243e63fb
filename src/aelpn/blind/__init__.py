"""Blind deblurring (the last slides of the PnP-vs-unrolled notes, Nguyen, Pauwels & Weiss 2024):
y = h(theta) * x + noise with an unknown isotropic Gaussian width theta. The joint MAP objective
J(theta) = min_x f_theta(x) + lam R(x) with the learned regularizers (``landscape``), a joint alternating MAP
solver (``alternating``), a blind MMSE network trained end to end on the blur family (``network``,
``training``) and the dataset that compares them (``evaluate``, ``dataset``). The blur family is ``kernels``."""
