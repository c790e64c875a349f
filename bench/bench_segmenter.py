"""Segmenter throughput: the shipped ONNX model with ONNX Runtime on the CPU, and the
classical baseline, in Mpx/s over the same tiles, measured in one run.  ``--model FILE``
(repeatable) adds other exported models, with their speed as a ratio to the shipped one.

    python bench/bench_segmenter.py [--threads 2] [--batch 8] [--model FILE ...]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from veernet.segment import ClassicalSegmenter, OnnxSegmenter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--model", action="append", default=[], help="another exported model")
    args = ap.parse_args()
    onnx = OnnxSegmenter(threads=args.threads)
    tile = onnx.tile
    rng = np.random.default_rng(0)
    tiles = np.clip(0.9 + rng.normal(0, 0.05, (args.batch, 1, tile, tile)), 0, 1).astype(np.float32)
    tiles[:, :, :, tile // 2 : tile // 2 + 3] = 0.05
    candidates = [
        ("onnx (shipped model)", onnx.predict),
        *((f"onnx {m}", OnnxSegmenter(m, threads=args.threads).predict) for m in args.model),
        ("classical", ClassicalSegmenter().predict),
    ]
    for _, fn in candidates:
        fn(tiles)  # warm-up: first-call costs stay out of the numbers
    times: dict[str, list[float]] = {name: [] for name, _ in candidates}
    for _ in range(args.repeat):  # interleaved, so a noisy moment costs every model alike
        for name, fn in candidates:
            t0 = time.perf_counter()
            fn(tiles)
            times[name].append(time.perf_counter() - t0)
    rows = [
        (name, tiles.shape[0] * tile * tile / float(np.median(t)) / 1e6)
        for name, t in times.items()
    ]
    print(
        f"{os.cpu_count()} cores, ONNX Runtime intra-op threads {args.threads}, batch {args.batch} x {tile}x{tile}"
    )
    print("| segmenter | Mpx/s | ratio to the shipped model |")
    print("|---|---|---|")
    for name, mpx in rows:
        print(f"| {name} | {mpx:.2f} | {mpx / rows[0][1]:.2f} |")


if __name__ == "__main__":
    main()
