"""Seconds-long first check on a GPU machine, run by bench/gpu_check.sh before the tests.

One rendered mask thinned and its skeleton traced on the GPU against the CPU kernels, then
random masks and tracing problems under random schedules (as tests/test_gpu.py draws
them).  The first mismatch of each kernel is saved with its inputs to DIR/smoke_*.npz
(DIR: the first argument, default .), so that a failure seen on the lent machine can be
studied after it is given back, against the CPU twins of the schedules.

    python bench/gpu_smoke.py [DIR]
"""

import sys
from pathlib import Path

import cupy as cp
import numpy as np

import veernet
from veernet.testing import curve_band_mask
from veernet.thinning import thin_gpu, thin_tiled_cpu
from veernet.tracing import trace_gpu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference import random_mask, random_scheduled_trace_case, random_thin_schedule

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
mask, _ = curve_band_mask(3000, 300, np.random.default_rng(1), curves=2)
skel = veernet.thin(mask)
print(
    "rendered band, thin identical:",
    np.array_equal(cp.asnumpy(veernet.thin(cp.asarray(mask))), skel),
)
prob = mask.astype(np.float32)
_, p_cpu = veernet.trace(skel, prob, return_path=True)
_, p_gpu = veernet.trace(cp.asarray(skel), cp.asarray(prob), return_path=True)
print("rendered band, trace identical:", np.array_equal(cp.asnumpy(p_gpu), p_cpu), flush=True)

rng = np.random.default_rng()
bad = 0
for _ in range(60):
    m = random_mask(rng, 400, 0.6, 5)
    schedule = random_thin_schedule(rng)
    expected = thin_tiled_cpu(m, schedule=schedule)[0]
    got = cp.asnumpy(thin_gpu(cp.asarray(m), schedule=schedule))
    if not np.array_equal(got, expected):
        bad += 1
        if bad == 1:
            np.savez_compressed(
                out / "smoke_thin.npz", mask=m, schedule=schedule, expected=expected, got=got
            )
print(f"random masks, random schedules: {bad} of 60 thin differently", flush=True)

bad = 0
for _ in range(60):
    skel, prob, params, schedule = random_scheduled_trace_case(rng)
    _, p_cpu = veernet.trace(skel, prob, params, return_path=True)
    ((_, p_gpu),) = trace_gpu(
        [(cp.asarray(skel), None if prob is None else cp.asarray(prob))], params, schedule=schedule
    )
    p_gpu = cp.asnumpy(p_gpu)
    if not np.array_equal(p_gpu, p_cpu):
        bad += 1
        if bad == 1:
            np.savez_compressed(
                out / "smoke_trace.npz",
                skel=skel,
                prob=np.zeros(0, np.float32) if prob is None else prob,
                params=np.array(
                    [
                        params.miss_cost,
                        params.prob_weight,
                        params.jump_cost,
                        params.follow_cost,
                        params.band_threshold,
                        params.max_half_width,
                    ]
                ),
                schedule=schedule,
                expected=p_cpu,
                got=p_gpu,
            )
print(f"random tracing problems, random schedules: {bad} of 60 take another path", flush=True)
