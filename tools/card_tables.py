"""The model card's validation tables, from evaluation JSONs (tools/validate_model.py).

Prints, as Markdown, the verdict (per-curve R², MAE, coverage and the fit gate's pass rate,
overall, by style, for crossing curves and for curves with a backup scale), the instrument
(per-class mask precision, recall, IoU, F1) and the gate without a reference, one column
per JSON, so the card's numbers are read from the committed files rather than copied by
hand:

    python tools/card_tables.py engine/validation_onnx.json engine/validation_classical.json \
        --names learned classical
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

STYLES = ("solid", "dashed", "dotted")


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def tables(summaries: list[dict[str, Any]], names: list[str]) -> str:
    """The card's tables for ``summaries`` (each a JSON's "summary"), one column each."""

    def row(label: str, get: Callable[[dict[str, Any]], Any], fmt: str) -> list[str]:
        """``fmt`` of each summary's value; a percentage (fmt ending in %) from a share; a
        value the run could not give (None: no curves in a group) as "n/a"."""
        values = [get(s) for s in summaries]
        scale = 100 if fmt.endswith("%") else 1
        return [label] + ["n/a" if v is None else fmt.format(scale * v) for v in values]

    verdict = [
        row("curves", lambda s: s["curves"], "{:d}"),
        row("median R²", lambda s: s["r2_median"], "{:.4f}"),
        row("10th percentile R²", lambda s: s["r2_p10"], "{:.3f}"),
        row("mean MAE (fraction of track width)", lambda s: s["mae_mean"], "{:.4f}"),
        row("mean coverage", lambda s: s["coverage_mean"], "{:.3f}"),
        row("fit-gate pass rate", lambda s: s["pass_rate"], "{:.1f} %"),
    ]
    for style in STYLES:
        verdict.append(
            row(f"{style}: median R²", lambda s, k=style: s["r2_median_by_style"][k], "{:.4f}")
        )
        verdict.append(
            row(
                f"{style}: pass rate",
                lambda s, k=style: s["pass_rate_by_style"][k],
                "{:.1f} %",
            )
        )
    groups = [
        ("crossing", "crossing", "crossing another curve"),
        ("crossing", "not_crossing", "crossing none"),
        ("backup_scale", "with", "with a backup scale"),
        ("backup_scale", "without", "without a backup scale"),
    ]
    for group, key, label in groups:
        if not all(group in s for s in summaries):  # runs made before the group was kept
            continue
        verdict.append(row(f"{label}: curves", lambda s, g=group, k=key: s[g][k]["curves"], "{:d}"))
        verdict.append(
            row(f"{label}: median R²", lambda s, g=group, k=key: s[g][k]["r2_median"], "{:.4f}")
        )
        verdict.append(
            row(
                f"{label}: pass rate",
                lambda s, g=group, k=key: s[g][k]["pass_rate"],
                "{:.1f} %",
            )
        )
    instrument = [
        [style, name] + [f"{s['mask'][style][m]:.3f}" for m in ("precision", "recall", "iou", "f1")]
        for style in STYLES
        for s, name in zip(summaries, names, strict=True)
    ]
    blind = [
        row("accepted", lambda s: s["blind_gate"]["accepted"], "{:.1f} %"),
        row(
            "accepted and right (precision)",
            lambda s: s["blind_gate"]["precision"],
            "{:.1f} %",
        ),
        row(
            "failing curves accepted",
            lambda s: s["blind_gate"]["wrongly_accepted"],
            "{:.1f} %",
        ),
    ]
    head = ["", *names]
    return "\n\n".join(
        [
            "The verdict (recovered curves, with the reference):\n\n" + _table(head, verdict),
            "The instrument (mask, per class):\n\n"
            + _table(["class", "model", "precision", "recall", "IoU", "F1"], instrument),
            "The fit gate without a reference (as in production):\n\n" + _table(head, blind),
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="evaluation JSONs (tools/validate_model.py --out)")
    ap.add_argument("--names", nargs="+", help="column names (default: the file names)")
    args = ap.parse_args()
    names = args.names or args.runs
    if len(names) != len(args.runs):
        ap.error(f"{len(args.runs)} runs but {len(names)} names")
    summaries = []
    for path in args.runs:
        with open(path, encoding="utf-8") as f:
            summaries.append(json.load(f)["summary"])
    print(tables(summaries, names))


if __name__ == "__main__":
    main()
