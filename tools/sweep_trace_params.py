"""Sweep one tracer setting (a TraceParams field) over logs with ground truth.

Each log is segmented once; tracing, resampling and scoring run per value.

    python tools/sweep_trace_params.py /tmp/tune/cases 0.1,0.25,0.5,1.0 jump_cost
"""

import multiprocessing as mp
import sys

import numpy as np

from veernet.evaluate import _CachedSegmenter, find_cases
from veernet.pipeline import digitize
from veernet.segment import get_segmenter
from veernet.tracing import TraceParams


def _run(args):
    (scan, layout, ref), key, values = args
    seg = _CachedSegmenter(get_segmenter("onnx"))
    out = []
    for v in values:
        res = digitize(
            scan,
            layout,
            segmenter=seg,
            reference=ref,
            allow_empty=True,
            one_class_per_track=False,
            trace_params=TraceParams(**{key: v}),
        )
        out.append([(c.qc.r2, c.qc.status) for c in res.curves])
    return out


def main() -> None:
    folder, values, key = sys.argv[1], [float(v) for v in sys.argv[2].split(",")], sys.argv[3]
    jobs = [(case, key, values) for case in find_cases(folder)]
    with mp.get_context("spawn").Pool(2) as pool:
        per_case = pool.map(_run, jobs, chunksize=1)
    for i, v in enumerate(values):
        curves = [c for case in per_case for c in case[i]]
        r2 = np.array([r if r is not None and np.isfinite(r) else -np.inf for r, _ in curves])
        passed = np.mean([s == "accept" for _, s in curves])
        print(
            f"{key} {v}: {len(curves)} curves, median R² {np.median(r2):.4f}, "
            f"10th percentile {np.percentile(r2, 10):.3f}, pass rate {passed:.3f}"
        )


if __name__ == "__main__":
    main()
