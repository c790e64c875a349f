"""What the curves failing on R² are: where their wrong rows lie.

Reruns `digitize` on each case with a curve below the gate's R² in an evaluation JSON
(tools/validate_model.py) and reads the recovered curve at every pixel row against its
truth.  A row is wrong when it is more than 3 px off (in plot space, both sides clipped to
the paper); each wrong row goes into the first group that fits it:

- off scale: the true value is off the paper (a curve without a backup scale);
- seam: a curve with a backup scale read about one track width off;
- other curve: the reading lies within 3 px of another curve of the track;
- edge: the reading lies within 3 px of a track edge;
- rest: none of these (spiky curves read at the scan's resolution, ink that is no curve).

Each curve is put in the group that holds most of its wrong rows.

    python tools/failure_breakdown.py RUN.json CASES_DIR [--out FILE.json]
"""

import argparse
import collections
import json
import os
from pathlib import Path

import numpy as np

from veernet.evaluate import curve_r2
from veernet.gate import FitGate
from veernet.pipeline import _read_reference, digitize

WRONG_PX = 3.0
GROUPS = ("off scale", "seam", "other curve", "edge", "rest")


def breakdown(result, ref_depth, ref_curves, mnemonics):
    layout = result.layout
    row_depth = layout.depth.depth(np.arange(*result.rows, dtype=np.float64))
    tracks = {t.name: t for t in layout.tracks}
    for c in result.curves:
        if c.mnemonic not in mnemonics:
            continue
        track = tracks[c.track]
        lo, hi = c.spec.plot_range
        true_raw = c.spec.fraction(np.interp(row_depth, ref_depth, ref_curves[c.mnemonic.upper()]))
        truth = np.clip(true_raw, lo, hi) * track.width
        ours = np.clip(c.spec.fraction(np.interp(row_depth, result.depth, c.value)), lo, hi)
        ours = ours * track.width
        err = ours - truth
        wrong = np.abs(err) > WRONG_PX  # NaN (NULL) rows are not wrong, only missing
        off = ((true_raw < 0) | (true_raw > 1)) if not c.spec.wrap else np.zeros_like(wrong)
        seam = (
            np.abs(np.abs(err) - track.width) < 0.1 * track.width
            if c.spec.wrap
            else np.zeros_like(wrong)
        )
        near = np.zeros_like(wrong)
        for other in track.curves:
            if other.mnemonic != c.mnemonic and other.mnemonic.upper() in ref_curves:
                v = np.interp(row_depth, ref_depth, ref_curves[other.mnemonic.upper()])
                near |= np.abs(np.clip(other.fraction(v), 0, 1) * track.width - ours) <= WRONG_PX
        edge = np.minimum(np.abs(ours), np.abs(track.width - ours)) < WRONG_PX
        left = wrong.copy()
        counts = {}
        for name, rows in zip(GROUPS[:-1], (off, seam, near, edge), strict=True):
            counts[name] = int(np.count_nonzero(left & rows))
            left &= ~rows
        counts["rest"] = int(np.count_nonzero(left))
        yield c, counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("cases", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    os.environ.setdefault("VEERNET_ORT_THREADS", "1")
    gate = FitGate()
    failing = collections.defaultdict(set)
    for c in json.loads(args.run.read_text())["curves"]:
        if not curve_r2(c) >= gate.min_r2:
            failing[c["case"].removesuffix(".png")].add(c["mnemonic"])
    rows, by_group = [], collections.Counter()
    totals = collections.Counter()
    for case, mnemonics in sorted(failing.items()):
        base = args.cases / case
        reference = base.with_name(f"{case}_reference.las")
        result = digitize(
            base.with_suffix(".png"),
            base.with_suffix(".toml"),
            reference=reference,
            allow_empty=True,
            one_class_per_track=False,
        )
        ref_depth, ref_curves = _read_reference(reference)
        for c, counts in breakdown(result, ref_depth, ref_curves, mnemonics):
            group = max(GROUPS, key=lambda g: counts[g]) if sum(counts.values()) else "none wrong"
            by_group[group] += 1
            totals.update(counts)
            rows.append(
                {
                    "case": case,
                    "mnemonic": c.mnemonic,
                    "style": c.spec.style,
                    "wrap": c.spec.wrap,
                    "r2": c.qc.r2,
                    "group": group,
                    **counts,
                }
            )
            print(
                f"{case} {c.mnemonic} {c.spec.style} {c.spec.wrap or '-'}: R² {c.qc.r2:.3f}, "
                f"{group}; wrong rows {counts}",
                flush=True,
            )
    print(
        f"{len(rows)} curves failing on R², by the group of most of their wrong rows: "
        f"{dict(by_group)}; wrong rows in all: {dict(totals)}"
    )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
