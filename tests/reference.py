"""Slow, obviously correct references for the compiled kernels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from veernet.tracing import TraceParams


def _step_prefix(
    skel: npt.NDArray[np.bool_], r: int, costs: tuple[int, int, int, int]
) -> npt.NDArray[np.int64]:
    """C[x]: summed horizontal step costs from column 0 to x, moving into row r."""
    _, _, jump, follow = costs
    covered = skel[r - 1] | skel[r]
    step = np.where(covered[:-1] & covered[1:], follow, jump).astype(np.int64)
    return np.concatenate([[0], np.cumsum(step)])


def _cells(
    skel: npt.NDArray[np.bool_], q: npt.NDArray[np.int64], r: int, costs: tuple[int, int, int, int]
) -> npt.NDArray[np.int64]:
    miss, prob_cost, _, _ = costs
    return np.where(skel[r], 0, miss).astype(np.int64) + prob_cost * (255 - q[r])


def _quantize(
    prob: npt.NDArray[np.floating] | None, shape: tuple[int, int]
) -> npt.NDArray[np.int64]:
    if prob is None:
        return np.full(shape, 255, dtype=np.int64)
    p = np.nan_to_num(np.asarray(prob, dtype=np.float32), nan=0.0)
    p = np.clip(p, 0.0, 1.0).astype(np.float64)
    return np.rint(p * 255.0).astype(np.int64)


def _centres(skel, prob, path, params: TraceParams) -> npt.NDArray[np.float64]:
    rows, cols = skel.shape
    out = np.full(rows, np.nan)
    for r in range(rows):
        c = int(path[r])
        if not skel[r, c]:
            continue
        near = [c, int(path[r - 1]) if r > 0 else c, int(path[r + 1]) if r + 1 < rows else c]
        a, b = min(near), max(near)
        sl = c
        while sl - 1 >= a and skel[r, sl - 1]:
            sl -= 1
        sr = c
        while sr + 1 <= b and skel[r, sr + 1]:
            sr += 1
        mid = 0.5 * (sl + sr)
        if prob is None:
            out[r] = mid
            continue
        p = np.asarray(prob[r], dtype=np.float32)
        lo = sl
        while (
            lo - 1 >= 0
            and sl - (lo - 1) <= params.max_half_width
            and p[lo - 1] >= params.band_threshold
        ):
            lo -= 1
        hi = sr
        while (
            hi + 1 < cols
            and hi + 1 - sr <= params.max_half_width
            and p[hi + 1] >= params.band_threshold
        ):
            hi += 1
        w = np.clip(p[lo : hi + 1].astype(np.float64), 0.0, None)
        out[r] = float(np.sum(w * np.arange(lo, hi + 1)) / w.sum()) if w.sum() > 0 else mid
    return out


def trace_reference(skel, prob=None, params: TraceParams | None = None):
    """The tracer's dynamic programme with NumPy running minima (same ties as the C++)."""
    params = params or TraceParams()
    costs = params.integer_costs()
    skel = np.asarray(skel).astype(bool)
    rows, cols = skel.shape
    q = _quantize(prob, skel.shape)
    idx = np.arange(cols)
    back = np.zeros((rows, cols), dtype=np.int64)
    D = _cells(skel, q, 0, costs)
    for r in range(1, rows):
        C = _step_prefix(skel, r, costs)
        M = D - C
        fmin = np.minimum.accumulate(M)
        farg = np.maximum.accumulate(np.where(M == fmin, idx, -1))  # nearest on ties
        P = D + C
        gmin = np.minimum.accumulate(P[::-1])[::-1]
        garg = np.minimum.accumulate(np.where(P == gmin, idx, cols)[::-1])[::-1]
        f = fmin + C
        g = gmin - C
        left = (f < g) | ((f == g) & (idx - farg <= garg - idx))
        back[r] = np.where(left, farg, garg)
        D = np.where(left, f, g) + _cells(skel, q, r, costs)
    path = np.empty(rows, dtype=np.int64)
    path[-1] = int(np.argmin(D))
    for r in range(rows - 1, 0, -1):
        path[r - 1] = back[r, path[r]]
    return _centres(skel, prob, path, params), path


def trace_brute_force(skel, prob=None, params: TraceParams | None = None):
    """The same programme by trying every predecessor of every cell: O(rows * cols^2)."""
    params = params or TraceParams()
    costs = params.integer_costs()
    skel = np.asarray(skel).astype(bool)
    rows, cols = skel.shape
    q = _quantize(prob, skel.shape)
    idx = np.arange(cols)
    back = np.zeros((rows, cols), dtype=np.int64)
    D = _cells(skel, q, 0, costs)
    for r in range(1, rows):
        C = _step_prefix(skel, r, costs)
        move = np.abs(C[None, :] - C[:, None])  # [a, b]: cost of moving a -> b
        total = D[:, None] + move
        dist = np.abs(idx[:, None] - idx[None, :])
        for b in range(cols):
            # cheapest, then nearest, then leftmost
            order = np.lexsort((idx, dist[:, b], total[:, b]))
            back[r, b] = order[0]
        D = total[back[r], idx] + _cells(skel, q, r, costs)
    path = np.empty(rows, dtype=np.int64)
    path[-1] = int(np.argmin(D))
    for r in range(rows - 1, 0, -1):
        path[r - 1] = back[r, path[r]]
    return _centres(skel, prob, path, params), path


def random_trace_case(rng: np.random.Generator, rows: int, cols: int):
    """A random skeleton, probability map (or None) and cost set for parity tests."""
    skel = rng.random((rows, cols)) < rng.uniform(0.0, 0.3)
    prob = rng.random((rows, cols)).astype(np.float32) if rng.random() < 0.7 else None
    params = TraceParams(
        miss_cost=float(rng.uniform(0, 3)),
        prob_weight=float(rng.uniform(0, 2)),
        jump_cost=float(rng.choice([0.0, rng.uniform(0, 1)])),
        follow_cost=float(rng.uniform(0, 0.1)),
        band_threshold=float(rng.uniform(0, 1)),
        max_half_width=int(rng.integers(0, 8)),
    )
    return skel, prob, params


def random_scheduled_trace_case(rng: np.random.Generator):
    """A random tracing problem (skeleton, prob, params) and a random schedule of the GPU
    tracer (chunk rows, warm-up rows), down to 1-row chunks and no warm-up, so that many
    chunks fail their check and run again."""
    rows = int(rng.integers(1, 400))
    cols = int(rng.choice([1, 7, 33, 129, 513, 2048]))
    schedule = (int(rng.integers(1, 50)), int(rng.integers(0, 80)))
    return (*random_trace_case(rng, rows, cols), schedule)


def random_thin_schedule(rng: np.random.Generator) -> tuple[int, int, int]:
    """A random schedule of the GPU thinning (tile rows, tile words, sub-iterations per
    round), down to tiles of one word and rounds of two sub-iterations."""
    steps = 2 * int(rng.integers(1, 9))
    return (int(rng.integers(steps, steps + 40)), int(rng.integers(1, 9)), steps)


def random_mask(rng, max_side: int, dilate_share: float, max_iterations: int):
    """A random mask up to ``max_side`` square: salt of random density, dilated into blobs
    and bands (1 to ``max_iterations`` times) in ``dilate_share`` of the draws."""
    from scipy import ndimage

    rows, cols = (int(v) for v in rng.integers(1, max_side, 2))
    m = rng.random((rows, cols)) < rng.random()
    if rng.random() < dilate_share:
        m = ndimage.binary_dilation(m, iterations=int(rng.integers(1, max_iterations + 1)))
    return m


def blend_reference(image, rows, cols, predict, tile_shape, overlap: int):
    """Per-class probabilities of a region as a float64 weighted mean, pixel by pixel, of
    the predictions of every tile that covers the pixel.

    Tiles of ``tile_shape`` start every ``size - overlap`` pixels (overlap capped at a quarter
    of the tile), the last one flush with the region's end; a region smaller than a tile is
    padded with paper (255).  A tile's weight at a pixel is ``min((d + 0.5) / overlap, 1)``
    along each axis, ``d`` the pixel's distance to the tile's nearer edge (1 without
    overlap), multiplied over the two axes.  ``predict`` maps one (1, 1, th, tw) float tile
    in [0, 1] to its (1, classes, th, tw) probabilities."""
    region = np.asarray(image[rows[0] : rows[1], cols[0] : cols[1]])
    h, w = region.shape
    th, tw = tile_shape
    padded = np.full((max(h, th), max(w, tw)), 255, np.uint8)
    padded[:h, :w] = region

    def starts(length, size, ov):
        if length <= size:
            return [0]
        out = list(range(0, length - size, size - ov))
        return [*out, length - size]

    def ramp(size, ov):
        d = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float64)
        return np.minimum((d + 0.5) / ov, 1.0) if ov > 0 and size > 2 * ov else np.ones(size)

    ov_r, ov_c = min(overlap, th // 4), min(overlap, tw // 4)
    num = den = None
    for r in starts(padded.shape[0], th, ov_r):
        for c in starts(padded.shape[1], tw, ov_c):
            tile = padded[r : r + th, c : c + tw].astype(np.float64) / 255.0
            p = np.asarray(predict(tile[None, None].astype(np.float32)), np.float64)[0]
            wgt = np.outer(ramp(th, ov_r), ramp(tw, ov_c))
            if num is None:
                num = np.zeros((p.shape[0], *padded.shape))
                den = np.zeros(padded.shape)
            num[:, r : r + th, c : c + tw] += p * wgt
            den[r : r + th, c : c + tw] += wgt
    return (num / den)[:, :h, :w]
