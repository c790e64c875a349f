import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import make_smoothing_spline

from veernet.resample import DEFAULT_STEP, default_step, depth_grid, fit_curve, smoothing_spline


def test_grid_is_multiples_of_the_step():
    g = depth_grid(700.05, 710.0, 0.1524)
    k = g / 0.1524
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    assert g[0] >= 700.05 and g[-1] <= 710.0 and g[0] - 0.1524 < 700.05
    g = depth_grid(1000.2, 1003.0, 0.5)
    assert g.tolist() == [1000.5, 1001.0, 1001.5, 1002.0, 1002.5, 1003.0]


def _smooth_curve(depth):
    return 100 + 30 * np.sin(depth / 3.0)


@pytest.mark.parametrize(
    ("unit", "depth_per_row", "step"),
    [
        ("ft", 0.1, 0.2),  # 10 px/ft: two rows are 0.2 ft
        ("ft", 0.04, 0.05),  # 25 px/ft: 0.08 ft rounds down to 0.05
        ("ft", 0.05 * (1 - 1e-12), 0.1),  # 20 px/ft, as a scale's rounding leaves it
        ("ft", 0.3, 0.5),  # coarser than the standard: the standard
        ("ft", 2.0, 0.5),
        ("m", 0.03, 0.05),
        ("m", 0.07, 0.1),
        ("m", 0.1, 0.1524),
        ("m", 0.0, 0.1524),  # no resolution known: the standard
    ],
)
def test_default_step_follows_the_scans_resolution(unit, depth_per_row, step):
    got = default_step(unit, depth_per_row)
    assert got == pytest.approx(step)
    assert got <= DEFAULT_STEP[unit]


def test_gaps_bridged_only_below_max_gap_and_no_extrapolation():
    depth = np.linspace(1000.0, 1100.0, 4001)  # 40 rows per foot
    col = _smooth_curve(depth)
    col[(depth > 1020.0) & (depth < 1020.6)] = np.nan  # short gap: bridged
    col[(depth > 1050.0) & (depth < 1055.0)] = np.nan  # long gap: NULL
    col[depth > 1090.0] = np.nan  # nothing after 1090: never extrapolate
    grid = depth_grid(1000.0, 1100.0, 0.5)
    fit = fit_curve(depth, col, grid, max_gap=1.0)
    out = fit.column
    assert not np.isnan(out[(grid > 1020.0) & (grid < 1020.6)]).any()
    assert np.isnan(out[(grid > 1050.2) & (grid < 1054.8)]).all()
    assert np.isnan(out[grid > 1090.0]).all()
    ok = ~np.isnan(out)
    err = np.abs(out[ok] - _smooth_curve(grid[ok]))
    assert (
        err.mean() < 0.2 and err.max() < 1.5
    )  # pixels; the spline may spend its budget at run ends


def test_outliers_rejected_and_counted():
    rng = np.random.default_rng()
    depth = np.linspace(0.0, 50.0, 2001)
    col = _smooth_curve(depth) + rng.normal(0, 0.3, depth.size)
    # Isolated one-row spikes (a stray skeleton pixel).  Runs of two or more rows are
    # indistinguishable from a thin bed by cross-fitting and are kept as signal.
    spikes = 10 + 97 * np.arange(20) + rng.integers(0, 50, 20)
    col[spikes] += rng.choice([-1, 1], 20) * rng.uniform(20, 60, 20)
    grid = depth_grid(0.0, 50.0, 0.1524)
    fit = fit_curve(depth, col, grid, max_gap=0.3)
    assert fit.outliers >= 18
    ok = ~np.isnan(fit.column)
    assert np.abs(fit.column[ok] - _smooth_curve(grid[ok])).max() < 1.5  # noise is 0.3 px


@pytest.mark.parametrize("n", [0, 1, 3])
def test_short_runs(n):
    depth = np.linspace(0.0, 10.0, 100)
    col = np.full(100, np.nan)
    col[50 : 50 + n] = 42.0
    fit = fit_curve(depth, col, depth_grid(0.0, 10.0, 0.5), max_gap=0.3)
    assert np.isnan(fit.column).sum() >= 20 - (1 if n else 0)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(5, 400),
    st.sampled_from([0.01, 0.25, 1.0, 30.0]),
    st.integers(0, 2**32 - 1),
)
def test_smoothing_spline_is_scipys(n, lam, seed):
    # The reference: SciPy's make_smoothing_spline, same objective, slow solver.  Rows
    # with gaps (outliers dropped), steps and kicks, evaluated inside and past the ends.
    rng = np.random.default_rng(seed)
    x = np.flatnonzero(rng.random(3 * n) < 0.8)[:n].astype(np.float64)
    if len(x) < 5:
        x = np.arange(n, dtype=np.float64)
    y = np.cumsum(rng.normal(0, 3, len(x))) + 40 * (rng.random(len(x)) < 0.05)
    q = np.linspace(x[0] - 2, x[-1] + 2, 4 * len(x))
    np.testing.assert_allclose(
        smoothing_spline(x, y, lam)(q), make_smoothing_spline(x, y, lam=lam)(q), rtol=0, atol=1e-8
    )
