"""The ink extension: where the model's mask of a curve has a hole, the ink that continues
the curve still counts as evidence."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from veernet.layout import Track
from veernet.pipeline import (
    STRAIGHT_BLANK_ROWS,
    _TraceInput,
    bridge_straight_gaps,
    digitize,
    extend_along_ink,
)
from veernet.segment import (
    ClassicalSegmenter,
    _close_1d,
    _starts,
    curve_ink,
    get_segmenter,
    segment_region,
)


def test_line_closing_is_binary_closing():
    rng = np.random.default_rng(7)
    for _ in range(300):
        m = rng.random(tuple(rng.integers(1, 70, 2))) < rng.uniform(0.02, 0.9)
        size = int(rng.integers(1, 12)) * 2 + 1
        for axis, shape in ((0, (size, 1)), (1, (1, size))):
            expected = ndimage.binary_closing(m, np.ones(shape, bool))
            np.testing.assert_array_equal(_close_1d(m, size, axis), expected)


@pytest.mark.parametrize("seed", [3, 11])
def test_curve_ink_is_the_classical_rule_on_blocks_of_rows(seed):
    """The ink map straight from the grey levels is the classical segmenter's prediction on
    blocks of whole track width (the last block ending at the region's end), from uint8."""
    from veernet.layout import load_layout
    from veernet.synth import generate

    case = generate(seed)
    lay = load_layout(case.layout)
    seg = ClassicalSegmenter()
    r0, r1 = int(lay.depth.top_row), int(lay.depth.bottom_row)
    for t in lay.tracks:
        c0, c1 = int(t.left), int(t.right) + 1
        region = case.image[r0:r1, c0:c1]
        expected = np.zeros(region.shape, bool)
        for r in _starts(len(region), seg.tile_rows, 0):
            tile = region[r : r + seg.tile_rows].astype(np.float32)[None, None] / 255.0
            expected[r : r + seg.tile_rows] = seg.predict(tile)[0, 1] > 0.5
        ink = curve_ink(case.image, (r0, r1), (c0, c1))
        assert ink.any()
        np.testing.assert_array_equal(ink, expected)
    # A region shorter than a block is padded with paper, as the tiling does.
    short = curve_ink(case.image, (r0, r0 + 100), (c0, c1))
    tiled = segment_region(case.image, (r0, r0 + 100), (c0, c1), seg, keep=[1])
    np.testing.assert_array_equal(short, tiled[0] > 0.5)


def _column_line(shape, col, rows):
    m = np.zeros(shape, bool)
    m[rows, col] = True
    return m


def test_extension_follows_connected_ink_and_nothing_else():
    shape = (60, 40)
    ink = np.zeros(shape, bool)
    ink[:, 10] = True  # the curve, inked all the way
    ink[20:30, 30] = True  # a stray stroke far from it
    mask = _column_line(shape, 10, slice(0, 20)) | _column_line(shape, 10, slice(45, 60))
    out = extend_along_ink(mask, ink, 3)
    np.testing.assert_array_equal(out, ink & ~_column_line(shape, 30, slice(20, 30)))
    # Only ink pixels are added: nothing between the pieces that the linking spans.
    assert not (out & ~(mask | ink)).any()
    # No mask, nothing to extend; no ink, the mask as it is.
    assert not extend_along_ink(np.zeros(shape, bool), ink, 3).any()
    np.testing.assert_array_equal(extend_along_ink(mask, np.zeros(shape, bool), 3), mask)


@pytest.mark.parametrize("link, spacing, joined", [(3, 6, True), (3, 7, False), (0, 1, False)])
def test_dots_link_up_to_twice_the_link_distance(link, spacing, joined):
    """Dots with ``spacing`` blank rows between them join the mask's curve when the blank
    is at most 2 * link pixels across."""
    shape = (80, 20)
    ink = np.zeros(shape, bool)
    rows = np.arange(0, 80, spacing + 1)
    ink[rows, 5] = True
    mask = np.zeros(shape, bool)
    mask[rows[0], 5] = True
    out = extend_along_ink(mask, ink, link)
    assert out[rows[-1], 5] == joined
    assert out[rows[0], 5]


def test_a_model_miss_is_bridged_by_the_curves_ink(render_case):
    """The learned model with one band of tiles knocked out (it sees nothing there): the
    ink of the curve carries the trace across, and without the extension the band is NULL."""
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 150.0, "linear", "solid")], 700.0, 730.0
    )
    model = get_segmenter("onnx")

    class MissesOneBand:
        """The real model, but its curve classes read zero on the ``knocked`` tiles (their
        indices in the order the tiling predicts them)."""

        name, classes, separates_styles, digest = "miss", model.classes, True, model.digest

        def __init__(self, knocked):
            self.knocked, self.seen = knocked, 0

        def tile_shape(self, width):
            return model.tile_shape(width)

        def predict(self, tiles):
            out = model.predict(tiles)
            for k in range(len(tiles)):
                if self.seen + k in self.knocked:
                    out[k, 1:] = 0.0
                    out[k, 0] = 1.0
            self.seen += len(tiles)
            return out

    def run(**kw):
        from veernet.layout import load_layout

        lay = load_layout(case.layout)
        t = lay.tracks[0]
        r0 = max(0, int(np.floor(lay.depth.top_row)))
        r1 = int(np.ceil(lay.depth.bottom_row)) + 1
        c0, c1 = int(np.floor(t.left)), int(np.ceil(t.right)) + 1
        tile = model.tile
        row_starts = _starts(r1 - r0, tile, 32)
        col_starts = _starts(c1 - c0, tile, 32)
        band = len(row_starts) // 2  # a band of tiles in the middle of the log
        seg = MissesOneBand({band * len(col_starts) + k for k in range(len(col_starts))})
        hole = (r0 + row_starts[band] + 32, r0 + row_starts[band] + tile - 32)
        return digitize(case.scan, case.layout, segmenter=seg, reference=case.reference, **kw), (
            lay.depth.depth(np.array(hole, float))
        )

    bare, (d0, d1) = run(ink_link=None)
    (b,) = bare.curves
    in_hole = (b.depth > d0) & (b.depth < d1)
    assert in_hole.sum() > 5
    assert np.isnan(b.value[in_hole]).all(), "the knocked-out band should leave a NULL hole"
    extended, _ = run()
    (c,) = extended.curves
    assert not np.isnan(c.value[in_hole]).any()
    assert c.qc.r2 >= 0.98 and c.qc.coverage >= 0.97 and c.qc.status == "accept", c.qc
    # Outside the hole the extension changes nothing the model had found.
    both = ~in_hole & ~np.isnan(b.value)
    np.testing.assert_allclose(c.value[both], b.value[both], rtol=0, atol=0.5)


def _flat_case(inked_rows, end_columns=(25.0, 25.0), at=30):
    """A 200-row track (image columns 5 to 55) whose trace has a gap in rows 50 to 150,
    and a scan inked in column ``at`` over ``inked_rows`` of the gap."""
    img = np.full((200, 60), 255, np.uint8)
    img[50 + np.asarray(inked_rows, int), at] = 0
    centre = np.full(200, 25.0)  # region column 25: image column 30
    centre[50:150] = np.nan
    centre[49], centre[150] = end_columns
    path = np.where(np.isnan(centre), 3, np.rint(centre)).astype(np.int32)
    return img, centre, path, Track("T1", 5.0, 55.0, ())


def _bridge(img, centre, path, track, others=(), n=51, a=0):
    bridge_straight_gaps(
        centre, path, _TraceInput(None, None, a, n), track, img, (0, 5), list(others)
    )
    return centre, path


def test_a_vertical_stroke_spanning_a_gap_is_followed():
    """A curve holding one value is a vertical line, which the model and the grid removal
    take for a grid line: where the trace's ends meet it, the stroke is the curve."""
    centre, path = _bridge(*_flat_case(range(100)))
    np.testing.assert_array_equal(centre, np.full(200, 25.0))
    np.testing.assert_array_equal(path, np.full(200, 25))
    # Ends a pixel apart: the straight line between them.
    centre, _ = _bridge(*_flat_case(range(100), (24.5, 25.5)))
    np.testing.assert_allclose(centre[49:151], np.linspace(24.5, 25.5, 102))


@pytest.mark.parametrize(
    "inked, end_columns, filled",
    [
        ([r for r in range(100) if r % 18 < 8], (25.0, 25.0), True),  # dashes: blanks of 10
        ([r for r in range(100) if r % 12 < 3], (25.0, 25.0), False),  # a quarter inked
        ([r for r in range(100) if r % 22 < 8], (25.0, 25.0), False),  # blanks of 14
        (range(100), (25.0, 27.0), False),  # the ends are two columns apart
        ([], (25.0, 25.0), False),  # no ink: a hole stays NULL
    ],
)
def test_only_a_stroke_that_spans_the_gap_bridges_it(inked, end_columns, filled):
    assert STRAIGHT_BLANK_ROWS == 12
    centre, path = _bridge(*_flat_case(inked, end_columns))
    assert np.isnan(centre[50:150]).any() != filled
    np.testing.assert_array_equal(path[50:150] == 3, not filled)


def test_another_curve_s_ink_and_the_border_never_bridge():
    img, centre, path, track = _flat_case(range(100))
    # Another curve traced along the column over the gap: the ink is its own.
    other = np.full(200, np.nan)
    other[40:160] = 30.4
    assert np.isnan(_bridge(img, centre.copy(), path.copy(), track, [other])[0][50:150]).all()
    # ... but crossing it for a few rows it neither shows nor breaks the stroke.
    other[:] = np.nan
    other[90:100] = 31.0
    blank = np.ones(100, bool)
    blank[40:50] = False
    img2 = img.copy()
    img2[50:150, 30] = np.where(blank, 0, 255)  # no ink where the other curve runs
    assert not np.isnan(_bridge(img2, centre.copy(), path.copy(), track, [other])[0]).any()
    # Along the track's border line, a curve pinned at its edge is off scale, not traced.
    img, centre, path, track = _flat_case(range(100), (1.0, 1.0), at=6)
    assert np.isnan(_bridge(img, centre, path, track)[0][50:150]).all()


def test_a_backup_scale_copy_bridges_in_its_own_columns():
    """A curve with a backup scale is traced over copies of its track side by side: the
    stroke is looked for in the scan's column, whichever copy the trace is in."""
    img, centre, path, track = _flat_case(range(100))
    centre += 51  # the second copy
    out, _ = _bridge(img, centre, path, track)
    np.testing.assert_array_equal(out, np.full(200, 76.0))


def test_a_curve_holding_one_value_is_read_where_the_model_sees_a_grid_line(tmp_path):
    """A curve at one value for 18 m is a vertical line, like a grid line: the model marks
    none of it and the ink map drops it with the grid, so without the bridge the stretch is
    NULL; with it, the stretch reads the value drawn."""
    from conftest import write_layout

    from veernet.las import write_las
    from veernet.render import CurveDraw, TrackDraw, render_log

    d = np.arange(0, 40.0001, 0.05)
    v = 60 + 25 * np.sin(d / 1.7) + 10 * np.sin(d * 1.3)
    flat = (d > 12) & (d < 30)
    v[flat] = v[d <= 12][-1]
    curve = CurveDraw("GR", "gAPI", d, v, 0.0, 150.0, width=2.0)
    r = render_log([TrackDraw("T1", 400, [curve])], 0.0, 40.0, unit="m")
    Image.fromarray(r.image).save(tmp_path / "f.png")
    write_layout(r.layout, tmp_path / "f.toml")
    write_las(tmp_path / "ref.las", d, "m", [("GR", "gAPI", "GR", v)], {}, [])

    def read(**kw):
        (c,) = digitize(
            tmp_path / "f.png", tmp_path / "f.toml", reference=tmp_path / "ref.las", **kw
        ).curves
        return c, c.value[(c.depth > 13) & (c.depth < 29)]

    _, bare = read(ink_link=None)
    assert np.isnan(bare).all(), "the model alone should miss the stretch"
    c, bridged = read()
    np.testing.assert_allclose(bridged, v[flat][0], atol=0.5)
    assert c.qc.coverage >= 0.99 and c.qc.r2 >= 0.99 and c.qc.status == "accept", c.qc


LINK_99 = ("--out", "x.las", "--ink-link", "99")


def test_cli_takes_the_ink_link_or_off():
    import subprocess
    import sys

    from veernet.cli import _ink_link

    assert _ink_link("off") is None and _ink_link("5") == 5
    out = subprocess.run(
        [sys.executable, "-m", "veernet.cli", "digitize", "x.png", "--layout", "x.toml", *LINK_99],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "expected 0 to 64 pixels or 'off', got 99" in out.stderr
