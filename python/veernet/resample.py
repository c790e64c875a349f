"""Resample: validate a traced curve with smoothing splines and put it on a regular depth grid.

Each contiguous run of traced rows gets a cubic smoothing spline (SciPy's FITPACK
``UnivariateSpline``) of the column against depth, allowed a residual of ``noise_px``
(pixel quantisation of the traced centre) per point.  Points whose residual lies
beyond a robust multiple of the median absolute deviation are dropped and the run is fitted
again.  Grid depths are exact multiples of the step.  A gap between runs is bridged (linearly,
in plot space) only when it is shorter than ``max_gap``; longer gaps stay NULL, and nothing
is extrapolated past the evidence.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.interpolate import UnivariateSpline

#: Defaults by depth unit: step and longest bridged gap.
DEFAULT_STEP = {"ft": 0.5, "m": 0.1524}
DEFAULT_MAX_GAP = {"ft": 1.0, "m": 0.3}


@dataclass
class Fitted:
    """A curve on the depth grid, in pixels from the track's left edge (NaN = no value)."""

    column: npt.NDArray[np.float64]
    residual_rms: float  # pixels, over all traced points (outliers included)
    outliers: int  # points rejected by the MAD test


def depth_grid(top: float, bottom: float, step: float) -> npt.NDArray[np.float64]:
    """Multiples of ``step`` within [top, bottom] (depth units), rounded to 1e-9 step."""
    k0 = math.ceil(top / step - 1e-9)
    k1 = math.floor(bottom / step + 1e-9)
    return np.arange(k0, k1 + 1, dtype=np.float64) * step


def _runs(valid: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _spline(
    d: npt.NDArray[np.float64], x: npt.NDArray[np.float64], noise_px: float
) -> UnivariateSpline:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITPACK's "s too small" notes: the fit stands
        return UnivariateSpline(d, x, k=3, s=len(d) * noise_px**2)


def _fit_run(
    d: npt.NDArray[np.float64], x: npt.NDArray[np.float64], mad_k: float, noise_px: float
) -> tuple[npt.NDArray[np.bool_], UnivariateSpline | None]:
    """Fit one run; return the kept-point mask and its spline (None: too short to fit).

    Outliers are judged by cross-fitted residuals: a spline through the even points
    predicts the odd ones and vice versa, so a stray point cannot pull its own fit
    towards itself, while a real feature spanning several rows is in both halves.  So
    only isolated one-row outliers are caught; a run of two or more is kept as signal.
    """
    keep = np.ones(len(d), bool)
    if len(d) < 5:
        return keep, None
    if len(d) >= 16:
        resid = np.empty(len(d))
        for fit_on, judge in (
            (slice(0, None, 2), slice(1, None, 2)),
            (slice(1, None, 2), slice(0, None, 2)),
        ):
            resid[judge] = x[judge] - _spline(d[fit_on], x[fit_on], noise_px)(d[judge])
        mad = float(np.median(np.abs(resid - np.median(resid))))
        keep = np.abs(resid) <= mad_k * max(1.4826 * mad, noise_px)
        if keep.sum() < 5:
            keep[:] = True
    return keep, _spline(d[keep], x[keep], noise_px)


def fit_curve(
    depth: npt.NDArray[np.float64],
    column: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64],
    *,
    max_gap: float,
    mad_k: float = 5.0,
    noise_px: float = 0.15,
) -> Fitted:
    """Resample traced columns (pixels, NaN = no evidence) at per-row ``depth`` onto ``grid``.

    ``depth`` must increase.  ``max_gap`` is in depth units.  Residuals beyond ``mad_k``
    robust standard deviations (1.4826 MAD, at least ``noise_px``) are outliers.
    """
    out = np.full(grid.shape, np.nan)
    valid = ~np.isnan(column)
    sq, n, outliers = 0.0, 0, 0
    ends: list[tuple[float, float, float, float]] = []  # (d0, x0, d1, x1) of each run
    for a, b in _runs(valid):
        d, x = depth[a:b], column[a:b]
        keep, spline = _fit_run(d, x, mad_k, noise_px)
        outliers += int((~keep).sum())
        inside = (grid >= d[0]) & (grid <= d[-1])
        if spline is None:
            out[inside] = np.interp(grid[inside], d, x)
            ends.append((d[0], x[0], d[-1], x[-1]))
            continue
        fit = spline(d)
        # Over every traced point, outliers included: jitter and stray jumps show here.
        sq += float(np.sum((x - fit) ** 2))
        n += len(x)
        out[inside] = spline(grid[inside])
        ends.append((d[0], float(fit[0]), d[-1], float(fit[-1])))
    for (_, _, d_end, x_end), (d_next, x_next, _, _) in itertools.pairwise(ends):
        if d_next - d_end < max_gap:
            gap = (grid > d_end) & (grid < d_next)
            out[gap] = np.interp(grid[gap], [d_end, d_next], [x_end, x_next])
    return Fitted(out, math.sqrt(sq / n) if n else float("nan"), outliers)
