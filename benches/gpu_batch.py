"""The batch on one device, timed as whole commands in one run: one path, a 10-fold CV over
the same grid (cv.glmnet takes about 4.5x its path; issue 8's goal on the GPU: at most 3x), and
k responses in one batch against k separate paths (goal at k = 32: at least 8x the throughput).
Each command includes its own process start and device setup, so "k separate paths" pays that
k times, as separate runs do; the printed single-path time says how much of it that is.

    cargo build --release
    python3 benches/gpu_batch.py --device gpu --n 1000 --p 100000 --k 32
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
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--n-lambdas", type=int, default=100)
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--binary", default="target/release/lariat")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    x = toeplitz_x(rng, args.n, args.p, 0.5)
    beta = np.zeros((args.p, args.k))
    for c in range(args.k):
        beta[rng.choice(args.p, 20, replace=False), c] = rng.standard_normal(20)
    ys = x @ beta + 0.5 * rng.standard_normal((args.n, args.k))
    with tempfile.TemporaryDirectory() as d:
        xp, yp, ykp = (os.path.join(d, f) for f in ("x.npy", "y.npy", "yk.npy"))
        np.save(xp, x)
        np.save(yp, ys[:, 0])
        np.save(ykp, ys)
        common = ["--x", xp, "--device", args.device, "-q", "--n-lambdas", str(args.n_lambdas)]
        out = os.path.join(d, "out.json")
        path = timed([args.binary, "path", "--y", yp, "--out", out] + common)
        cv = timed([args.binary, "cv", "--y", yp, "--folds", str(args.folds), "--seed", "1",
                    "--out", out] + common)
        batch = timed([args.binary, "path", "--y", ykp, "--out", out] + common)
    print(f"{args.device}, {args.n} x {args.p} Toeplitz, {args.n_lambdas} lambdas, one run:")
    print(f"  path {path:.2f} s; {args.folds}-fold cv {cv:.2f} s = {cv / path:.2f}x the path")
    print(f"  {args.k} responses in one batch {batch:.2f} s; {args.k} separate paths "
          f"{args.k * path:.2f} s (k x one path); throughput {args.k * path / batch:.1f}x")


if __name__ == "__main__":
    main()
