"""The 1-D split-normal study (paper Fig. 1): the prior with its exact prox and regularizer (``splitnormal``),
training and evaluation of the 1-D proximal networks (``study``)."""
