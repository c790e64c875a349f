"""Measure the segmenters on the fixed validation set (seeds from 1,000,000; never trained on).

Generates N logs into DIR (if not there), then runs `veernet eval` logic for each segmenter
and writes DIR/../validation_<segmenter>.json (or into --out).

    python tools/validate_model.py DIR --count 200 --workers 16 [--las-dir ...]

Choices are made on the tuning logs (seeds from 2,000,000), apart from the validation set,
and only then checked on it:

    python tools/validate_model.py /tmp/tune/cases --first-seed 2000000 --prefix tune \
        --count 150 --workers 2 --segmenters onnx --out /tmp/tune/before

Compare two runs with tools/compare_evaluations.py.  VEERNET_MODEL=FILE measures another
model file.
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
    seed, folder, las_dir, prefix = args
    name = f"{prefix}_{seed:07d}"
    if not (Path(folder) / f"{name}.toml").exists():
        write_case(generate(seed, las_dir=las_dir), folder, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--first-seed", type=int, default=VALIDATION_SEED)
    ap.add_argument("--prefix", default="val", help="case names: PREFIX_SEED")
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
            [(args.first_seed + i, str(folder), las_dir, args.prefix) for i in range(args.count)],
            chunksize=1,
        )
    print(f"generated {args.count} logs in {time.perf_counter() - t0:.0f} s", flush=True)
    out = Path(args.out or folder.parent)
    out.mkdir(parents=True, exist_ok=True)
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
