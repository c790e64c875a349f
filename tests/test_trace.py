import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import veernet
from reference import random_trace_case, trace_brute_force, trace_reference
from veernet import TraceParams
from veernet.testing import curve_band_mask, distance_to_curve, draw_band, random_curve
from veernet.tracing import trace_chunked_cpu


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 12))
def test_numpy_reference_agrees_with_brute_force(seed, rows, cols):
    skel, prob, params = random_trace_case(np.random.default_rng(seed), rows, cols)
    c1, p1 = trace_reference(skel, prob, params)
    c2, p2 = trace_brute_force(skel, prob, params)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(c1, c2)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 120), st.integers(1, 90))
def test_trace_paths_identical_to_reference(seed, rows, cols):
    skel, prob, params = random_trace_case(np.random.default_rng(seed), rows, cols)
    centre, path = veernet.trace(skel, prob, params, return_path=True)
    ref_centre, ref_path = trace_reference(skel, prob, params)
    np.testing.assert_array_equal(path, ref_path)
    np.testing.assert_allclose(centre, ref_centre, rtol=0, atol=1e-9, equal_nan=True)


def test_trace_paths_identical_on_rendered_bands_with_ties():
    # Bands make many equal-cost alternatives: the tie rules must agree too.
    rng = np.random.default_rng()
    mask, _ = curve_band_mask(400, 120, rng, curves=2)
    skel = veernet.thin(mask)
    for prob in (None, mask.astype(np.float32)):
        _, path = veernet.trace(skel, prob, return_path=True)
        np.testing.assert_array_equal(path, trace_reference(skel, prob)[1])


@settings(max_examples=120, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 300),
    st.integers(1, 60),
    st.integers(1, 40),
    st.integers(0, 60),
)
def test_gpu_schedule_on_the_cpu_gives_the_same_path(seed, rows, cols, chunk, warmup):
    # The GPU tracer's speculative chunked pass, run by its CPU twin: whatever the
    # schedule, and however many chunks fail their check, the path is the sequential one.
    skel, prob, params = random_trace_case(np.random.default_rng(seed), rows, cols)
    centre, path = veernet.trace(skel, prob, params, return_path=True)
    c_chunked, p_chunked, counts = trace_chunked_cpu(skel, prob, params, chunk=chunk, warmup=warmup)
    np.testing.assert_array_equal(p_chunked, path)
    np.testing.assert_array_equal(c_chunked, centre)
    assert counts["chunks"] == max(1, -(-(rows - 1) // chunk))
    assert 0 <= counts["reruns"] < counts["chunks"]


def test_gpu_schedule_reruns_only_what_it_must():
    rng = np.random.default_rng(7)
    chunk, warmup = 128, 128  # the GPU's default schedule
    # One band: every chunk's warm-up merges the survivors, so no chunk runs twice.
    mask, _ = curve_band_mask(20_000, 300, rng, curves=1, swings=40)
    skel, prob = veernet.thin(mask), mask.astype(np.float32)
    _, path, counts = trace_chunked_cpu(skel, prob, chunk=chunk, warmup=warmup)
    np.testing.assert_array_equal(path, veernet.trace(skel, prob, return_path=True)[1])
    assert counts == {"chunks": 157, "reruns": 0}
    # Two bands keep two survivors apart: without a warm-up nearly every guess fails its
    # check, and the reruns still give the sequential path.
    mask, _ = curve_band_mask(3_000, 200, rng, curves=2)
    skel, prob = veernet.thin(mask), mask.astype(np.float32)
    _, path, counts = trace_chunked_cpu(skel, prob, chunk=64, warmup=0)
    np.testing.assert_array_equal(path, veernet.trace(skel, prob, return_path=True)[1])
    assert counts["reruns"] > counts["chunks"] // 2
    with pytest.raises(ValueError, match="chunk"):
        trace_chunked_cpu(skel, prob, chunk=0, warmup=0)


def _mae(centre, truth):
    """Mean distance from the traced points to the true curve, and the share traced."""
    ok = ~np.isnan(centre)
    return float(np.mean(distance_to_curve(centre, truth)[ok])), float(ok.mean())


@pytest.mark.parametrize("width", [3, 4, 5, 6, 7, 8, 9])
def test_clean_band_recovered_within_half_a_pixel(width):
    rng = np.random.default_rng()
    rows, cols = 2000, 300
    truth = random_curve(rows, cols, rng, swings=4)
    mask = np.zeros((rows, cols), bool)
    draw_band(mask, truth, width)
    centre = veernet.trace(veernet.thin(mask), mask.astype(np.float32))
    mae, coverage = _mae(centre, truth)
    assert mae <= 0.5, (width, mae)
    assert coverage >= 0.98


def test_steep_kick_across_the_track_is_followed():
    rows, cols = 600, 400
    r = np.arange(rows, dtype=float)
    truth = 60 + 280 * np.exp(-0.5 * ((r - 300) / 3) ** 2)  # 280 px out and back in ~15 rows
    mask = np.zeros((rows, cols), bool)
    draw_band(mask, truth, 4)
    centre = veernet.trace(veernet.thin(mask), mask.astype(np.float32))
    kick = slice(294, 307)
    assert np.nanmax(centre[kick]) > 300
    assert np.isnan(centre).mean() < 0.01
    mae, _ = _mae(centre, truth)
    assert mae <= 0.5


def test_dashes_leave_nan_gaps_and_are_never_interpolated():
    rng = np.random.default_rng()
    rows, cols = 1200, 200
    truth = random_curve(rows, cols, rng, swings=1)
    mask = np.zeros((rows, cols), bool)
    draw_band(mask, truth, 5)
    dash = (np.arange(rows) // 20) % 2 == 0  # 20 rows ink, 20 rows gap
    mask[~dash] = False
    centre = veernet.trace(veernet.thin(mask), mask.astype(np.float32))
    assert np.isnan(centre[~dash][5:-5]).all()
    mae, coverage = _mae(centre, truth)
    assert mae <= 0.6
    assert coverage > 0.4


def test_second_curve_speckle_and_grid_do_not_capture_the_path():
    rng = np.random.default_rng()
    rows, cols = 1500, 300
    r = np.arange(rows, dtype=float)
    truth = 100 + 40 * np.sin(r / 90)
    other = 200 + 30 * np.sin(r / 50 + 1)  # a second curve of the same class
    mask = np.zeros((rows, cols), bool)
    draw_band(mask, truth, 5)
    second = np.zeros_like(mask)
    draw_band(second, other, 5)
    mask[500:] |= second[500:]  # the second curve enters part-way down
    mask |= rng.random((rows, cols)) < 0.003  # speckle
    for row in range(0, rows, 50):  # grid residue: bits of horizontal lines, some touching
        for left in rng.integers(0, cols - 30, 4):
            mask[row, left : left + rng.integers(5, 30)] = True
    skel = veernet.thin(mask)
    prob = np.where(mask, 0.9, 0.05).astype(np.float32)
    centre = veernet.trace(skel, prob)
    on_truth = np.abs(centre - truth) <= 2
    assert np.mean(on_truth[~np.isnan(centre)]) > 0.97


def test_crossing_band_does_not_derail_the_path():
    rows, cols = 1200, 300
    r = np.arange(rows, dtype=float)
    truth = 150 + 20 * np.sin(r / 200)
    crossing = 30 + 240 * r / rows  # a steeper band crossing it once
    mask = np.zeros((rows, cols), bool)
    draw_band(mask, truth, 5)
    draw_band(mask, crossing, 5)
    centre = veernet.trace(veernet.thin(mask), mask.astype(np.float32))
    far = np.abs(truth - crossing) > 15
    err = np.abs(centre - truth)[far]
    assert np.nanmean(err) <= 0.5
    assert np.mean(err <= 2) > 0.97


def test_noise_tolerated():
    rng = np.random.default_rng()
    rows, cols = 1500, 250
    truth = random_curve(rows, cols, rng, swings=2)
    mask = np.zeros((rows, cols), bool)
    draw_band(mask, truth, 6)
    noisy = mask ^ (rng.random(mask.shape) < 0.01)
    centre = veernet.trace(veernet.thin(noisy), noisy.astype(np.float32))
    err = np.abs(centre - truth)
    assert np.nanmedian(err) <= 0.7
    assert np.mean(err <= 2) > 0.9


def test_empty_and_degenerate_tracks():
    assert np.isnan(veernet.trace(np.zeros((50, 20), bool))).all()
    assert veernet.trace(np.zeros((0, 20), bool)).shape == (0,)
    assert np.isnan(veernet.trace(np.zeros((5, 0), bool))).all()
    one = np.zeros((5, 1), bool)
    one[2] = True
    c = veernet.trace(one)
    assert c[2] == 0 and np.isnan(c[[0, 1, 3, 4]]).all()


def test_trace_many_is_trace_of_each_pair():
    rng = np.random.default_rng(11)
    jobs, expected = [], []
    for rows, cols, with_prob in ((300, 40, True), (120, 90, False), (40, 5, True)):
        mask, _ = curve_band_mask(rows, cols, rng, curves=2)
        skel = veernet.thin(mask)
        prob = rng.random((rows, cols), dtype=np.float32) if with_prob else None
        jobs.append((skel, prob))
        expected.append(veernet.trace(skel, prob, return_path=True))
    got = veernet.trace_many(jobs)
    assert len(got) == 3
    for (c, p), (c_ref, p_ref) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(p, p_ref)
        np.testing.assert_array_equal(c, c_ref)
    assert veernet.trace_many([]) == []


def test_trace_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        veernet.trace(np.zeros(5, bool))
    with pytest.raises(ValueError, match="shape"):
        veernet.trace(np.zeros((5, 5), bool), np.zeros((5, 4), np.float32))
    with pytest.raises(ValueError, match="floating"):
        veernet.trace(np.zeros((5, 5), bool), np.zeros((5, 5), np.int32))
    with pytest.raises(ValueError, match="jump_cost"):
        TraceParams(jump_cost=-1)
