"""The ink extension: where the model's mask of a curve has a hole, the ink that continues
the curve still counts as evidence."""

import numpy as np
import pytest
from scipy import ndimage

from veernet.pipeline import digitize, extend_along_ink
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
