"""Ablation of the pass-saving rules on a lariat path: each combination of the strong rule, Gap
Safe and working sets, on one device, in one run. Reports wall time, full passes over X per
lambda, solver iterations, how many lambdas needed the f64 CPU polish, and the worst
certified gap / tolerance (each fit's gap is the f64 gap lariat certified).

    cargo build --release
    python3 benches/path_screening.py --device gpu --n 200 --p 8000 --n-lambdas 100

Extra lariat binaries (e.g. an older build) can be compared with --baseline NAME=PATH.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_data import toeplitz_x  # noqa: E402

CONFIGS = [
    ("defaults", []),
    ("no strong rule", ["--no-strong-rule"]),
    ("no Gap Safe", ["--no-gap-safe"]),
    ("working sets only", ["--no-strong-rule", "--no-gap-safe"]),
    ("no working sets", ["--working-sets", "off"]),
    ("Gap Safe only", ["--working-sets", "off", "--no-strong-rule"]),
    ("no screening", ["--working-sets", "off", "--no-strong-rule", "--no-gap-safe"]),
]


def run(binary, xp, yp, args, flags, out):
    cmd = [binary, "path", "--x", xp, "--y", yp, "--n-lambdas", str(args.n_lambdas),
           "--device", args.device, "--tol", str(args.tol), "--out", out, "-q"] + flags
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - t0
    with open(out) as f:
        fits = json.load(f)["fits"]
    return {
        "seconds": seconds,
        "passes": sum(f.get("full_passes", 0) for f in fits),
        "iterations": sum(f["iterations"] for f in fits),
        "polished": sum("polish" in f["device"] for f in fits),
        "worst": max(f["duality_gap"] / f["gap_tolerance"] for f in fits),
        "objective_sum": sum(f["objective"] for f in fits),
        "n": len(fits),
        # What the device was asked (GPU fits only): waits, and passes carried by checks.
        "read_backs": sum(f.get("gpu", {}).get("read_backs", 0) for f in fits),
        "carried": sum(f.get("gpu", {}).get("speculative_passes", 0) for f in fits),
        "carried_used": sum(f.get("gpu", {}).get("speculative_passes_used", 0) for f in fits),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="gpu")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--p", type=int, default=8000)
    ap.add_argument("--n-lambdas", type=int, default=100)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--rho", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--binary", default="target/release/lariat")
    ap.add_argument("--baseline", action="append", default=[],
                    help="NAME=PATH of another lariat binary, run with its defaults")
    ap.add_argument("--only", help="comma-separated config names to run")
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    x = toeplitz_x(rng, args.n, args.p, args.rho)
    beta = np.zeros(args.p)
    support = rng.choice(args.p, 20, replace=False)
    beta[support] = 2 * rng.standard_normal(20)
    y = x @ beta + rng.standard_normal(args.n)
    tmp = tempfile.mkdtemp(prefix="lariat-ablation-")
    xp, yp, out = (os.path.join(tmp, f) for f in ("x.npy", "y.npy", "path.json"))
    np.save(xp, x)
    np.save(yp, y)

    runs = [(name, args.binary, flags) for name, flags in CONFIGS]
    if args.only:
        keep = set(args.only.split(","))
        runs = [r for r in runs if r[0] in keep]
    runs += [(name, path, []) for name, path in (b.split("=", 1) for b in args.baseline)]
    print(f"# {args.n} x {args.p} Toeplitz rho {args.rho}, {args.n_lambdas} lambdas to "
          f"lambda_max/100, tol {args.tol}, device {args.device}")
    print("| configuration | seconds | passes per lambda | iterations | polished | worst gap / tol "
          "| read-backs | passes carried by checks (used) |")
    print("|---|---|---|---|---|---|---|---|")
    ref = None
    for name, binary, flags in runs:
        r = run(binary, xp, yp, args, flags, out)
        ref = ref if ref is not None else r["objective_sum"]
        # Every configuration must land on the same optimum (to the tolerance).
        assert abs(r["objective_sum"] - ref) <= 1e-4 * abs(ref), (name, r["objective_sum"], ref)
        passes = f"{r['passes'] / r['n']:.1f}" if r["passes"] else "n/a"
        print(f"| {name} | {r['seconds']:.2f} | {passes} | {r['iterations']} | {r['polished']} "
              f"| {r['worst']:.2f} | {r['read_backs']} | {r['carried']} ({r['carried_used']}) |",
              flush=True)


if __name__ == "__main__":
    main()
