"""The synthetic problem shared by the benchmark scripts (the same generator as lariat's
src/synth.rs in structure, not in random stream: each script draws its own data)."""
import numpy as np


def toeplitz_x(rng, n, p, rho):
    """n x p Fortran-ordered Gaussian design with corr(x_j, x_k) = rho^|j - k|."""
    x = np.empty((n, p), order="F")
    x[:, 0] = rng.standard_normal(n)
    c = np.sqrt(1 - rho**2)
    for j in range(1, p):
        x[:, j] = rho * x[:, j - 1] + c * rng.standard_normal(n)
    return x
