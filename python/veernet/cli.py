"""The ``veernet`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import resources

import numpy as np

from . import build_info, thin, trace


def _demo(_: argparse.Namespace) -> int:
    with resources.files("veernet").joinpath("data/demo_track.npz").open("rb") as fh:
        data = np.load(fh)
        mask = np.unpackbits(data["mask"], axis=1, count=int(data["cols"])).astype(bool)
        truth = data["truth"].astype(np.float64)
    t0 = time.perf_counter()
    skeleton = thin(mask)
    t1 = time.perf_counter()
    centre = trace(skeleton, mask.astype(np.float32))
    t2 = time.perf_counter()
    found = ~np.isnan(centre)
    gaps = np.diff(np.concatenate([[0], (~found).astype(np.int8), [0]]))
    print(f"bundled track mask: {mask.shape[0]} rows x {mask.shape[1]} px, {mask.mean():.2%} ink")
    print(f"thin:  {skeleton.sum()} skeleton pixels in {1e3 * (t1 - t0):.1f} ms")
    print(
        f"trace: centreline in {found.mean():.1%} of rows, {int((gaps == 1).sum())} gaps left as NaN, {1e3 * (t2 - t1):.1f} ms"
    )
    err = np.abs(centre[found] - truth[found])
    print(
        f"against the true centreline: median |error| {np.median(err):.2f} px, 95th percentile {np.percentile(err, 95):.2f} px"
    )
    return 0


def _info(_: argparse.Namespace) -> int:
    print(json.dumps(build_info(), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="veernet", description="Digitize scanned well logs into LAS curves."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="thin and trace the bundled example track mask").set_defaults(
        func=_demo
    )
    sub.add_parser("info", help="print how this veernet was built").set_defaults(func=_info)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
