import numpy as np
import pytest

from veernet.render import CurveDraw, TrackDraw, render_log


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 6])
def test_strokes_are_centred_on_their_values(width):
    """The generator's truth is the value; the stroke's centre must lie on it, for odd and
    even widths alike.  Pillow draws a line of odd width around floor(x) (and floor(y)),
    half a pixel left of the value unless shifted; averaged over a wandering curve sampled
    at irregular depths that is a bias of -0.5 px, which this test catches."""
    rng = np.random.default_rng(width)
    ppu, margin = 78.7, 60
    depth = np.sort(rng.uniform(0.0, 20.0, 160))
    value = 50.0 + np.cumsum(rng.normal(0.0, 0.6, depth.size))
    curve = CurveDraw("X", "", depth, value, 0.0, 100.0, width=float(width))
    r = render_log([TrackDraw("T1", 400, [curve])], 0.0, 20.0, px_per_unit=ppu, margin=margin)
    mask = r.masks["X"]
    left = r.layout["tracks"][0]["left"]
    rows = np.arange(margin + 40, mask.shape[0] - margin - 40)
    expected = left + np.interp((rows - margin) / ppu, depth, value) / 100.0 * 400
    flat = np.abs(np.gradient(expected)) < 1.0  # where a row cuts the stroke across
    inked = mask[rows].any(axis=1) & flat
    centre = np.array([np.flatnonzero(mask[i]).mean() for i in rows[inked]])
    bias = float(np.mean(centre - expected[inked]))
    assert abs(bias) < 0.25, bias
