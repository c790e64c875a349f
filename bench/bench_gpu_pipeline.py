"""The device-resident pipeline end to end, stage by stage, with the segmenter on the GPU.

TensorRT is not on the device image, so the shipped model runs on the GPU through PyTorch
(its weights loaded from engine/segmenter.onnx, FP16, eager) as a stand-in for the TensorRT
engine.  An engine is usually faster than eager PyTorch, so the post-segmentation share
printed here is a lower bound of what it would be behind TensorRT; the table also gives
the post-segmentation stages in absolute time, which do not depend on the segmenter.

Baselines measured in the same run: the same logs through ``digitize --device cpu`` with
ONNX Runtime on all of the machine's cores, and the stand-in's probabilities against ONNX
Runtime's on the same tiles.  Needs CuPy, PyTorch with CUDA, and a CUDA build of veernet.

    python bench/bench_gpu_pipeline.py [--json OUT] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

POST = ("ink", "thin", "trace", "resample", "las")


class TorchDeviceSegmenter:
    """The shipped model on the GPU through PyTorch: CuPy tiles in, CuPy probabilities out,
    on the legacy default stream that CuPy and PyTorch share by default."""

    device_arrays = True
    separates_styles = True

    def __init__(self, half: bool = True):
        import torch

        from veernet.segment import OnnxSegmenter
        from veernet.train import load_exported

        meta = OnnxSegmenter()
        self.classes, self.tile, self.digest = meta.classes, meta.tile, meta.digest
        self.name = "torch-fp16" if half else "torch-fp32"
        # The architecture is read from the model file; the outputs are checked against
        # ONNX Runtime.
        self.model = load_exported(meta.path).eval().cuda()
        self.dtype = torch.float16 if half else torch.float32
        if half:
            self.model = self.model.half()
        self.torch = torch
        self.onnx = meta

    def tile_shape(self, width: int) -> tuple[int, int]:
        return (self.tile, self.tile)

    def predict(self, tiles):  # type: ignore[no-untyped-def]
        import cupy as cp

        torch = self.torch
        with torch.inference_mode():
            x = torch.from_dlpack(cp.ascontiguousarray(tiles)).to(self.dtype)
            p = torch.sigmoid(self.model(x).float())
            out = torch.cat([1.0 - p.amax(dim=1, keepdim=True), p], dim=1)
        return cp.from_dlpack(out)


def segmenter_rate(seg: TorchDeviceSegmenter, batch: int, repeat: int) -> float:
    """Mpx/s of the stand-in alone on ``batch`` random tiles (CUDA events, median)."""
    import cupy as cp
    from bench_gpu import gpu_median

    tiles = cp.random.random((batch, 1, seg.tile, seg.tile), dtype=cp.float32)
    return tiles.size / gpu_median(cp, lambda: seg.predict(tiles), repeat) / 1e6


def run(img, layout, segmenter, device: str, repeat: int, out: Path, warm: bool = True):  # type: ignore[no-untyped-def]
    """Median stage times of ``repeat`` runs (after one warm-up run), LAS writing included."""
    import veernet

    runs = []
    for i in range(repeat + warm):
        t0 = time.perf_counter()
        result = veernet.digitize(img, layout, segmenter=segmenter, device=device)
        t1 = time.perf_counter()
        result.to_las(out)
        t = dict(result.timings)
        t["las"] = time.perf_counter() - t1
        t["total"] = time.perf_counter() - t0
        if i or not warm:
            runs.append(t)
    keys = runs[0].keys()
    return {k: float(np.median([r[k] for r in runs])) for k in keys}, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import cupy as cp

    from veernet.benchmark import standard_log
    from veernet.layout import dumps_layout, load_layout

    seg = TorchDeviceSegmenter(half=True)
    seg32 = TorchDeviceSegmenter(half=False)
    # The stand-in against ONNX Runtime on real tiles of a rendered log.
    img, _ = standard_log(100.0, 2)
    tiles = np.stack([img[r : r + 256, c : c + 256] for r in (0, 900, 1800) for c in (0, 300)])
    tiles = (tiles[:, None] / 255.0).astype(np.float32)
    ref = seg.onnx.predict(tiles)
    err16 = float(np.abs(cp.asnumpy(seg.predict(cp.asarray(tiles))) - ref).max())
    err32 = float(np.abs(cp.asnumpy(seg32.predict(cp.asarray(tiles))) - ref).max())
    rates = {b: segmenter_rate(seg, b, 10) for b in (8, 64)}
    rate32 = segmenter_rate(seg32, 64, 10)
    print(
        f"stand-in vs ONNX Runtime: max |dp| {err16:.2g} (fp16), {err32:.2g} (fp32); "
        f"alone: {rates[8]:.0f} Mpx/s at batch 8, {rates[64]:.0f} at batch 64 (fp16), "
        f"{rate32:.0f} at batch 64 (fp32)",
        flush=True,
    )

    import tempfile

    work = Path(tempfile.mkdtemp(prefix="veernet-gpu-bench-"))
    report = {"stand_in_max_abs_diff": {"fp16": err16, "fp32": err32}, "logs": []}
    report["stand_in_mpx_per_s"] = {"fp16_b8": rates[8], "fp16_b64": rates[64], "fp32_b64": rate32}
    rows = []
    for length, tracks in ((100.0, 2), (1000.0, 4)):
        img, lay_dict = standard_log(length, tracks)
        lay_path = work / f"log_{int(length)}_{tracks}.toml"
        lay_path.write_text(dumps_layout(lay_dict))
        layout = load_layout(lay_path)
        mpx = img.size / 1e6
        # The CPU baselines of the long log run once, cold: ONNX Runtime takes ~10 s there.
        big = length > 100
        cases = [
            ("gpu", seg, args.repeat, True),
            ("cpu", "onnx", 1 if big else args.repeat, not big),
        ]
        if not big:
            cases.insert(1, ("gpu", "onnx", args.repeat, True))  # the image without TensorRT
        for device, s, repeat, warm in cases:
            t, result = run(img, layout, s, device, repeat, work / "out.las", warm)
            post = sum(t.get(k, 0.0) for k in POST)
            name = s if isinstance(s, str) else s.name
            row = {
                "log": f"{int(length)} m, {tracks} tracks",
                "megapixels": mpx,
                "device": device,
                "segmenter": name,
                "timings": t,
                "post_share": post / t["total"],
                "post_s": post,
                "status": [c.qc.status for c in result.curves],
            }
            report["logs"].append(row)
            rows.append(row)
            print(
                f"{row['log']} {device} {name}: total {t['total']:.3f} s, post {post:.3f} s "
                f"({100 * post / t['total']:.1f} %)",
                flush=True,
            )
    print()
    stages = ("tiling", "segmenter", "ink", "thin", "trace", "resample", "las")
    print(
        "| log | Mpx | device | segmenter | total | " + " | ".join(stages) + " | post-seg share |"
    )
    print("|---|---|---|---|---|" + "---|" * len(stages) + "---|")
    for r in rows:
        t = r["timings"]
        cells = " | ".join(f"{1e3 * t.get(s, 0.0):.1f} ms" for s in stages)
        print(
            f"| {r['log']} | {r['megapixels']:.1f} | {r['device']} | {r['segmenter']} | "
            f"{t['total']:.3f} s | {cells} | {100 * r['post_share']:.1f} % |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
