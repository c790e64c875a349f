"""Segment: per-class curve probability maps of a track, from tiles of the scan.

A segmenter is anything with the :class:`Segmenter` shape: it names its classes, the tile
shape it wants, and maps a batch of tiles to per-class probabilities.  The tiling here
(overlap, blending, bounded batches, tracks only) is the same for every backend, so the
learned ONNX model drops in beside the classical baseline.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ._device import array_modules, synchronize

CLASSES = ("background", "solid", "dashed", "dotted")


class Segmenter(Protocol):
    #: Backend name reported in results and LAS provenance.
    name: str
    #: Class names, in the order of the probability channels; CLASSES for our models.
    classes: tuple[str, ...]
    #: Whether different line styles land in different classes.
    separates_styles: bool
    #: Identifies the model (file digest), or the algorithm and its settings.
    digest: str
    #: Whether ``predict`` runs on the GPU on CuPy tiles and returns CuPy probabilities;
    #: the pipeline then keeps tiles and probabilities on the device.
    device_arrays: bool

    def tile_shape(self, width: int) -> tuple[int, int]:
        """(rows, cols) of the tiles wanted for a track region ``width`` pixels wide."""
        ...

    def predict(self, tiles: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(N, 1, H, W) grey in [0, 1] (0 = black) -> (N, len(classes), H, W) in [0, 1]."""
        ...


class ClassicalSegmenter:
    """Ink threshold with horizontal and vertical grid-line suppression; no learning.

    The baseline the learned model must beat and the fallback when none is installed.
    It cannot tell line styles apart: every curve class receives the same ink map, so a
    track may hold only one curve with it.

    Parameters
    ----------
    line_fraction : float
        A row (column) of a tile inked over more than this share of its width (height)
        is a grid line and is removed.
    heal : int
        Gaps this many pixels across, left where a grid line was removed from a curve
        crossing it, are closed again (pixels).
    """

    name = "classical"
    classes: tuple[str, ...] = CLASSES
    separates_styles = False
    device_arrays = False

    def __init__(self, *, line_fraction: float = 0.5, heal: int = 4, tile_rows: int = 1024):
        self.line_fraction = line_fraction
        self.heal = heal
        self.tile_rows = tile_rows
        self.digest = hashlib.sha256(
            f"classical:{line_fraction}:{heal}:{tile_rows}".encode()
        ).hexdigest()[:16]

    def tile_shape(self, width: int) -> tuple[int, int]:
        # Whole track width: grid lines are recognised by spanning it.
        return (self.tile_rows, width)

    def predict(self, tiles: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = np.zeros((tiles.shape[0], len(self.classes), *tiles.shape[2:]), np.float32)
        for i, tile in enumerate(tiles[:, 0]):
            curves = self.curves(tile, 1.0)
            out[i, 1:] = curves
            out[i, 0] = ~curves
        return out

    def curves(
        self, tile: npt.NDArray[np.floating | np.uint8], white: float
    ) -> npt.NDArray[np.bool_]:
        """The curve ink of one tile (grey levels, ``white`` = paper white), NumPy or CuPy."""
        ink = _ink(tile, white)
        rows = ink.mean(axis=1) > self.line_fraction
        cols = ink.mean(axis=0) > self.line_fraction
        grid = rows[:, None] | cols[None, :]
        curves = ink & ~grid
        if self.heal:
            # Close the breaks the grid removal cut into curves crossing grid lines.
            curves |= (
                _close_1d(curves, 2 * self.heal + 1, 0) | _close_1d(curves, 2 * self.heal + 1, 1)
            ) & grid
        return curves


def _close_1d(mask: npt.NDArray[np.bool_], size: int, axis: int) -> npt.NDArray[np.bool_]:
    """Binary closing by a line of ``size`` pixels along ``axis`` (as SciPy's
    ``binary_closing``, outside counted as background), with running max/min filters:
    the same pixels at a fraction of the time."""
    nd = array_modules(mask)[1]
    u = mask.view(np.uint8)
    grown = nd.maximum_filter1d(u, size, axis=axis, mode="constant", cval=0)
    return nd.minimum_filter1d(grown, size, axis=axis, mode="constant", cval=0).view(bool)


def _ink(tile: npt.NDArray[np.floating | np.uint8], white: float) -> npt.NDArray[np.bool_]:
    """Dark pixels against the tile's paper level; nothing where the tile holds no ink."""
    xp = array_modules(tile)[0]
    # Percentiles of grey levels in float64, as NumPy computes them for integers anyway.
    levels = tile if tile.dtype.kind == "f" else tile.astype(np.float64)
    paper = float(xp.percentile(levels, 75))
    dark = float(xp.percentile(levels, 0.5))
    if paper - dark < 0.15 * white:
        return xp.zeros(tile.shape, bool)
    return tile < 0.5 * (paper + dark)


def curve_ink(
    image: npt.NDArray[np.uint8], rows: tuple[int, int], cols: tuple[int, int]
) -> npt.NDArray[np.bool_]:
    """Ink of ``image[rows[0]:rows[1], cols[0]:cols[1]]`` with the grid lines taken out, as a
    (rows, cols) bool array: the classical segmenter's rule on blocks of whole track width,
    straight from the grey levels.  Blocks abut (the last one ends at the region's end), so
    near block seams it can differ from the classical segmenter's blended tiles.  Runs where
    ``image`` lives: NumPy, or CuPy on the GPU."""
    xp = array_modules(image)[0]
    seg = ClassicalSegmenter()
    region = image[rows[0] : rows[1], cols[0] : cols[1]]
    h, w = region.shape
    if h < seg.tile_rows:
        # As segment_region does: a region shorter than a tile is padded with paper.
        padded = xp.full((seg.tile_rows, w), 255, np.uint8)
        padded[:h] = region
        region = padded
    out = xp.empty(region.shape, bool)
    for r in _starts(region.shape[0], seg.tile_rows, 0):
        out[r : r + seg.tile_rows] = seg.curves(region[r : r + seg.tile_rows], 255.0)
    return out[:h]


def _starts(length: int, size: int, overlap: int) -> list[int]:
    if length <= size:
        return [0]
    step = size - overlap
    starts = list(range(0, length - size, step))
    return [*starts, length - size]


def _blend_window(size: int, overlap: int) -> npt.NDArray[np.float32]:
    """Weights that fall off linearly over the overlap so tiles blend without seams."""
    w = np.ones(size, np.float32)
    if overlap > 0 and size > 2 * overlap:
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        w[:overlap] = ramp
        w[-overlap:] = ramp[::-1]
    return w


def _window_sum(
    length: int, starts: list[int], window: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The sum, at each of ``length`` positions, of ``window`` placed at every start."""
    total = np.zeros(length, np.float32)
    for s in starts:
        total[s : s + window.size] += window
    return total


def segment_region(
    image: npt.NDArray[np.uint8],
    rows: tuple[int, int],
    cols: tuple[int, int],
    segmenter: Segmenter,
    *,
    overlap: int = 32,
    batch: int = 8,
    keep: Sequence[int] | None = None,
    timings: dict[str, float] | None = None,
) -> npt.NDArray[np.float32]:
    """Per-class probabilities of ``image[rows[0]:rows[1], cols[0]:cols[1]]``.

    The region is cut into the segmenter's tiles with ``overlap`` pixels of overlap,
    predicted ``batch`` tiles at a time, and blended with linear ramps.  Returns
    (len(keep), rows, cols) float32 for the class channels in ``keep`` (default: all).
    Peak memory: the result, one batch, and the weights.  With ``timings``, seconds spent
    in the segmenter's ``predict`` add to ``timings["segmenter"]`` and the rest (cutting,
    normalising and blending tiles) to ``timings["tiling"]``.

    Runs where ``image`` lives: a CuPy image (for a segmenter with ``device_arrays``) is
    cut, predicted and blended on the GPU, and the result is a CuPy array; nothing goes
    back to the host.
    """
    xp = array_modules(image)[0]
    t_start = time.perf_counter()
    t_predict = 0.0
    channels = list(range(len(segmenter.classes))) if keep is None else list(keep)
    region = image[rows[0] : rows[1], cols[0] : cols[1]]
    h, w = region.shape
    th, tw = segmenter.tile_shape(w)
    if h < th or w < tw:
        # A region smaller than a tile is padded with paper; models want whole tiles.
        padded = xp.full((max(h, th), max(w, tw)), 255, np.uint8)
        padded[:h, :w] = region
        region = padded
    ph, pw = region.shape
    ov_r = min(overlap, th // 4)
    ov_c = min(overlap, tw // 4)
    win_r, win_c = _blend_window(th, ov_r), _blend_window(tw, ov_c)
    row_starts, col_starts = _starts(ph, th, ov_r), _starts(pw, tw, ov_c)
    win = xp.asarray(np.outer(win_r, win_c))
    # The tiles form a grid and each window is an outer product, so the summed weights are
    # the outer product of the summed row and column windows: one array, not one sum per
    # tile.  What is left per tile is a single add (a kernel launch on the GPU).  The outer
    # product is formed where the image lives, so only the two sums go up to a GPU.
    weight = (
        xp.asarray(_window_sum(ph, row_starts, win_r))[:, None]
        * xp.asarray(_window_sum(pw, col_starts, win_c))[None, :]
    )
    acc = xp.zeros((len(channels), ph, pw), np.float32)
    positions = [(r, c) for r in row_starts for c in col_starts]
    for k in range(0, len(positions), batch):
        chunk = positions[k : k + batch]
        tiles = xp.stack([region[r : r + th, c : c + tw] for r, c in chunk])[:, None]
        tiles = tiles.astype(np.float32) / np.float32(255.0)
        synchronize(xp)  # a device segmenter's time is its own, not the tiling's
        t0 = time.perf_counter()
        probs = segmenter.predict(tiles)
        synchronize(xp)
        t_predict += time.perf_counter() - t0
        if keep is not None:
            probs = probs[:, channels]
        probs = probs * win
        for (r, c), p in zip(chunk, probs, strict=True):
            acc[:, r : r + th, c : c + tw] += p
    acc /= xp.maximum(weight, 1e-12)
    synchronize(xp)
    if timings is not None:
        timings["segmenter"] = timings.get("segmenter", 0.0) + t_predict
        timings["tiling"] = timings.get("tiling", 0.0) + time.perf_counter() - t_start - t_predict
    return acc[:, :h, :w]


class ModelError(RuntimeError):
    """A segmenter model file that is missing, unreadable or not a veernet model."""


class OnnxSegmenter:
    """The learned segmenter, run by ONNX Runtime (CPU by default).

    Parameters
    ----------
    model : path to the ONNX file (default: the model shipped in the package)
    providers : ONNX Runtime execution providers, in order of preference
    threads : intra-op threads (default: $VEERNET_ORT_THREADS, else ONNX Runtime's choice)
    """

    name = "onnx"
    separates_styles = True
    device_arrays = False

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
    ):
        path = Path(model) if model is not None else default_model_path()
        if not path.is_file():
            raise ModelError(
                f"{path}: segmenter model not found (reinstall veernet, or use --segmenter classical)"
            )
        data = path.read_bytes()
        self.path = path
        self.digest = hashlib.sha256(data).hexdigest()[:16]
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            # Worker processes of eval and batch set VEERNET_ORT_THREADS=1 so that
            # N processes do not each start a thread per core.
            threads = threads or int(os.environ.get("VEERNET_ORT_THREADS", "0") or 0)
            if threads:
                opts.intra_op_num_threads = threads
            self.session = ort.InferenceSession(
                data, opts, providers=list(providers or ["CPUExecutionProvider"])
            )
        except ImportError:
            raise ModelError("onnxruntime is not installed: pip install onnxruntime") from None
        except Exception as exc:  # ORT raises its own exception types for corrupt files
            raise ModelError(f"{path}: not a readable ONNX model ({exc})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.classes = tuple(json.loads(meta["veernet.classes"]))
            self.tile = int(meta["veernet.tile"])
        except (KeyError, ValueError):
            raise ModelError(
                f"{path}: ONNX model without veernet metadata (classes, tile)"
            ) from None
        self.input_name = self.session.get_inputs()[0].name
        self.providers = self.session.get_providers()

    def tile_shape(self, width: int) -> tuple[int, int]:
        return (self.tile, self.tile)

    def predict(self, tiles: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(
            self.session.run(None, {self.input_name: np.ascontiguousarray(tiles, np.float32)})[0]
        )


def default_model_path() -> Path:
    """``$VEERNET_MODEL`` if set, else the model shipped with the package
    (engine/segmenter.onnx in the repository)."""
    if os.environ.get("VEERNET_MODEL"):
        return Path(os.environ["VEERNET_MODEL"])
    return Path(__file__).resolve().parent / "engine" / "segmenter.onnx"


def get_segmenter(name: str, device: str = "cpu") -> Segmenter:
    """``classical``: the baseline.  ``onnx``: the shipped learned model in ONNX Runtime.
    ``tensorrt``: the same model as a TensorRT engine (built and cached on first use).
    ``auto``: TensorRT when ``device`` is ``gpu`` and TensorRT is installed, else ONNX
    Runtime.  A missing or corrupt model raises :class:`ModelError`; the classical
    segmenter is used only when asked for by name."""
    if name == "classical":
        return ClassicalSegmenter()
    if name == "tensorrt" or (name == "auto" and device == "gpu"):
        from .tensorrt_backend import TensorRTSegmenter, tensorrt_available

        if name == "tensorrt" or tensorrt_available():
            return TensorRTSegmenter()
    if name in ("auto", "onnx"):
        return OnnxSegmenter()
    raise ValueError(f"segmenter {name!r} is not known (choose auto, onnx, tensorrt or classical)")
