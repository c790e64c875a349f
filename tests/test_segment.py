import numpy as np
import pytest

from veernet.layout import load_layout
from veernet.pipeline import digitize
from veernet.segment import (
    CLASSES,
    ClassicalSegmenter,
    ModelError,
    OnnxSegmenter,
    get_segmenter,
    segment_region,
)
from veernet.synth import generate


def test_shipped_model_is_the_default_and_describes_itself():
    seg = get_segmenter("auto")
    assert isinstance(seg, OnnxSegmenter)
    assert seg.classes == CLASSES and seg.tile % 32 == 0
    assert seg.separates_styles and len(seg.digest) == 16
    assert seg.path.stat().st_size <= 10 * 1024 * 1024
    out = seg.predict(np.ones((3, 1, seg.tile, seg.tile), np.float32))
    assert out.shape == (3, 4, seg.tile, seg.tile)
    assert np.all((out >= 0) & (out <= 1))
    assert out[:, 1:].max() < 0.5  # blank paper: no curve


def test_missing_and_corrupt_models_fail_clearly(tmp_path):
    with pytest.raises(ModelError, match="nope.onnx: segmenter model not found"):
        OnnxSegmenter(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    with pytest.raises(ModelError, match="bad.onnx: not a readable ONNX model"):
        OnnxSegmenter(bad)
    with pytest.raises(ValueError, match="not known"):
        get_segmenter("magic")


def test_learned_segmenter_on_the_bundled_example():
    from pathlib import Path

    ex = Path(__file__).resolve().parents[1] / "examples"
    result = digitize(
        ex / "lauren_700-760m.png",
        ex / "lauren_700-760m.toml",
        reference=ex / "lauren_700-760m_reference.las",
    )
    assert result.segmenter == "onnx"
    for c in result.curves:
        assert c.qc.r2 >= 0.98 and c.qc.status == "accept", (c.mnemonic, c.qc)


def test_regions_narrower_than_a_tile_are_padded():
    seg = get_segmenter("onnx")
    img = np.full((300, 100), 240, np.uint8)
    img[:, 48:52] = 10
    probs = segment_region(img, (0, 300), (0, 100), seg)
    assert probs.shape == (4, 300, 100)
    assert probs[1, 20:280, 49:51].mean() > 0.5  # the solid line is found


def test_tiling_blends_overlaps_without_seams():
    # A wavy curve across many 256-row tiles: every row keeps its ink, at the tile seams
    # too, and nothing appears away from it.
    rows = 2500
    img = np.full((rows, 300), 250, np.uint8)
    x = (150 + 40 * np.sin(np.arange(rows) / 60)).astype(int)
    for dx in range(3):
        img[np.arange(rows), x + dx] = 0
    probs = segment_region(img, (0, rows), (0, 300), ClassicalSegmenter(tile_rows=256), overlap=32)
    on_curve = probs[1, np.arange(rows), x + 1]
    assert on_curve.min() > 0.5
    far = np.abs(np.arange(300)[None, :] - x[:, None]) > 6
    assert probs[1][far].max() < 0.5


def test_synthetic_logs_are_reproducible_and_consistent(tmp_path):
    a = generate(123)
    b = generate(123)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.layout == b.layout
    lay = load_layout(a.layout)
    assert lay.check_image(*a.image.shape) is None
    assert set(a.paths) <= {"solid", "dashed", "dotted"} and all(
        p.shape == a.image.shape for p in a.paths.values()
    )
    assert len(a.curves) == len(lay.curves)
    assert not np.array_equal(generate(124).image.shape, (0, 0))


def test_synth_skips_constant_real_curves(tmp_path):
    """A constant stretch of a real log (a tool off, a bit size) has no curve to draw, and no
    R² to score against: the generator takes another."""
    from veernet.las import write_las
    from veernet.synth import _real_curve

    depth = np.arange(1000.0, 1200.0, 0.1)
    write_las(
        tmp_path / "flat.las", depth, "m", [("BS", "in", "bit", np.full(depth.size, 8.5))], {}, []
    )
    rng = np.random.default_rng(0)
    assert _real_curve(rng, [tmp_path / "flat.las"], 50.0) is None
    wavy = 60 + 30 * np.sin(depth / 3.0)
    write_las(tmp_path / "gr.las", depth, "m", [("GR", "gAPI", "gamma", wavy)], {}, [])
    d, v = _real_curve(rng, [tmp_path / "gr.las"], 50.0)
    assert np.ptp(v) > 10 and d[-1] - d[0] <= 50.0


def test_synth_draws_a_real_log_s_wild_sample_off_the_paper():
    """Seed 420,196 takes a real curve with a bad sample 609 track widths off onto a log
    scale, where ten to that power overflowed and the renderer failed mid-training."""
    from conftest import LAS_DIR

    if not LAS_DIR.is_dir():
        pytest.skip(f"no shared well logs at {LAS_DIR}")
    log = generate(420196, las_dir=LAS_DIR)
    assert any(c["scale"] == "log" for t in log.layout["tracks"] for c in t["curves"])
    for _unit, values in log.curves.values():
        assert np.isfinite(values).all()


def test_threshold_sweep_measures_the_recall_lever(tmp_path):
    import json
    import subprocess
    import sys

    from veernet.synth import write_case

    write_case(generate(1_000_003), tmp_path, "val")
    out = tmp_path / "sweep.json"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "veernet.cli",
            "eval",
            str(tmp_path),
            "--sweep-threshold",
            "--thresholds",
            "0.2,0.5,0.8",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    rows = json.loads(out.read_text())
    assert [r["threshold"] for r in rows] == [0.2, 0.5, 0.8]
    recall = [r["mask_all"]["recall"] for r in rows]
    assert recall[0] >= recall[1] >= recall[2]  # a lower threshold never loses mask pixels
    assert (tmp_path / "sweep.png").stat().st_size > 1000


def test_crossing_curves_are_found_from_the_truth(tmp_path):
    from veernet.evaluate import _crossing_curves
    from veernet.las import write_las

    depth = np.arange(0.0, 100.0, 0.5)
    a = np.linspace(0.1, 0.9, depth.size)  # rises across the track
    b = np.full(depth.size, 0.5)  # crosses a halfway down
    c = np.full(depth.size, 0.2)  # another track: never compared with a or b
    ref = tmp_path / "ref.las"
    write_las(ref, depth, "m", [("A", "", "", a), ("B", "", "", b), ("C", "", "", c)], {}, [])

    from types import SimpleNamespace

    from veernet.layout import CurveSpec

    def curve(name, track):
        spec = CurveSpec(name, "", "linear", 0.0, 1.0, "solid")
        return SimpleNamespace(mnemonic=name, track=track, spec=spec)

    result = SimpleNamespace(
        depth=depth, curves=[curve("A", "T1"), curve("B", "T1"), curve("C", "T2")]
    )
    assert _crossing_curves(result, ref) == {"A", "B"}


class _TileDependent:
    """A segmenter whose output at a pixel depends on where the pixel sits in its tile, so
    overlapping tiles disagree and only the blend decides what the region gets."""

    classes = CLASSES

    def __init__(self, tile: tuple[int, int]):
        self.tile = tile

    def tile_shape(self, width: int) -> tuple[int, int]:
        return self.tile

    def predict(self, tiles):
        th, tw = tiles.shape[2:]
        y = np.arange(th, dtype=np.float32)[:, None] / th
        x = np.arange(tw, dtype=np.float32)[None, :] / tw
        gain = np.array([1.0, -3.0, 5.0, 2.0], np.float32)[None, :, None, None]
        z = gain * tiles + 2 * y - 3 * x * x + np.sin(7 * y * x)
        return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize(
    "shape, region, tile, overlap, batch, keep",
    [
        ((900, 700), ((37, 837), (11, 611)), (256, 256), 32, 8, None),
        ((900, 700), ((0, 900), (100, 400)), (128, 256), 32, 3, [1, 3]),
        ((900, 700), ((0, 777), (0, 700)), (256, 128), 64, 1, [2]),
        ((300, 120), ((0, 300), (0, 100)), (256, 256), 32, 8, None),  # narrower than a tile
        ((200, 700), ((0, 150), (0, 700)), (256, 256), 0, 4, [1, 2]),  # shorter, no overlap
    ],
)
def test_tiling_matches_the_per_pixel_weighted_mean(shape, region, tile, overlap, batch, keep):
    from reference import blend_reference

    rng = np.random.default_rng(sum(shape) + overlap + batch)
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    seg = _TileDependent(tile)
    got = segment_region(img, *region, seg, overlap=overlap, batch=batch, keep=keep)
    want = blend_reference(img, *region, seg.predict, tile, overlap)
    want = want if keep is None else want[keep]
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
