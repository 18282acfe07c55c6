#!/usr/bin/env python3
"""lariat's CPU coordinate descent against scikit-learn's Lasso, in one run, on the same data.

    cargo build --release && pip install numpy scikit-learn
    python3 benches/vs_sklearn.py [--n 500] [--p 20000] [--repeats 3]

Problem: n x p Gaussian design with Toeplitz correlation rho^|j-k| (rho = 0.5), 1% true
features, y = X beta + noise; lambda = lambda_max / 10 and lambda_max / 100; both solvers
stop on the same duality-gap rule, gap <= tol ||y - mean(y)||^2 / n with tol = 1e-6
(scikit-learn's units, which lariat adopts). Both fit an intercept.

Reported: median wall time of the fit over repeats (scikit-learn: Lasso.fit on a Fortran-ordered
float64 array, which includes its centring of X; lariat: the `seconds` of the model JSON, which
covers its setup and solve, and the whole process time including reading the memory-mapped .npy),
the objectives each reached (recomputed here in float64 from the returned coefficients), and
the ratio. Results go to stdout as a Markdown table.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench_data import toeplitz_x
import sklearn
from sklearn.linear_model import Lasso

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def objective(x, y, coef, intercept, lam):
    r = y - x @ coef - intercept
    return r @ r / (2 * len(y)) + lam * np.abs(coef).sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--p", type=int, default=20000)
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lariat", default=os.path.join(ROOT, "target", "release", "lariat"))
    a = ap.parse_args()

    rng = np.random.default_rng(0)
    x = toeplitz_x(rng, a.n, a.p, a.rho)
    beta = np.zeros(a.p)
    k = max(1, a.p // 100)
    beta[rng.choice(a.p, k, replace=False)] = rng.uniform(1, 2, k) * rng.choice([-1, 1], k)
    y = x @ beta + rng.standard_normal(a.n)
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    lambda_max = np.max(np.abs(xc.T @ yc)) / a.n
    del xc

    tmp = tempfile.mkdtemp(prefix="lariat-bench-")
    xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xp, np.asfortranarray(x))
    np.save(yp, y)

    rows = []
    for div in (10, 100):
        lam = lambda_max / div
        sk_times, sk_model = [], None
        for _ in range(a.repeats):
            m = Lasso(alpha=lam, tol=a.tol, max_iter=100000, precompute=False, selection="cyclic")
            t0 = time.perf_counter()
            m.fit(x, y)
            sk_times.append(time.perf_counter() - t0)
            sk_model = m
        la_times, la_wall, la_model = [], [], None
        out = os.path.join(tmp, "model.json")
        for _ in range(a.repeats):
            cmd = [a.lariat, "fit", "--x", xp, "--y", yp, "--lambda", repr(float(lam)), "--tol", repr(a.tol),
                   "--solver", "cd", "--device", "cpu", "--out", out, "--quiet"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            la_wall.append(time.perf_counter() - t0)
            with open(out) as f:
                la_model = json.load(f)
            la_times.append(la_model["seconds"])
        coef = np.zeros(a.p)
        coef[la_model["coef"]["indices"]] = la_model["coef"]["values"]
        obj_sk = objective(x, y, sk_model.coef_, sk_model.intercept_, lam)
        obj_la = objective(x, y, coef, la_model["intercept"], lam)
        t_sk, t_la, t_law = np.median(sk_times), np.median(la_times), np.median(la_wall)
        rows.append((div, t_sk, t_la, t_law, t_sk / t_la, t_sk / t_law, obj_sk, obj_la,
                     int(np.sum(sk_model.coef_ != 0)), len(la_model["coef"]["indices"]),
                     la_model["duality_gap"], sk_model.dual_gap_))

    print(f"n = {a.n}, p = {a.p}, Toeplitz rho = {a.rho}, tol = {a.tol} (gap <= tol ||yc||^2/n), "
          f"median of {a.repeats}; scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print()
    print("| lambda | sklearn s | lariat solve s | lariat process s | speed-up (solve) | speed-up (process) "
          "| objective sklearn | objective lariat | nnz sk / lariat | gap lariat / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| lambda_max/{r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.1f}x | {r[5]:.1f}x "
              f"| {r[6]:.10g} | {r[7]:.10g} | {r[8]} / {r[9]} | {r[10]:.2e} / {r[11]:.2e} |")


if __name__ == "__main__":
    sys.exit(main())
