"""Write python/veernet/data/demo_track.npz: one track's curve mask and its true centreline.

Used by `veernet demo`.  Run: python tools/make_demo_mask.py
"""

from pathlib import Path

import numpy as np

from veernet.testing import draw_band, random_curve

rng = np.random.default_rng(20261126)
rows, cols = 3000, 320
truth = random_curve(rows, cols, rng, swings=3)
mask = np.zeros((rows, cols), bool)
draw_band(mask, truth, 5.0)
mask[(np.arange(rows) // 400) % 4 == 3] = False  # two long gaps: honest NaN, not invented curve
out = Path(__file__).resolve().parents[1] / "python/veernet/data/demo_track.npz"
np.savez_compressed(out, mask=np.packbits(mask, axis=1), cols=cols, truth=truth.astype(np.float32))
print(out, out.stat().st_size, "bytes")
