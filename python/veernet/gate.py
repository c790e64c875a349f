"""Gate: how far to trust each recovered curve.

Without a reference: coverage, gaps, spline residual and mean probability along the trace.
With a reference LAS: R² and MAE in plot space (fraction of track width; log10 for log
scales) on evenly spaced depths, which decide the verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from .layout import CurveSpec
from .resample import runs


@dataclass(frozen=True)
class FitGate:
    """Acceptance rule.  Coverage is the share of the interval with values."""

    min_r2: float = 0.85
    min_coverage: float = 0.9
    max_residual_px: float = 2.0
    reference_points: int = 300


@dataclass
class CurveQC:
    #: Share of the interval with values, off-scale depths left out (with a reference:
    #: share of the depths where the reference is on the paper).
    coverage: float
    gaps: int
    longest_gap: float  # depth units
    residual_rms_px: float
    outliers: int
    mean_prob: float
    #: Share of the interval where the curve runs off its scale (pinned at a track edge
    #: without a backup scale): NULL in the LAS, and not counted against coverage.
    off_scale: float = 0.0
    r2: float | None = None
    mae: float | None = None  # fraction of track width
    status: str = "review"
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def gaps(grid: npt.NDArray[np.float64], missing: npt.NDArray[np.bool_]) -> tuple[int, float]:
    """(number of runs of ``missing`` grid depths, longest such run in depth units)."""
    spans = runs(missing)
    if not spans:
        return 0, 0.0
    step = float(grid[1] - grid[0]) if len(grid) > 1 else 0.0
    return len(spans), float(max(b - a for a, b in spans) * step)


def own_coverage(values: npt.NDArray[np.float64], n_off: int) -> float:
    """Coverage of a curve without a reference: the share of its ``n_off``-free depths with
    a value.  Off-scale depths are NULL in ``values`` and are left out, not counted as lost."""
    on_scale = len(values) - n_off
    missing = int(np.count_nonzero(np.isnan(values))) - n_off
    return 1.0 - missing / on_scale if on_scale else 0.0


def score(
    grid: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    ref_depth: npt.NDArray[np.float64],
    ref_values: npt.NDArray[np.float64],
    curve: CurveSpec,
    points: int,
    edge: float = 0.0,
) -> tuple[float, float, float]:
    """(R², MAE, coverage) of ``values`` against a reference in plot space, on ``points``
    depths.

    The depths are evenly spaced over the overlap of both depth ranges; depths where either
    side is NULL are left out.  Both sides are clipped to what the paper can record: the
    track, or with a backup scale one more track width on each side.  Coverage is the share
    of the depths where the reference is on the paper (more than ``edge``, a fraction of
    the track width, inside that range) at which ``values`` has a value.
    """
    nan3 = (float("nan"), float("nan"), float("nan"))
    ok_ref = ~np.isnan(ref_values)
    if ok_ref.sum() < 2 or len(grid) < 2:
        return nan3
    top = max(grid[0], ref_depth[ok_ref][0])
    bottom = min(grid[-1], ref_depth[ok_ref][-1])
    if bottom <= top:
        return nan3
    d = np.linspace(top, bottom, points)
    ours = np.interp(d, grid, values, left=np.nan, right=np.nan)
    # Nearest-sample NULLs: interp across a NaN gives NaN on both neighbours' spans.
    ref = np.interp(d, ref_depth[ok_ref], ref_values[ok_ref])
    ref_nan = np.interp(d, ref_depth, np.isnan(ref_values).astype(float)) > 0
    lo, hi = curve.plot_range
    a = np.clip(curve.fraction(ours), lo, hi)
    b_raw = curve.fraction(ref)
    b = np.clip(b_raw, lo, hi)
    on_paper = (b_raw > lo + edge) & (b_raw < hi - edge) & ~ref_nan
    coverage = float(np.mean(~np.isnan(a[on_paper]))) if on_paper.any() else 1.0
    both = ~np.isnan(a) & ~np.isnan(b) & ~ref_nan
    if both.sum() < 3:
        return float("nan"), float("nan"), coverage
    a, b = a[both], b[both]
    ss_tot = float(np.sum((b - b.mean()) ** 2))
    ss_res = float(np.sum((a - b) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else float("-inf"))
    return r2, float(np.mean(np.abs(a - b))), coverage


def verdict(qc: CurveQC, rule: FitGate) -> CurveQC:
    reasons = []
    if qc.coverage < rule.min_coverage:
        reasons.append(f"coverage {qc.coverage:.2f} < {rule.min_coverage:.2f}")
    if qc.r2 is not None:
        if not (qc.r2 >= rule.min_r2):
            reasons.append(f"R² {qc.r2:.3f} < {rule.min_r2:.2f} against the reference")
    elif not (qc.residual_rms_px <= rule.max_residual_px):
        reasons.append(
            f"spline residual {qc.residual_rms_px:.2f} px > {rule.max_residual_px:.2f} px"
        )
    qc.status = "review" if reasons else "accept"
    qc.reason = (
        "; ".join(reasons)
        if reasons
        else (
            "meets the reference rule"
            if qc.r2 is not None
            else "coverage and residual within limits"
        )
    )
    return qc
