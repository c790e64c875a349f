"""Measure the ink extension (pipeline.INK_LINK_PX) on a folder of generated logs.

Runs the full digitize pipeline with the learned model for each link distance ("off": the
model's mask alone) and prints median and 10th-percentile R², pass rate and coverage; writes
the table as JSON.  Choose on tuning logs (seeds from 2,000,000), confirm on validation.

    python tools/sweep_ink_link.py DIR --links off,0,1,2,3,4 --workers 2 --out sweep.json
"""

import argparse
import json
import os
import time

from veernet.evaluate import evaluate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--links", default="off,0,1,2,3,4")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    os.environ.setdefault("VEERNET_ORT_THREADS", "1")
    rows = []
    print("link   median R²  p10 R²   pass rate  coverage   seconds")
    for text in args.links.split(","):
        link = None if text == "off" else int(text)
        t0 = time.perf_counter()
        s = evaluate(args.folder, workers=args.workers, ink_link=link).summary()
        row = {
            "ink_link": link,
            "curves": s["curves"],
            "r2_median": s["r2_median"],
            "r2_p10": s["r2_p10"],
            "pass_rate": s["pass_rate"],
            "coverage_mean": s["coverage_mean"],
            "pass_rate_by_style": s["pass_rate_by_style"],
            "seconds": time.perf_counter() - t0,
        }
        rows.append(row)
        print(
            f"{text:>4}   {row['r2_median']:.4f}    {row['r2_p10']:7.3f}  {row['pass_rate']:.3f}"
            f"      {row['coverage_mean']:.3f}      {row['seconds']:.0f}",
            flush=True,
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"folder": str(args.folder), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
