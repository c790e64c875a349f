"""Render: draw a raster log from LAS curves, with its layout and the truth it was drawn from.

The rendering is the test bench's ground truth: the layout says where the tracks are and
how pixels map to depth and values, exactly as a user's layout would for a real scan.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .layout import CurveSpec

#: 200 dpi at 1:200 -> pixels per metre of depth.
PX_PER_M_1_200_200DPI = 1000.0 / 200.0 / 25.4 * 200.0


@dataclass
class CurveDraw:
    mnemonic: str
    unit: str
    depth: npt.NDArray[np.float64]  # depth units of the log
    value: npt.NDArray[np.float64]  # NaN = not drawn
    left_value: float
    right_value: float
    scale: str = "linear"
    style: str = "solid"
    width: float = 3.0  # pixels
    description: str = ""
    #: Values past the right (left) edge wrap onto a backup scale from the other edge,
    #: as logging companies draw them; otherwise they are clipped at the edge.
    wrap: bool = False
    ink: int = 0  # grey level of the ink


@dataclass
class TrackDraw:
    name: str
    width: int  # pixels
    curves: list[CurveDraw]
    grid_divisions: int = 10  # vertical grid lines (linear scales)


@dataclass
class Rendered:
    image: npt.NDArray[np.uint8]
    layout: dict[str, Any]
    #: Per curve: the ink actually drawn (dashes leave gaps).
    masks: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)
    #: Per style: the curves' paths as continuous strokes of their width, gaps between
    #: dashes and dots included (the segmenter's training labels).
    paths: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)


def render_log(
    tracks: list[TrackDraw],
    top: float,
    bottom: float,
    *,
    unit: str = "m",
    px_per_unit: float = PX_PER_M_1_200_200DPI,
    margin: int = 60,
    gap: int = 40,
    well: dict[str, str] | None = None,
    noise: float = 0.0,
    seed: int = 0,
    paper: int = 255,
    grid_ink: int = 140,
    depth_numbers: bool = False,
) -> Rendered:
    """Draw ``tracks`` between depths ``top`` and ``bottom`` (``unit``) on white paper.

    Depth lines every 1 unit, heavier every 5 and 10; linear tracks get vertical grid
    lines, log tracks one line per decade.  Curves are drawn as strokes of their width,
    clipped to their track; dashed and dotted styles leave gaps.  Returns the grey image,
    the layout (digitize schema), each curve's drawn ink and each style's path labels.
    """
    from PIL import Image, ImageDraw

    rows = int(math.ceil((bottom - top) * px_per_unit)) + 2 * margin
    width = margin * 2 + sum(t.width for t in tracks) + gap * (len(tracks) - 1)
    im = Image.new("L", (width, rows), paper)
    draw = ImageDraw.Draw(im)
    masks: dict[str, Image.Image] = {}
    paths: dict[str, Image.Image] = {}
    light = min(255, grid_ink + 50)

    def row_of(d: Any) -> Any:
        return margin + (np.asarray(d, dtype=np.float64) - top) * px_per_unit

    layout_tracks = []
    left = margin
    for track in tracks:
        right = left + track.width
        # depth lines
        for k in range(int(math.ceil(top)), int(math.floor(bottom)) + 1):
            y = float(row_of(k))
            w = 3 if k % 10 == 0 else 2 if k % 5 == 0 else 1
            draw.line([(left, y), (right, y)], fill=grid_ink, width=w)
            if depth_numbers and left == margin and k % 5 == 0:
                draw.text((4, y - 5), f"{k}", fill=grid_ink - 60)
        # value grid
        log = track.curves and track.curves[0].scale == "log"
        if log:
            c = track.curves[0]
            a, b = math.log10(c.left_value), math.log10(c.right_value)
            for dec in range(int(math.floor(min(a, b))), int(math.ceil(max(a, b))) + 1):
                for m in range(1, 10):
                    v = math.log10(m * 10.0**dec)
                    f = (v - a) / (b - a)
                    if 0 < f < 1:
                        x = left + f * track.width
                        draw.line(
                            [(x, margin), (x, rows - margin)],
                            fill=grid_ink if m == 1 else light,
                            width=1,
                        )
        else:
            for i in range(1, track.grid_divisions):
                x = left + i * track.width / track.grid_divisions
                draw.line([(x, margin), (x, rows - margin)], fill=grid_ink, width=1)
        draw.rectangle([left, margin, right, rows - margin], outline=max(0, grid_ink - 80), width=2)

        spec = []
        for curve in track.curves:
            mask = Image.new("1", (width, rows), 0)
            mdraw = ImageDraw.Draw(mask)
            d = curve.depth
            inside = (d >= top) & (d <= bottom) & ~np.isnan(curve.value)
            scale = CurveSpec(
                curve.mnemonic,
                curve.unit,
                curve.scale,
                curve.left_value,
                curve.right_value,
                curve.style,
                wrap="both" if curve.wrap else "",
            )
            side = _wrap_side(scale.fraction(curve.value)[inside]) if curve.wrap else ""
            xs = left + scale.drawn_fraction(curve.value) * track.width
            ys = row_of(d)
            path = paths.setdefault(curve.style, Image.new("1", (width, rows), 0))
            pdraw = ImageDraw.Draw(path)
            lw = max(1, int(round(curve.width)))
            wrap = (left, float(track.width), scale.fraction(curve.value)) if curve.wrap else None
            # Pillow fills a line of odd width over the pixels around floor(x), not round(x):
            # drawn as it is, such a stroke's centre lies half a pixel left of (and above)
            # its value.  Shifted by half a pixel, its centre is where the value is; a stroke
            # of even width is centred already.
            half = 0.5 if lw % 2 else 0.0
            for piece in _pieces(xs, ys, inside, wrap):
                piece = [(x + half, y + half) for x, y in piece]
                for seg in _segments(piece, curve.style, curve.width):
                    draw.line(seg, fill=curve.ink, width=lw, joint="curve")
                    mdraw.line(seg, fill=1, width=lw, joint="curve")
                pdraw.line(piece, fill=1, width=lw, joint="curve")
            masks[curve.mnemonic] = mask
            spec.append(
                {
                    "mnemonic": curve.mnemonic,
                    "unit": curve.unit,
                    "scale": curve.scale,
                    "left_value": curve.left_value,
                    "right_value": curve.right_value,
                    "style": curve.style,
                    "description": curve.description or curve.mnemonic,
                    **({"wrap": side} if side else {}),
                }
            )
        layout_tracks.append(
            {"name": track.name, "left": float(left), "right": float(right), "curves": spec}
        )
        left = right + gap

    img = np.asarray(im, dtype=np.uint8).copy()
    if noise > 0:
        rng = np.random.default_rng(seed)
        img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    layout = {
        "well": dict(well or {}),
        "depth": {
            "unit": unit,
            "points": [[float(row_of(top)), float(top)], [float(row_of(bottom)), float(bottom)]],
        },
        "tracks": layout_tracks,
    }
    return Rendered(
        img,
        layout,
        {k: np.asarray(v, dtype=bool) for k, v in masks.items()},
        {k: np.asarray(v, dtype=bool) for k, v in paths.items()},
    )


def _wrap_side(frac: npt.NDArray[np.float64]) -> str:
    """The backup scale a wrapped curve needs, as its layout declares it: past the edge (or
    edges) its values cross."""
    with np.errstate(invalid="ignore"):
        right, left = bool(np.any(frac > 1.0)), bool(np.any(frac < 0.0))
    return "both" if right and left else "left" if left else "right"


def _pieces(
    xs: npt.NDArray[np.float64],
    ys: npt.NDArray[np.float64],
    inside: npt.NDArray[np.bool_],
    wrap: tuple[float, float, npt.NDArray[np.float64]] | None,
) -> list[list[tuple[float, float]]]:
    """Split the drawn polyline where data is missing or where it wraps.

    ``wrap`` is (track left, track width, unwrapped plot-space fractions) for a curve with
    a backup scale.  Where it wraps, the piece runs on to the edge it leaves by and the
    next one starts from the opposite edge, both at the depth where the value crosses the
    scale boundary, as a recorder draws it.
    """
    pieces: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    prev: int | None = None
    for i, (x, y, ok) in enumerate(zip(xs.tolist(), ys.tolist(), inside.tolist(), strict=True)):
        if (
            wrap is not None
            and ok
            and prev is not None
            and _copy(wrap[2][prev]) != _copy(wrap[2][i])
        ):
            left, width, frac = wrap
            f0, f1, y0 = float(frac[prev]), float(frac[i]), float(ys[prev])
            up = f1 > f0  # leaves by the right edge, comes back at the left
            # The scale boundaries crossed first and last (one, unless it sweeps a track).
            first, last = (math.ceil(f0), math.floor(f1)) if up else (math.floor(f0), math.ceil(f1))
            cross = [y0 + (c - f0) / (f1 - f0) * (y - y0) for c in (first, last)]
            cur.append((left + (width if up else 0.0), cross[0]))
            pieces.append(cur)
            cur = [(left + (0.0 if up else width), cross[1])]
        elif not ok:
            if len(cur) > 1:
                pieces.append(cur)
            cur = []
        if ok:
            cur.append((x, y))
        prev = i if ok else None
    if len(cur) > 1:
        pieces.append(cur)
    return pieces


def _copy(f: float) -> int:
    """Which scale a plot-space fraction is drawn on: 0 the main one (its edges included,
    as in ``CurveSpec.drawn_fraction``), 1 the backup past the right edge, -1 the one past
    the left edge."""
    return 0 if 0.0 <= f <= 1.0 else math.floor(f)


def _segments(
    pts: list[tuple[float, float]], style: str, width: float
) -> list[list[tuple[float, float]]]:
    """Split a polyline into the strokes of its style (by arc length, in pixels)."""
    if len(pts) < 2:
        return []
    if style == "solid":
        return [pts]
    on, off = (6 * width, 4 * width) if style == "dashed" else (width, 2 * width)
    out: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = [pts[0]]
    pos, drawing = 0.0, True
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        seg = math.hypot(x1 - x0, y1 - y0)
        pos += seg
        limit = on if drawing else off
        if pos >= limit:
            pos = 0.0
            if drawing:
                cur.append((x1, y1))
                out.append(cur)
                cur = []
            else:
                cur = [(x1, y1)]
            drawing = not drawing
        elif drawing:
            cur.append((x1, y1))
    if drawing and len(cur) > 1:
        out.append(cur)
    return out
