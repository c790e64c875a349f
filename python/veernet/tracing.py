"""Tracing: follow one curve's centreline down the depth axis of a track."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._device import current_stream, on_device, require_gpu

#: Cost units per 1.0 of a cost parameter.  Costs are integers inside the tracer so that
#: every implementation (CPU, GPU, the NumPy reference) finds the same path, ties
#: included.  255 * 256, so a probability step of 1/255 is a whole number of units.
COST_SCALE = 255 * 256


@dataclass(frozen=True)
class TraceParams:
    """Costs and refinement settings of :func:`trace`.  All distances are in pixels.

    Attributes
    ----------
    miss_cost : float
        Cost of one row in which the path stands off the skeleton.  Rows without any
        skeleton pixel cost the same everywhere, so they never steer the path.
    prob_weight : float
        Cost of one row per unit of ``1 - prob`` at the path (with ``prob`` only).
    jump_cost : float
        Cost per pixel of horizontal move between consecutive rows where the move leaves
        the skeleton.  Keeps speckle, short branches, grid residue and a second curve
        from capturing the path.
    follow_cost : float
        Cost per pixel of horizontal move where the skeleton of either row covers the
        whole move: a curve swinging across the track in a few rows (a gamma-ray kick)
        is followed, not cut, up to the full track width.
    band_threshold : float
        Probability from which a pixel belongs to the band whose centroid refines the
        path to sub-pixel precision.
    max_half_width : int
        Farthest the refinement band reaches on each side of the path (pixels).
    """

    miss_cost: float = 1.0
    prob_weight: float = 1.0
    jump_cost: float = 0.25
    follow_cost: float = 1e-4
    band_threshold: float = 0.5
    max_half_width: int = 16

    def __post_init__(self) -> None:
        for name in ("miss_cost", "prob_weight", "jump_cost", "follow_cost"):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0 <= value <= 1e6):
                raise ValueError(f"TraceParams.{name} must be in [0, 1e6], got {value}")
        if not 0.0 <= self.band_threshold <= 1.0:
            raise ValueError(
                f"TraceParams.band_threshold must be in [0, 1], got {self.band_threshold}"
            )
        if not 0 <= self.max_half_width <= 4096:
            raise ValueError(
                f"TraceParams.max_half_width must be in [0, 4096], got {self.max_half_width}"
            )

    def integer_costs(self) -> tuple[int, int, int, int]:
        """(miss, prob per 1/255, jump, follow) in integer cost units."""
        return (
            round(self.miss_cost * COST_SCALE),
            round(self.prob_weight * COST_SCALE / 255),
            round(self.jump_cost * COST_SCALE),
            round(self.follow_cost * COST_SCALE),
        )

    def kernel_args(self) -> tuple[int, int, int, int, float, int]:
        """The arguments every tracing kernel takes, in order: the integer costs, then
        band_threshold and max_half_width."""
        return (*self.integer_costs(), self.band_threshold, self.max_half_width)


def trace(
    skeleton: npt.ArrayLike,
    prob: npt.ArrayLike | None = None,
    params: TraceParams | None = None,
    *,
    return_path: bool = False,
) -> npt.NDArray[np.float64] | tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    """Centreline of one curve in one track: one sub-pixel column per image row.

    A dynamic programme over rows (Viterbi) picks one column per row, trading the cost
    of standing off the skeleton (and on low probability) against the cost of moving
    sideways, which is low along connected skeleton and high across empty paper; see
    :class:`TraceParams`.  Where ``prob`` is given, each chosen column is refined to the
    probability-weighted centroid of the band of pixels around it with
    ``prob >= band_threshold``.

    Parameters
    ----------
    skeleton : (rows, cols) array of bool or uint8, NumPy or CuPy
        The curve's skeleton inside one track (see :func:`veernet.thin`); rows are depth.
        With CuPy arrays the programme runs on the GPU (same path, see
        :func:`trace_gpu`) and the results are CuPy arrays.
    prob : (rows, cols) array of float, optional
        The curve class's probability, in [0, 1], on the same pixels.
    params : TraceParams, optional
        Costs and refinement settings; the defaults suit 200-dpi scans.
    return_path : bool
        Also return the integer column the programme chose in every row.

    Returns
    -------
    centre : (rows,) ndarray of float64
        Column of the centreline in pixels from the track's left edge; NaN in rows where
        the path is off the skeleton.  Gaps are never filled here: bridging is the
        resampler's decision.
    path : (rows,) ndarray of int32
        Only with ``return_path``: the chosen column of every row.
    """
    if on_device(skeleton):
        ((centre, path),) = trace_gpu([(skeleton, prob)], params)
        return (centre, path) if return_path else centre
    skel, p = _host_inputs(skeleton, prob)
    path, centre = _core.trace(skel, p, *(params or TraceParams()).kernel_args())
    return (centre, path) if return_path else centre


def trace_many(
    jobs: list[tuple[Any, Any]], params: TraceParams | None = None
) -> list[tuple[Any, Any]]:
    """:func:`trace` of several (skeleton, prob) pairs: a list of (centre, path).

    One dispatch by where the data lives: CuPy pairs run in one launch on the GPU
    (:func:`trace_gpu`, side by side across the chip), NumPy pairs one after another on
    the CPU.  The pairs may differ in size; ``prob`` may be None.
    """
    where = {on_device(a) for job in jobs for a in job if a is not None}
    if len(where) > 1:
        raise ValueError("trace_many: the pairs mix NumPy and CuPy arrays; keep them on one device")
    if where == {True}:
        return trace_gpu(jobs, params)
    return [trace(s, p, params, return_path=True) for s, p in jobs]  # type: ignore[misc]


def _host_inputs(
    skeleton: npt.ArrayLike, prob: npt.ArrayLike | None
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float32] | None]:
    """The skeleton and probability map of a CPU trace, checked and laid out for the core."""
    skel = np.asarray(skeleton)
    if skel.ndim != 2:
        raise ValueError(f"trace: skeleton must be 2-D, got shape {skel.shape}")
    if skel.dtype not in (np.bool_, np.uint8):
        raise ValueError(f"trace: skeleton must be bool or uint8, got {skel.dtype}")
    if skel.shape[1] > 65535:
        raise ValueError(f"trace: a track is at most 65535 pixels wide, got {skel.shape[1]}")
    if skel.shape[1] > 1 and skel.strides[1] != 1:
        skel = np.ascontiguousarray(skel)
    if prob is None:
        return skel, None
    p = np.asarray(prob)
    if p.shape != skel.shape:
        raise ValueError(f"trace: prob shape {p.shape} differs from skeleton shape {skel.shape}")
    if not np.issubdtype(p.dtype, np.floating):
        raise ValueError(f"trace: prob must be floating point, got {p.dtype}")
    return skel, np.ascontiguousarray(p, dtype=np.float32)


def trace_gpu(
    jobs: list[tuple[Any, Any]],
    params: TraceParams | None = None,
    *,
    schedule: tuple[int, int] | None = None,
) -> list[tuple[Any, Any]]:
    """Trace several (skeleton, prob) pairs of CuPy arrays at once on the GPU.

    The row recurrence of each pair is cut into chunks of rows that run at once, one warp
    each, after a warm-up from a guessed start; each chunk's start is then checked exactly
    against the end of the chunk above and the few that fail run again, so the result of
    each pair is (centre, path) as CuPy arrays, path-identical to the CPU.  ``schedule``
    (chunk rows, warm-up rows; default ``veernet._core.CUDA_TRACE_SCHEDULE``) changes only
    the speed, never the path; :func:`trace_chunked_cpu` runs the same schedule on the
    CPU.  Runs on the caller's current CuPy stream.  Tracks may be at most
    ``veernet._core.CUDA_MAX_TRACE_COLUMNS`` (2048) pixels wide.
    """
    cupy = require_gpu("trace")
    params = params or TraceParams()
    default = _core.CUDA_TRACE_SCHEDULE
    assert default is not None  # require_gpu has checked that this is a CUDA build
    chunk, warmup = schedule or default
    calls, results = [], []
    for skeleton, prob in jobs:
        if skeleton.ndim != 2:
            raise ValueError(f"trace: skeleton must be 2-D, got shape {skeleton.shape}")
        if skeleton.dtype not in (cupy.bool_, cupy.uint8):
            raise ValueError(f"trace: skeleton must be bool or uint8, got {skeleton.dtype}")
        rows, cols = skeleton.shape
        if cols > _core.CUDA_MAX_TRACE_COLUMNS:
            raise ValueError(
                f"trace: the GPU tracer takes tracks up to {_core.CUDA_MAX_TRACE_COLUMNS} px wide, got {cols}"
            )
        if cols > 1 and skeleton.strides[1] != 1:
            skeleton = cupy.ascontiguousarray(skeleton)
        p = None
        if prob is not None:
            if prob.shape != skeleton.shape:
                raise ValueError(
                    f"trace: prob shape {prob.shape} differs from skeleton shape {skeleton.shape}"
                )
            p = cupy.ascontiguousarray(prob, dtype=cupy.float32)
        path = cupy.zeros(rows, dtype=cupy.int32)
        centre = cupy.full(rows, cupy.nan, dtype=cupy.float64)
        results.append((centre, path))
        if rows and cols:
            calls.append((skeleton, p, path, centre))
        else:
            path[:] = -1 if cols == 0 else 0
    if calls:
        _core.trace_cuda(calls, *params.kernel_args(), current_stream(cupy), chunk, warmup)
    return results


def trace_chunked_cpu(
    skeleton: npt.ArrayLike,
    prob: npt.ArrayLike | None = None,
    params: TraceParams | None = None,
    *,
    chunk: int,
    warmup: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32], dict[str, int]]:
    """The GPU tracer's algorithm run on the CPU: (centre, path, counts).

    The same path as :func:`trace` by the speculative chunked forward pass of the GPU
    tracer (chunks of ``chunk`` rows, each after ``warmup`` rows of warm-up), with its
    schedule run one chunk after another.  It is slower than :func:`trace` here; it exists
    so that the algorithm is tested, and its work counted (``counts``: ``chunks`` and
    ``reruns``, the chunks that failed their check and ran again), on any machine.
    """
    skel, p = _host_inputs(skeleton, prob)
    path, centre, counts = _core.trace_chunked(
        skel, p, *(params or TraceParams()).kernel_args(), chunk, warmup
    )
    return centre, path, dict(counts)
