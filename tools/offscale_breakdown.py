"""Split the validation verdicts by whether the true curve stays inside its track.

Run after tools/validate_model.py:

    python tools/offscale_breakdown.py [engine/validation_onnx.json] [/tmp/val/cases]
"""

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
    off_share, accepted, r2, coverage = [], [], [], []
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
        off_share.append(float(np.mean((frac < 0) | (frac > 1))))
        accepted.append(c["status"] == "accept")
        value = c["r2"]
        r2.append(-np.inf if value is None or not np.isfinite(value) else value)
        coverage.append(c["coverage"])
    off, acc, r2a, cov = (np.asarray(v) for v in (off_share, accepted, r2, coverage))
    inside = off == 0
    print(
        f"curves {len(curves)}, inside their track throughout: {inside.sum()} ({inside.mean():.1%})"
    )
    print(
        f"inside:  pass {acc[inside].mean():.3f}, median R² {np.median(r2a[inside]):.4f}, 10th percentile {np.percentile(r2a[inside], 10):.3f}, coverage {cov[inside].mean():.3f}"
    )
    print(
        f"leaving: pass {acc[~inside].mean():.3f}, median R² {np.median(r2a[~inside]):.4f}, mean share outside {off[~inside].mean():.3f}"
    )


if __name__ == "__main__":
    main()
