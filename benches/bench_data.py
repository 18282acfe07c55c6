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


def genotype_x(rng, n, p, block=50, rho=0.8):
    """n x p Fortran-ordered SNP-like design: genotypes 0/1/2 (two alleles per sample),
    linkage-disequilibrium blocks of `block` columns sharing a latent score (correlation
    `rho`), minor allele frequencies uniform on [0.01, 0.5]; about 1 column in 100 is
    monomorphic, as rare variants in a small sample are."""
    from math import erf, sqrt

    x = np.empty((n, p), order="F")
    maf = rng.uniform(0.01, 0.5, p)
    # Quantiles of the standard normal by bisection on erf (no scipy needed).
    lo, hi = np.full(p, -8.0), np.full(p, 8.0)
    tail = np.vectorize(lambda t: 0.5 * (1 - erf(t / sqrt(2))))
    for _ in range(60):
        mid = (lo + hi) / 2
        above = tail(mid) > maf
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    for start in range(0, p, block):
        shared = rng.standard_normal((n, 2, 1))
        cols = slice(start, min(start + block, p))
        k = cols.stop - cols.start
        z = rho * shared + sqrt(1 - rho**2) * rng.standard_normal((n, 2, k))
        x[:, cols] = (z > lo[cols]).sum(axis=1)
    x[:, ::50] = np.where(rng.uniform(size=(1, len(range(0, p, 50)))) < 0.5, 0.0, x[:, ::50])
    return x


def factor_x(rng, n, p, modules=50, within=0.8, between=0.3):
    """n x p Fortran-ordered expression-like design: genes in `modules` contiguous modules, each
    gene = module score (weight `within` of its variance) + its own noise, module scores sharing
    one global factor (weight `between`), so genes correlate 0.8 within a module and about 0.24
    across modules; each gene then gets its own level (4 to 12) and scale (0.5 to 2), as
    log-expression values do, so the intercept and the per-fold centring matter."""
    from math import sqrt

    g = rng.standard_normal((n, 1))
    scores = sqrt(between) * g + sqrt(1 - between) * rng.standard_normal((n, modules))
    module = np.arange(p) * modules // p
    x = np.asfortranarray(sqrt(within) * scores[:, module]
                          + sqrt(1 - within) * rng.standard_normal((n, p)))
    x *= rng.uniform(0.5, 2, p)
    x += rng.uniform(4, 12, p)
    return x
