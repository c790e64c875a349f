"""Two checks of the tracer's decisions against the truth, on generated logs.

``gaps``: every gap of a traced curve that the straight-stroke bridge considers (both ends
within STRAIGHT_BRIDGE_PX in one column, away from the border: the bridge's own
``veernet.pipeline.straight_gap`` and ``ink_spans_gap``), with whether the truth
follows that column (within 2.5 px in 90 % of the gap's rows), what the shipped ink test
decides, and what a local-contrast test (the column darker than the median of the columns
4-9 px either side by more than T grey levels) would decide.  Prints, for gaps of at least
20 rows, how many each test bridges that follow the truth, bridges that do not, and misses.

``crossings``: every step of a traced path from one copy of a backup-scale track to the
next (a wrap), with whether the truth wraps the same way there (its copy 4 rows before and
after), and how much of the straight route and of the route through the seam the curve's
own probability (>= 0.5) and skeleton cover in the 6 rows either side.  Prints how many
genuine and false crossings a rule that rejects a crossing whose straight route is better
covered would reject.

    python tools/trace_diagnostics.py gaps CASES_DIR --first-seed 2000000 --prefix tune --count 150 --out gaps.json
    python tools/trace_diagnostics.py crossings CASES_DIR --first-seed 2000000 --prefix tune --count 150 --out crossings.json

Measured in the nineteenth session (engine/MODEL_HISTORY.md, "Nineteenth session").  About
10 min for 150 logs on 2 cores.
"""

import argparse
import collections
import json
import multiprocessing as mp
from pathlib import Path

import numpy as np

import veernet.pipeline as P
from veernet.resample import runs

RECORDS: list[dict] = []
_CALLS: dict[str, int] = {}
_bridge = P.bridge_straight_gaps
_curve = P._curve


def _spy_bridge(centre, path, inp, track, img, origin, others):
    """Record the bridge's candidate gaps, then run the bridge."""
    r0 = origin[0]
    i = _CALLS.get(track.name, 0)  # digitize bridges a track's curves in order
    _CALLS[track.name] = i + 1
    for a, b in runs(np.isnan(centre)):
        if a == 0 or b == len(centre) or b - a < 3:
            continue
        gap = P.straight_gap(centre, inp, track, img, origin, others, a, b)
        if gap is None:
            continue
        col, inked, taken = gap
        rows = img[r0 + a : r0 + b].astype(np.float32)
        dark = rows[:, col - 1 : col + 2].min(axis=1)
        side = np.concatenate([rows[:, max(col - 9, 0) : col - 3], rows[:, col + 4 : col + 10]], 1)
        RECORDS.append(
            dict(
                track=track.name,
                i=i,
                a=int(a),
                b=int(b),
                r0=int(r0),
                col=int(col),
                shipped=P.ink_spans_gap(inked, taken),
                contrast=(np.median(side, axis=1) - dark).tolist(),
                taken=taken.tolist(),
            )
        )
    _bridge(centre, path, inp, track, img, origin, others)


def _spy_curve(track, curve, inp, centre_s, path_s, *args, **kwargs):
    """Record a backup-scale curve's crossings from one copy of its track to the next."""
    if curve.wrap:
        n = inp.n
        copy = path_s // n
        prob = np.asarray(inp.prob[:, :n], dtype=np.float32)
        skel = np.asarray(inp.skeleton[:, :n]).astype(bool)
        for r in np.flatnonzero(np.diff(copy)) + 1:
            x0, x1 = int(path_s[r - 1] % n), int(path_s[r] % n)
            lo, hi = max(0, r - 6), min(len(copy), r + 6)
            pm, sm = (prob[lo:hi] >= 0.5).any(axis=0), skel[lo:hi].any(axis=0)
            direct = np.arange(min(x0, x1), max(x0, x1) + 1)
            seam = np.r_[np.arange(max(x0, x1), n), np.arange(0, min(x0, x1) + 1)]
            RECORDS.append(
                dict(
                    mnemonic=curve.mnemonic,
                    r=int(r),
                    d=int(copy[r] - copy[r - 1]),
                    prob_direct=float(pm[direct].mean()),
                    prob_seam=float(pm[seam].mean()),
                    skel_direct=float(sm[direct].mean()),
                    skel_seam=float(sm[seam].mean()),
                )
            )
    return _curve(track, curve, inp, centre_s, path_s, *args, **kwargs)


def _truth_fraction(res, ref, mnemonic, rows):
    spec = next(c for t in res.layout.tracks for c in t.curves if c.mnemonic == mnemonic)
    depth = res.layout.depth.depth((rows + res.rows[0]).astype(float))
    return spec, spec.fraction(np.interp(depth, ref[0], ref[1][mnemonic]))


def _one(job):
    mode, base = job
    RECORDS.clear()
    _CALLS.clear()
    res = P.digitize(
        f"{base}.png",
        f"{base}.toml",
        reference=f"{base}_reference.las",
        one_class_per_track=False,  # as tools/validate_model.py scores them
        allow_empty=True,
    )
    ref = P._read_reference(f"{base}_reference.las")
    out = []
    for rec in RECORDS:
        if mode == "gaps":
            track = next(t for t in res.layout.tracks if t.name == rec["track"])
            mnemonic = track.curves[rec["i"]].mnemonic
            rows = np.arange(rec["a"], rec["b"]) + rec["r0"] - res.rows[0]
            spec, frac = _truth_fraction(res, ref, mnemonic, rows)
            local = frac * track.width
            if spec.wrap:
                local = np.mod(local, track.width)
            rec["follows"] = bool(np.mean(np.abs(local + track.left - rec["col"]) <= 2.5) >= 0.9)
        else:
            mnemonic = rec["mnemonic"]
            _, frac = _truth_fraction(res, ref, mnemonic, np.array([rec["r"] - 4, rec["r"] + 4]))
            step = np.floor(frac[1]) - np.floor(frac[0])
            rec["truth"] = "genuine" if step == rec["d"] else ("false" if step == 0 else "other")
        rec.update(case=Path(base).name, mnemonic=mnemonic)
        out.append(rec)
    return out


def _local(rec, threshold):
    """The bridge's test on a gap's ink read by local contrast instead of the ink map."""
    taken = np.array(rec["taken"], bool)
    return P.ink_spans_gap((np.array(rec["contrast"]) > threshold) & ~taken, taken)


def summarise_gaps(records):
    long = [r for r in records if r["b"] - r["a"] >= 20]
    print(
        f"{len(records)} candidate gaps, {len(long)} of at least 20 rows, "
        f"{sum(r['follows'] for r in long)} of those follow the truth's column"
    )
    tests = {"shipped (classical ink)": lambda r: r["shipped"]}
    for t in (20, 30, 40):
        tests[f"local contrast > {t}"] = lambda r, t=t: _local(r, t)
    for name, test in tests.items():
        tp = [r for r in long if test(r) and r["follows"]]
        fp = [r for r in long if test(r) and not r["follows"]]
        fn = [r for r in long if not test(r) and r["follows"]]
        print(
            f"{name:26s} bridges {len(tp):3d} that follow, {len(fp):3d} that do not; misses {len(fn):3d}"
        )


def summarise_crossings(records):
    print(f"{len(records)} crossings:", dict(collections.Counter(r["truth"] for r in records)))
    for cover in ("prob", "skel"):
        for t in (0.3, 0.5, 0.7):
            hit = [
                r["truth"]
                for r in records
                if r[f"{cover}_direct"] >= t and r[f"{cover}_direct"] > r[f"{cover}_seam"]
            ]
            c = collections.Counter(hit)
            print(
                f"reject where {cover} covers the straight route >= {t} and better: "
                f"{c['genuine']} genuine, {c['false']} false, {c['other']} other"
            )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("gaps", "crossings"))
    ap.add_argument("cases", help="folder of generated cases (veernet synth)")
    ap.add_argument("--first-seed", type=int, default=1_000_000)
    ap.add_argument("--prefix", default="val")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", help="write the records to this JSON file")
    args = ap.parse_args()
    if args.mode == "gaps":
        P.bridge_straight_gaps = _spy_bridge
    else:
        P._curve = _spy_curve
    jobs = [
        (args.mode, str(Path(args.cases) / f"{args.prefix}_{args.first_seed + k}"))
        for k in range(args.count)
    ]
    with mp.get_context("fork").Pool(args.workers) as pool:
        records = [r for out in pool.map(_one, jobs) for r in out]
    if args.out:
        Path(args.out).write_text(json.dumps(records))
    (summarise_gaps if args.mode == "gaps" else summarise_crossings)(records)


if __name__ == "__main__":
    main()
