# PnP vs unrolled vs diffusion on inverse problems (issue 5).
