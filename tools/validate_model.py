"""Measure the segmenters on the fixed validation set (seeds from 1,000,000; never trained on).

Generates N logs into DIR (if not there), then runs `veernet eval` logic for each segmenter
and writes DIR/../validation_<segmenter>.json.  With --sweep, also the probability-threshold
sweep of the learned model.

    python tools/validate_model.py DIR --count 200 --workers 16 [--las-dir ...] [--sweep]
"""

import argparse
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

from veernet.evaluate import evaluate
from veernet.synth import generate, write_case
from veernet.train import VALIDATION_SEED


def _make(args):
    seed, folder, las_dir = args
    name = f"val_{seed:07d}"
    if not (Path(folder) / f"{name}.toml").exists():
        write_case(generate(seed, las_dir=las_dir), folder, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--las-dir", default="../shared/data/las")
    ap.add_argument("--segmenters", nargs="+", default=["onnx", "classical"])
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--threshold", type=float, default=None, help="mask threshold (default: the pipeline's)"
    )
    args = ap.parse_args()
    os.environ.setdefault("VEERNET_ORT_THREADS", "1")
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    las_dir = args.las_dir if Path(args.las_dir).is_dir() else None
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        pool.map(
            _make,
            [(VALIDATION_SEED + i, str(folder), las_dir) for i in range(args.count)],
            chunksize=1,
        )
    print(f"generated {args.count} validation logs in {time.perf_counter() - t0:.0f} s", flush=True)
    out = Path(args.out or folder.parent)
    for seg in args.segmenters:
        t0 = time.perf_counter()
        kwargs = {} if args.threshold is None else {"threshold": args.threshold}
        ev = evaluate(folder, segmenter=seg, workers=args.workers, **kwargs)
        s = ev.summary()
        s["seconds"] = time.perf_counter() - t0
        (out / f"validation_{seg}.json").write_text(
            json.dumps(
                {"summary": s, "curves": ev.curves, "failures": ev.failures},
                indent=1,
                default=lambda v: None,
            )
        )
        print(seg, json.dumps(s, default=lambda v: None), flush=True)


if __name__ == "__main__":
    main()
