"""The batch on one device, timed as whole commands in one run: one path, a 10-fold CV over
the same grid (cv.glmnet takes about 4.5x its path; issue 8's goal on the GPU: at most 3x), and
k responses in one batch against k separate paths (goal at k = 32: at least 8x the throughput).
Each command includes its own process start and device setup, so "k separate paths" pays that
k times, as separate runs do; the printed single-path time says how much of it that is.

    cargo build --release
    python3 benches/gpu_batch.py --device gpu --n 1000 --p 100000 --k 32
    python3 benches/gpu_batch.py --device cpu --n 500 --p 20000 --k 0 --folds 5

`--k 0` times only the path and the CV (issue 8's CPU goal: CV at most 2.5x the path, which on
a 2-core machine the folds' own coordinate descent rules out; benches/RESULTS.md).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_data import toeplitz_x  # noqa: E402


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="gpu")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--p", type=int, default=100000)
    ap.add_argument("--k", type=int, default=32, help="responses; 0: no batch of responses")
    ap.add_argument("--n-lambdas", type=int, default=100)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=1, help="path and cv: the median of this many runs")
    ap.add_argument("--binary", default="target/release/lariat")
    args = ap.parse_args()
    if args.k < 0:
        ap.error("--k must be >= 0")
    if args.reps < 1:
        ap.error("--reps must be >= 1")
    rng = np.random.default_rng(args.seed)
    x = toeplitz_x(rng, args.n, args.p, 0.5)
    k = max(args.k, 1)
    beta = np.zeros((args.p, k))
    for c in range(k):
        beta[rng.choice(args.p, 20, replace=False), c] = rng.standard_normal(20)
    ys = x @ beta + 0.5 * rng.standard_normal((args.n, k))
    with tempfile.TemporaryDirectory() as d:
        xp, yp, ykp = (os.path.join(d, f) for f in ("x.npy", "y.npy", "yk.npy"))
        np.save(xp, x)
        np.save(yp, ys[:, 0])
        np.save(ykp, ys)
        common = ["--x", xp, "--device", args.device, "-q", "--n-lambdas", str(args.n_lambdas)]
        out = os.path.join(d, "out.json")
        path_cmd = [args.binary, "path", "--y", yp, "--out", out] + common
        cv_cmd = [args.binary, "cv", "--y", yp, "--folds", str(args.folds), "--seed", "1",
                  "--out", out] + common
        # Alternated, so that a slow spell of a shared machine falls on both.
        times = [(timed(path_cmd), timed(cv_cmd)) for _ in range(args.reps)]
        path = float(np.median([t[0] for t in times]))
        cv = float(np.median([t[1] for t in times]))
        ratio = float(np.median([t[1] / t[0] for t in times]))
        if args.k > 0:
            batch = timed([args.binary, "path", "--y", ykp, "--out", out] + common)
    runs = "one run" if args.reps == 1 else f"medians of {args.reps} runs"
    print(f"{args.device}, {args.n} x {args.p} Toeplitz, {args.n_lambdas} lambdas, "
          f"{os.cpu_count()} cores, {runs}:")
    each = "" if args.reps == 1 else " (the median of the runs' ratios)"
    print(f"  path {path:.2f} s; {args.folds}-fold cv {cv:.2f} s; cv = {ratio:.2f}x the path{each}")
    if args.k > 0:
        print(f"  {args.k} responses in one batch {batch:.2f} s; {args.k} separate paths "
              f"{args.k * path:.2f} s (k x one path); throughput {args.k * path / batch:.1f}x")


if __name__ == "__main__":
    main()
