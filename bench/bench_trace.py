"""Tracing benchmark: veernet.trace against the NumPy reference of the same programme.

A 40,000-row track (about 200 m at 1:200 and 200 dpi) with one curve band and its
probability map.  Checks that both choose the identical path, then prints median times.

    python bench/bench_trace.py [--rows 40000] [--cols 400] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import veernet
from veernet.testing import curve_band_mask

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import trace_reference


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=40_000)
    ap.add_argument("--cols", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    mask, _ = curve_band_mask(args.rows, args.cols, rng, curves=1, swings=args.rows // 500)
    skel = veernet.thin(mask)
    prob = np.clip(mask + rng.normal(0, 0.05, mask.shape), 0, 1).astype(np.float32)

    centre, path = veernet.trace(skel, prob, return_path=True)
    t0 = time.perf_counter()
    _, ref_path = trace_reference(skel, prob)
    t_ref = time.perf_counter() - t0
    if not np.array_equal(path, ref_path):
        raise SystemExit("MISMATCH: veernet.trace and the NumPy reference chose different paths")

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        veernet.trace(skel, prob)
        times.append(time.perf_counter() - t0)
    t_ours = float(np.median(times))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; veernet {veernet.__version__}"
    )
    print(f"track {args.rows} rows x {args.cols} px, coverage {np.mean(~np.isnan(centre)):.3f}")
    print()
    print("| track | veernet.trace | NumPy reference | ratio |")
    print("|---|---|---|---|")
    print(
        f"| {args.rows}x{args.cols} | {1e3 * t_ours:.1f} ms | {1e3 * t_ref:.0f} ms | {t_ref / t_ours:.0f}x |"
    )
    print("\npaths identical to the reference: yes")


if __name__ == "__main__":
    main()
