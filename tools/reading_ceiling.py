"""The ceiling of a per-row reading: how each curve of generated logs would score if every
pixel row were read perfectly.

For each curve of each case in CASES_DIR (layout and reference LAS as `veernet synth`
writes them), the truth is averaged over each pixel row of the digitized interval (16
points per row, clipped to what the paper records), which is the most a reading of one
value per row can hold, put on the default depth grid, and scored against the reference
exactly as `digitize` scores a recovered curve (`veernet.gate.score`, 300 depths).  No
segmentation runs, so it takes seconds.  Prints how many curves such a reading would fail
on R² and the R² percentiles; with --out, the R² of each curve (keys `case/MNEMONIC`, as in
the evaluation JSON).

    python tools/reading_ceiling.py CASES_DIR [--out FILE.json]
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np

from veernet.gate import FitGate, score
from veernet.layout import load_layout
from veernet.pipeline import _read_reference
from veernet.resample import default_step, depth_grid

SUBROWS = 16


def ceiling(toml: Path) -> dict[str, float]:
    lay = load_layout(toml)
    ref_depth, ref_curves = _read_reference(toml.with_name(toml.stem + "_reference.las"))
    r0 = max(0, math.floor(lay.depth.top_row))
    r1 = math.ceil(lay.depth.bottom_row) + 1
    rows = np.arange(r0, r1, dtype=np.float64)
    sub = (rows[:, None] - 0.5 + (np.arange(SUBROWS) + 0.5) / SUBROWS).ravel()
    row_depth = lay.depth.depth(rows)
    step = default_step(lay.depth.unit, float(np.median(np.diff(row_depth))))
    grid = depth_grid(float(row_depth[0]), float(row_depth[-1]), step)
    out = {}
    for track in lay.tracks:
        for curve in track.curves:
            truth = ref_curves.get(curve.mnemonic.upper())
            if truth is None:
                continue
            ok = ~np.isnan(truth)
            drawn = np.clip(
                curve.fraction(np.interp(lay.depth.depth(sub), ref_depth[ok], truth[ok])),
                *curve.plot_range,
            )
            per_row = drawn.reshape(len(rows), SUBROWS).mean(axis=1)
            values = curve.value(np.interp(grid, row_depth, per_row))
            r2, _, _ = score(grid, values, ref_depth, truth, curve, FitGate().reference_points)
            out[f"{toml.stem}.png/{curve.mnemonic}"] = r2
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases")
    ap.add_argument("--out")
    args = ap.parse_args()
    r2 = {}
    for toml in sorted(Path(args.cases).glob("*.toml")):
        r2.update(ceiling(toml))
    values = np.array([v for v in r2.values() if v is not None and math.isfinite(v)])
    below = int(np.sum(values < FitGate().min_r2))
    print(
        f"{len(r2)} curves; a perfect per-row reading fails R² {FitGate().min_r2} on {below}; "
        f"R² 1st / 10th percentile / median {np.percentile(values, 1):.4f} / "
        f"{np.percentile(values, 10):.4f} / {np.median(values):.4f}"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(r2, indent=1))


if __name__ == "__main__":
    main()
