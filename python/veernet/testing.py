"""Synthetic curve masks with known centrelines, for tests and benchmarks.

Public like ``numpy.testing``: integrators use it to check veernet on their machines.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt


def random_curve(
    rows: int, cols: int, rng: np.random.Generator, *, swings: int = 3
) -> npt.NDArray[np.float64]:
    """A well-log-like centreline x(row), in pixels, inside ``[0, cols)``.

    A smooth random walk (layered response) with ``swings`` sharp kicks that cross much
    of the width within a few rows, like gamma-ray spikes.
    """
    margin = 8.0
    steps = rng.normal(0.0, 1.0, rows)
    walk = np.cumsum(steps)
    kernel = np.hanning(31)
    walk = np.convolve(walk - walk.mean(), kernel / kernel.sum(), mode="same")
    span = max(np.ptp(walk), 1e-9)
    x = 0.3 * cols + 0.4 * cols * (walk - walk.min()) / span
    for _ in range(swings):
        centre = rng.integers(0, rows)
        half = int(rng.integers(3, 12))  # the kick spans 2 * half rows
        height = rng.uniform(0.25, 0.45) * cols * rng.choice([-1.0, 1.0])
        r = np.arange(rows)
        x += height * np.clip(1.0 - np.abs(r - centre) / half, 0.0, None)
    return np.clip(x, margin, cols - 1 - margin)


def draw_band(mask: npt.NDArray[np.bool_], x: npt.NDArray[np.float64], width: float) -> None:
    """Paint a stroke of ``width`` pixels centred on x(row) into ``mask`` (in place).

    Each row covers the curve's horizontal span between the half-rows above and below,
    widened by the stroke's horizontal half-width, so steep parts stay connected and
    each row's run is centred on x(row).
    """
    rows, cols = mask.shape
    r = np.arange(rows, dtype=np.float64)
    xm = np.interp(r - 0.5, r, x)
    xp = np.interp(r + 0.5, r, x)
    step = np.abs(np.diff(x, prepend=x[:1], append=x[-1:]))
    slope = np.maximum(step[:-1], step[1:])
    half = 0.5 * width * np.sqrt(1.0 + slope**2)
    lo = np.ceil(np.minimum(np.minimum(xm, xp), x) - half + 1e-9).astype(int).clip(0, cols)
    hi = np.floor(np.maximum(np.maximum(xm, xp), x) + half - 1e-9).astype(int).clip(-1, cols - 1)
    for row in range(rows):
        if hi[row] >= lo[row]:
            mask[row, lo[row] : hi[row] + 1] = True


def curve_band_mask(
    rows: int,
    cols: int,
    rng: np.random.Generator,
    *,
    curves: int = 1,
    widths: tuple[float, float] = (3.0, 9.0),
    swings: int = 3,
) -> tuple[npt.NDArray[np.bool_], list[npt.NDArray[np.float64]]]:
    """A mask of ``curves`` bands (widths drawn from ``widths``) and their centrelines."""
    mask = np.zeros((rows, cols), dtype=bool)
    truths = []
    for _ in range(curves):
        x = random_curve(rows, cols, rng, swings=swings)
        draw_band(mask, x, float(rng.uniform(*widths)))
        truths.append(x)
    return mask, truths


def track_mosaic(
    rows: int, cols: int, rng: np.random.Generator, *, track_width: int = 1600
) -> npt.NDArray[np.bool_]:
    """A full-page mask: tracks about ``track_width`` px wide side by side (at least one),
    two curves each, about 1.5-2 % foreground."""
    mask = np.zeros((rows, cols), dtype=bool)
    n = max(1, cols // track_width)
    edges = np.linspace(0, cols, n + 1).astype(int)
    for left, right in itertools.pairwise(edges):
        sub, _ = curve_band_mask(
            rows, int(right - left), rng, curves=2, swings=max(1, rows // 2000)
        )
        mask[:, left:right] |= sub
    return mask


def distance_to_curve(
    centre: npt.NDArray[np.float64], truth: npt.NDArray[np.float64], *, window: int = 30
) -> npt.NDArray[np.float64]:
    """Distance (pixels) from each traced point (row, centre[row]) to the true curve.

    The curve is the polyline through (row, truth[row]); segments within ``window``
    rows are searched.  Unlike the horizontal error, this stays meaningful where the
    curve runs nearly sideways and a row crosses it over tens of pixels.  NaN where
    ``centre`` is NaN.
    """
    rows = len(truth)
    out = np.full(rows, np.nan)
    for r in (int(i) for i in np.flatnonzero(~np.isnan(centre))):
        lo, hi = max(0, r - window), min(rows - 1, r + window)
        y0 = np.arange(lo, hi, dtype=np.float64)
        x0, x1 = truth[lo:hi], truth[lo + 1 : hi + 1]
        dy, dx = 1.0, x1 - x0
        t = np.clip(((r - y0) * dy + (centre[r] - x0) * dx) / (dy * dy + dx * dx), 0.0, 1.0)
        d = np.hypot(r - (y0 + t * dy), centre[r] - (x0 + t * dx))
        out[r] = d.min() if len(d) else abs(centre[r] - truth[r])
    return out
