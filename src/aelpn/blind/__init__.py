"""Blind deblurring (the last slides of the PnP-vs-unrolled notes, Nguyen, Pauwels & Weiss 2024):
y = h(theta) * x + noise with an unknown isotropic Gaussian width theta. The joint MAP objective
J(theta) = min_x f_theta(x) + lam R(x) + i_[0,1]^n(x) with R exact at the MAP solver's output (``landscape``), a
joint alternating MAP solver (``alternating``), the classical quadratic-gradient control (``control``), the
theorem's premises and the properness of each prior (``premises``), a blind MMSE network trained on the same theta
prior (``network``, ``training``) and the dataset that compares them (``evaluate``, ``dataset``). The blur family
is ``kernels``; the method notes are docs/blind.md."""
