"""Split the validation verdicts by whether the true curve stays inside its track.

Run after tools/validate_model.py: python tools/offscale_breakdown.py (reads
engine/validation_onnx.json and the cases under /tmp/val/cases).
"""

import json

import lasio
import numpy as np

from veernet.layout import load_layout

d = json.load(open("/work/main/engine/validation_onnx.json"))
rows = []
cache = {}
for c in d["curves"]:
    case = c["case"].replace(".png", "")
    if case not in cache:
        lay = load_layout(f"/tmp/val/cases/{case}.toml")
        las = lasio.read(f"/tmp/val/cases/{case}_reference.las")
        cache[case] = (lay, las)
    lay, las = cache[case]
    spec = [s for t, s in lay.curves if s.mnemonic == c["mnemonic"]][0]
    f = spec.fraction(np.asarray(las[c["mnemonic"]], float))
    off = np.mean((f < 0) | (f > 1))
    rv = c["r2"]
    rv = -np.inf if rv is None or not np.isfinite(rv) else rv
    rows.append((off, c["status"] == "accept", rv, c["coverage"]))
off = np.array([r[0] for r in rows])
acc = np.array([r[1] for r in rows])
r2 = np.array([r[2] for r in rows])
cov = np.array([r[3] for r in rows])
on = off == 0
print("curves", len(rows), "fully on-scale", on.sum(), "share", round(on.mean(), 3))
print(
    "on-scale: pass",
    round(acc[on].mean(), 3),
    "median R2",
    round(np.median(r2[on]), 4),
    "p10",
    round(np.percentile(r2[on], 10), 3),
    "cov",
    round(cov[on].mean(), 3),
)
print(
    "off-scale: pass",
    round(acc[~on].mean(), 3),
    "median R2",
    round(np.median(r2[~on]), 4),
    "mean off share",
    round(off[~on].mean(), 3),
)
