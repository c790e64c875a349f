"""Bench: what throughput to expect on this machine, stage by stage, with baselines.

``veernet bench`` renders a standard set of logs (100 m and 1,000 m at 1:200 and 200 dpi, two
and four tracks), digitizes each in a fresh process (so peak memory is that log's own), and
reports per stage (decode, setup (loading the model), tiling, segmenter, ink extension, thinning,
tracing, resampling with the fit gate, LAS writing) the time, its share of the total and Mpx/s,
plus end-to-end logs per hour and peak memory.  In the same run it measures the baselines:
the classical segmenter against the learned one, scikit-image's and OpenCV's thinning against
ours (when installed), and batch scaling from one worker to all cores.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .layout import dumps_layout
from .render import PX_PER_M_1_200_200DPI, CurveDraw, TrackDraw, render_log

STAGES = ("decode", "setup", "tiling", "segmenter", "ink", "thin", "trace", "resample", "las")


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls after one warm-up call (first-call costs such as
    allocation and thread start stay out of the numbers)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def standard_log(length_m: float, tracks: int, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A log of ``length_m`` metres with ``tracks`` tracks of one solid curve each (layered
    stochastic responses), drawn at 1:200 and 200 dpi."""
    from .synth import _stochastic_curve

    rng = np.random.default_rng(seed)
    draws = []
    for i in range(tracks):
        d, v = _stochastic_curve(rng, length_m)
        v = (v - v.min()) / max(np.ptp(v), 1e-9)
        draws.append(
            TrackDraw(
                f"T{i + 1}",
                400,
                [CurveDraw(f"C{i + 1}", "U", 1000.0 + d, 0.1 + 0.8 * v, 0.0, 1.0, width=3.0)],
            )
        )
    r = render_log(draws, 1000.0, 1000.0 + length_m, unit="m", px_per_unit=PX_PER_M_1_200_200DPI)
    return r.image, r.layout


def _child(scan: str, layout: str, out: str, segmenter: str, device: str) -> None:
    """Digitize one log in this process and print its timings and peak memory as JSON."""
    from .pipeline import digitize
    from .scan import load_scan

    if device == "gpu":
        # Warm up first: the GPU's context, the TensorRT engine and CuPy's kernel
        # compilation (cached on disk after a machine's first run) are not per log.
        digitize(load_scan(scan), layout, segmenter=segmenter, device=device)
    t0 = time.perf_counter()
    scan_obj = load_scan(scan)
    decode = time.perf_counter() - t0
    result = digitize(scan_obj, layout, segmenter=segmenter, device=device)
    t1 = time.perf_counter()
    result.to_las(out)
    t = dict(result.timings)
    t["las"] = time.perf_counter() - t1
    t["decode"] = decode
    t["total"] = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    print(
        json.dumps(
            {
                "timings": t,
                "peak_bytes": peak,
                "megapixels": scan_obj.image.size / 1e6,
                "device": result.device,
            }
        )
    )


def _measure(scan: Path, layout: Path, out: Path, segmenter: str, device: str) -> dict[str, Any]:
    code = "import sys; from veernet.benchmark import _child; _child(*sys.argv[1:])"
    p = subprocess.run(
        [sys.executable, "-c", code, str(scan), str(layout), str(out), segmenter, device],
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _thinning_baselines(scan: Path, layout_path: Path, repeat: int) -> dict[str, float]:
    """Median seconds to thin the first track's classical ink mask: ours, scikit-image, OpenCV."""
    from .layout import load_layout
    from .scan import load_scan
    from .segment import ClassicalSegmenter, segment_region
    from .thinning import thin

    img = load_scan(scan).image
    lay = load_layout(layout_path)
    t = lay.tracks[0]
    mask = (
        segment_region(
            img, (0, img.shape[0]), (int(t.left), int(t.right)), ClassicalSegmenter(), keep=[1]
        )[0]
        >= 0.5
    )

    out = {"veernet": median_seconds(lambda: thin(mask), repeat)}
    try:
        from skimage.morphology import skeletonize

        out["scikit-image"] = median_seconds(lambda: skeletonize(mask), repeat)
    except ImportError:
        pass
    try:
        import cv2

        m8 = mask.astype(np.uint8) * 255
        out["opencv"] = median_seconds(
            lambda: cv2.ximgproc.thinning(m8, thinningType=cv2.ximgproc.THINNING_ZHANGSUEN), repeat
        )
    except (ImportError, AttributeError):
        pass
    out["mask_megapixels"] = mask.size / 1e6
    return out


def run_bench(
    *, quick: bool = False, device: str = "cpu", workdir: str | Path | None = None
) -> dict[str, Any]:
    from .batch import Options, run_batch

    work = Path(workdir or tempfile.mkdtemp(prefix="veernet-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cases = [(100.0, 2)] if quick else [(100.0, 2), (100.0, 4), (1000.0, 2), (1000.0, 4)]
    report: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "veernet": __version__,
        "device": device,
        "date": time.strftime("%Y-%m-%d"),
        "logs": [],
    }
    files = {}
    for length, tracks in cases:
        name = f"log_{int(length)}m_{tracks}tracks"
        img, layout = standard_log(length, tracks)
        scan, lay = work / f"{name}.png", work / f"{name}.toml"
        from PIL import Image

        Image.fromarray(img).save(scan)
        lay.write_text(dumps_layout(layout))
        files[name] = (scan, lay)
        for segmenter in ("auto", "classical"):
            m = _measure(scan, lay, work / f"{name}_{segmenter}.las", segmenter, device)
            t = m["timings"]
            total = t["total"]
            stages = {
                s: {
                    "seconds": t.get(s, 0.0),
                    "share": t.get(s, 0.0) / total,
                    "mpx_per_s": m["megapixels"] / t[s] if t.get(s) else None,
                }
                for s in STAGES
            }
            post = sum(t.get(s, 0.0) for s in ("ink", "thin", "trace", "resample", "las"))
            report["logs"].append(
                {
                    "log": name,
                    "length_m": length,
                    "tracks": tracks,
                    "megapixels": m["megapixels"],
                    "segmenter": "learned" if segmenter == "auto" else "classical",
                    "total_s": total,
                    "logs_per_hour": 3600.0 / total,
                    "post_segmenter_share": post / total,
                    "peak_bytes": m["peak_bytes"],
                    "stages": stages,
                }
            )
    first = next(iter(files.values()))
    report["thinning"] = _thinning_baselines(*first, repeat=3 if quick else 7)
    # Batch scaling: the 100 m two-track log, several copies, 1 worker against all cores.
    copies = 2 if quick else 2 * (os.cpu_count() or 1)
    src = work / "scaling"
    src.mkdir(exist_ok=True)
    for i in range(copies):
        data = first[0].read_bytes()
        (src / f"copy{i:02d}.png").write_bytes(data[:-12] + data[-12:])  # same pixels, own file
    scaling = {}
    for n in sorted({1, os.cpu_count() or 1}):
        out = work / f"scaling_out_{n}"
        t0 = time.perf_counter()
        run_batch(
            [str(src)], first[1], out, workers=n, options=Options(device=device), progress=False
        )
        scaling[n] = copies / (time.perf_counter() - t0) * 3600.0
    report["scaling_logs_per_hour"] = scaling
    return report


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"veernet {report['veernet']} on {m['cpu']}, {m['cores']} cores, device {report['device']}, {report['date']}",
        "",
    ]
    lines.append(
        "| log | Mpx | segmenter | total s | logs/h | post-segmenter share | peak MB | "
        + " | ".join(STAGES)
        + " |"
    )
    lines.append("|" + "---|" * (7 + len(STAGES)))
    for r in report["logs"]:
        cells = " | ".join(
            f"{r['stages'][s]['seconds']:.3f} s ({100 * r['stages'][s]['share']:.0f} %)"
            for s in STAGES
        )
        lines.append(
            f"| {r['log']} | {r['megapixels']:.1f} | {r['segmenter']} | {r['total_s']:.2f} | {r['logs_per_hour']:.0f} | {100 * r['post_segmenter_share']:.1f} % | {r['peak_bytes'] / 2**20:.0f} | {cells} |"
        )
    th = report["thinning"]
    lines += [
        "",
        f"Thinning one track's mask ({th['mask_megapixels']:.1f} Mpx), median: veernet {1e3 * th['veernet']:.2f} ms",
    ]
    for k in ("scikit-image", "opencv"):
        if k in th:
            lines[-1] += f", {k} {1e3 * th[k]:.1f} ms ({th[k] / th['veernet']:.1f}x)"
    sc = report["scaling_logs_per_hour"]
    lines += [
        "",
        "Batch scaling (100 m two-track log): "
        + ", ".join(f"{n} worker(s) {v:.0f} logs/h" for n, v in sc.items()),
    ]
    if len(sc) > 1:
        vals = list(sc.values())
        lines[-1] += f" ({vals[-1] / vals[0]:.2f}x)"
    return "\n".join(lines) + "\n"
