"""Resampling benchmark: veernet's smoothing spline against SciPy's make_smoothing_spline,
and the whole resampling step (fit_curve), measured in one run.

Traced columns like the tracer's: a centreline of a real-looking log (random walk with
kicks), one value per image row, with holes and stray one-row jumps.  Checks that both
splines agree first, then prints medians and the ratio.

    python bench/bench_resample.py [--rows 2500 40000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
from scipy.interpolate import make_smoothing_spline

from veernet import resample
from veernet.benchmark import median_seconds
from veernet.resample import depth_grid, fit_curve, smoothing_spline


def traced_columns(rows: int, rng: np.random.Generator) -> np.ndarray:
    x = 200 + np.cumsum(rng.normal(0, 1.5, rows))
    x += 60 * (np.cumsum(rng.random(rows) < 0.002) % 2)  # kicks
    stray = rng.random(rows) < 0.003
    x[stray] += rng.normal(0, 30, stray.sum())
    for start in rng.integers(0, rows, rows // 800):  # holes in the mask
        x[start : start + int(rng.integers(3, 40))] = np.nan
    return x


def measure(rows: int, rng: np.random.Generator, repeat: int) -> tuple[float, ...]:
    """Seconds: our spline, SciPy's, fit_curve with ours, fit_curve with SciPy's."""
    column = traced_columns(rows, rng)
    ok = ~np.isnan(column)
    x = np.flatnonzero(ok).astype(np.float64)
    y = column[ok]
    q = np.linspace(x[0], x[-1], 3 * len(x))
    diff = np.max(
        np.abs(smoothing_spline(x, y, 0.25)(q) - make_smoothing_spline(x, y, lam=0.25)(q))
    )
    if diff > 1e-6:
        raise SystemExit(f"MISMATCH: the splines differ by {diff:.3g} px on {rows} rows")
    depth = np.arange(rows) * 0.1
    grid = depth_grid(depth[0], depth[-1], 0.5)
    ours = fit_curve(depth, column, grid, max_gap=1.0)
    t_ours = median_seconds(lambda: smoothing_spline(x, y, 0.25), repeat)
    t_scipy = median_seconds(lambda: make_smoothing_spline(x, y, lam=0.25), repeat)
    t_fit = median_seconds(lambda: fit_curve(depth, column, grid, max_gap=1.0), repeat)
    # The whole step again with SciPy's solver in place of ours: the baseline.
    saved = resample.smoothing_spline
    resample.smoothing_spline = lambda x, y, lam: make_smoothing_spline(x, y, lam=lam)
    try:
        theirs = fit_curve(depth, column, grid, max_gap=1.0)
        t_fit_scipy = median_seconds(lambda: fit_curve(depth, column, grid, max_gap=1.0), repeat)
    finally:
        resample.smoothing_spline = saved
    if not np.allclose(ours.column, theirs.column, rtol=0, atol=1e-6, equal_nan=True):
        raise SystemExit(f"MISMATCH: fit_curve differs with SciPy's spline on {rows} rows")
    return t_ours, t_scipy, t_fit, t_fit_scipy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[2500, 40000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; one thread")
    print()
    print(
        "| rows | veernet spline | SciPy make_smoothing_spline | ratio "
        "| fit_curve | fit_curve with SciPy's spline | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for rows in args.rows:
        t_ours, t_scipy, t_fit, t_fit_scipy = measure(rows, rng, args.repeat)
        print(
            f"| {rows:,} | {1e3 * t_ours:.2f} ms | {1e3 * t_scipy:.2f} ms | {t_scipy / t_ours:.1f}x "
            f"| {1e3 * t_fit:.2f} ms | {1e3 * t_fit_scipy:.2f} ms | {t_fit_scipy / t_fit:.1f}x |"
        )


if __name__ == "__main__":
    main()
