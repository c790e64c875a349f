import json
import subprocess
import sys

import lascheck
import lasio
import numpy as np
import pytest
from conftest import LAS_DIR as SHARED_LAS
from PIL import Image

import veernet
from veernet.pipeline import EmptyTrackError, digitize

CLEAN_SINGLE_CURVES = [
    ("eastrock_lauren_P-135.las", ("GR", 0.0, 150.0, "linear", "solid"), 700.0, 760.0),
    ("eastrock_lauren_P-135.las", ("AF90", 0.2, 2000.0, "log", "solid"), 400.0, 450.0),
    ("volve_15-9-19_SR.las", ("AC", 140.0, 40.0, "linear", "solid"), 3800.0, 3850.0),  # reversed
    ("F03-02.las", ("GR", 0.0, 150.0, "linear", "solid"), 1200.0, 1250.0),
    ("nlog_L05-07.las", ("RHOB", 1.95, 2.95, "linear", "solid"), 3000.0, 3050.0),
    ("nlog_L07-01_1971.las", ("DT", 190.0, 40.0, "linear", "solid"), 2000.0, 2060.0),
]


@pytest.mark.parametrize("las_name, curve, top, bottom", CLEAN_SINGLE_CURVES)
def test_clean_single_solid_curves_recover(render_case, las_name, curve, top, bottom):
    case = render_case(las_name, [curve], top, bottom)
    result = digitize(case.scan, case.layout, segmenter="classical", reference=case.reference)
    (c,) = result.curves
    assert c.qc.r2 is not None and c.qc.r2 >= 0.98, (las_name, curve[0], c.qc)
    assert c.qc.coverage >= 0.95
    assert c.qc.status == "accept"


@pytest.mark.parametrize(
    "lo, hi, off",
    [(0.0, 140.0, "right"), (130.0, 200.0, "left"), (140.0, 0.0, "left")],
)
def test_backup_scale_is_followed_across_the_wrap(render_case, lo, hi, off):
    """GR leaves the track (past the ``off`` edge) and comes back from the other edge, as
    drawn on a backup scale; with ``wrap`` in the layout the LAS gets the true values."""
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", lo, hi, "linear", "solid")], 700.0, 760.0, wrap=True
    )
    assert f'wrap = "{off}"' in case.layout.read_text()
    (c,) = digitize(case.scan, case.layout, segmenter="classical", reference=case.reference).curves
    assert c.qc.r2 is not None and c.qc.r2 >= 0.98, c.qc
    assert c.qc.coverage >= 0.93  # the baseline drops a little where GR runs on the border
    beyond = (
        (c.value > max(lo, hi)) if off.startswith("right") != (hi < lo) else (c.value < min(lo, hi))
    )
    assert np.count_nonzero(beyond) > 20  # values past the edge, on the backup scale
    # Where the true value lies past the edge, the wrap gives it back.  Read without the
    # backup scale, those depths are NULL or held at the edge (the curve runs off its
    # scale); where the wrapped stroke is read as values inside the track instead, the fit
    # gate does not accept the curve.
    las = lasio.read(str(case.reference))
    truth = np.interp(c.depth, np.asarray(las.index), np.asarray(las["GR"]))
    span = abs(hi - lo)
    edge, outward = (hi, 1.0) if off == "right" else (lo, -1.0)
    past = (truth - edge) * np.sign(hi - lo) * outward > 0.03 * span
    assert np.count_nonzero(past) > 10
    assert np.mean(np.abs(c.value[past] - truth[past]) < 0.015 * span) > 0.8
    layout = case.layout.read_text().replace(f'wrap = "{off}"', "")
    plain = case.layout.with_name("plain.toml")
    plain.write_text(layout)
    (p,) = digitize(case.scan, plain, segmenter="classical", reference=case.reference).curves
    assert p.qc.off_scale > 0.0, p.qc
    held = p.value[past]
    misread = ~np.isnan(held) & (np.abs(held - edge) >= 0.03 * span)
    assert not misread.any() or p.qc.status == "review", p.qc


def test_off_scale_stretches_are_null_not_pinned_values(render_case):
    """Without a backup scale GR past 140 is drawn pinned along the edge: the paper does
    not say its value, so the LAS gets NULL there, and those depths do not count against
    coverage."""
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 140.0, "linear", "solid")], 700.0, 760.0
    )
    (c,) = digitize(case.scan, case.layout, segmenter="classical", reference=case.reference).curves
    assert 0.05 < c.qc.off_scale < 0.5
    assert np.nanmax(c.value) < 140.0 * (1 - 2.0 / 400)  # no value at the edge
    assert c.qc.status == "accept" and c.qc.coverage >= 0.93 and c.qc.r2 >= 0.98, c.qc
    # Without a reference the gate judges by the curve's own coverage: the stretches off
    # scale must not count against it, or every curve that leaves its track goes to review.
    (blind,) = digitize(case.scan, case.layout, segmenter="classical").curves
    assert blind.qc.status == "accept" and blind.qc.coverage >= 0.93, blind.qc
    # ... and the evaluation's verdict without a reference is that verdict.
    from veernet.evaluate import blind_verdict
    from veernet.gate import FitGate

    v = blind_verdict(c, FitGate())
    assert (v.status, v.coverage) == (blind.qc.status, pytest.approx(blind.qc.coverage))


def test_off_scale_rule():
    from veernet.pipeline import _off_scale

    nan = np.nan
    frac = np.array([0.5, 0.99, 1.0, nan, nan, 0.995, 0.5, 0.001, nan, 0.999, 0.4, nan, 0.6])
    off = _off_scale(frac, 0.01)
    # pinned at an edge, and a gap entered and left at the same edge; not a gap between
    # the two edges, nor one away from them
    expected = [0, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0]
    np.testing.assert_array_equal(off, np.array(expected, bool))
    # Where the pinned stroke merges with the border line, the trace stops short of the
    # edge: a gap entered and left heading for the same edge fast enough to reach it within
    # the gap is off scale; one that runs beside the edge, or heads for it too slowly, is
    # a hole in the trace.
    heading = [0.5, 0.9, 0.96, nan, nan, 0.97, 0.92, 0.5]
    beside = [0.95, 0.95, nan, nan, 0.95]
    slowly = [0.5, 0.1, 0.09, nan, nan, 0.04, 0.2, 0.5]
    frac = np.array(heading + beside + slowly)
    expected = [0, 0, 0, 1, 1, 0, 0, 0] + [0] * len(beside) + [0] * len(slowly)
    np.testing.assert_array_equal(_off_scale(frac, 0.01), np.array(expected, bool))


def test_las_is_conformant_and_reads_back(render_case, tmp_path):
    case = render_case(
        "eastrock_lauren_P-135.las",
        [("GR", 0.0, 150.0, "linear", "solid"), ("RHOB", 1.95, 2.95, "linear", "solid")],
        700.0,
        740.0,
    )
    result = digitize(case.scan, case.layout, segmenter="classical")
    out = tmp_path / "out.las"
    result.to_las(out)
    checked = lascheck.read(str(out))
    assert checked.check_conformity(), checked.get_non_conformities()
    assert checked.get_non_conformities() == []
    text = out.read_text()
    assert "E+" not in text and "e-" not in text.split("~A")[1]
    las = lasio.read(str(out))
    depth = np.asarray(las.index)
    step = las.well["STEP"].value
    # 40 m drawn on about 1,500 rows: finer than the standard 0.1524 m step, so the step
    # is two rows' depth rounded down to 1, 2 or 5 x 10^k.
    scale = result.layout.depth
    per_row = 40.0 / (scale.bottom_row - scale.top_row)
    assert 0.025 <= per_row < 0.05 and step == pytest.approx(0.05)
    np.testing.assert_allclose(depth / step, np.round(depth / step), atol=1e-6)
    assert las.well["STRT"].value == pytest.approx(depth[0]) and las.well[
        "STOP"
    ].value == pytest.approx(depth[-1])
    assert las.well["NULL"].value == -999.25
    rows = np.searchsorted(np.round(depth / step), np.round(result.depth / step))
    np.testing.assert_allclose(depth[rows], result.depth, atol=1e-4)
    for c in result.curves:
        got = np.asarray(las[c.mnemonic])[rows]
        np.testing.assert_array_equal(np.isnan(got), np.isnan(c.value))
        ok = ~np.isnan(c.value)
        np.testing.assert_allclose(got[ok], c.value[ok], atol=6e-5)
        assert las.curves[c.mnemonic].unit == c.unit and las.curves[c.mnemonic].descr
    other = str(las.other)
    for key in (
        "SOURCE: case.png",
        "SHA256:",
        "PAGE: 0",
        f"VEERNET: {veernet.__version__}",
        "SEGMENTER: classical",
        "LAYOUT_SHA256:",
    ):
        assert key in other
    assert las.well["WELL"].value == "eastrock_lauren_P-135.las"


def test_long_gap_is_null_and_short_gap_bridged(render_case):
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 150.0, "linear", "solid")], 700.0, 720.0
    )
    img = np.asarray(Image.open(case.scan)).copy()
    from veernet.layout import load_layout

    lay = load_layout(case.layout)
    r_long = lay.depth.row([708.0, 709.0]).astype(int)  # 1 m hole: NULL
    r_short = lay.depth.row([713.0, 713.15]).astype(int)  # 0.15 m hole: bridged
    t = lay.tracks[0]
    for a, b in (r_long, r_short):
        img[a:b, int(t.left) + 3 : int(t.right) - 3] = 255
    Image.fromarray(img).save(case.scan)
    result = digitize(case.scan, case.layout, segmenter="classical")
    c = result.curves[0]
    d = result.depth
    assert np.isnan(c.value[(d > 708.1) & (d < 708.9)]).all()
    assert not np.isnan(c.value[(d > 712.95) & (d < 713.2)]).any()
    assert c.qc.gaps >= 1 and c.qc.longest_gap >= 0.7


def _cli(*args, **kw):
    """The CLI with the classical segmenter: these tests are about the pipeline's mechanics."""
    if args[0] in ("digitize", "eval"):
        args = (*args, "--segmenter", "classical")
    return subprocess.run(
        [sys.executable, "-m", "veernet.cli", *map(str, args)], capture_output=True, text=True, **kw
    )


def test_cli_accept_review_and_outputs(render_case, tmp_path):
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 150.0, "linear", "solid")], 700.0, 730.0
    )
    out, js, qc = tmp_path / "o.las", tmp_path / "o.json", tmp_path / "qc.png"
    p = _cli(
        "digitize",
        case.scan,
        "--layout",
        case.layout,
        "--out",
        out,
        "--reference",
        case.reference,
        "--json",
        js,
        "--qc",
        qc,
    )
    assert p.returncode == 0, p.stderr
    result = json.loads(js.read_text())
    assert result["accepted"] and result["curves"][0]["r2"] > 0.98
    assert Image.open(qc).size[0] > 100
    p = _cli(
        "digitize",
        case.scan,
        "--layout",
        case.layout,
        "--out",
        out,
        "--reference",
        case.reference,
        "--min-r2",
        "0.99999",
    )
    assert p.returncode == 3, p.stdout + p.stderr
    assert "review" in p.stdout


def test_cli_errors_name_the_file_and_leave_no_output(render_case, tmp_path):
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 150.0, "linear", "solid")], 700.0, 710.0
    )
    out = tmp_path / "o.las"
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(case.scan.read_bytes()[:500])
    p = _cli("digitize", corrupt, "--layout", case.layout, "--out", out)
    assert p.returncode == 2 and "corrupt.png" in p.stderr and "corrupt or truncated" in p.stderr
    small = tmp_path / "small.png"
    Image.fromarray(np.asarray(Image.open(case.scan))[:, :300]).save(small)
    p = _cli("digitize", small, "--layout", case.layout, "--out", out)
    assert p.returncode == 2 and "outside the image" in p.stderr and case.layout.name in p.stderr
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full(np.asarray(Image.open(case.scan)).shape, 250, np.uint8)).save(blank)
    p = _cli("digitize", blank, "--layout", case.layout, "--out", out)
    assert p.returncode == 2 and "blank.png" in p.stderr and "no trace of curve GR" in p.stderr
    p = _cli(
        "digitize",
        case.scan,
        "--layout",
        case.layout,
        "--out",
        tmp_path / "no" / "such" / "dir" / "o.las",
    )
    assert p.returncode == 2 and "o.las" in p.stderr
    assert not out.exists()
    assert list(tmp_path.glob(".*tmp")) == []


def test_full_disk_leaves_no_partial_file(render_case, tmp_path):
    # A real write failure: the file-size limit makes the write fail part-way (EFBIG),
    # as a full disk would (ENOSPC), after the scan was read and digitized.
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 150.0, "linear", "solid")], 700.0, 760.0
    )
    out = tmp_path / "o.las"
    out.write_text("previous result\n")
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096));"
        "from veernet.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    p = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "digitize",
            str(case.scan),
            "--layout",
            str(case.layout),
            "--out",
            str(out),
            "--segmenter",
            "classical",
        ],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2, p.stdout + p.stderr
    assert "o.las" in p.stderr and "nothing was left behind" in p.stderr
    assert out.read_text() == "previous result\n"
    assert list(tmp_path.glob(".*tmp")) == []


def test_empty_track_is_an_error_in_the_api(render_case):
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 150.0, "linear", "solid")], 700.0, 705.0
    )
    blank = np.full(np.asarray(Image.open(case.scan)).shape, 255, np.uint8)
    with pytest.raises(EmptyTrackError, match="track T1: no trace of curve GR"):
        digitize(blank, case.layout, segmenter="classical")


def test_api_result_types(render_case, tmp_path):
    case = render_case(
        "eastrock_lauren_P-135.las", [("GR", 0.0, 150.0, "linear", "solid")], 700.0, 705.0
    )
    result = veernet.digitize(str(case.scan), str(case.layout), step=0.1, segmenter="classical")
    c = result.curves[0]
    assert c.depth.dtype == np.float64 and c.value.shape == result.depth.shape
    np.testing.assert_allclose(result.depth / 0.1, np.round(result.depth / 0.1), atol=1e-9)
    assert result.segmenter == "classical" and result.device == "cpu"
    assert set(result.timings) >= {
        "decode",
        "setup",
        "ink",
        "tiling",
        "segmenter",
        "thin",
        "trace",
        "resample",
        "total",
    }


def test_eval_reports_mask_instrument_and_curve_verdict(render_case, tmp_path):
    from veernet.render import CurveDraw, TrackDraw, render_log

    folder = tmp_path / "cases"
    folder.mkdir()
    for i, (top, bottom) in enumerate([(700.0, 720.0), (800.0, 820.0)]):
        case = render_case(
            "eastrock_lauren_P-135.las",
            [("GR", 0.0, 150.0, "linear", "solid")],
            top,
            bottom,
            name=f"c{i}",
        )
        for p in (case.scan, case.layout, case.reference):
            p.rename(folder / p.name)
    # truth masks for the first case only: the instrument reading comes from it
    las = lasio.read(str(SHARED_LAS / "eastrock_lauren_P-135.las"), engine="normal")
    r = render_log(
        [
            TrackDraw(
                "T1",
                400,
                [CurveDraw("GR", "gAPI", np.asarray(las.index), np.asarray(las["GR"]), 0.0, 150.0)],
            )
        ],
        700.0,
        720.0,
        well={"WELL": "x"},
    )
    Image.fromarray(r.masks["GR"].astype(np.uint8) * 255).save(folder / "c0_mask_solid.png")
    out = tmp_path / "eval.json"
    p = _cli("eval", folder, "--json", out)
    assert p.returncode == 0, p.stderr
    report = json.loads(out.read_text())
    s = report["summary"]
    assert s["cases"] == 2 and s["curves"] == 2 and s["r2_median"] > 0.98
    m = s["mask"]["solid"]
    assert m["recall"] > 0.9 and m["precision"] > 0.8 and 0 < m["iou"] <= 1
    assert "precision" in p.stdout and "median R²" in p.stdout
    cross = s["crossing"]  # one curve per track here: nothing can cross
    assert cross["crossing"]["curves"] == 0 and cross["not_crossing"]["curves"] == 2
    backup = s["backup_scale"]  # and neither has a backup scale
    assert backup["with"] == {"curves": 0, "r2_median": None, "pass_rate": None}
    assert backup["without"]["curves"] == 2
    assert backup["without"]["pass_rate"] == pytest.approx(s["pass_rate"])
    assert all(c["backup_scale"] == "" for c in report["curves"])
    # the verdict without a reference, per curve and against the reference's
    assert all(c["blind_status"] in ("accept", "review") for c in report["curves"])
    blind = s["blind_gate"]
    accepted = np.mean([c["blind_status"] == "accept" for c in report["curves"]])
    assert blind["accepted"] == pytest.approx(accepted)
    assert "without a reference the gate accepts" in p.stdout


def test_drop_vertical_runs_matches_a_run_by_run_reference():
    from veernet.pipeline import drop_vertical_runs
    from veernet.resample import runs

    rng = np.random.default_rng(5)
    for _ in range(200):
        rows, cols = (int(v) for v in rng.integers(1, 80, 2))
        skel = rng.random((rows, cols)) < rng.uniform(0.05, 0.95)
        columns = np.unique(rng.integers(0, cols, int(rng.integers(0, 4))))
        min_rows = int(rng.integers(1, 30))
        expected = skel.copy()
        for j in columns:
            for a, b in runs(skel[:, j]):
                if b - a >= min_rows:
                    expected[a:b, j] = False
        np.testing.assert_array_equal(drop_vertical_runs(skel.copy(), columns, min_rows), expected)


def test_a_curve_inside_its_track_is_traced_on_its_ink_not_the_border():
    """Where the model marks a track's border line as the curve as well (it draws curves
    pinned there), a path along the border would skip every hole in the curve's own ink;
    the border's long vertical runs are dropped before tracing, so the path stays on the
    curve and its holes are short gaps."""
    from veernet.layout import CurveSpec, Track
    from veernet.pipeline import _trace_input
    from veernet.tracing import TraceParams, trace

    rows, c0 = 400, 50
    track = Track("T1", 50.0, 150.0, (CurveSpec("GR", "API", "linear", 0.0, 150.0, "solid"),))
    cols = c0 + np.arange(102)  # the region reaches one column past the right edge
    skeleton = np.zeros((rows, len(cols)), np.uint8)
    prob = np.zeros(skeleton.shape, np.float32)
    curve = np.round(40 + 20 * np.sin(np.arange(rows) / 40)).astype(int)
    ink = (np.arange(rows) % 30) < 18  # the model finds 18 rows of every 30
    skeleton[np.flatnonzero(ink), curve[ink]] = 1
    prob[np.flatnonzero(ink), curve[ink]] = 1.0
    skeleton[:, 100] = 1  # the right border line, marked as the curve all along
    prob[:, 100] = 0.6
    params = TraceParams()
    raw = trace(skeleton, prob, params)
    assert np.mean(raw > 95) > 0.5  # the border's pull, without the drop
    inp = _trace_input(track, track.curves[0], skeleton, prob, c0)
    centre = trace(inp.skeleton, inp.prob, params)
    np.testing.assert_array_equal(centre[ink], curve[ink])
    assert np.isnan(centre[~ink]).all()  # holes stay holes, for the resampler to judge
    assert skeleton[:, 100].all()  # the caller's skeleton is left as it was


def test_trace_probability_gives_way_where_another_class_is_surer():
    from veernet.pipeline import trace_probability

    own = np.array([[0.9, 0.3, 0.2, 0.1]], dtype=np.float32)
    other = np.array([[0.9, 0.1, 0.5, 0.8]], dtype=np.float32)
    probs = np.stack([own, other])
    # A crossing (both sure) and a pixel the other class claims less keep their value;
    # elsewhere the other class's excess comes off, never below 0.
    np.testing.assert_allclose(trace_probability(probs, [1, 2], 0), [[0.9, 0.3, 0.0, 0.0]])
    np.testing.assert_allclose(trace_probability(probs, [2, 1], 1), [[0.9, 0.0, 0.5, 0.8]])
    # Alone in its track, or beside a curve of its own class, a curve keeps its probability.
    np.testing.assert_array_equal(trace_probability(probs[:1], [1], 0), own)
    np.testing.assert_array_equal(trace_probability(probs, [1, 1], 0), own)


def test_dotted_curves_have_their_own_default_threshold(render_case):
    from veernet.pipeline import CLASS_THRESHOLDS, DEFAULT_THRESHOLD

    case = render_case(
        "eastrock_lauren_P-135.las",
        [("GR", 0.0, 150.0, "linear", "solid"), ("RHOB", 1.95, 2.95, "linear", "dotted")],
        700.0,
        730.0,
        width=2.0,
    )

    def masks(**kw):
        r = veernet.digitize(case.scan, case.layout, keep_masks=True, **kw)
        return {c.spec.style: c.mask for c in r.curves}

    default = masks()
    single = masks(threshold=DEFAULT_THRESHOLD)
    low = masks(threshold=CLASS_THRESHOLDS["dotted"])
    assert CLASS_THRESHOLDS["dotted"] < DEFAULT_THRESHOLD
    np.testing.assert_array_equal(default["solid"], single["solid"])
    np.testing.assert_array_equal(default["dotted"], low["dotted"])
    # the lower threshold adds pixels to the dotted mask and takes none away
    assert (default["dotted"] & ~single["dotted"]).any()
    assert not (single["dotted"] & ~default["dotted"]).any()
