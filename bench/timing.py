"""Timing shared by the benchmarks: median wall time after one warm-up call."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up: first-call costs (allocation, thread start) stay out of the numbers
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))
