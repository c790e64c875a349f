"""Split the validation verdicts by where the true curve goes: inside its track throughout,
off its scale and clipped at the edge, or off its scale onto a backup scale (``wrap``).

Run after tools/validate_model.py:

    python tools/offscale_breakdown.py [engine/validation_onnx.json] [/tmp/val/cases]
"""

import collections
import json
import sys
from pathlib import Path

import lasio
import numpy as np

from veernet.layout import load_layout


def main() -> None:
    table = Path(sys.argv[1] if len(sys.argv) > 1 else "engine/validation_onnx.json")
    cases = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/val/cases")
    curves = json.loads(table.read_text())["curves"]
    cache: dict[str, tuple] = {}
    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for c in curves:
        case = c["case"].removesuffix(".png")
        if case not in cache:
            cache[case] = (
                load_layout(cases / f"{case}.toml"),
                lasio.read(str(cases / f"{case}_reference.las")),
            )
        layout, las = cache[case]
        spec = next(s for _, s in layout.curves if s.mnemonic == c["mnemonic"])
        frac = spec.fraction(np.asarray(las[c["mnemonic"]], dtype=float))
        off = float(np.mean((frac < 0) | (frac > 1)))
        kind = "inside" if off == 0 else "backup scale" if spec.wrap else "clipped"
        groups[kind].append({**c, "off": off})
        groups["all"].append({**c, "off": off})
    print(
        "| curves | count | share off scale (mean) | median R² | 10th pct R² | pass rate | mean coverage | reviews for coverage only / R² only / both |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("all", "inside", "clipped", "backup scale"):
        sel = groups[kind]
        if not sel:
            continue
        r2 = np.array(
            [c["r2"] if c["r2"] is not None and np.isfinite(c["r2"]) else -np.inf for c in sel]
        )
        acc = np.mean([c["status"] == "accept" for c in sel])
        why = collections.Counter(
            (
                "both"
                if "coverage" in c["reason"] and "R²" in c["reason"]
                else "coverage"
                if "coverage" in c["reason"]
                else "R²"
            )
            for c in sel
            if c["status"] != "accept"
        )
        print(
            f"| {kind} | {len(sel)} | {np.mean([c['off'] for c in sel]):.3f} | {np.median(r2):.4f} | {np.percentile(r2, 10):.3f} | {acc:.1%} | {np.mean([c['coverage'] for c in sel]):.3f} | {why['coverage']} / {why['R²']} / {why['both']} |"
        )


if __name__ == "__main__":
    main()
