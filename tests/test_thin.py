import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from skimage.morphology import skeletonize

import veernet
from veernet import _core
from veernet.testing import track_mosaic
from veernet.thinning import thin_tiled_cpu


def test_word_parallel_rule_matches_the_table_on_every_neighbourhood():
    lut = _core.thin_lut()
    assert (_core.thin_rule_table(0) == np.isin(lut, [1, 3])).all()
    assert (_core.thin_rule_table(1) == np.isin(lut, [2, 3])).all()


@st.composite
def masks(draw):
    rows = draw(st.integers(1, 150))
    cols = draw(st.integers(1, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    density = draw(st.floats(0.0, 1.0))
    m = rng.random((rows, cols)) < density
    if draw(st.booleans()):  # blobs and bands rather than salt
        m = ndimage.binary_dilation(m, iterations=int(rng.integers(1, 4)))
    return m


@settings(max_examples=300, deadline=None)
@given(masks(), st.integers(1, 4))
def test_thin_matches_skimage_on_random_masks(mask, threads):
    np.testing.assert_array_equal(veernet.thin(mask, threads=threads), skeletonize(mask))


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 70), (70, 1), (1, 200), (200, 1), (3, 3), (64, 64), (65, 129)]
)
@pytest.mark.parametrize("fill", ["empty", "full", "single", "border", "random"])
def test_thin_edge_cases(shape, fill):
    rng = np.random.default_rng()
    m = np.zeros(shape, bool)
    if fill == "full":
        m[:] = True
    elif fill == "single":
        m[rng.integers(shape[0]), rng.integers(shape[1])] = True
    elif fill == "border":
        m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = True
    elif fill == "random":
        m = rng.random(shape) < 0.5
    np.testing.assert_array_equal(veernet.thin(m), skeletonize(m))


def test_thin_diagonals_and_blocks():
    m = np.zeros((300, 300), bool)
    for k in range(-250, 250, 40):
        m |= np.eye(300, k=k, dtype=bool)  # one-pixel diagonals
    m[100:180, 30:260] = True  # a filled block over them
    m[250:290, ::7] = True
    np.testing.assert_array_equal(veernet.thin(m), skeletonize(m))
    np.testing.assert_array_equal(veernet.thin(m[:, ::-1]), skeletonize(m[:, ::-1]))


def test_thin_curve_bands_across_thread_bands():
    # Large enough (4096 x 2048) that up to 4 threads each get a band of rows.
    rng = np.random.default_rng()
    mask = track_mosaic(4096, 2048, rng, track_width=512)
    mask |= rng.random(mask.shape) < 0.02  # speckle on the band boundaries too
    expected = skeletonize(mask)
    for threads in (1, 2, 3, 4):
        np.testing.assert_array_equal(veernet.thin(mask, threads=threads), expected)


def test_thin_accepts_uint8_views_and_non_contiguous_input():
    rng = np.random.default_rng()
    big = (rng.random((90, 300)) < 0.4).astype(np.uint8) * rng.integers(1, 255, (90, 300)).astype(
        np.uint8
    )
    view = big[5:80, 17:250]  # rows not contiguous
    np.testing.assert_array_equal(veernet.thin(view), skeletonize(view.astype(bool)))
    strided = big[:, ::3]  # columns not adjacent
    np.testing.assert_array_equal(veernet.thin(strided), skeletonize(strided.astype(bool)))
    np.testing.assert_array_equal(veernet.thin(big.T), skeletonize(big.T.astype(bool)))


def test_thin_output_is_bool_and_input_untouched():
    m = np.ones((10, 10), bool)
    out = veernet.thin(m)
    assert out.dtype == np.bool_ and out.shape == m.shape
    assert m.all()


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((3, 3, 3), bool), "2-D"),
        (np.zeros(5, bool), "2-D"),
        (np.zeros((4, 4), np.float32), "bool or uint8"),
        (np.zeros((4, 4), np.int64), "bool or uint8"),
    ],
)
def test_thin_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        veernet.thin(bad)


def test_thin_rejects_bad_thread_count():
    with pytest.raises(ValueError, match="threads"):
        veernet.thin(np.zeros((4, 4), bool), threads=0)


# The GPU kernel's tiled schedule, run on the CPU (veernet.thinning.thin_tiled_cpu): the
# same skeleton for any schedule, down to tiles of one word and rounds of one iteration,
# where changes must cross many tiles and rounds.
@st.composite
def schedules(draw):
    steps = 2 * draw(st.integers(1, 5))
    return (draw(st.integers(steps, 40)), draw(st.integers(1, 4)), steps)


@settings(max_examples=200, deadline=None)
@given(masks(), schedules())
def test_tiled_schedule_matches_skimage_on_random_masks(mask, schedule):
    skeleton, counts = thin_tiled_cpu(mask, schedule=schedule)
    np.testing.assert_array_equal(skeleton, skeletonize(mask))
    assert counts["foreground_tiles"] <= counts["tiles"]
    assert counts["tile_runs"] <= counts["rounds"] * counts["foreground_tiles"]


def test_tiled_schedule_on_a_page_needs_two_rounds_and_few_tiles_in_the_second():
    # Bands 3-9 px wide with kicks and crossings need 9-11 iterations: the default
    # round of eight does most of them, and the second round runs only the tiles near
    # the last changes.  Tiles without foreground never run.
    rng = np.random.default_rng(7)
    mask = track_mosaic(2048, 2048, rng, track_width=512)
    skeleton, counts = thin_tiled_cpu(mask)
    np.testing.assert_array_equal(skeleton, veernet.thin(mask))
    assert counts["rounds"] == 2
    assert counts["foreground_tiles"] < counts["tiles"]
    assert counts["foreground_tiles"] < counts["tile_runs"] < 1.5 * counts["foreground_tiles"]
    # One iteration per round: the same skeleton, a round for each iteration and then
    # one that changes nothing, and tiles far from the last changes stop running.
    skeleton2, counts2 = thin_tiled_cpu(mask, schedule=(64, 8, 2))
    np.testing.assert_array_equal(skeleton2, skeleton)
    assert counts2["rounds"] >= 9
    assert counts2["tile_runs"] < 0.8 * counts2["rounds"] * counts2["foreground_tiles"]


def test_tiled_schedule_blobs_need_many_rounds():
    m = np.zeros((200, 300), bool)
    m[20:180, 30:280] = True  # 160 px thick: about 80 iterations
    skeleton, counts = thin_tiled_cpu(m)
    np.testing.assert_array_equal(skeleton, skeletonize(m))
    assert counts["rounds"] >= 80 // 8


@pytest.mark.parametrize(
    "schedule, message",
    [
        ((64, 8, 3), "even"),
        ((64, 8, 0), "even"),
        ((8, 8, 16), "must not exceed"),
        ((64, 8, 34), "must not exceed"),
        ((0, 8, 2), "at least 1"),
        ((64, 63, 2), "48 KiB"),
        ((2000, 8, 2), "48 KiB"),
    ],
)
def test_tiled_schedule_rejects_what_the_kernel_cannot_run(schedule, message):
    with pytest.raises(ValueError, match=message):
        thin_tiled_cpu(np.ones((10, 10), bool), schedule=schedule)
