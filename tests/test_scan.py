import numpy as np
import pytest
from PIL import Image

from veernet.scan import ScanError, load_scan


@pytest.fixture
def grey():
    rng = np.random.default_rng()
    img = np.full((300, 200), 240, np.uint8)
    img[:, 90:95] = 20
    img[rng.random(img.shape) < 0.01] = 0
    return img


def test_png_jpeg_tiff_grey_and_colour(tmp_path, grey):
    Image.fromarray(grey).save(tmp_path / "a.png")
    np.testing.assert_array_equal(load_scan(tmp_path / "a.png").image, grey)
    Image.fromarray(grey).save(tmp_path / "a.tif")
    np.testing.assert_array_equal(load_scan(tmp_path / "a.tif").image, grey)
    Image.fromarray(grey).save(tmp_path / "a.jpg", quality=95)
    jpg = load_scan(tmp_path / "a.jpg").image
    assert jpg.shape == grey.shape and np.abs(jpg.astype(int) - grey).mean() < 8
    rgb = np.stack([grey] * 3, axis=-1)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    assert np.abs(load_scan(tmp_path / "c.png").image.astype(int) - grey).max() <= 1


def test_group4_bilevel_tiff(tmp_path, grey):
    bilevel = Image.fromarray(grey).point(lambda v: 255 if v > 128 else 0).convert("1")
    bilevel.save(tmp_path / "g4.tif", compression="group4")
    out = load_scan(tmp_path / "g4.tif").image
    np.testing.assert_array_equal(out, np.where(grey > 128, 255, 0))


def test_16_bit(tmp_path, grey):
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "w.png")
    np.testing.assert_array_equal(load_scan(tmp_path / "w.png").image, grey)


def test_multipage_tiff(tmp_path, grey):
    pages = [Image.fromarray(grey), Image.fromarray(255 - grey)]
    pages[0].save(tmp_path / "m.tif", save_all=True, append_images=pages[1:])
    np.testing.assert_array_equal(load_scan(tmp_path / "m.tif", page=1).image, 255 - grey)
    with pytest.raises(ScanError, match=r"m.tif: page 2 does not exist \(the file has 2 page"):
        load_scan(tmp_path / "m.tif", page=2)


def test_bad_files_name_the_file_and_the_problem(tmp_path, grey):
    with pytest.raises(ScanError, match="nothere.png: no such file"):
        load_scan(tmp_path / "nothere.png")
    (tmp_path / "notes.png").write_text("this is not an image")
    with pytest.raises(ScanError, match="notes.png: not an image"):
        load_scan(tmp_path / "notes.png")
    Image.fromarray(grey).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ScanError, match="truncated.png: corrupt or truncated"):
        load_scan(tmp_path / "truncated.png")


def test_size_bound_is_configurable(tmp_path, grey, monkeypatch):
    Image.fromarray(grey).save(tmp_path / "a.png")
    with pytest.raises(ScanError, match="a.png: 200 x 300 px is over the limit of 1000 px"):
        load_scan(tmp_path / "a.png", limit=1000)
    monkeypatch.setenv("VEERNET_MAX_PIXELS", "100")
    with pytest.raises(ScanError, match="over the limit of 100 px"):
        load_scan(tmp_path / "a.png")


def test_long_scan_beyond_pillows_bomb_limit(tmp_path):
    # 2,000 x 100,000 px: over Pillow's default guard (179 Mpx is above it, 89 Mpx warns).
    img = Image.new("1", (2000, 100_000), 1)
    img.save(tmp_path / "long.tif", compression="group4")
    scan = load_scan(tmp_path / "long.tif")
    assert scan.image.shape == (100_000, 2000)
    assert len(scan.sha256) == 64
