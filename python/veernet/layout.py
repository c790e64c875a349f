"""Layout: where the tracks are on a scan and how pixels map to depth and to values.

A layout is a TOML file (or the same structure as a dict)::

    [well]                  # optional; copied into the LAS ~W section
    WELL = "Lauren #1"

    [depth]
    unit = "m"              # "m" or "ft"
    points = [[60.0, 700.0], [3603.3, 790.0]]   # [image row (px), depth]; >= 2, increasing
    # top_row, bottom_row: optional limits of the digitized interval (px)

    [[tracks]]
    name = "T1"
    left = 170.0            # image column of the left grid edge (px)
    right = 670.0           # right grid edge (px)

      [[tracks.curves]]
      mnemonic = "GR"
      unit = "gAPI"
      scale = "linear"      # or "log"
      left_value = 0.0
      right_value = 150.0   # below left_value for a reversed scale
      style = "solid"       # "solid", "dashed" or "dotted"
      description = "Gamma ray"
      wrap = "right"        # optional: a backup scale.  Values past the right edge are
                            # drawn again from the left edge, one scale width on (GR
                            # 150-300 over 0-150); "left" for values past the left edge,
                            # "both" for either.  The tracer follows the curve across the
                            # wrap and the LAS gets the true value.

Validation collects every problem, each with its location, before raising.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STYLES = ("solid", "dashed", "dotted")
#: Plot range (fraction of track width) of a curve by its backup scale.
WRAP_RANGES = {"": (0.0, 1.0), "right": (0.0, 2.0), "left": (-1.0, 1.0), "both": (-1.0, 2.0)}
SCALES = ("linear", "log")
DEPTH_UNITS = ("m", "ft")
_MNEMONIC = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,15}$")


class LayoutError(ValueError):
    """A layout with problems; ``problems`` lists each as 'location: what is wrong'."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: invalid layout ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class DepthScale:
    """Image row (pixels from the top) to depth, piecewise linear through ``points``.

    Outside the first and last point the end segments are extended linearly.
    """

    unit: str
    rows: tuple[float, ...]
    depths: tuple[float, ...]
    top_row: float
    bottom_row: float

    def depth(self, row: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Depth (in ``unit``) of image rows (pixels)."""
        return _piecewise(np.asarray(row, dtype=np.float64), self.rows, self.depths)

    def row(self, depth: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Image row (pixels) of depths (in ``unit``)."""
        return _piecewise(np.asarray(depth, dtype=np.float64), self.depths, self.rows)


def _piecewise(
    x: npt.NDArray[np.float64], xs: tuple[float, ...], ys: tuple[float, ...]
) -> npt.NDArray[np.float64]:
    xp, yp = np.asarray(xs), np.asarray(ys)
    y = np.interp(x, xp, yp)
    lo, hi = x < xp[0], x > xp[-1]
    y = np.where(lo, yp[0] + (x - xp[0]) * (yp[1] - yp[0]) / (xp[1] - xp[0]), y)
    return np.where(hi, yp[-1] + (x - xp[-1]) * (yp[-1] - yp[-2]) / (xp[-1] - xp[-2]), y)


@dataclass(frozen=True)
class CurveSpec:
    """One curve drawn in a track, and how its column maps to a value."""

    mnemonic: str
    unit: str
    scale: str
    left_value: float
    right_value: float
    style: str
    description: str = ""
    #: A backup scale past the "right" edge, the "left" one or "both"; "" for none.
    wrap: str = ""

    @property
    def plot_range(self) -> tuple[float, float]:
        """Range of the fraction of track width a drawn curve can record: the track, and
        with a backup scale one more track width past the edge (or edges) it serves."""
        return WRAP_RANGES[self.wrap]

    def drawn_fraction(self, value: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Where a value is drawn on the paper (fraction of track width): clipped at the
        edges, or with a backup scale wrapped back into the track."""
        f = self.fraction(value)
        if self.wrap:
            with np.errstate(invalid="ignore"):
                f = np.where((f > 1.0) | (f < 0.0), np.mod(f, 1.0), f)
        return np.clip(f, 0.0, 1.0)

    def value(self, fraction: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Value at a fraction (0 = left edge, 1 = right edge) of the track width."""
        f = np.asarray(fraction, dtype=np.float64)
        if self.scale == "log":
            a, b = math.log10(self.left_value), math.log10(self.right_value)
            return np.power(10.0, a + f * (b - a))
        return self.left_value + f * (self.right_value - self.left_value)

    def fraction(self, value: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Inverse of :meth:`value` (plot space: log10 for log scales)."""
        v = np.asarray(value, dtype=np.float64)
        if self.scale == "log":
            a, b = math.log10(self.left_value), math.log10(self.right_value)
            with np.errstate(divide="ignore", invalid="ignore"):
                return (np.log10(v) - a) / (b - a)
        return (v - self.left_value) / (self.right_value - self.left_value)


@dataclass(frozen=True)
class Track:
    """A track: its grid edges (image columns, pixels) and the curves drawn in it."""

    name: str
    left: float
    right: float
    curves: tuple[CurveSpec, ...]

    @property
    def width(self) -> float:
        return self.right - self.left


@dataclass(frozen=True)
class Layout:
    depth: DepthScale
    tracks: tuple[Track, ...]
    well: dict[str, str] = field(default_factory=dict)
    source: str = "<layout>"

    @property
    def curves(self) -> list[tuple[Track, CurveSpec]]:
        return [(t, c) for t in self.tracks for c in t.curves]

    def digest(self) -> str:
        """SHA-256 of the layout's content (not of its file's formatting)."""
        payload = json.dumps(_as_plain(self), sort_keys=True, default=str).encode()
        return hashlib.sha256(payload).hexdigest()

    def check_image(self, rows: int, cols: int, *, separates_styles: bool = True) -> None:
        """Raise :class:`LayoutError` unless the layout fits an image of this size."""
        problems = []
        for i, t in enumerate(self.tracks):
            where = f"tracks[{i}] ({t.name})"
            if t.left < 0 or t.right > cols:
                problems.append(
                    f"{where}: columns {t.left:g}..{t.right:g} lie outside the image (width {cols} px)"
                )
            if not separates_styles and len(t.curves) > 1:
                names = ", ".join(c.mnemonic for c in t.curves)
                problems.append(
                    f"{where}: {len(t.curves)} curves ({names}) in one track, but the segmenter cannot tell curves apart; list one curve per track or use the learned segmenter"
                )
        d = self.depth
        if d.top_row < 0 or d.bottom_row > rows:
            problems.append(
                f"depth: rows {d.top_row:g}..{d.bottom_row:g} lie outside the image (height {rows} px)"
            )
        if problems:
            raise LayoutError(self.source, problems)


def _as_plain(layout: Layout) -> dict[str, Any]:
    return {
        "well": layout.well,
        "depth": {
            "unit": layout.depth.unit,
            "points": list(zip(layout.depth.rows, layout.depth.depths, strict=True)),
            "top_row": layout.depth.top_row,
            "bottom_row": layout.depth.bottom_row,
        },
        "tracks": [
            {
                "name": t.name,
                "left": t.left,
                "right": t.right,
                "curves": [c.__dict__ for c in t.curves],
            }
            for t in layout.tracks
        ],
    }


def load_layout(spec: str | Path | Mapping[str, Any]) -> Layout:
    """Read and validate a layout from a TOML file or a dict; raise :class:`LayoutError`."""
    if isinstance(spec, Mapping):
        return _parse(spec, "<layout dict>")
    path = Path(spec)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(str(path), [f"cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(str(path), [f"not valid TOML: {exc}"]) from None
    return _parse(data, str(path))


def _number(value: Any, where: str, problems: list[str]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append(f"{where}: expected a finite number, got {value!r}")
        return None
    return float(value)


def _parse(data: Mapping[str, Any], source: str) -> Layout:
    problems: list[str] = []
    known = {"well", "depth", "tracks"}
    for key in data:
        if key not in known:
            problems.append(f"{key}: unknown section (expected well, depth, tracks)")

    well_raw = data.get("well", {})
    well: dict[str, str] = {}
    if not isinstance(well_raw, Mapping):
        problems.append("well: expected a table")
    else:
        for k, v in well_raw.items():
            if not isinstance(v, (str, int, float)):
                problems.append(f"well.{k}: expected text or a number")
            else:
                well[str(k).upper()] = str(v)

    depth = _parse_depth(data.get("depth"), problems)
    tracks = _parse_tracks(data.get("tracks"), problems)
    if problems or depth is None:
        raise LayoutError(source, problems or ["depth: missing"])
    return Layout(depth=depth, tracks=tuple(tracks), well=well, source=source)


def _parse_depth(raw: Any, problems: list[str]) -> DepthScale | None:
    if raw is None:
        problems.append("depth: missing section")
        return None
    if not isinstance(raw, Mapping):
        problems.append("depth: expected a table")
        return None
    unit = raw.get("unit")
    if unit not in DEPTH_UNITS:
        problems.append(f"depth.unit: expected 'm' or 'ft', got {unit!r}")
    pts = raw.get("points")
    rows: list[float] = []
    depths: list[float] = []
    if not isinstance(pts, list) or len(pts) < 2:
        problems.append("depth.points: expected a list of two or more [row, depth] pairs")
    else:
        for i, p in enumerate(pts):
            if not isinstance(p, list) or len(p) != 2:
                problems.append(f"depth.points[{i}]: expected [row, depth]")
                continue
            r = _number(p[0], f"depth.points[{i}][0]", problems)
            d = _number(p[1], f"depth.points[{i}][1]", problems)
            if r is not None and d is not None:
                rows.append(r)
                depths.append(d)
        if len(rows) == len(pts):
            if any(b <= a for a, b in itertools.pairwise(rows)):
                problems.append("depth.points: rows must increase strictly")
            if any(b <= a for a, b in itertools.pairwise(depths)):
                problems.append("depth.points: depths must increase strictly with row")
    top = raw.get("top_row", rows[0] if rows else 0.0)
    bottom = raw.get("bottom_row", rows[-1] if rows else 0.0)
    top_v = _number(top, "depth.top_row", problems)
    bottom_v = _number(bottom, "depth.bottom_row", problems)
    if top_v is not None and bottom_v is not None and bottom_v <= top_v:
        problems.append(f"depth: bottom_row ({bottom_v:g}) must be below top_row ({top_v:g})")
    for key in raw:
        if key not in {"unit", "points", "top_row", "bottom_row"}:
            problems.append(f"depth.{key}: unknown key")
    if problems or unit not in DEPTH_UNITS or top_v is None or bottom_v is None:
        return None
    return DepthScale(str(unit), tuple(rows), tuple(depths), top_v, bottom_v)


def _parse_tracks(raw: Any, problems: list[str]) -> list[Track]:
    if not isinstance(raw, list) or not raw:
        problems.append("tracks: expected one or more [[tracks]] tables")
        return []
    tracks = []
    names: set[str] = set()
    mnemonics: set[str] = set()
    for i, t in enumerate(raw):
        where = f"tracks[{i}]"
        if not isinstance(t, Mapping):
            problems.append(f"{where}: expected a table")
            continue
        name = t.get("name", f"T{i + 1}")
        where = f"tracks[{i}] ({name})"
        if name in names:
            problems.append(f"{where}: duplicate track name")
        names.add(str(name))
        left = _number(t.get("left"), f"{where}.left", problems) if "left" in t else None
        right = _number(t.get("right"), f"{where}.right", problems) if "right" in t else None
        if "left" not in t:
            problems.append(f"{where}.left: missing")
        if "right" not in t:
            problems.append(f"{where}.right: missing")
        if left is not None and right is not None and right <= left:
            problems.append(f"{where}: right ({right:g}) must exceed left ({left:g})")
        curves_raw = t.get("curves")
        curves: list[CurveSpec] = []
        if not isinstance(curves_raw, list) or not curves_raw:
            problems.append(f"{where}.curves: expected one or more [[tracks.curves]] tables")
        else:
            styles: dict[str, str] = {}
            for j, c in enumerate(curves_raw):
                spec = _parse_curve(c, f"{where}.curves[{j}]", problems)
                if spec is None:
                    continue
                if spec.mnemonic.upper() in mnemonics:
                    problems.append(
                        f"{where}.curves[{j}]: mnemonic {spec.mnemonic} used twice in the layout"
                    )
                mnemonics.add(spec.mnemonic.upper())
                if spec.style in styles:
                    problems.append(
                        f"{where}.curves[{j}]: {spec.mnemonic} and {styles[spec.style]} are both {spec.style}; the segmenter tells curves apart only by style, so one track can hold one curve of each style"
                    )
                styles[spec.style] = spec.mnemonic
                curves.append(spec)
        for key in t:
            if key not in {"name", "left", "right", "curves"}:
                problems.append(f"{where}.{key}: unknown key")
        if left is not None and right is not None:
            tracks.append(Track(str(name), left, right, tuple(curves)))
    return tracks


def _parse_curve(c: Any, where: str, problems: list[str]) -> CurveSpec | None:
    if not isinstance(c, Mapping):
        problems.append(f"{where}: expected a table")
        return None
    n0 = len(problems)
    for key in ("mnemonic", "unit", "left_value", "right_value"):
        if key not in c:
            problems.append(f"{where}.{key}: missing")
    mnemonic = str(c.get("mnemonic", ""))
    if "mnemonic" in c and not _MNEMONIC.match(mnemonic):
        problems.append(
            f"{where}.mnemonic: {mnemonic!r} is not a LAS mnemonic (a letter, then up to 15 letters, digits, _ or -)"
        )
    scale = c.get("scale", "linear")
    if scale not in SCALES:
        problems.append(f"{where}.scale: expected 'linear' or 'log', got {scale!r}")
    style = c.get("style", "solid")
    if style not in STYLES:
        problems.append(f"{where}.style: expected one of {', '.join(STYLES)}, got {style!r}")
    lv = (
        _number(c.get("left_value"), f"{where}.left_value", problems) if "left_value" in c else None
    )
    rv = (
        _number(c.get("right_value"), f"{where}.right_value", problems)
        if "right_value" in c
        else None
    )
    wrap = c.get("wrap", "")
    if wrap not in ("right", "left", "both"):
        if "wrap" in c:
            problems.append(f"{where}.wrap: expected 'right', 'left' or 'both', got {wrap!r}")
        wrap = ""
    if lv is not None and rv is not None:
        if lv == rv:
            problems.append(f"{where}: left_value and right_value are equal ({lv:g})")
        if scale == "log" and (lv <= 0 or rv <= 0):
            problems.append(f"{where}: a log scale needs positive bounds, got {lv:g} and {rv:g}")
    for key in c:
        if key not in {
            "mnemonic",
            "unit",
            "scale",
            "left_value",
            "right_value",
            "style",
            "description",
            "wrap",
        }:
            problems.append(f"{where}.{key}: unknown key")
    if len(problems) > n0 or lv is None or rv is None:
        return None
    return CurveSpec(
        mnemonic,
        str(c.get("unit", "")),
        str(scale),
        lv,
        rv,
        str(style),
        str(c.get("description", "")),
        wrap,
    )


def _toml_value(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def dumps_layout(layout: Mapping[str, Any]) -> str:
    """A layout dict (the schema above) as TOML text that :func:`load_layout` reads back."""
    out: list[str] = []
    if layout.get("well"):
        out += ["[well]"] + [f"{k} = {_toml_value(v)}" for k, v in layout["well"].items()] + [""]
    out += ["[depth]"] + [f"{k} = {_toml_value(v)}" for k, v in layout["depth"].items()]
    for t in layout["tracks"]:
        out += ["", "[[tracks]]"] + [
            f"{k} = {_toml_value(v)}" for k, v in t.items() if k != "curves"
        ]
        for c in t["curves"]:
            out += ["", "  [[tracks.curves]]"] + [f"  {k} = {_toml_value(v)}" for k, v in c.items()]
    return "\n".join(out) + "\n"
