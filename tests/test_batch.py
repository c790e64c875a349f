import json
import os
import signal
import subprocess
import sys
import time

import lasio
import pytest
from PIL import Image

from veernet.batch import read_manifest, run_batch
from veernet.benchmark import markdown, run_bench, standard_log
from veernet.layout import dumps_layout


@pytest.fixture
def scans(tmp_path):
    """Three short logs sharing one layout, and a corrupt scan."""
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(3):
        img, layout = standard_log(15.0, 2, seed=i)
        Image.fromarray(img).save(folder / f"log{i}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    layout_path = tmp_path / "layout.toml"
    layout_path.write_text(dumps_layout(layout))
    return folder, layout_path


def _batch(*args):
    return subprocess.run(
        [sys.executable, "-m", "veernet.cli", "batch", *map(str, args)],
        capture_output=True,
        text=True,
    )


def test_batch_records_every_scan_and_skips_finished_ones_on_rerun(scans, tmp_path):
    folder, layout = scans
    out = tmp_path / "out"
    p = _batch(
        folder, "--layout", layout, "--out", out, "--workers", "2", "--segmenter", "classical"
    )
    assert p.returncode == 2, p.stderr  # one bad scan: recorded, batch went on, exit says so
    lines = read_manifest(out / "manifest.jsonl")
    by_scan = {os.path.basename(line["scan"]): line for line in lines}
    assert set(by_scan) == {"log0.png", "log1.png", "log2.png", "broken.png"}
    assert (
        by_scan["broken.png"]["status"] == "error"
        and "broken.png" in by_scan["broken.png"]["error"]
    )
    for name in ("log0", "log1", "log2"):
        line = by_scan[f"{name}.png"]
        assert (
            line["status"] in ("accept", "review")
            and line["curves"]
            and line["timings_s"]["total"] > 0
        )
        las = lasio.read(str(out / f"{name}.las"))
        assert len(las.curves) == 3
    p = _batch(
        folder, "--layout", layout, "--out", out, "--workers", "1", "--segmenter", "classical"
    )
    rerun = read_manifest(out / "manifest.jsonl")[len(lines) :]
    assert len(rerun) == 1 and rerun[0]["status"] == "error"  # only the bad scan is tried again
    assert "3 skipped" in p.stdout


def test_layout_folder_and_torn_manifest(scans, tmp_path):
    folder, layout = scans
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    for i in range(3):
        (layouts / f"log{i}.toml").write_text(layout.read_text())
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.jsonl").write_text('{"scan": "x.png", "status": "acc')  # torn by a crash
    (out / ".log0.las.abc.tmp").write_text("partial")  # a killed write
    lines = run_batch([str(folder / "log*.png")], layouts, out, workers=1, progress=False)
    assert sorted(os.path.basename(line["scan"]) for line in lines) == [
        "log0.png",
        "log1.png",
        "log2.png",
    ]
    assert all(json.loads(raw) for raw in (out / "manifest.jsonl").read_text().splitlines())
    assert list(out.glob(".*.tmp")) == []


def test_killed_batch_leaves_complete_files_and_a_consistent_manifest(scans, tmp_path):
    folder, layout = scans
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "veernet.cli",
            "batch",
            str(folder),
            "--layout",
            str(layout),
            "--out",
            str(out),
            "--workers",
            "1",
            "--segmenter",
            "classical",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    manifest = out / "manifest.jsonl"
    deadline = time.time() + 60
    # Kill it as soon as the first scan is recorded, while the next one is being written.
    while time.time() < deadline and not (manifest.exists() and manifest.read_text().strip()):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = read_manifest(out / "manifest.jsonl")
    for line in lines:
        if line["status"] in ("accept", "review"):
            lasio.read(line["las"])  # every recorded LAS is complete
    for las in out.glob("*.las"):
        lasio.read(str(las))  # and no LAS file is partial
    # resuming finishes the rest
    run_batch([str(folder)], layout, out, workers=1, options=None, progress=False)
    done = {
        os.path.basename(x["scan"])
        for x in read_manifest(out / "manifest.jsonl")
        if x["status"] in ("accept", "review")
    }
    assert done == {"log0.png", "log1.png", "log2.png"}


def test_bench_quick_reports_every_stage(tmp_path):
    report = run_bench(quick=True, workdir=tmp_path)
    (log,) = [r for r in report["logs"] if r["segmenter"] == "learned"]
    assert set(log["stages"]) == {
        "decode",
        "setup",
        "tiling",
        "segmenter",
        "ink",
        "thin",
        "trace",
        "resample",
        "las",
    }
    assert abs(sum(s["share"] for s in log["stages"].values()) - 1.0) < 0.05
    assert log["peak_bytes"] > 0 and log["logs_per_hour"] > 0
    assert "veernet" in report["thinning"] and report["scaling_logs_per_hour"]
    assert "| log_100m_2tracks |" in markdown(report)
