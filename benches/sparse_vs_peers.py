#!/usr/bin/env python3
"""A 100-lambda Lasso path on sparse, tf-idf-like data (a LIBSVM file): lariat (CPU) against
scikit-learn's lasso_path and, where R is installed, glmnet on the same dgCMatrix, at equal
accuracy.

    cargo build --release && pip install numpy scipy scikit-learn   # R: r-cran-glmnet
    python3 benches/sparse_vs_peers.py [--n 2000] [--p 100000] [--density 0.005]

Data (seed 0): column j is non-zero on a Binomial(n, pi_j) random set of rows, pi_j falling as
j^-0.8 (a few common words, a long tail of rare ones: about 10% of the columns have one
non-zero, many rows share such a column's only row), values Exponential(1); the columns are
shuffled; 20 of the 200 most frequent columns carry coefficients +-U(1, 2); noise for a
signal-to-noise standard deviation ratio of 2.

Three problems on lariat's own grid of 100 lambdas (lambda_max to lambda_max / 100):
- "no intercept": 1/(2n)||y - Xw||^2 + lambda ||w||_1 (sklearn's lasso_path on the sparse X,
  which does not centre; glmnet with intercept = FALSE, standardize = FALSE);
- "intercept": X and y centred implicitly (glmnet intercept = TRUE, standardize = FALSE);
- "standardize": glmnet's default, standardize = TRUE (penalty lambda sum_j s_j |b_j|, s_j the
  column's 1/n standard deviation).
Accuracy: every tool's coefficients are scored by the same objective in numpy against the
best of all runs at each lambda (relative suboptimality, worst over the path); lariat runs at
its default --tol 1e-6 (a certified duality gap), sklearn at tol 1e-6, glmnet at each thresh
from 1e-7 down until its path reaches 1e-6. Times: lariat is the whole process (reading the
LIBSVM text included), sklearn the lasso_path call, glmnet the glmnet() call inside R.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.io
import scipy.sparse as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LARIAT = os.path.join(ROOT, "target", "release", "lariat")

R_SCRIPT = r"""
suppressMessages({library(glmnet); library(Matrix)})
a <- commandArgs(TRUE)
X <- as(readMM(file.path(a[1], "X.mtx")), "CsparseMatrix")
y <- scan(file.path(a[1], "y.txt"), quiet = TRUE)
lam <- scan(file.path(a[1], "lam.txt"), quiet = TRUE)
glmnet.control(fdev = 0, devmax = 1)
t <- system.time(f <- glmnet(X, y, lambda = lam, intercept = a[2] == "TRUE",
                              standardize = a[3] == "TRUE", thresh = as.numeric(a[4]),
                              maxit = 1e7))
writeBin(c(t[["elapsed"]], f$a0, as.vector(as.matrix(f$beta))), a[5])
"""


def make_data(rng, n, p, density):
    pop = 1.0 / np.arange(1, p + 1) ** 0.8
    pop = np.minimum(pop / pop.mean() * density, 0.5)
    per_col = rng.binomial(n, pop)
    rows = np.concatenate([rng.choice(n, k, replace=False) for k in per_col])
    cols = np.repeat(np.arange(p), per_col)
    x = sp.csc_matrix((rng.exponential(1.0, len(rows)), (rows, cols)), shape=(n, p))
    x = x[:, rng.permutation(p)].tocsc()
    common = np.argsort(-np.diff(x.indptr))[:200:10]
    w = np.zeros(p)
    w[common] = rng.uniform(1, 2, len(common)) * rng.choice([-1, 1], len(common))
    signal = x @ w
    return x, signal + rng.normal(0, signal.std() / 2, n)


def objective(x, y, w, b, lam, scale):
    r = y - x @ w - b
    return r @ r / (2 * len(y)) + lam * (scale * np.abs(w)).sum()


def run_lariat(folder, flags):
    out = os.path.join(folder, "path.json")
    cmd = [LARIAT, "path", "--x", os.path.join(folder, "d.svm"), "--device", "cpu",
           "--out", out] + flags
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    with open(out) as f:
        path = json.load(f)
    p = path["fits"][0]["n_features"]
    coefs, icpts = [], []
    for fit in path["fits"]:
        w = np.zeros(p)
        w[np.asarray(fit["coef"]["indices"], dtype=int)] = fit["coef"]["values"]
        coefs.append(w)
        icpts.append(fit["intercept"])
    return wall, np.array(path["lambdas"]), coefs, icpts


def run_glmnet(folder, intercept, standardize, thresh, p):
    out = os.path.join(folder, "glmnet.bin")
    subprocess.run(["Rscript", os.path.join(folder, "run.R"), folder, str(intercept).upper(),
                    str(standardize).upper(), repr(thresh), out], check=True, capture_output=True)
    v = np.fromfile(out)
    k = (len(v) - 1) // (p + 1)
    return v[0], list(v[1 + k:].reshape(k, p)), list(v[1:1 + k])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--p", type=int, default=100000)
    ap.add_argument("--density", type=float, default=0.005)
    ap.add_argument("--skip", default="", help="comma-separated: sklearn, glmnet")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if shutil.which("Rscript") is None:
        skip.add("glmnet")
    from sklearn.datasets import dump_svmlight_file

    x, y = make_data(np.random.default_rng(0), args.n, args.p, args.density)
    n, p = x.shape
    folder = tempfile.mkdtemp(prefix="lariat-sparse-")
    dump_svmlight_file(x, y, os.path.join(folder, "d.svm"), zero_based=False)
    scipy.io.mmwrite(os.path.join(folder, "X.mtx"), x)
    np.savetxt(os.path.join(folder, "y.txt"), y)
    with open(os.path.join(folder, "run.R"), "w") as f:
        f.write(R_SCRIPT)
    mean = np.asarray(x.mean(axis=0)).ravel()
    sd = np.sqrt(np.maximum(np.asarray(x.multiply(x).mean(axis=0)).ravel() - mean ** 2, 0))
    print(f"sparse {n} x {p}, {x.nnz} non-zeros, {int((np.diff(x.indptr) == 1).sum())} "
          f"columns with one; lariat at {subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}")
    print("| problem | tool | seconds | worst rel. subopt. | time / lariat's |")
    print("|---|---|---|---|---|")
    for name, flags, intercept, standardize in [
        ("no intercept", ["--no-intercept"], False, False),
        ("intercept", [], True, False),
        ("standardize", ["--standardize"], True, True),
    ]:
        scale = sd if standardize else np.ones(p)
        t_l, lambdas, w_l, b_l = run_lariat(folder, flags)
        np.savetxt(os.path.join(folder, "lam.txt"), lambdas)
        runs = [("lariat path --tol 1e-6", t_l, w_l, b_l)]
        if "sklearn" not in skip and not intercept:
            from sklearn.linear_model import lasso_path
            t0 = time.perf_counter()
            _, c, _ = lasso_path(x, y, alphas=lambdas, tol=1e-6, max_iter=100000)
            runs.append(("sklearn lasso_path tol 1e-6", time.perf_counter() - t0,
                         list(c.T), [0.0] * len(lambdas)))
        if "glmnet" not in skip:
            for thresh in [1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12]:
                t_g, w_g, b_g = run_glmnet(folder, intercept, standardize, thresh, p)
                runs.append((f"glmnet thresh {thresh:g}", t_g, w_g, b_g))
        objs = np.array([[objective(x, y, w, b, lam, scale) for w, b, lam in zip(ws, bs, lambdas)]
                         for _, _, ws, bs in runs])
        best = objs.min(axis=0)
        reached = False
        for (label, t, _, _), o in zip(runs, objs):
            sub = np.max((o - best) / best)
            if label.startswith("glmnet"):
                if reached:
                    continue
                reached = sub <= 1e-6
            print(f"| {name} | {label} | {t:.2f} | {sub:.1e} | {t / t_l:.2f} |")
        sys.stdout.flush()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
