"""Evaluate: score digitizing on scans with ground truth.

A case is a layout ``NAME.toml`` with its scan ``NAME.png`` (or ``.tif``, ``.tiff``,
``.jpg``), the true curves ``NAME_reference.las`` and, optionally, the true class masks
``NAME_mask_<style>.png`` (full scan size, non-zero = that class).  ``veernet synth`` writes
cases in this form.

Two kinds of number are reported side by side: the instrument readings of the mask
(precision, recall, IoU, F1 per class, from pixels) and the verdict on what ships (R², MAE
and coverage per curve, through the full digitize pipeline).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .gate import CurveQC, FitGate, own_coverage, verdict
from .pipeline import INK_LINK_PX, digitize
from .scan import SCAN_SUFFIXES


@dataclass
class MaskCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, pred: np.ndarray, truth: np.ndarray) -> None:
        self.tp += int(np.count_nonzero(pred & truth))
        self.fp += int(np.count_nonzero(pred & ~truth))
        self.fn += int(np.count_nonzero(~pred & truth))

    def scores(self) -> dict[str, float]:
        tp, fp, fn = self.tp, self.fp, self.fn
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        iou = tp / (tp + fp + fn) if tp + fp + fn else float("nan")
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        return {"precision": precision, "recall": recall, "iou": iou, "f1": f1}


def curve_r2(c: dict[str, Any]) -> float:
    """R² of one evaluated curve as the totals count it: a curve without any value scores
    -inf, so it counts against the percentiles and the pass rate rather than dropping out."""
    r = c["r2"]
    return -math.inf if r is None or not math.isfinite(r) else float(r)


@dataclass
class Evaluation:
    cases: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    curves: list[dict[str, Any]] = field(default_factory=list)
    masks: dict[str, MaskCounts] = field(default_factory=lambda: defaultdict(MaskCounts))

    def summary(self) -> dict[str, Any]:
        """Totals.  A curve without any value scores R² = -inf (:func:`curve_r2`)."""

        r2 = np.array([curve_r2(c) for c in self.curves], dtype=float)
        by_style: dict[str, list[float]] = defaultdict(list)
        for c in self.curves:
            by_style[c["style"]].append(curve_r2(c))
        maes = [c["mae"] for c in self.curves if c["mae"] is not None and math.isfinite(c["mae"])]
        return {
            "cases": self.cases,
            "failed_cases": len(self.failures),
            "curves": len(self.curves),
            "r2_median": _finite(float(np.median(r2))) if r2.size else None,
            "r2_p10": _finite(float(np.percentile(r2, 10))) if r2.size else None,
            "mae_mean": float(np.mean(maes)) if maes else None,
            "coverage_mean": float(np.mean([c["coverage"] for c in self.curves]))
            if self.curves
            else None,
            "pass_rate": float(np.mean([c["status"] == "accept" for c in self.curves]))
            if self.curves
            else None,
            "r2_median_by_style": {
                k: _finite(float(np.median(v))) for k, v in sorted(by_style.items())
            },
            "pass_rate_by_style": {
                k: float(np.mean([c["status"] == "accept" for c in self.curves if c["style"] == k]))
                for k in sorted(by_style)
            },
            "crossing": _groups(
                ("crossing", [c for c in self.curves if c.get("crossing")]),
                ("not_crossing", [c for c in self.curves if not c.get("crossing")]),
            ),
            "backup_scale": _groups(
                ("with", [c for c in self.curves if c.get("backup_scale")]),
                ("without", [c for c in self.curves if not c.get("backup_scale")]),
            ),
            "mask": {k: v.scores() for k, v in sorted(self.masks.items())},
            "blind_gate": _blind_gate(self.curves),
        }


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _groups(*groups: tuple[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Curve count, median R² and pass rate of each named group of curve records."""

    def scores(sel: list[dict[str, Any]]) -> dict[str, Any]:
        if not sel:
            return {"curves": 0, "r2_median": None, "pass_rate": None}
        return {
            "curves": len(sel),
            "r2_median": _finite(float(np.median([curve_r2(c) for c in sel]))),
            "pass_rate": float(np.mean([c["status"] == "accept" for c in sel])),
        }

    return {label: scores(sel) for label, sel in groups}


def _blind_gate(curves: list[dict[str, Any]]) -> dict[str, float | None]:
    """How the verdict without a reference agrees with the one against it: the share it
    accepts, the share of those the reference accepts too (precision), the share of the
    curves the reference accepts that it accepts (recall), and the share of the curves the
    reference sends to review that it accepts anyway (trusted wrongly)."""
    if not curves:
        return {"accepted": None, "precision": None, "recall": None, "wrongly_accepted": None}
    blind = np.array([c["blind_status"] == "accept" for c in curves])
    ref = np.array([c["status"] == "accept" for c in curves])

    def share(num: np.ndarray, den: np.ndarray) -> float | None:
        return float(np.count_nonzero(num & den) / np.count_nonzero(den)) if den.any() else None

    return {
        "accepted": float(blind.mean()),
        "precision": share(ref, blind),
        "recall": share(blind, ref),
        "wrongly_accepted": share(blind, ~ref),
    }


def find_cases(folder: str | Path) -> list[tuple[Path, Path, Path]]:
    """(scan, layout, reference) of every complete case in ``folder``."""
    cases = []
    for layout in sorted(Path(folder).glob("*.toml")):
        scan = next(
            (layout.with_suffix(s) for s in SCAN_SUFFIXES if layout.with_suffix(s).exists()), None
        )
        reference = layout.with_name(layout.stem + "_reference.las")
        if scan is not None and reference.exists():
            cases.append((scan, layout, reference))
    return cases


class _CachedSegmenter:
    """Remembers predictions by tile content, so a threshold sweep segments each log once."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.name, self.classes, self.digest = inner.name, inner.classes, inner.digest
        self.separates_styles = inner.separates_styles
        self.cache: dict[bytes, np.ndarray] = {}

    def tile_shape(self, width: int) -> tuple[int, int]:
        h, w = self.inner.tile_shape(width)
        return (h, w)

    def predict(self, tiles: np.ndarray) -> np.ndarray:
        import hashlib

        key = hashlib.sha1(tiles.tobytes()).digest()
        if key not in self.cache:
            self.cache[key] = self.inner.predict(tiles)
        return self.cache[key]


def _crossing_curves(result: Any, reference: Path) -> set[str]:
    """Mnemonics of curves whose true path crosses another curve of the same track.

    Two curves cross where the sign of the difference of their drawn positions (fraction of
    track width: clipped to the track, or wrapped back into it) changes.
    """
    from .pipeline import _read_reference

    depth, truth = _read_reference(reference)
    grid = result.depth
    frac: dict[str, np.ndarray] = {}
    for c in result.curves:
        if c.mnemonic.upper() in truth:
            v = np.interp(grid, depth, truth[c.mnemonic.upper()])
            frac[c.mnemonic] = c.spec.drawn_fraction(v)
    out: set[str] = set()
    by_track: dict[str, list[str]] = defaultdict(list)
    for c in result.curves:
        if c.mnemonic in frac:
            by_track[c.track].append(c.mnemonic)
    for names in by_track.values():
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                diff = frac[a] - frac[b]
                ok = np.isfinite(diff) & (diff != 0)
                if np.any(np.diff(np.sign(diff[ok])) != 0):
                    out.update((a, b))
    return out


def _evaluate_case(
    args: tuple[Path, Path, Path, Any, FitGate | None, float | None, int | None],
) -> dict[str, Any]:
    from PIL import Image

    scan, layout, reference, segmenter, gate, threshold, ink_link = args
    try:
        # The baseline cannot separate curves; it is scored on every curve anyway.
        result = digitize(
            scan,
            layout,
            segmenter=segmenter,
            reference=reference,
            gate=gate,
            keep_masks=True,
            one_class_per_track=False,
            allow_empty=True,
            threshold=threshold,
            ink_link=ink_link,
        )
    except (ValueError, OSError, RuntimeError) as exc:
        return {"failure": {"case": scan.name, "error": str(exc)}}
    curves: list[dict[str, Any]] = []
    counts: dict[str, MaskCounts] = {}
    truths: dict[str, np.ndarray] = {}
    crossing = _crossing_curves(result, reference)
    for c in result.curves:
        style = c.spec.style
        if style not in truths:
            path = scan.with_name(f"{scan.stem}_mask_{style}.png")
            if path.exists():
                truths[style] = np.asarray(Image.open(path)) > 0
        if style in truths and c.mask is not None:
            r0, r1 = result.rows
            truth = truths[style][r0:r1, c.mask_col0 : c.mask_col0 + c.mask.shape[1]]
            counts.setdefault(style, MaskCounts()).add(c.mask, truth)
        q = c.qc
        blind = blind_verdict(c, gate or FitGate())
        curves.append(
            {
                "case": scan.name,
                "mnemonic": c.mnemonic,
                "track": c.track,
                "style": style,
                "r2": q.r2,
                "mae": q.mae,
                "coverage": q.coverage,
                "off_scale": q.off_scale,
                "status": q.status,
                "reason": q.reason,
                "crossing": c.mnemonic in crossing,
                "backup_scale": c.spec.wrap,  # "", "right", "left" or "both"
                "blind_coverage": blind.coverage,
                "blind_status": blind.status,
                "residual_rms_px": q.residual_rms_px,
                "longest_gap": q.longest_gap,
                "mean_prob": q.mean_prob,
            }
        )
    return {"curves": curves, "counts": counts}


def blind_verdict(c: Any, gate: FitGate) -> CurveQC:
    """The verdict ``c`` (a :class:`~veernet.pipeline.CurveResult`) gets without a
    reference, as in production: its own coverage (off-scale depths left out) and the
    spline residual."""
    n_off = int(round(c.qc.off_scale * len(c.value)))  # off_scale is the share of the depths
    qc = replace(c.qc, coverage=own_coverage(c.value, n_off), r2=None, mae=None)
    return verdict(qc, gate)


def _collect(ev: Evaluation, outcomes: list[dict[str, Any]]) -> None:
    """Add per-case outcomes (curves and mask counts, or a failure) to ``ev``."""
    for out in outcomes:
        if "failure" in out:
            ev.failures.append(out["failure"])
            continue
        ev.curves.extend(out["curves"])
        for style, m in out["counts"].items():
            acc = ev.masks[style]
            acc.tp, acc.fp, acc.fn = acc.tp + m.tp, acc.fp + m.fp, acc.fn + m.fn


def evaluate(
    folder: str | Path,
    *,
    segmenter: str = "auto",
    gate: FitGate | None = None,
    workers: int = 1,
    threshold: float | None = None,
    ink_link: int | None = INK_LINK_PX,
) -> Evaluation:
    """Digitize every case in ``folder`` and collect both kinds of number.

    ``workers`` > 1 spreads the cases over processes (set VEERNET_ORT_THREADS=1 then).
    """
    ev = Evaluation()
    jobs = [
        (s, lay, ref, segmenter, gate, threshold, ink_link) for s, lay, ref in find_cases(folder)
    ]
    ev.cases = len(jobs)
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            outcomes = pool.map(_evaluate_case, jobs, chunksize=1)
    else:
        outcomes = [_evaluate_case(j) for j in jobs]
    _collect(ev, outcomes)
    return ev


def _sweep_case(
    args: tuple[Path, Path, Path, str, FitGate | None, list[float]],
) -> list[dict[str, Any]]:
    from .segment import get_segmenter

    scan, layout, reference, segmenter, gate, thresholds = args
    seg = _CachedSegmenter(get_segmenter(segmenter))
    return [
        _evaluate_case((scan, layout, reference, seg, gate, th, INK_LINK_PX)) for th in thresholds
    ]


def sweep_threshold(
    folder: str | Path,
    thresholds: list[float],
    *,
    segmenter: str = "auto",
    gate: FitGate | None = None,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """The recall lever, measured: mask recall, IoU, F1 and recovered-curve R² per threshold.

    Each log is segmented once; thinning, tracing, resampling and scoring run per
    threshold.  Returns one row per threshold (summary of :class:`Evaluation`).
    """
    jobs = [(s, lay, ref, segmenter, gate, thresholds) for s, lay, ref in find_cases(folder)]
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            per_case = pool.map(_sweep_case, jobs, chunksize=1)
    else:
        per_case = [_sweep_case(j) for j in jobs]
    rows = []
    for i, th in enumerate(thresholds):
        ev = Evaluation(cases=len(jobs))
        _collect(ev, [outcomes[i] for outcomes in per_case])
        total = MaskCounts(
            sum(m.tp for m in ev.masks.values()),
            sum(m.fp for m in ev.masks.values()),
            sum(m.fn for m in ev.masks.values()),
        )
        rows.append({"threshold": th, "mask_all": total.scores(), **ev.summary()})
    return rows


def plot_sweep(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Recall, IoU, F1 (instrument) and median recovered R² (verdict) against threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    th = [r["threshold"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for key, label in (("recall", "mask recall"), ("iou", "mask IoU"), ("f1", "mask F1")):
        ax.plot(th, [r["mask_all"][key] for r in rows], marker="o", label=label)
    ax.plot(
        th,
        [r["r2_median"] if r["r2_median"] is not None else np.nan for r in rows],
        marker="s",
        color="black",
        label="median recovered R²",
    )
    ax.plot(
        th, [r["pass_rate"] for r in rows], marker="^", color="grey", label="fit-gate pass rate"
    )
    ax.set_xlabel("probability threshold of the curve mask")
    if min(th) > 0 and max(th) / min(th) >= 20:
        ax.set_xscale("log")  # thresholds spread over decades
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("The recall lever: mask readings against the recovered curve")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
