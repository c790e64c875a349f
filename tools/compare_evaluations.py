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
from pathlib import Path

from veernet.evaluate import Evaluation, curve_r2
from veernet.gate import FitGate

STYLES = ("solid", "dashed", "dotted")


def load(path: Path) -> dict[tuple[str, str], dict]:
    return {(c["case"], c["mnemonic"]): c for c in json.loads(path.read_text())["curves"]}


def totals(curves: dict[tuple[str, str], dict]) -> str:
    """The run's totals as `veernet eval` counts them, and its reviews by reason."""
    gate = FitGate()
    cs = list(curves.values())
    s = Evaluation(curves=cs).summary()
    cov_bad = [c["coverage"] is None or c["coverage"] < gate.min_coverage for c in cs]
    r2_bad = [not curve_r2(c) >= gate.min_r2 for c in cs]
    reviews = [
        sum(a and not b for a, b in zip(cov_bad, r2_bad, strict=True)),
        sum(b and not a for a, b in zip(cov_bad, r2_bad, strict=True)),
        sum(a and b for a, b in zip(cov_bad, r2_bad, strict=True)),
    ]
    by_style = " / ".join(
        f"{100 * s['pass_rate_by_style'][k]:.1f}" if k in s["pass_rate_by_style"] else "-"
        for k in STYLES
    )
    return (
        f"{len(cs)} curves, pass {100 * s['pass_rate']:.1f} %, R² 10th pct {s['r2_p10']:.3f}, "
        f"median {s['r2_median']:.4f}, reviews coverage/R²/both {'/'.join(map(str, reviews))}, "
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
                        f"  {tag:4s} {k[0]} {k[1]} {a.get('style', '')}: R² {curve_r2(a):.3f} -> "
                        f"{curve_r2(b):.3f}, coverage {a['coverage']:.3f} -> {b['coverage']:.3f}"
                    )


if __name__ == "__main__":
    main()
