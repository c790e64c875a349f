"""Thinning benchmark: veernet.thin against scikit-image and OpenCV, measured in one run.

Realistic masks: full pages of tracks with curve bands 3-9 px wide and steep swings
(about 1.5 % foreground).  Checks bit-equality with scikit-image first, then prints the
median of several runs of each implementation and the ratios.

    python bench/bench_thin.py [--repeat N] [--sizes 4096 1024]
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

import veernet
from veernet.benchmark import median_seconds
from veernet.testing import track_mosaic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--sizes", type=int, nargs="+", default=[4096, 1024])
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()

    from skimage.morphology import skeletonize

    try:
        import cv2

        cv_thin = cv2.ximgproc.thinning
    except (ImportError, AttributeError):
        cv_thin = None
        print("OpenCV contrib (cv2.ximgproc) not installed: skipping its column")

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; veernet {veernet.__version__}"
    )
    rng = np.random.default_rng(args.seed)
    rows = []
    for n in args.sizes:
        mask = track_mosaic(n, n, rng)
        ours = veernet.thin(mask)
        if not np.array_equal(ours, skeletonize(mask)):
            raise SystemExit(f"MISMATCH with scikit-image on the {n}x{n} mask")
        t_ours = median_seconds(lambda m=mask: veernet.thin(m), args.repeat)
        t_one = median_seconds(lambda m=mask: veernet.thin(m, threads=1), args.repeat)
        t_sk = median_seconds(lambda m=mask: skeletonize(m), max(3, args.repeat // 2))
        t_cv = float("nan")
        if cv_thin is not None:
            m8 = mask.astype(np.uint8) * 255
            t_cv = median_seconds(
                lambda m=m8: cv_thin(m, thinningType=cv2.ximgproc.THINNING_ZHANGSUEN),
                max(3, args.repeat // 2),
            )
        rows.append((n, mask.mean(), t_ours, t_one, t_sk, t_cv))

    print()
    print(
        "| mask | foreground | veernet (all cores) | veernet (1 thread) | scikit-image | OpenCV | vs scikit-image | vs OpenCV |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, fg, t_ours, t_one, t_sk, t_cv in rows:
        print(
            f"| {n}x{n} | {100 * fg:.2f} % | {1e3 * t_ours:.2f} ms | {1e3 * t_one:.2f} ms | {1e3 * t_sk:.1f} ms | "
            f"{1e3 * t_cv:.1f} ms | {t_sk / t_ours:.1f}x | {t_cv / t_ours:.1f}x |"
        )
    print("\noutputs equal to scikit-image: yes (checked before timing)")


if __name__ == "__main__":
    main()
