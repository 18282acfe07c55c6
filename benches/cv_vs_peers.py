#!/usr/bin/env python3
"""K-fold cross-validation of a 100-lambda Lasso path: `lariat cv` (CPU) against R's cv.glmnet
and scikit-learn's LassoCV, in one run, on the same data, the same folds and the same lambdas;
and each tool's CV against its own single path (`lariat path`, `glmnet`).

    cargo build --release && pip install numpy scikit-learn   # R: apt-get install r-cran-glmnet
    python3 benches/cv_vs_peers.py [--design toeplitz|factor] [--n 500] [--p 20000] [--folds 10]
                                   [--reps 3] [--sklearn-reps 1] [--save results.jsonl]

Problem. --design toeplitz: Gaussian columns with Toeplitz correlation rho^|j-k| (rho 0.5,
benches/bench_data.py); --design factor: an expression-like design (bench_data.factor_x: 50
modules of genes correlated 0.8 within a module, about 0.24 across, per-gene levels 4..12 and
scales 0.5..2). --k true features with coefficients +-U(1, 2), noise for a signal-to-noise
variance ratio --snr; y is then standardized to mean 0 and unit (1/n) variance, so that glmnet's
internal scaling of y changes nothing and the tolerances of all tools are in the same units.
Every tool fits an intercept (centring X and y on each fold's training rows) and does not
standardize X (glmnet: standardize = FALSE; LassoCV never standardizes): each fold minimises
1/(2 n_train) ||y - X b - b0||^2 + lambda ||b||_1 on its training rows.

Same inputs for all: fold labels from one seeded permutation (cv.glmnet's
sample(rep(1:K, length = n))), passed as lariat's --foldid, cv.glmnet's foldid and LassoCV's
cv= list of (train, test) splits; the grid is glmnet's default from the full data (lambda_max =
max_j |x_j^T (y - ybar)| / n on centred columns, 100 values log-spaced down to lambda_max/100,
as n < p), passed explicitly to all (lariat --lambdas, glmnet lambda =, LassoCV alphas =).
glmnet.control(fdev = 0, devmax = 1) keeps glmnet from stopping its paths early (otherwise it
may return a prefix of the grid), and maxit = 1e7.

Accuracy. lariat and LassoCV stop on the duality gap, gap <= tol ||y - mean(y)||^2 / n with
tol = 1e-6 on each fold's training rows. glmnet stops on its own rule (thresh); the script picks
the largest thresh in --threshs whose full-data path reaches --target relative suboptimality
(1e-6) at every lambda: a reference path from `lariat path --tol 1e-12` gives the optimal
objectives P*(lambda), the objective of glmnet's coefficients is computed in R, and
max_lambda (P_glmnet - P*) / P* is reported; the same measure is reported for lariat's timed
path (tol 1e-6).

Timing. --reps rounds of, in turn: `lariat cv` (process wall and CPU seconds, release binary,
--device cpu), `lariat path` (the same), an R process running cv.glmnet (the seconds of the
cv.glmnet call inside R, by system.time, and the process's wall time) and an R process running
one glmnet path (the call's seconds); CPU seconds too (the children's rusage for processes,
user + system of system.time inside R), as the machines these run on are shared. Medians over
the rounds; the ratios lariat / glmnet and cv / path are medians of the ratios within each
round. With --separate-paths each round also runs lariat's K + 1 paths as separate `lariat
path` processes (the full data and each fold's training rows, copied), to show what the batch
saves. LassoCV.fit (which includes its refit on all rows at the chosen alpha) runs
--sklearn-reps times after the rounds.

Agreement. cvm of each tool against lariat's, max over lambdas of |cvm - cvm_lariat| / cvm_lariat
(LassoCV's mse_path_ averaged over folds weighted by fold size, as cv.glmnet does; the folds
here have equal sizes, so its own choice is the same), and the index of lambda_min (and
lambda_1se for cv.glmnet).
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from bench_data import factor_x, toeplitz_x

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LARIAT = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                      "release", "lariat")

R_COMMON = r"""
suppressMessages(library(glmnet))
invisible(glmnet.control(fdev = 0, devmax = 1))
a <- commandArgs(TRUE)
d <- a[1]; n <- as.integer(a[2]); p <- as.integer(a[3]); nl <- as.integer(a[4])
x <- matrix(readBin(file.path(d, "x.bin"), "double", n * p), n, p)
y <- readBin(file.path(d, "y.bin"), "double", n)
l <- readBin(file.path(d, "l.bin"), "double", nl)
objectives <- function(fit) {
  b <- fit$beta
  r <- y - matrix(fit$a0, n, length(fit$a0), byrow = TRUE) - as.matrix(x %*% b)
  colSums(r^2) / (2 * n) + fit$lambda * colSums(abs(b))
}
"""

# The thresh search on the full data: the first thresh in the list whose path meets the target.
R_CALIBRATE = R_COMMON + r"""
ref <- readBin(file.path(d, "ref.bin"), "double", nl)
target <- as.double(a[5])
threshs <- as.double(strsplit(a[6], ",")[[1]])
# glmnet's own default grid on these data, to check the grid passed to everyone.
g <- glmnet(x, y, standardize = FALSE, nlambda = nl)
cat(sprintf("grid %.3e %d\n", max(abs(g$lambda - l[seq_along(g$lambda)]) / l[seq_along(g$lambda)]),
            length(g$lambda)))
for (th in threshs) {
  t <- system.time(fit <- glmnet(x, y, lambda = l, standardize = FALSE, thresh = th,
                                 maxit = 1e7))[["elapsed"]]
  rel <- (objectives(fit) - ref[seq_along(fit$lambda)]) / ref[seq_along(fit$lambda)]
  cat(sprintf("thresh %g %.4f %.6e %.6e %d\n", th, t, max(rel), min(rel), length(fit$lambda)))
  if (length(fit$lambda) == nl && max(rel) <= target) break
}
"""

R_PATH = R_COMMON + r"""
th <- as.double(a[5])
st <- system.time(fit <- glmnet(x, y, lambda = l, standardize = FALSE, thresh = th,
                                maxit = 1e7))
cat(sprintf("seconds %.6f %d %.6f\n", st[["elapsed"]], length(fit$lambda),
            st[["user.self"]] + st[["sys.self"]]))
"""

R_CV = R_COMMON + r"""
th <- as.double(a[5])
foldid <- readBin(file.path(d, "foldid.bin"), "integer", n)
st <- system.time(cv <- cv.glmnet(x, y, lambda = l, foldid = foldid, standardize = FALSE,
                                  thresh = th, maxit = 1e7))
cat(sprintf("seconds %.6f %d %d %d %.6f\n", st[["elapsed"]], length(cv$lambda), cv$index[1, 1],
            cv$index[2, 1], st[["user.self"]] + st[["sys.self"]]))
writeBin(c(cv$cvm, cv$cvsd), file.path(d, a[6]))
"""


def make_data(a):
    rng = np.random.default_rng(a.seed)
    if a.design == "toeplitz":
        x = toeplitz_x(rng, a.n, a.p, a.rho)
    else:
        x = factor_x(rng, a.n, a.p)
    beta = np.zeros(a.p)
    beta[rng.choice(a.p, a.k, replace=False)] = rng.uniform(1, 2, a.k) * rng.choice([-1, 1], a.k)
    signal = x @ beta
    y = signal + np.std(signal) / np.sqrt(a.snr) * rng.standard_normal(a.n)
    y = (y - y.mean()) / y.std()
    foldid = rng.permutation(np.arange(a.n) % a.folds) + 1
    xbar = x.mean(axis=0)
    lambda_max = np.max(np.abs(x.T @ y - xbar * y.sum())) / a.n  # y is centred
    lambdas = lambda_max * np.geomspace(1, a.lambda_min_ratio, a.n_lambdas)
    return np.asfortranarray(x), y, foldid, lambdas


def objectives(x, y, path):
    n = len(y)
    out = []
    for fit in path["fits"]:
        idx, val = fit["coef"]["indices"], np.array(fit["coef"]["values"])
        r = y - x[:, idx] @ val - fit["intercept"]
        out.append(r @ r / (2 * n) + fit["lambda"] * np.abs(val).sum())
    return np.array(out)


def timed(cmd):
    """Runs cmd; returns (wall seconds, CPU seconds of the child, stdout)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, res.stdout


def med(v):
    return statistics.median(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--design", choices=["toeplitz", "factor"], default="toeplitz")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--p", type=int, default=20000)
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--k", type=int, default=20, help="true features")
    ap.add_argument("--snr", type=float, default=4.0)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-lambdas", type=int, default=100)
    ap.add_argument("--lambda-min-ratio", type=float, default=0.01)
    ap.add_argument("--tol", type=float, default=1e-6, help="lariat's and LassoCV's gap tolerance")
    ap.add_argument("--target", type=float, default=1e-6, help="glmnet's relative suboptimality")
    ap.add_argument("--threshs", default="1e-7,1e-8,1e-9,1e-10,1e-11,1e-12,1e-13,1e-14")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sklearn-reps", type=int, default=1, help="0 skips LassoCV")
    ap.add_argument("--glmnet-default", action="store_true",
                    help="also time cv.glmnet once at its default thresh (1e-7)")
    ap.add_argument("--separate-paths", action="store_true",
                    help="also time lariat's K + 1 paths as separate processes (fold rows copied)")
    ap.add_argument("--lariat", default=LARIAT)
    ap.add_argument("--save", help="append the results as one JSON line to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (data, outputs)")
    a = ap.parse_args()

    t_start = time.perf_counter()
    x, y, foldid, lambdas = make_data(a)
    n, p, nl = a.n, a.p, len(lambdas)
    tmp = tempfile.mkdtemp(prefix="lariat-cv-bench-")
    f = lambda name: os.path.join(tmp, name)
    np.save(f("x.npy"), x)  # Fortran order: lariat memory-maps it
    np.save(f("y.npy"), y)
    np.savetxt(f("foldid.txt"), foldid, fmt="%d")
    np.savetxt(f("l.txt"), lambdas, fmt="%.17g")
    x.T.astype("<f8").tofile(f("x.bin"))  # column-major, as R reads a matrix
    y.astype("<f8").tofile(f("y.bin"))
    lambdas.astype("<f8").tofile(f("l.bin"))
    foldid.astype("<i4").tofile(f("foldid.bin"))
    for name, text in (("calibrate.R", R_CALIBRATE), ("path.R", R_PATH), ("cv.R", R_CV)):
        with open(f(name), "w") as fh:
            fh.write(text)
    rargs = [tmp, str(n), str(p), str(nl)]
    common = ["--x", f("x.npy"), "--y", f("y.npy"), "--lambdas", f("l.txt"), "--device", "cpu"]

    # Reference optimum of the full-data path, and lariat's accuracy at its timed tolerance.
    timed([a.lariat, "path", *common, "--tol", "1e-12", "--out", f("ref.json"), "-q"])
    with open(f("ref.json")) as fh:
        ref_path = json.load(fh)
    ref = objectives(x, y, ref_path)
    ref_unconverged = sum(not fit["converged"] for fit in ref_path["fits"])
    ref.astype("<f8").tofile(f("ref.bin"))

    # glmnet's thresh for the target suboptimality.
    _, _, out = timed(["Rscript", f("calibrate.R"), *rargs, repr(a.target), a.threshs])
    calib, grid_check = [], None
    for line in out.splitlines():
        w = line.split()
        if w[0] == "grid":
            grid_check = (float(w[1]), int(w[2]))
        elif w[0] == "thresh":
            calib.append({"thresh": float(w[1]), "seconds": float(w[2]), "worst_rel": float(w[3]),
                          "min_rel": float(w[4]), "n_lambdas": int(w[5])})
    thresh = calib[-1]["thresh"]
    if calib[-1]["worst_rel"] > a.target:
        print(f"warning: no thresh in {a.threshs} reaches {a.target:g}; using {thresh:g}")

    lariat_cv = [a.lariat, "cv", *common, "--foldid", f("foldid.txt"), "--tol", repr(a.tol),
                 "--out", f("cv.json")]
    lariat_path = [a.lariat, "path", *common, "--tol", repr(a.tol), "--out", f("path.json")]
    fold_paths = []
    if a.separate_paths:
        for k in range(1, a.folds + 1):
            np.save(f(f"x{k}.npy"), np.asfortranarray(x[foldid != k]))
            np.save(f(f"y{k}.npy"), y[foldid != k])
            fold_paths.append([a.lariat, "path", "--x", f(f"x{k}.npy"), "--y", f(f"y{k}.npy"),
                               "--lambdas", f("l.txt"), "--device", "cpu", "--tol", repr(a.tol),
                               "--out", f("fold_path.json")])
    rounds = []
    for _ in range(a.reps):
        r = {}
        r["cv_wall"], r["cv_cpu"], _ = timed(lariat_cv)
        r["path_wall"], r["path_cpu"], _ = timed(lariat_path)
        r["rcv_proc"], r["rcv_cpu"], out = timed(["Rscript", f("cv.R"), *rargs, repr(thresh), "cvm.bin"])
        w = out.split()
        r["rcv"], r_nl, r_imin, r_i1se = float(w[1]), int(w[2]), int(w[3]) - 1, int(w[4]) - 1
        r["rcv_inner_cpu"] = float(w[5])
        r["rpath_proc"], _, out = timed(["Rscript", f("path.R"), *rargs, repr(thresh)])
        r["rpath"], r["rpath_inner_cpu"] = float(out.split()[1]), float(out.split()[3])
        if a.separate_paths:
            # The same K + 1 paths as separate processes: the full data (timed above) and
            # each fold's training rows, copied.
            sep = [timed(c) for c in fold_paths]
            r["sep_wall"] = r["path_wall"] + sum(s[0] for s in sep)
            r["sep_cpu"] = r["path_cpu"] + sum(s[1] for s in sep)
        rounds.append(r)

    with open(f("cv.json")) as fh:
        cv = json.load(fh)
    with open(f("path.json")) as fh:
        path = json.load(fh)
    cvm = np.array(cv["cvm"])
    lariat_obj = objectives(x, y, path)
    lariat_rel = np.max((lariat_obj - ref) / ref)
    lariat_gap = max(fit["duality_gap"] / fit["gap_tolerance"] for fit in path["fits"])
    g = np.fromfile(f("cvm.bin"), dtype="<f8").reshape(2, -1)
    g_cvm = g[0]
    res = {
        "design": a.design, "n": n, "p": p, "folds": a.folds, "k": a.k, "snr": a.snr,
        "rho": a.rho if a.design == "toeplitz" else None, "seed": a.seed, "reps": a.reps,
        "tol": a.tol, "target": a.target, "thresh": thresh, "calibration": calib,
        "grid_vs_glmnet_default": grid_check, "ref_unconverged": ref_unconverged,
        "lariat_worst_rel_subopt": float(lariat_rel), "lariat_worst_gap_over_tol": lariat_gap,
        "rounds": rounds,
        "lariat_index_min": cv["index_min"], "lariat_index_1se": cv["index_1se"],
        "lariat_lambda_min": cv["lambda_min"],
        "glmnet_n_lambdas": r_nl, "glmnet_index_min": r_imin, "glmnet_index_1se": r_i1se,
        "cvm_rel_glmnet": float(np.max(np.abs(g_cvm - cvm[:len(g_cvm)]) / cvm[:len(g_cvm)])),
        "cvm_rel_glmnet_at_min": float(abs(g_cvm[cv["index_min"]] - cvm[cv["index_min"]])
                                       / cvm[cv["index_min"]]),
        "cvsd_rel_glmnet": float(np.max(np.abs(g[1] - np.array(cv["cvsd"])[:len(g_cvm)])
                                        / np.array(cv["cvsd"])[:len(g_cvm)])),
    }
    for key in ("cv_wall", "cv_cpu", "path_wall", "path_cpu", "rcv", "rcv_proc", "rpath"):
        res[key] = med([r[key] for r in rounds])
    res["cv_over_path"] = med([r["cv_wall"] / r["path_wall"] for r in rounds])
    res["cv_over_path_cpu"] = med([r["cv_cpu"] / r["path_cpu"] for r in rounds])
    res["rcv_over_rpath"] = med([r["rcv"] / r["rpath"] for r in rounds])
    res["lariat_over_rcv"] = med([r["cv_wall"] / r["rcv"] for r in rounds])
    res["lariat_over_rcv_proc"] = med([r["cv_wall"] / r["rcv_proc"] for r in rounds])
    res["lariat_cpu_over_rcv_proc_cpu"] = med([r["cv_cpu"] / r["rcv_cpu"] for r in rounds])
    res["path_over_rpath"] = med([r["path_wall"] / r["rpath"] for r in rounds])
    res["rcv_inner_cpu"] = med([r["rcv_inner_cpu"] for r in rounds])
    res["rpath_inner_cpu"] = med([r["rpath_inner_cpu"] for r in rounds])
    res["lariat_cpu_over_rcv_inner_cpu"] = med([r["cv_cpu"] / r["rcv_inner_cpu"] for r in rounds])
    res["rcv_over_rpath_cpu"] = med([r["rcv_inner_cpu"] / r["rpath_inner_cpu"] for r in rounds])
    if a.separate_paths:
        res["sep_wall"] = med([r["sep_wall"] for r in rounds])
        res["cv_over_separate"] = med([r["cv_wall"] / r["sep_wall"] for r in rounds])
        res["cv_over_separate_cpu"] = med([r["cv_cpu"] / r["sep_cpu"] for r in rounds])

    if a.glmnet_default:
        proc, _, out = timed(["Rscript", f("cv.R"), *rargs, "1e-7", "cvm_default.bin"])
        w = out.split()
        gd = np.fromfile(f("cvm_default.bin"), dtype="<f8").reshape(2, -1)[0]
        res["glmnet_default"] = {
            "seconds": float(w[1]), "process": proc, "index_min": int(w[3]) - 1,
            "index_1se": int(w[4]) - 1,
            "cvm_rel": float(np.max(np.abs(gd - cvm[:len(gd)]) / cvm[:len(gd)]))}

    if a.sklearn_reps > 0:
        import sklearn
        from sklearn.linear_model import LassoCV
        splits = [(np.flatnonzero(foldid != k), np.flatnonzero(foldid == k))
                  for k in range(1, a.folds + 1)]
        sk_wall, sk_cpu = [], []
        for _ in range(a.sklearn_reps):
            m = LassoCV(alphas=lambdas, cv=splits, tol=a.tol, max_iter=1_000_000, fit_intercept=True)
            t0, c0 = time.perf_counter(), time.process_time()
            m.fit(x, y)
            sk_wall.append(time.perf_counter() - t0)
            sk_cpu.append(time.process_time() - c0)
        assert np.allclose(m.alphas_, lambdas, rtol=1e-12)
        sizes = np.array([len(te) for _, te in splits])
        sk_cvm = m.mse_path_ @ sizes / sizes.sum()
        res.update({
            "sklearn": sklearn.__version__, "sklearn_wall": med(sk_wall), "sklearn_cpu": med(sk_cpu),
            "sklearn_index_min": int(np.argmin(m.mse_path_.mean(axis=1))),
            "sklearn_alpha_index": int(np.argmin(np.abs(lambdas - m.alpha_))),
            "cvm_rel_sklearn": float(np.max(np.abs(sk_cvm - cvm) / cvm)),
            "cvm_rel_sklearn_at_min": float(abs(sk_cvm[cv["index_min"]] - cvm[cv["index_min"]])
                                            / cvm[cv["index_min"]]),
            "lariat_over_sklearn": res["cv_wall"] / med(sk_wall)})

    res["total_seconds"] = time.perf_counter() - t_start
    res["folder"] = tmp if a.keep else None
    if not a.keep:
        shutil.rmtree(tmp)
    res["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    res["R"] = subprocess.run(["Rscript", "-e", "cat(R.version.string, as.character(packageVersion('glmnet')))"],
                              capture_output=True, text=True).stdout.strip()
    print(json.dumps(res, indent=1))
    if a.save:
        with open(a.save, "a") as fh:
            fh.write(json.dumps(res) + "\n")
    # One Markdown row.
    sk = (f"{res['sklearn_wall']:.2f} | {res['lariat_over_sklearn']:.3f}" if "sklearn_wall" in res
          else "- | -")
    print(f"| {a.design} | {n} x {p} | {a.folds} | {res['cv_wall']:.2f} | {res['path_wall']:.2f} | "
          f"{res['cv_over_path']:.2f} | {res['rcv']:.2f} | {res['rpath']:.2f} | "
          f"{res['rcv_over_rpath']:.2f} | {sk} | {res['lariat_over_rcv']:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
