#!/usr/bin/env python3
"""lariat's Python LassoCV against scikit-learn's LassoCV, celer's LassoCV and skglm, on the
same data, the same folds and the same 100-alpha grid, one run each; and the Python binding's
overhead over the library (and over the `lariat cv` command on the same files).

    bash scripts/python_env.sh && target/pyenv/bin/pip install celer skglm
    cargo build --release                       # for the `lariat cv` comparison (optional)
    target/pyenv/bin/python benches/python_vs_sklearn.py [--sizes 500x20000,200x100000]
        [--folds 5] [--tol 1e-6] [--skip celer,skglm] [--lariat target/release/lariat]

Problem: benches/bench_data.py's Toeplitz design (rho 0.5, Fortran order, float64), 20 true
features with coefficients +-U(1, 2), noise for a signal-to-noise variance ratio of 5, y
standardized. Every tool fits an intercept and does not standardize X.

Same inputs: fold labels from one seeded permutation (sizes differing by at most one), passed
to each LassoCV as a list of (train, test) splits; the grid is 100 alphas from alpha_max down
to alpha_max / 100 (n < p), passed explicitly. lariat, scikit-learn and celer stop on the
duality gap at tol (scikit-learn's units, gap <= tol ||y - mean||^2 / n; celer's the same
rule). skglm has no LassoCV and celer's no longer runs on scikit-learn >= 1.7, so their CV is
written here, the same computation: skglm.Lasso warm-started along the grid on each fold's
training rows, celer_path on each fold's centred training rows, then a fit on all rows at the
chosen alpha. skglm's tol is its own (a KKT violation), which the agreement column judges.

Reported: wall seconds and CPU seconds (user + system of this process, as the machine is
shared), their ratios to lariat's, the chosen alpha_ and the largest relative difference of
each tool's fold-mean MSE curve from lariat's. Binding overhead: LassoCV.fit's wall time over
the library's own clock for the same call (setup and all solves, as `lariat cv` reports it),
and the `lariat cv` process on the same data as .npy files (which also loads the files).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_data import toeplitz_x  # noqa: E402


def make_problem(n, p, seed=0, k=20, snr=5.0):
    rng = np.random.default_rng(seed)
    X = toeplitz_x(rng, n, p, 0.5)
    w = np.zeros(p)
    idx = rng.choice(p, size=k, replace=False)
    w[idx] = rng.choice([-1, 1], size=k) * rng.uniform(1, 2, size=k)
    signal = X @ w
    y = signal + rng.standard_normal(n) * np.sqrt(signal.var() / snr)
    y = (y - y.mean()) / y.std()
    return X, y


def fold_labels(n, k, seed=1):
    return np.random.default_rng(seed).permutation(np.arange(n) % k)


def grid(X, y, n_alphas=100):
    n, p = X.shape
    amax = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()))) / n
    ratio = 1e-2 if n < p else 1e-4
    return amax * np.geomspace(1, ratio, n_alphas)


def clock():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime


def timed(f):
    w0, c0 = clock()
    out = f()
    w1, c1 = clock()
    return out, w1 - w0, c1 - c0


def mean_mse_curve(mse_path):
    return np.asarray(mse_path).mean(axis=1)


def run_lariat(X, y, splits, alphas, tol):
    import lariat
    import lariat._cv as lcv

    seen = {}
    real = lcv._lariat.cross_validate

    def recording(*a, **kw):
        out = real(*a, **kw)
        seen["seconds"] = out[0]["path"]["seconds"]
        return out

    lcv._lariat.cross_validate = recording
    try:
        est = lariat.LassoCV(cv=splits, alphas=alphas, tol=tol, max_iter=100_000, device="cpu")
        _, wall, cpu = timed(lambda: est.fit(X, y))
    finally:
        lcv._lariat.cross_validate = real
    return est.alpha_, mean_mse_curve(est.mse_path_), wall, cpu, seen["seconds"]


def run_sklearn(X, y, splits, alphas, tol):
    from sklearn.linear_model import LassoCV

    est = LassoCV(cv=splits, alphas=alphas, tol=tol, max_iter=100_000)
    _, wall, cpu = timed(lambda: est.fit(X, y))
    return est.alpha_, mean_mse_curve(est.mse_path_), wall, cpu


def run_celer(X, y, splits, alphas, tol):
    # celer's LassoCV passes n_alphas to scikit-learn >= 1.7, which no longer takes it; its
    # path solver on each fold's centred training rows is the same computation.
    from celer import celer_path

    def path(rows, grid):
        xm, ym = X[rows].mean(axis=0), y[rows].mean()
        Xc = np.asfortranarray(X[rows] - xm)
        _, coefs, _ = celer_path(Xc, y[rows] - ym, "lasso", alphas=grid, tol=tol)
        return coefs, ym - xm @ coefs

    def cv():
        mse = np.zeros((len(alphas), len(splits)))
        for f, (train, test) in enumerate(splits):
            coefs, b = path(train, alphas)
            mse[:, f] = np.mean((X[test] @ coefs + b - y[test, None]) ** 2, axis=0)
        best = int(np.argmin(mse.mean(axis=1)))
        path(np.arange(len(y)), alphas[best : best + 1])
        return alphas[best], mse.mean(axis=1)

    (alpha, curve), wall, cpu = timed(cv)
    return alpha, curve, wall, cpu


def run_skglm(X, y, splits, alphas, tol):
    from skglm import Lasso

    def cv():
        mse = np.zeros((len(alphas), len(splits)))
        for f, (train, test) in enumerate(splits):
            est = Lasso(alpha=alphas[0], fit_intercept=True, tol=tol, warm_start=True,
                        max_iter=1000)
            for i, a in enumerate(alphas):
                est.set_params(alpha=a).fit(X[train], y[train])
                mse[i, f] = np.mean((est.predict(X[test]) - y[test]) ** 2)
        best = int(np.argmin(mse.mean(axis=1)))
        Lasso(alpha=alphas[best], fit_intercept=True, tol=tol).fit(X, y)
        return alphas[best], mse.mean(axis=1)

    (alpha, curve), wall, cpu = timed(cv)
    return alpha, curve, wall, cpu


def run_cli(binary, X, y, labels, alphas, tol):
    with tempfile.TemporaryDirectory() as d:
        np.save(f"{d}/X.npy", np.asfortranarray(X))
        np.save(f"{d}/y.npy", y)
        np.savetxt(f"{d}/folds.txt", labels + 1, fmt="%d")
        np.savetxt(f"{d}/grid.txt", alphas, fmt="%.17g")
        cmd = [binary, "cv", "--x", f"{d}/X.npy", "--y", f"{d}/y.npy", "--foldid",
               f"{d}/folds.txt", "--lambdas", f"{d}/grid.txt", "--tol", str(tol),
               "--device", "cpu", "--quiet", "--out", f"{d}/cv.json"]
        def children_cpu():
            r = resource.getrusage(resource.RUSAGE_CHILDREN)
            return r.ru_utime + r.ru_stime

        t0, c0 = time.perf_counter(), children_cpu()
        subprocess.run(cmd, check=True, capture_output=True)
        return time.perf_counter() - t0, children_cpu() - c0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="500x20000,200x100000")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--skip", default="", help="comma-separated: sklearn, celer, skglm")
    ap.add_argument("--lariat", default="target/release/lariat", help="the CLI binary")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    peers = {"sklearn": run_sklearn, "celer": run_celer, "skglm": run_skglm}
    print(f"{os.cpu_count()} CPUs; one run each; tol {a.tol}; {a.folds} folds; 100 alphas")
    for size in a.sizes.split(","):
        n, p = map(int, size.split("x"))
        X, y = make_problem(n, p)
        labels = fold_labels(n, a.folds)
        splits = [(np.flatnonzero(labels != k), np.flatnonzero(labels == k))
                  for k in range(a.folds)]
        alphas = grid(X, y)
        alpha, curve, wall, cpu, lib = run_lariat(X, y, splits, alphas, a.tol)
        # The CLI right after the binding, so both see the same machine load.
        cli = run_cli(a.lariat, X, y, labels, alphas, a.tol) if os.path.exists(a.lariat) else None
        print(f"\n== {n} x {p}")
        print(f"{'tool':>8} {'wall s':>9} {'cpu s':>9} {'wall/lariat':>12} {'cpu/lariat':>11}"
              f" {'alpha_':>10} {'max |dMSE|/MSE':>15}")
        print(f"{'lariat':>8} {wall:9.2f} {cpu:9.2f} {1:12.2f} {1:11.2f} {alpha:10.4g} {0:15.1e}")
        for name, run in peers.items():
            if name in skip:
                continue
            try:
                pa, pc, pw, pcpu = run(X, y, splits, alphas, a.tol)
            except ImportError as e:
                print(f"{name:>8} not installed ({e})")
                continue
            dev = np.max(np.abs(pc - curve) / curve)
            print(f"{name:>8} {pw:9.2f} {pcpu:9.2f} {pw / wall:12.2f} {pcpu / cpu:11.2f}"
                  f" {pa:10.4g} {dev:15.1e}")
        print(f"binding: LassoCV.fit {wall:.3f} s wall, the library's clock {lib:.3f} s: "
              f"overhead {100 * (wall - lib) / lib:.1f}%")
        if cli is not None:
            print(f"`lariat cv` process (loads the .npy files too), run right after: "
                  f"{cli[0]:.3f} s wall, {cli[1]:.3f} s CPU; LassoCV.fit / CLI = "
                  f"{wall / cli[0]:.2f} (wall), {cpu / cli[1]:.2f} (CPU)")
        else:
            print(f"(no {a.lariat}: `cargo build --release` for the CLI comparison)")


if __name__ == "__main__":
    main()
