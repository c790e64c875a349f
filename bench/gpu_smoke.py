"""Seconds-long first check on a GPU machine: one rendered mask thinned and its skeleton
traced on the GPU, compared with the CPU kernels (run by bench/gpu_check.sh before the
tests, so that a kernel that hangs or fails is seen at once)."""

import cupy as cp
import numpy as np

import veernet
from veernet.testing import curve_band_mask

mask, _ = curve_band_mask(3000, 300, np.random.default_rng(1), curves=2)
skel = veernet.thin(mask)
print("thin identical:", np.array_equal(cp.asnumpy(veernet.thin(cp.asarray(mask))), skel))
prob = mask.astype(np.float32)
_, p_cpu = veernet.trace(skel, prob, return_path=True)
_, p_gpu = veernet.trace(cp.asarray(skel), cp.asarray(prob), return_path=True)
print("trace identical:", np.array_equal(cp.asnumpy(p_gpu), p_cpu))
