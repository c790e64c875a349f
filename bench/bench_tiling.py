"""The tiling stage alone: cutting a track into tiles and blending their predictions back.

The segmenter here costs nothing (it hands each tile back as its four class maps), so what
is timed is the stage the pipeline reports as ``tiling``.  Baseline, measured in the same
run on the same region: the blend as it was before the fifteenth session, which added every
tile's window to a weight map and multiplied and added every tile on its own (about five
array operations, so five kernel launches on the GPU, per tile).  ``segment_region`` now
computes the summed weights once and multiplies a whole batch by the window, leaving one
add per tile.  Both results must be the same to the bit; the script says so.

    python bench/bench_tiling.py [--device cpu|gpu] [--rows 20000] [--width 400]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from veernet._device import array_modules, synchronize
from veernet.segment import _blend_window, _starts, segment_region


class CostsNothing:
    """Each tile's class maps are the tile itself, broadcast to the four classes."""

    classes = ("background", "solid", "dashed", "dotted")

    def __init__(self, tile: int = 256):
        self.tile = tile

    def tile_shape(self, width: int) -> tuple[int, int]:
        return (self.tile, self.tile)

    def predict(self, tiles):  # type: ignore[no-untyped-def]
        xp = array_modules(tiles)[0]
        return xp.ascontiguousarray(xp.broadcast_to(tiles, (tiles.shape[0], 4, *tiles.shape[2:])))


def per_tile_blend(image, rows, cols, segmenter, *, overlap=32, batch=8, keep=None):  # type: ignore[no-untyped-def]
    """The baseline: the blend before the fifteenth session, one tile at a time (no padding
    of small regions: the benchmark's region is larger than a tile)."""
    xp = array_modules(image)[0]
    channels = list(range(len(segmenter.classes))) if keep is None else list(keep)
    region = image[rows[0] : rows[1], cols[0] : cols[1]]
    ph, pw = region.shape
    th, tw = segmenter.tile_shape(pw)
    ov_r, ov_c = min(overlap, th // 4), min(overlap, tw // 4)
    acc = xp.zeros((len(channels), ph, pw), np.float32)
    weight = xp.zeros((ph, pw), np.float32)
    win = xp.asarray(np.outer(_blend_window(th, ov_r), _blend_window(tw, ov_c)))
    positions = [(r, c) for r in _starts(ph, th, ov_r) for c in _starts(pw, tw, ov_c)]
    for k in range(0, len(positions), batch):
        chunk = positions[k : k + batch]
        tiles = (
            xp.stack([region[r : r + th, c : c + tw] for r, c in chunk])[:, None].astype(np.float32)
            / 255.0
        )
        probs = segmenter.predict(tiles)
        for (r, c), p in zip(chunk, probs, strict=True):
            acc[:, r : r + th, c : c + tw] += p[channels] * win
            weight[r : r + th, c : c + tw] += win
    acc /= xp.maximum(weight, 1e-12)
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--width", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", help="write the table here too")
    args = ap.parse_args()
    if args.device == "gpu":
        import cupy as xp
    else:
        xp = np
    rng = np.random.default_rng(0)
    image = xp.asarray((rng.random((args.rows, args.width + 200)) * 255).astype(np.uint8))
    seg = CostsNothing()
    rows, cols = (0, args.rows), (100, 100 + args.width)
    n_tiles = len(_starts(args.rows, seg.tile, 32)) * len(_starts(args.width, seg.tile, 32))

    def timed(fn):  # type: ignore[no-untyped-def]
        times = []
        for _ in range(args.repeat + 1):  # the first run warms caches and compiles kernels
            synchronize(xp)
            t0 = time.perf_counter()
            out = fn()
            synchronize(xp)
            times.append(time.perf_counter() - t0)
        return out, float(np.median(times[1:]))

    table = []
    for keep in (None, [1, 2]):
        base, t_base = timed(lambda k=keep: per_tile_blend(image, rows, cols, seg, keep=k))
        new, t_new = timed(lambda k=keep: segment_region(image, rows, cols, seg, keep=k))
        # The segmenter's own time (one copy per batch) is in both; it is small against either.
        same = bool(xp.array_equal(base, new))
        table.append(
            {
                "device": args.device,
                "classes kept": "all" if keep is None else str(keep),
                "region": f"{args.rows}x{args.width}",
                "tiles": n_tiles,
                "per-tile blend ms": round(t_base * 1e3, 2),
                "segment_region ms": round(t_new * 1e3, 2),
                "speed-up": round(t_base / t_new, 2),
                "same bits": same,
            }
        )
    print("| " + " | ".join(table[0]) + " |")
    print("|" + "---|" * len(table[0]))
    for row in table:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
