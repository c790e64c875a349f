"""Compare evaluation runs curve by curve (the JSON files tools/validate_model.py writes).

    python tools/compare_evaluations.py BEFORE.json AFTER.json [MORE.json ...] [--list]

One line of totals per run (pass rate, 10th percentile and median R², reviews for coverage
alone / R² alone / both, pass rate by style), then for each later run against the first the
curves whose verdict changed; with --list, each of them with its R² and coverage.  A change
is kept only when it gains on the tuning logs without paying for it in the tail, and is then
checked on the validation logs (engine/MODEL_CARD.md).
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np

from veernet.gate import FitGate

STYLES = ("solid", "dashed", "dotted")


def load(path: Path) -> dict[tuple[str, str], dict]:
    return {(c["case"], c["mnemonic"]): c for c in json.loads(path.read_text())["curves"]}


def r2_of(c: dict) -> float:
    """R² as the summary counts it: a curve without any value scores -inf."""
    r = c["r2"]
    return -math.inf if r is None or (isinstance(r, float) and math.isnan(r)) else float(r)


def totals(curves: dict[tuple[str, str], dict]) -> str:
    gate = FitGate()
    cs = list(curves.values())
    r2 = np.array([r2_of(c) for c in cs])
    ok = np.array([c["status"] == "accept" for c in cs])
    cov = np.array([c["coverage"] if c["coverage"] is not None else 0.0 for c in cs])
    cov_bad, r2_bad = cov < gate.min_coverage, ~(r2 >= gate.min_r2)
    style = np.array([c.get("style", "") for c in cs])
    by_style = " / ".join(
        f"{100 * ok[style == s].mean():.1f}" if (style == s).any() else "-" for s in STYLES
    )
    return (
        f"{len(cs)} curves, pass {100 * ok.mean():.1f} %, R² 10th pct {np.percentile(r2, 10):.3f}, "
        f"median {np.median(r2):.4f}, reviews coverage/R²/both "
        f"{int((cov_bad & ~r2_bad).sum())}/{int((r2_bad & ~cov_bad).sum())}/{int((cov_bad & r2_bad).sum())}, "
        f"pass {'/'.join(STYLES)} {by_style} %"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--list", action="store_true", help="list each curve whose verdict changed")
    args = ap.parse_args()
    runs = [load(p) for p in args.runs]
    for path, run in zip(args.runs, runs, strict=True):
        print(f"{path}: {totals(run)}")
    first = runs[0]
    for path, run in zip(args.runs[1:], runs[1:], strict=True):
        both = sorted(first.keys() & run.keys())
        if len(both) != len(first) or len(both) != len(run):
            print(f"{path}: {len(both)} curves in common with {args.runs[0]}")
        up = [k for k in both if first[k]["status"] != "accept" and run[k]["status"] == "accept"]
        down = [k for k in both if first[k]["status"] == "accept" and run[k]["status"] != "accept"]
        print(
            f"{path} against {args.runs[0]}: {len(up)} curves pass that failed, {len(down)} fail that passed"
        )
        if args.list:
            for tag, keys in (("up", up), ("down", down)):
                for k in keys:
                    a, b = first[k], run[k]
                    print(
                        f"  {tag:4s} {k[0]} {k[1]} {a.get('style', '')}: R² {r2_of(a):.3f} -> "
                        f"{r2_of(b):.3f}, coverage {a['coverage']:.3f} -> {b['coverage']:.3f}"
                    )


if __name__ == "__main__":
    main()
