"""Resample: validate a traced curve with smoothing splines and put it on a regular depth grid.

Each contiguous run of traced rows gets a cubic smoothing spline (the curve SciPy's
``make_smoothing_spline`` fits, solved in banded form: see :func:`smoothing_spline`) of the
column against the row, with a fixed penalty in row units so
that the smoothing reaches over about one or two rows on every log, whatever its scale.  Points
whose cross-fitted residual lies beyond a robust multiple of the median absolute deviation are
dropped before the fit.  Grid depths are exact multiples of the step.  A gap between runs is bridged (linearly,
in plot space) only when it is shorter than ``max_gap``; longer gaps stay NULL, and nothing
is extrapolated past the evidence.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicSpline
from scipy.linalg import solveh_banded

#: Defaults by depth unit: step and longest bridged gap.
DEFAULT_STEP = {"ft": 0.5, "m": 0.1524}
DEFAULT_MAX_GAP = {"ft": 1.0, "m": 0.3}
#: Pixel rows per depth step at most, where a scan resolves finer than the standard step.
ROWS_PER_STEP = 2.0


@dataclass
class Fitted:
    """A curve on the depth grid, in pixels from the track's left edge (NaN = no value)."""

    column: npt.NDArray[np.float64]
    residual_rms: float  # pixels, over all traced points (outliers included)
    outliers: int  # points rejected by the MAD test


def default_step(unit: str, depth_per_row: float) -> float:
    """The depth step of a curve read off a scan when the caller names none.

    The standard step (0.5 ft, 0.1524 m), or finer where the scan resolves finer detail:
    the depth of ``ROWS_PER_STEP`` pixel rows rounded down to 1, 2 or 5 times a power of
    ten, so that the LAS keeps what the paper shows (a 0.5-ft step on a 10-px/ft scan
    drops detail the trace holds).
    """
    standard = DEFAULT_STEP[unit]
    span = ROWS_PER_STEP * abs(depth_per_row)
    if not (math.isfinite(span) and span > 0) or span >= standard:
        return standard
    power = 10.0 ** math.floor(math.log10(span) + 1e-9)  # 0.1 - 1 ulp is still 0.1
    mantissa = max(m for m in (1.0, 2.0, 5.0) if m * power <= span * (1 + 1e-9))
    return round(mantissa * power, 12)


def depth_grid(top: float, bottom: float, step: float) -> npt.NDArray[np.float64]:
    """Multiples of ``step`` within [top, bottom] (depth units), rounded to 1e-9 step."""
    k0 = math.ceil(top / step - 1e-9)
    k1 = math.floor(bottom / step + 1e-9)
    return np.arange(k0, k1 + 1, dtype=np.float64) * step


def runs(valid: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in ``valid``, stop exclusive."""
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def smoothing_spline(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], lam: float
) -> CubicSpline:
    """The cubic smoothing spline of ``scipy.interpolate.make_smoothing_spline(x, y,
    lam=lam)``: the f minimising sum((y - f(x))**2) + lam * integral(f''**2).

    ``x`` strictly increasing, at least 3 points.  Solved as Reinsch did (Green and
    Silverman, *Nonparametric Regression and Generalized Linear Models*, 1994, §2.3):
    the second derivatives gamma at the inner points solve the pentadiagonal system
    (R + lam Q'Q) gamma = Q'y, the fitted values are y - lam Q gamma, and the natural
    cubic spline through them is the smoothing spline.  SciPy's own solver builds its
    penalty with a Python loop over the points, which made the resampling stage cost
    more than thinning and tracing together; this one is vectorised and gives the same
    spline to ~1e-12 px (tested against it), about 30 times faster.
    """
    h = np.diff(x)
    # Column m of Q (n x n-2) holds a[m], b[m], c[m] in rows m, m+1, m+2.
    a, c = 1.0 / h[:-1], 1.0 / h[1:]
    b = -a - c
    bands = np.zeros((3, len(x) - 2))  # upper form of the symmetric band (solveh_banded)
    bands[2] = (h[:-1] + h[1:]) / 3 + lam * (a * a + b * b + c * c)
    bands[1, 1:] = h[1:-1] / 6 + lam * (b[:-1] * a[1:] + c[:-1] * b[1:])
    bands[0, 2:] = lam * c[:-2] * a[2:]
    gamma = solveh_banded(bands, a * y[:-2] + b * y[1:-1] + c * y[2:])
    q_gamma = np.zeros(len(x))
    q_gamma[:-2] += a * gamma
    q_gamma[1:-1] += b * gamma
    q_gamma[2:] += c * gamma
    return CubicSpline(x, y - lam * q_gamma, bc_type="natural")


def _fit_run(
    rows: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    mad_k: float,
    noise_px: float,
    smoothing: float,
) -> tuple[npt.NDArray[np.bool_], CubicSpline | None]:
    """Fit one run (``rows``: row coordinates, unit-spaced); return the kept-point mask
    and its spline (None: too short to fit).

    Outliers are judged by cross-fitted residuals: a spline through the even points
    predicts the odd ones and vice versa, so a stray point cannot pull its own fit
    towards itself, while a real feature spanning several rows is in both halves.  So
    only isolated one-row outliers are caught; a run of two or more is kept as signal.
    """
    keep = np.ones(len(rows), bool)
    if len(rows) < 5:
        return keep, None
    if len(rows) >= 16:
        parity = np.arange(len(rows)) % 2
        # Two rounds: a stray point also spoils the other half's prediction of its
        # neighbours; fitting again without the first round's outliers clears them.
        for _ in range(2):
            resid = np.empty(len(rows))
            for half in (0, 1):
                fit_on = (parity == half) & keep
                judge = parity != half
                if fit_on.sum() < 5:
                    fit_on = parity == half
                resid[judge] = x[judge] - smoothing_spline(rows[fit_on], x[fit_on], smoothing)(
                    rows[judge]
                )
            spread = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
            keep = np.abs(resid) <= mad_k * max(spread, noise_px)
        if keep.sum() < 5:
            keep[:] = True
    return keep, smoothing_spline(rows[keep], x[keep], smoothing)


def fit_curve(
    depth: npt.NDArray[np.float64],
    column: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64],
    *,
    max_gap: float,
    mad_k: float = 10.0,
    noise_px: float = 0.25,
    smoothing: float = 0.25,
) -> Fitted:
    """Resample traced columns (pixels, NaN = no evidence) at per-row ``depth`` onto ``grid``.

    ``depth`` must increase (one entry per image row).  ``max_gap`` is in depth units.
    Residuals beyond ``mad_k`` robust standard deviations (1.4826 MAD, at least
    ``noise_px`` pixels) are outliers.  ``smoothing`` is the spline's penalty in row units
    (its reach is about smoothing**0.25 rows).
    """
    out = np.full(grid.shape, np.nan)
    valid = ~np.isnan(column)
    sq, n, outliers = 0.0, 0, 0
    ends: list[tuple[float, float, float, float]] = []  # (d0, x0, d1, x1) of each run
    for a, b in runs(valid):
        d, x = depth[a:b], column[a:b]
        rows = np.arange(b - a, dtype=np.float64)
        keep, spline = _fit_run(rows, x, mad_k, noise_px, smoothing)
        outliers += int((~keep).sum())
        inside = (grid >= d[0]) & (grid <= d[-1])
        if spline is None:
            out[inside] = np.interp(grid[inside], d, x)
            ends.append((d[0], x[0], d[-1], x[-1]))
            continue
        fit = spline(rows)
        # Over every traced point, outliers included: jitter and stray jumps show here.
        sq += float(np.sum((x - fit) ** 2))
        n += len(x)
        out[inside] = spline(np.interp(grid[inside], d, rows))
        ends.append((d[0], float(fit[0]), d[-1], float(fit[-1])))
    for (_, _, d_end, x_end), (d_next, x_next, _, _) in itertools.pairwise(ends):
        if d_next - d_end < max_gap:
            gap = (grid > d_end) & (grid < d_next)
            out[gap] = np.interp(grid[gap], [d_end, d_next], [x_end, x_next])
    return Fitted(out, math.sqrt(sq / n) if n else float("nan"), outliers)
