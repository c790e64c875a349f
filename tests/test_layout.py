import copy

import numpy as np
import pytest

from veernet.layout import CurveSpec, LayoutError, load_layout

GOOD = {
    "well": {"WELL": "Test #1", "COMP": "Acme"},
    "depth": {"unit": "m", "points": [[60.0, 700.0], [3603.3, 790.0]]},
    "tracks": [
        {
            "name": "T1",
            "left": 170.0,
            "right": 670.0,
            "curves": [
                {
                    "mnemonic": "GR",
                    "unit": "gAPI",
                    "scale": "linear",
                    "left_value": 0.0,
                    "right_value": 150.0,
                    "style": "solid",
                },
                {
                    "mnemonic": "SP",
                    "unit": "mV",
                    "left_value": -80,
                    "right_value": 20,
                    "style": "dashed",
                },
            ],
        },
        {
            "name": "T2",
            "left": 700.0,
            "right": 1200.0,
            "curves": [
                {
                    "mnemonic": "ILD",
                    "unit": "ohm.m",
                    "scale": "log",
                    "left_value": 0.2,
                    "right_value": 2000,
                    "style": "solid",
                }
            ],
        },
    ],
}

TOML = """
[well]
WELL = "Test #1"

[depth]
unit = "ft"
points = [[0, 1000.0], [500, 1100.0], [1100, 1200.0]]

[[tracks]]
name = "T1"
left = 10
right = 210

  [[tracks.curves]]
  mnemonic = "GR"
  unit = "gAPI"
  left_value = 150
  right_value = 0
"""


def test_valid_dict_and_toml(tmp_path):
    lay = load_layout(GOOD)
    assert [c.mnemonic for _, c in lay.curves] == ["GR", "SP", "ILD"]
    assert lay.depth.depth(60.0) == pytest.approx(700.0)
    assert lay.depth.row(790.0) == pytest.approx(3603.3)
    path = tmp_path / "layout.toml"
    path.write_text(TOML)
    lay = load_layout(path)
    assert lay.depth.unit == "ft"
    # piecewise linear with paper stretch, and linear extrapolation outside
    assert lay.depth.depth([250, 800, 1400]) == pytest.approx([1050.0, 1150.0, 1250.0])
    gr = lay.tracks[0].curves[0]
    assert gr.value(0.0) == 150 and gr.value(1.0) == 0  # reversed scale
    assert lay.digest() == load_layout(path).digest()


def test_log_scale_maps_through_log10():
    ild = load_layout(GOOD).tracks[1].curves[0]
    assert ild.value(0.5) == pytest.approx(20.0)
    assert ild.fraction(20.0) == pytest.approx(0.5)


def test_backup_scale_extends_the_plot_range_and_wraps_the_drawing(tmp_path):
    from veernet.layout import dumps_layout

    lay = copy.deepcopy(GOOD)
    lay["tracks"][0]["curves"][0]["wrap"] = "right"
    lay["tracks"][0]["curves"][1]["wrap"] = "both"
    path = tmp_path / "wrap.toml"
    path.write_text(dumps_layout(lay))
    gr, sp = load_layout(path).tracks[0].curves[:2]
    assert gr.wrap == "right" and sp.wrap == "both"
    assert gr.plot_range == (0.0, 2.0) and sp.plot_range == (-1.0, 2.0)
    # GR 0-150 with a backup scale: 180 gAPI is drawn at 30 gAPI's place, 20% of the way
    # in from the left edge; without one, it is held at the right edge.
    assert gr.left_value == 0.0 and gr.right_value == 150.0
    assert gr.drawn_fraction(180.0) == pytest.approx(0.2)
    assert gr.value(1.2) == pytest.approx(180.0)
    plain = CurveSpec("GR", "gAPI", "linear", 0.0, 150.0, "solid")
    assert plain.plot_range == (0.0, 1.0)
    assert plain.drawn_fraction(180.0) == 1.0


def test_every_problem_reported_with_its_location():
    bad = copy.deepcopy(GOOD)
    bad["depth"]["points"] = [[60.0, 700.0], [50.0, 690.0]]
    bad["tracks"][0]["right"] = 100.0
    bad["tracks"][0]["curves"][1]["style"] = "solid"
    bad["tracks"][1]["curves"][0]["left_value"] = 0.0
    del bad["tracks"][1]["curves"][0]["unit"]
    with pytest.raises(LayoutError) as err:
        load_layout(bad)
    text = str(err.value)
    for expected in [
        "depth.points: rows must increase",
        "depth.points: depths must increase",
        "tracks[0] (T1): right (100) must exceed left (170)",
        "GR are both solid",
        "tracks[1] (T2).curves[0]: a log scale needs positive bounds",
        "tracks[1] (T2).curves[0].unit: missing",
    ]:
        assert expected in text, expected
    assert len(err.value.problems) >= 6


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("depth"), "depth: missing"),
        (lambda d: d["depth"].update(unit="furlong"), "depth.unit"),
        (lambda d: d.update(tracks=[]), "tracks: expected one or more"),
        (lambda d: d["tracks"][0].pop("left"), "left: missing"),
        (lambda d: d["tracks"][0]["curves"][0].update(scale="sqrt"), "scale"),
        (lambda d: d["tracks"][0]["curves"][0].update(mnemonic="1GR"), "not a LAS mnemonic"),
        (lambda d: d["tracks"][0]["curves"][0].update(right_value=0.0), "are equal"),
        (lambda d: d["tracks"][0].update(colour="red"), "unknown key"),
        (lambda d: d["tracks"][1]["curves"][0].update(mnemonic="GR"), "used twice"),
        (lambda d: d["tracks"][0]["curves"][0].update(wrap=True), "wrap: expected 'right', 'left'"),
    ],
)
def test_single_problems(mutate, message):
    bad = copy.deepcopy(GOOD)
    mutate(bad)
    with pytest.raises(LayoutError, match=message):
        load_layout(bad)


def test_layout_must_fit_the_image_and_the_segmenter():
    lay = load_layout(GOOD)
    lay.check_image(4000, 1300)
    with pytest.raises(LayoutError, match="outside the image"):
        lay.check_image(4000, 1000)
    with pytest.raises(LayoutError, match="rows .* outside the image"):
        lay.check_image(3000, 1300)
    with pytest.raises(LayoutError, match="cannot tell curves apart"):
        lay.check_image(4000, 1300, separates_styles=False)


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(LayoutError, match="(?s)missing.toml: invalid layout .*file not found"):
        load_layout(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[depth\nunit = 'm'")
    with pytest.raises(LayoutError, match="(?s)broken.toml.*not valid TOML"):
        load_layout(broken)


def test_a_wrapped_curve_is_drawn_to_the_edge_and_on_from_the_opposite_one():
    # Samples 10 px apart: the value crosses 150 (the right edge) between two of them.
    # The recorder draws the trace on to the right edge and resumes it at the left edge,
    # at the depth of the crossing; nothing is drawn across the track.
    from veernet.render import CurveDraw, TrackDraw, render_log

    depth = np.arange(0.0, 7.0)
    value = np.array([100.0, 140.0, 160.0, 170.0, 160.0, 140.0, 100.0])
    curve = CurveDraw("GR", "gAPI", depth, value, 0.0, 150.0, width=1.0, wrap=True)
    r = render_log(
        [TrackDraw("T1", 200, [curve], grid_divisions=0)], 0.0, 6.0, px_per_unit=10.0, margin=20
    )
    track = r.layout["tracks"][0]
    left, right = int(track["left"]), int(track["right"])
    ink = r.masks["GR"][:, left:right]
    assert track["curves"][0]["wrap"] == "right"
    for crossing in (1.5, 4.5):  # depth where the value is 150
        row = 20 + int(round(10 * crossing))
        near = ink[row - 2 : row + 3]
        assert near[:, -2:].any() and near[:, :2].any()
    # Between the edges, the rows of a crossing hold only the two stroke ends.
    assert not ink[34:37, 40:160].any()
