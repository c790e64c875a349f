"""digitize: a scan and its layout in, depth-indexed curves with a verdict out."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ._core import BUILD_INFO
from ._device import array_modules, gpu_usable, require_gpu, synchronize
from .gate import CurveQC, FitGate, gaps, own_coverage, score, verdict
from .las import write_las
from .layout import CurveSpec, Layout, LayoutError, Track, load_layout
from .resample import DEFAULT_MAX_GAP, default_step, depth_grid, fit_curve, runs
from .scan import Scan, ScanError, load_scan
from .segment import Segmenter, _ink, curve_ink, get_segmenter, segment_region
from .thinning import thin
from .tracing import TraceParams, trace_many

#: A traced curve within this many pixels of a track edge (without a backup scale) is
#: pinned there, off its scale: the paper does not record its value.
OFF_SCALE_EDGE_PX = 2.5

#: Class probability from which a pixel joins a curve's mask.  Chosen by the threshold
#: sweep in docs/threshold_sweep.md, on tuning logs apart from the validation set: the
#: lower the threshold, the higher mask recall and the fit-gate pass rate, while the
#: median recovered R² stays level; 0.05 is the lowest value swept.
DEFAULT_THRESHOLD = 0.05
#: Classes whose mask starts at another probability (by default, when no threshold is
#: given).  Dotted curves are the class the model is least sure of; with the ninth
#: session's model (a weight average, continued in the tenth) 0.01 passed more of them
#: without lowering the R² tail below the single threshold's (engine/MODEL_HISTORY.md, "Ninth
#: session").  Dashed at 0.02 since the eleventh session's model: 6 more validation curves
#: pass, none fewer, the 10th percentile 0.886 -> 0.884 ("Eleventh session").
CLASS_THRESHOLDS: dict[str, float] = {"dashed": 0.02, "dotted": 0.01}

#: Where the model's mask of a curve has a hole, the ink that continues it still counts as
#: evidence: grid-free ink (the classical map) connected to the mask, not covered by
#: another curve's mask, joins the mask before thinning.  Ink pieces up to twice this many
#: pixels apart count as connected, so dots and dashes link up.  Chosen on the tuning logs
#: (docs/ink_extension.md); None turns the extension off.
INK_LINK_PX = 3
#: The largest link distance accepted (pixels).
MAX_INK_LINK_PX = 64

#: Straight vertical runs of skeleton this long (rows) within OFF_SCALE_EDGE_PX of a track's
#: edges are its border lines, not the curve, and are dropped before tracing (measured on
#: the tuning logs): a curve inside its track is followed on its own ink even where the
#: model also marks the border, and a stretch pinned along the border leaves a gap that
#: the off-scale rule reads.
BORDER_LINE_ROWS = 40

#: A gap in a traced curve whose ends lie this close in column (pixels) is filled along a
#: straight stroke of ink that spans it (see :func:`bridge_straight_gaps`): at least this
#: share of its rows inked, with no blank longer than this many rows.
STRAIGHT_BRIDGE_PX = 1.0
STRAIGHT_INK_SHARE = 1 / 3
STRAIGHT_BLANK_ROWS = 12
#: Ink within this many pixels of another curve's trace is that curve's.
STRAIGHT_TAKEN_PX = 3.0

__all__ = ["CurveResult", "EmptyTrackError", "LayoutError", "Result", "ScanError", "digitize"]


class EmptyTrackError(ValueError):
    """A curve of the layout left no trace at all in its track."""


@dataclass
class CurveResult:
    """One recovered curve: values on the depth grid (NaN = NULL) and its QC."""

    mnemonic: str
    unit: str
    track: str
    spec: CurveSpec
    depth: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]
    qc: CurveQC
    #: Per image row of the digitized interval: traced column (image pixels, NaN = none).
    trace_columns: npt.NDArray[np.float64] = field(repr=False, default_factory=lambda: np.zeros(0))
    #: With ``keep_masks``: the class mask over the digitized rows of the track region,
    #: whose first column is image column ``mask_col0``.
    mask: npt.NDArray[np.bool_] | None = field(repr=False, default=None)
    mask_col0: int = 0


@dataclass
class Result:
    source: str
    layout: Layout
    depth: npt.NDArray[np.float64]
    curves: list[CurveResult]
    segmenter: str
    device: str
    provenance: dict[str, str]
    timings: dict[str, float]
    rows: tuple[int, int]

    @property
    def accepted(self) -> bool:
        return all(c.qc.status == "accept" for c in self.curves)

    def to_las(self, path: str | Path) -> None:
        """Write the curves as LAS 2.0 (atomically: a failure leaves no partial file)."""
        other = [f"{k}: {v}" for k, v in self.provenance.items()]
        curves = [
            (c.mnemonic, c.unit, c.spec.description or c.mnemonic, c.value) for c in self.curves
        ]
        write_las(path, self.depth, self.layout.depth.unit, curves, self.layout.well, other)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "segmenter": self.segmenter,
            "device": self.device,
            "accepted": self.accepted,
            "depth": {
                "unit": self.layout.depth.unit,
                "start": float(self.depth[0]) if len(self.depth) else None,
                "stop": float(self.depth[-1]) if len(self.depth) else None,
                "samples": len(self.depth),
            },
            "curves": [
                {
                    "mnemonic": c.mnemonic,
                    "track": c.track,
                    "unit": c.unit,
                    **{k: _json_number(v) for k, v in c.qc.as_dict().items()},
                }
                for c in self.curves
            ],
            "provenance": self.provenance,
            "timings_s": self.timings,
        }

    def to_json(self, path: str | Path) -> None:
        from .io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def digitize(
    image: str | Path | npt.NDArray[np.uint8] | Scan,
    layout: str | Path | dict[str, Any] | Layout,
    *,
    segmenter: str | Segmenter = "auto",
    device: str = "auto",
    step: float | None = None,
    max_gap: float | None = None,
    page: int = 0,
    reference: str | Path | None = None,
    gate: FitGate | None = None,
    trace_params: TraceParams | None = None,
    threshold: float | None = None,
    keep_masks: bool = False,
    one_class_per_track: bool = True,
    allow_empty: bool = False,
    ink_link: int | None = INK_LINK_PX,
) -> Result:
    """Digitize every curve of ``layout`` from a scan.

    Parameters
    ----------
    image : path, Scan or (rows, cols) uint8 array (0 = black ink)
    layout : path to a TOML layout, a dict of the same schema, or a Layout
    segmenter : "auto" (the shipped learned model), "onnx" (the same), "classical" (the
        baseline, no model needed), or a Segmenter object
    device : "cpu", "gpu" (ink map, masks, thinning and tracing on the GPU through CuPy; the
        segmenter there too when it is TensorRT, else in ONNX Runtime on the CPU, its
        probabilities going up once per track), or "auto" (the GPU when one is usable)
    step : depth step of the output (layout units); default the standard 0.5 ft / 0.1524 m,
        or finer where the scan resolves finer: two pixel rows' depth rounded down to 1, 2
        or 5 x 10^k (:func:`veernet.resample.default_step`)
    max_gap : longest gap bridged (layout units); default 1 ft / 0.3 m
    page : page of a multi-page TIFF
    reference : a LAS file of the true curves, to score each curve (R², MAE)
    gate : the acceptance rule
    threshold : class probability from which a pixel belongs to a curve's mask, for every
        class (the recall lever: lower favours continuity); default DEFAULT_THRESHOLD,
        with the exceptions in CLASS_THRESHOLDS
    keep_masks : keep each curve's class mask (``CurveResult.mask``), for evaluation
    one_class_per_track : refuse layouts listing several curves in one track when the
        segmenter cannot tell them apart (False: trace each anyway on the shared mask,
        as the evaluation of the classical baseline does)
    allow_empty : a curve with no trace at all becomes all NULL with status review
        (default: :class:`EmptyTrackError`)
    ink_link : extend each curve's mask along the scan's ink that continues it (see
        :func:`extend_along_ink`; pieces up to ``2 * ink_link`` pixels apart link) and fill
        a trace's gap along a straight stroke of ink joining its ends (see
        :func:`bridge_straight_gaps`), for a segmenter that separates styles; None: the mask
        alone
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    lay = layout if isinstance(layout, Layout) else load_layout(layout)
    if isinstance(image, Scan):
        scan = image
    elif isinstance(image, np.ndarray):
        if image.ndim != 2 or image.dtype != np.uint8:
            raise ScanError(
                f"<array>: expected a 2-D uint8 grey image, got {image.dtype} with shape {image.shape}"
            )
        scan = Scan(image, "<array>", "", 0)
    else:
        scan = load_scan(image, page=page)
    timings["decode"] = time.perf_counter() - t0
    t_setup = time.perf_counter()
    if device not in ("auto", "cpu", "gpu"):
        raise ValueError(f"device {device!r} is not known (choose auto, cpu or gpu)")
    cupy = None
    if device == "gpu" or (device == "auto" and gpu_usable()):
        cupy = require_gpu("digitize --device gpu")
    seg = (
        get_segmenter(segmenter, "gpu" if cupy is not None else "cpu")
        if isinstance(segmenter, str)
        else segmenter
    )
    img = scan.image
    n_rows, n_cols = img.shape
    lay.check_image(
        n_rows, n_cols, separates_styles=seg.separates_styles or not one_class_per_track
    )
    unit = lay.depth.unit
    max_gap = DEFAULT_MAX_GAP[unit] if max_gap is None else max_gap
    if ink_link is not None and not 0 <= ink_link <= MAX_INK_LINK_PX:
        raise ValueError(
            f"ink_link must be in [0, {MAX_INK_LINK_PX}] pixels or None, got {ink_link}"
        )
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if step is not None and not (step > 0 and math.isfinite(step)):
        raise ValueError(f"step must be positive, got {step}")
    rule = gate or FitGate()
    params = trace_params or TraceParams()

    r0 = max(0, int(math.floor(lay.depth.top_row)))
    r1 = min(n_rows, int(math.ceil(lay.depth.bottom_row)) + 1)
    rows = np.arange(r0, r1, dtype=np.float64)
    row_depth = lay.depth.depth(rows)
    if step is None:
        step = default_step(unit, float(np.median(np.diff(row_depth))) if len(rows) > 1 else 0.0)
    grid = depth_grid(float(row_depth[0]), float(row_depth[-1]), step)

    ref = _read_reference(reference) if reference is not None else None
    results: list[CurveResult] = []
    # Setup: the device, the segmenter (loading a model), the layout and reference checks.
    timings["setup"] = time.perf_counter() - t_setup
    for k in ("tiling", "segmenter", "ink", "thin", "trace", "resample"):
        timings[k] = 0.0
    xp = np if cupy is None else cupy
    # On the GPU the scan goes up once; a device segmenter (TensorRT) cuts and blends its
    # tiles there, and the ink map is made there, so probabilities, masks, skeletons and
    # paths never come back: only each curve's traced columns do.
    d_img = img if cupy is None else cupy.asarray(img)
    seg_img = d_img if getattr(seg, "device_arrays", False) else img
    for track in lay.tracks:
        c0 = max(0, int(math.floor(track.left)))
        c1 = min(n_cols, int(math.ceil(track.right)) + 1)
        # Only the channels of this track's curves are kept: memory stays at two float32
        # maps per curve of one track (its class probability and the probability it is
        # traced on), whatever the number of classes and tracks.
        keep = [seg.classes.index(c.style) for c in track.curves]
        probs = segment_region(seg_img, (r0, r1), (c0, c1), seg, keep=keep, timings=timings)
        t = time.perf_counter()
        # The same kernels run on the CPU or, with CuPy, as their GPU twins: identical
        # masks, skeletons and paths, so identical LAS.
        d_probs = xp.asarray(probs)
        masks = d_probs >= xp.asarray(_thresholds(track, threshold))[:, None, None]
        evidence = masks
        if ink_link is not None and seg.separates_styles:
            ink = curve_ink(d_img, (r0, r1), (c0, c1))
            evidence = [
                extend_along_ink(masks[i], ink & ~_other_curves(masks, keep, i, xp), ink_link)
                for i in range(len(keep))
            ]
        synchronize(xp)
        timings["ink"] += time.perf_counter() - t
        t = time.perf_counter()
        skeletons = [thin(e) for e in evidence]
        synchronize(xp)
        timings["thin"] += time.perf_counter() - t
        # All curves of the track are traced at once: on the GPU one launch runs them side
        # by side, and their paths come back together.
        t = time.perf_counter()
        inputs = [
            _trace_input(track, curve, skeletons[i], trace_probability(d_probs, keep, i), c0)
            for i, curve in enumerate(track.curves)
        ]
        traced = trace_many([(inp.skeleton, inp.prob) for inp in inputs], params)
        paths = [_to_host(centre_path, cupy) for centre_path in traced]
        if ink_link is not None and seg.separates_styles:
            cols = [_image_columns(p[0], inp, c0) for p, inp in zip(paths, inputs, strict=True)]
            for i, (centre, path) in enumerate(paths):
                others = [cols[j] for j in range(len(keep)) if j != i]
                bridge_straight_gaps(centre, path, inputs[i], track, img, (r0, c0), others)
        timings["trace"] += time.perf_counter() - t
        for i, curve in enumerate(track.curves):
            results.append(
                _curve(
                    track,
                    curve,
                    inputs[i],
                    paths[i][0],
                    paths[i][1],
                    probs[i],
                    masks[i] if keep_masks else None,
                    c0,
                    row_depth,
                    grid,
                    max_gap,
                    rule,
                    ref,
                    timings,
                    allow_empty,
                    cupy,
                )
            )
        del probs, d_probs, masks, evidence, skeletons, inputs
    prov = {
        "SOURCE": Path(scan.source).name,
        "SHA256": scan.sha256 or "n/a (array input)",
        "PAGE": str(scan.page),
        "VEERNET": BUILD_INFO["version"],
        "SEGMENTER": f"{seg.name} {seg.digest}",
        "LAYOUT_SHA256": lay.digest(),
    }
    timings["total"] = time.perf_counter() - t0
    return Result(
        scan.source,
        lay,
        grid,
        results,
        seg.name,
        "cpu" if cupy is None else "gpu",
        prov,
        timings,
        (r0, r1),
    )


def class_threshold(style: str) -> float:
    """The probability from which a pixel joins the mask of a curve of class ``style`` when
    no threshold is given: DEFAULT_THRESHOLD, or the class's own in CLASS_THRESHOLDS."""
    return CLASS_THRESHOLDS.get(style, DEFAULT_THRESHOLD)


def _thresholds(track: Track, threshold: float | None) -> npt.NDArray[np.float32]:
    """The mask threshold of each curve of ``track`` (see ``digitize``'s ``threshold``)."""
    return np.array(
        [class_threshold(c.style) if threshold is None else threshold for c in track.curves],
        np.float32,
    )


def trace_probability(probs: Any, keep: list[int], i: int) -> Any:
    """The probability curve ``i`` is traced on: its class's, less whatever another class
    of the track claims more strongly at the pixel (NumPy or CuPy).

    Where a curve of another class runs, the model's probability for this one can reach
    the mask threshold too; the tracer's probability cost then steers away from it.  Where
    two curves cross, both classes are confident and nothing changes.
    """
    others = _other_classes(keep, i)
    own = probs[i]
    if not others:
        return own
    excess = probs[others].max(axis=0) - own
    return (own - excess.clip(0, None)).clip(0, None)


def _other_classes(keep: list[int], i: int) -> list[int]:
    """Indices of the track's curves of another class than curve ``i`` (``keep``: classes)."""
    return [j for j in range(len(keep)) if keep[j] != keep[i]]


def _other_curves(masks: Any, keep: list[int], i: int, xp: Any) -> Any:
    """Union of the masks of the track's curves of another class than curve ``i``."""
    others = _other_classes(keep, i)
    return masks[others].any(axis=0) if others else xp.zeros_like(masks[i])


def extend_along_ink(mask: Any, ink: Any, link: int) -> Any:
    """``mask`` joined by the pieces of ``ink`` connected to it.

    Pieces of ``mask | ink`` at most ``2 * link`` pixels apart (in city-block distance)
    count as connected, so the dots and dashes of a curve that the model missed link up
    with the part it found; the pixels added are ink pixels only.  Works on NumPy or, with
    SciPy's CuPy twin, on CuPy arrays.
    """
    xp, ndimage = array_modules(mask)
    if not mask.any():
        return mask
    allowed = mask | ink
    linked = ndimage.binary_dilation(allowed, iterations=link) if link > 0 else allowed
    labels, n = ndimage.label(linked, structure=np.ones((3, 3), dtype=bool))
    touched = xp.zeros(int(n) + 1, dtype=bool)
    touched[labels[mask]] = True
    touched[0] = False
    return touched[labels] & allowed


def bridge_straight_gaps(
    centre: npt.NDArray[np.float64],
    path: npt.NDArray[np.int32],
    inp: _TraceInput,
    track: Track,
    img: npt.NDArray[np.uint8],
    origin: tuple[int, int],
    others: list[npt.NDArray[np.float64]],
) -> None:
    """Fill (in place) the gaps of a traced curve that a straight stroke of ink spans.

    A gap (rows where ``centre`` is NaN) is filled with the straight line between its ends
    when its two ends lie in the same column (within STRAIGHT_BRIDGE_PX) and the scan
    holds ink in that column (one pixel either side) along the gap: at least
    STRAIGHT_INK_SHARE of its rows, with no blank longer than STRAIGHT_BLANK_ROWS (the
    blanks of a dashed or dotted stroke).  Rows where another curve of the track is traced
    within STRAIGHT_TAKEN_PX of the column (``others``: their image columns per row, NaN
    where untraced) hold its ink: they count neither as ink nor as blank.  Columns along
    the track's border lines are never bridged.

    A curve that holds one value is drawn as such a vertical line, which the segmenter,
    like the grid removal of the ink map, takes for a grid line; the trace's ends, in one
    column on both sides, say it is the curve.

    ``centre`` and ``path`` are what the tracer found on ``inp``; ``origin`` the image
    row and column of the traced region's first pixel; ``img`` the scan (host).
    """
    n_rows = len(centre)
    for a, b in runs(np.isnan(centre)):
        if a == 0 or b == n_rows:
            continue
        gap = straight_gap(centre, inp, track, img, origin, others, a, b)
        if gap is None or not ink_spans_gap(*gap[1:]):
            continue
        centre[a:b] = np.linspace(centre[a - 1], centre[b], b - a + 2)[1:-1]
        path[a:b] = np.rint(centre[a:b]).astype(np.int32)


def straight_gap(
    centre: npt.NDArray[np.float64],
    inp: _TraceInput,
    track: Track,
    img: npt.NDArray[np.uint8],
    origin: tuple[int, int],
    others: list[npt.NDArray[np.float64]],
    a: int,
    b: int,
) -> tuple[int, npt.NDArray[np.bool_], npt.NDArray[np.bool_]] | None:
    """What :func:`bridge_straight_gaps` sees of the gap ``a:b`` of a trace (its ends at
    rows ``a - 1`` and ``b``): None unless both ends lie in one column (within
    STRAIGHT_BRIDGE_PX) away from the track's border; else that image column, the gap's
    rows where the scan holds ink there (one pixel either side) and no other curve is
    traced, and the rows where another curve is (``taken``)."""
    if abs(centre[a - 1] - centre[b]) > STRAIGHT_BRIDGE_PX:
        return None
    r0, c0 = origin  # c0: the track's first column, as digitize cuts the region
    copy = math.floor(centre[a - 1] / inp.n)  # of the track, for a backup scale
    col = int(round(0.5 * (centre[a - 1] + centre[b]))) - copy * inp.n + inp.a + c0
    if min(col - track.left, track.right - col) < OFF_SCALE_EDGE_PX + 1:
        return None
    hi = int(math.ceil(track.right)) + 1
    ink = _ink(img[r0 + a : r0 + b, c0:hi], 255.0)[:, col - 1 - c0 : col + 2 - c0]
    # Rows where another curve's trace runs by: its ink, neither showing nor breaking
    # the stroke.
    taken = np.zeros(b - a, bool)
    for other in others:
        taken |= np.abs(other[a:b] - col) <= STRAIGHT_TAKEN_PX  # NaN: False
    return col, ink.any(axis=1) & ~taken, taken


def ink_spans_gap(inked: npt.NDArray[np.bool_], taken: npt.NDArray[np.bool_]) -> bool:
    """Whether a gap's ink (``inked``, rows ``taken`` by another curve excluded) is a
    stroke across it: inked in at least STRAIGHT_INK_SHARE of its rows, with no blank
    longer than STRAIGHT_BLANK_ROWS (taken rows count neither way)."""
    blank = max((e - s for s, e in runs(~inked & ~taken)), default=0)
    return bool(blank <= STRAIGHT_BLANK_ROWS and inked.mean() >= STRAIGHT_INK_SHARE)


def _image_columns(
    centre: npt.NDArray[np.float64], inp: _TraceInput, c0: int
) -> npt.NDArray[np.float64]:
    """Image column of each row of a trace on ``inp`` (NaN where untraced): for a curve
    with a backup scale, where its ink is, in whichever copy of the track it was traced."""
    return centre - np.floor(centre / inp.n) * inp.n + inp.a + c0


def drop_vertical_runs(skeleton: Any, columns: npt.NDArray[np.intp], min_rows: int) -> Any:
    """``skeleton`` (changed in place) without its vertical runs of at least ``min_rows``
    pixels in ``columns``: straight lines such as a track's border.  NumPy or CuPy."""
    if len(columns) == 0:
        return skeleton
    xp, ndimage = array_modules(skeleton)
    idx = xp.asarray(columns)
    strip = skeleton[:, idx]
    vertical = np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]], dtype=bool)
    labels, count = ndimage.label(strip, structure=vertical)
    if int(count):
        long = xp.bincount(labels.ravel()) >= min_rows
        long[0] = False
        strip[long[labels]] = 0
        skeleton[:, idx] = strip
    return skeleton


@dataclass
class _TraceInput:
    """What one curve is traced on: its skeleton and trace probability (NumPy or CuPy),
    for a curve with a backup scale its track's columns ``a : a + n`` of the region side
    by side in copies (otherwise the region itself, with ``n`` its width)."""

    skeleton: Any
    prob: Any
    a: int
    n: int


def _trace_input(
    track: Track, curve: CurveSpec, skeleton: Any, d_prob: Any, c0: int
) -> _TraceInput:
    """The skeleton and probability that ``curve`` is traced on (see :class:`_TraceInput`);
    ``d_prob`` is its trace probability (:func:`trace_probability`)."""
    if curve.wrap:
        a = min(max(0, int(round(track.left)) - c0), skeleton.shape[1] - 1)
        n = max(1, min(int(round(track.width)), skeleton.shape[1] - a))
    else:
        a, n = 0, skeleton.shape[1]
    # The track's border lines run along its edges.  A path along them costs little
    # wherever the model marks them as the curve, though a curve inside the track does not
    # run there, a curve pinned at the edge reads off scale either way, and a curve with a
    # backup scale crosses the edges instead (where its copies meet).  Long vertical runs
    # of skeleton there are dropped.
    cols = c0 + a + np.arange(n)
    edges = np.flatnonzero(
        (cols - track.left < OFF_SCALE_EDGE_PX) | (track.right - cols < OFF_SCALE_EDGE_PX)
    )
    view = drop_vertical_runs(skeleton[:, a : a + n].copy(), edges, BORDER_LINE_ROWS)
    if not curve.wrap:
        return _TraceInput(view, d_prob, a, n)
    # A backup scale makes the track's columns cyclic: traced over copies of the track
    # side by side, a curve that leaves one edge and comes back at the other is one
    # continuous path, and the copy it is in counts its wraps.  Two copies serve a backup
    # on one side, three both sides; no more, so that a wrong turn through a seam cannot
    # stack up (measured: three copies for a one-sided backup gave the same median R² but
    # a far worse tail).
    copies = 3 if curve.wrap == "both" else 2
    xp = array_modules(skeleton)[0]
    return _TraceInput(xp.tile(view, (1, copies)), xp.tile(d_prob[:, a : a + n], (1, copies)), a, n)


def _curve(
    track: Track,
    curve: CurveSpec,
    inp: _TraceInput,
    centre_s: npt.NDArray[np.float64],
    path_s: npt.NDArray[np.int32],
    prob: Any,
    mask: Any,
    c0: int,
    row_depth: npt.NDArray[np.float64],
    grid: npt.NDArray[np.float64],
    max_gap: float,
    rule: FitGate,
    ref: tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]] | None,
    timings: dict[str, float],
    allow_empty: bool = False,
    cupy: Any = None,
) -> CurveResult:
    """Read, resample and judge one traced curve.  ``centre_s`` and ``path_s`` are what
    the tracer found on ``inp`` (host arrays), ``prob`` the curve's class probability
    (where the segmenter left it: on the GPU for a device segmenter) and ``mask`` its
    class mask, kept with ``keep_masks`` (else None)."""
    t = time.perf_counter()
    columns = _image_columns(centre_s, inp, c0)  # of the ink
    local = columns - track.left  # drawn, from the left edge
    if curve.wrap:
        n = inp.n
        copy = np.floor(centre_s / n)
        unwrapped = local + copy * track.width
        if np.any(~np.isnan(unwrapped)):
            # The copies are interchangeable; the backup scale says which is the main one:
            # with a backup past the right edge the curve's low end lies on the main
            # scale, past the left edge its high end, past both its median.
            q = {"right": 1.0, "left": 99.0, "both": 50.0}[curve.wrap]
            unwrapped -= np.floor(np.nanpercentile(unwrapped, q) / track.width) * track.width
        position = unwrapped
        path_cols = path_s % n + inp.a
    else:
        position = local
        path_cols = path_s
    found = ~np.isnan(centre_s)
    pxp = array_modules(prob)[0]
    at = (pxp.asarray(np.flatnonzero(found)), pxp.asarray(path_cols[found]))
    mean_prob = float(prob[at].mean()) if found.any() else float("nan")
    timings["trace"] += time.perf_counter() - t
    if not found.any() and not allow_empty:
        raise EmptyTrackError(
            f"track {track.name}: no trace of curve {curve.mnemonic} ({curve.style}) was found; is the track empty, or the layout's columns wrong?"
        )
    t = time.perf_counter()
    fitted = fit_curve(row_depth, position, grid, max_gap=max_gap)
    # A drawn curve cannot leave what the paper records (its track, and with a backup
    # scale one more track width on each side): a spline overshooting is held there.
    lo, hi = curve.plot_range
    frac = fitted.column / track.width
    edge = OFF_SCALE_EDGE_PX / track.width
    off = np.zeros(frac.shape, bool) if curve.wrap else _off_scale(frac, edge)
    values = curve.value(np.clip(frac, lo, hi))
    values[off] = np.nan
    missing = np.isnan(values) & ~off
    coverage = own_coverage(values, int(np.count_nonzero(off)))
    n_gaps, longest = gaps(grid, missing)
    qc = CurveQC(coverage, n_gaps, longest, fitted.residual_rms, fitted.outliers, mean_prob)
    qc.off_scale = float(np.mean(off)) if len(off) else 0.0
    if ref is not None:
        ref_depth, ref_curves = ref
        if curve.mnemonic.upper() in ref_curves:
            qc.r2, qc.mae, ref_coverage = score(
                grid,
                values,
                ref_depth,
                ref_curves[curve.mnemonic.upper()],
                curve,
                rule.reference_points,
                0.0 if curve.wrap else edge,
            )
            if math.isfinite(ref_coverage):
                qc.coverage = ref_coverage
        else:
            qc.reason = "not in the reference"
    verdict(qc, rule)
    if ref is not None and qc.r2 is None:
        qc.status, qc.reason = "review", f"{curve.mnemonic} is not in the reference LAS"
    timings["resample"] += time.perf_counter() - t  # resampling and the fit gate
    return CurveResult(
        curve.mnemonic,
        curve.unit,
        track.name,
        curve,
        grid,
        values,
        qc,
        columns,
        None if mask is None else _to_host((mask,), cupy)[0],
        c0,
    )


def _off_scale(frac: npt.NDArray[np.float64], edge: float) -> npt.NDArray[np.bool_]:
    """Depths where a curve without a backup scale runs off its scale.

    The paper records only that the value is past the edge: the curve is drawn pinned
    along it (within ``edge``, a fraction of the track width), or, where the pinned stretch
    merges with the track's border line, it leaves a gap that it enters and leaves at the
    same edge.  It enters (leaves) the gap at the edge, or heading for it fast enough to
    reach it within the gap: the trace's last step before the gap (first after it),
    carried on over the gap's length, gets within ``edge`` of the edge.
    """
    with np.errstate(invalid="ignore"):
        pinned = (frac <= edge) | (frac >= 1.0 - edge)  # NaN: False
    off = pinned.copy()
    # distance to the nearer edge, and which edge that is
    dist = np.minimum(frac, 1.0 - frac)
    nearer = np.where(frac < 0.5, -1, 1)
    n = len(frac)
    for a, b in runs(np.isnan(frac)):
        if a == 0 or b == n or nearer[a - 1] != nearer[b]:
            continue
        length = b - a
        ends = ((a - 1, a - 2), (b, b + 1))  # (end of the trace, its neighbour away from the gap)
        if all(_heads_for_edge(pinned, dist, nearer, i, j, length, edge) for i, j in ends):
            off[a:b] = True
    return off


def _heads_for_edge(
    pinned: npt.NDArray[np.bool_],
    dist: npt.NDArray[np.float64],
    nearer: npt.NDArray[np.int_],
    i: int,
    j: int,
    length: int,
    edge: float,
) -> bool:
    """Whether the trace at ``i``, beside a gap of ``length`` depths, is pinned at its
    nearer edge or, by its step from ``j``, reaches it within the gap."""
    if pinned[i]:
        return True
    if not (0 <= j < len(dist)) or np.isnan(dist[j]) or nearer[j] != nearer[i]:
        return False
    return bool(dist[i] - (dist[j] - dist[i]) * length <= edge)


def _to_host(arrays: Any, cupy: Any) -> tuple[Any, ...]:
    """NumPy copies of device arrays (unchanged without CuPy)."""
    return arrays if cupy is None else tuple(cupy.asnumpy(a) for a in arrays)


def _read_reference(
    path: str | Path,
) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
    import lasio

    try:
        las = lasio.read(str(path), engine="normal")
    except Exception as exc:  # lasio raises many kinds
        raise ScanError(f"{path}: cannot read the reference LAS ({exc})") from None
    depth = np.asarray(las.index, dtype=np.float64)
    order = np.argsort(depth)
    curves = {
        c.mnemonic.upper(): np.asarray(c.data, dtype=np.float64)[order] for c in las.curves[1:]
    }
    return depth[order], curves
