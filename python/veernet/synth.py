"""Synth: realistic raster logs with their layout, truth curves and per-class path labels.

Everything a real archive varies is drawn at random from the seed: one to four tracks,
linear grids and 2-4-decade log grids, depth lines every 1/2/5/10 units with heavier majors,
printed depth numbers, a header block, handwritten-looking annotations, one to three curves
per track (solid, dashed, dotted; 1-6 px; crossing each other, clipped at the edge or wrapping
onto a backup scale), curves taken from real wells (any LAS in ``las_dir``) or from stochastic
models (layered, blocky, spiky), and scan damage: blur, noise, JPEG, bilevel thresholding as
in Group 4 TIFF, yellowed and uneven paper, stains, fold lines, faded ink, speckle, slight
paper stretch and rotation.

Labels are the curves' *paths*: continuous strokes of the nominal width, the gaps between
dashes and dots included, so that a segmenter learns continuity.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from .render import CurveDraw, Rendered, TrackDraw, render_log

STYLES = ("solid", "dashed", "dotted")


@dataclass
class SynthLog:
    image: npt.NDArray[np.uint8]
    layout: dict[str, Any]
    #: (depth, {mnemonic: values}) of the curves as drawn, for the reference LAS.
    depth: npt.NDArray[np.float64]
    curves: dict[str, tuple[str, npt.NDArray[np.float64]]]
    #: Per style: path labels (bool, image size).
    paths: dict[str, npt.NDArray[np.bool_]]


@lru_cache(maxsize=16)
def _read_las(path: str) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
    import lasio

    las = lasio.read(path, engine="normal")
    d = np.asarray(las.index, dtype=np.float64)
    curves = {}
    for c in las.curves[1:]:
        v = np.asarray(c.data, dtype=np.float64)
        if np.count_nonzero(np.isfinite(v)) > 500:
            curves[c.mnemonic] = v
    return d, curves


def _real_curve(
    rng: np.random.Generator, las_files: list[Path], length: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """A window of ``length`` depth units of a random curve of a random real well."""
    for _ in range(10):
        d, curves = _read_las(str(las_files[int(rng.integers(len(las_files)))]))
        if not curves:
            continue
        name = list(curves)[int(rng.integers(len(curves)))]
        v = curves[name]
        ok = np.isfinite(v) & np.isfinite(d)
        if ok.sum() < 200:
            continue
        dd, vv = d[ok], v[ok]
        order = np.argsort(dd)
        dd, vv = dd[order], vv[order]
        if dd[-1] - dd[0] < length:
            continue
        start = float(rng.uniform(dd[0], dd[-1] - length))
        sel = (dd >= start) & (dd <= start + length)
        if sel.sum() < 50:
            continue
        lo, hi = np.percentile(vv[sel], [2, 98])
        if hi - lo <= 1e-9 * max(1.0, abs(hi)):
            continue  # a constant stretch (a tool off, a bit size): no curve to draw
        return dd[sel] - start, vv[sel]
    return None


def _stochastic_curve(
    rng: np.random.Generator, length: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Layered, blocky or spiky response, sampled every 0.1 depth units."""
    d = np.arange(0.0, length, 0.1)
    kind = rng.choice(["layered", "blocky", "spiky"])
    if kind == "blocky":
        edges = np.sort(rng.uniform(0, length, int(rng.integers(5, 40))))
        levels = rng.normal(0, 1, len(edges) + 1)
        v = levels[np.searchsorted(edges, d)]
        v = ndimage.gaussian_filter1d(v, 1.5)
    else:
        v = ndimage.gaussian_filter1d(rng.normal(0, 1, d.size).cumsum(), 4.0)
        v = (v - v.mean()) / (v.std() + 1e-9)
        if kind == "spiky":
            for c in rng.integers(0, d.size, int(rng.integers(3, 15))):
                w = float(rng.uniform(1, 4))
                v += (
                    rng.choice([-1, 1])
                    * rng.uniform(1.5, 4)
                    * np.exp(-0.5 * ((np.arange(d.size) - c) / w) ** 2)
                )
    return d, v


def generate(
    seed: int, *, las_dir: str | Path | None = None, length: float | None = None
) -> SynthLog:
    """Render one random log from ``seed`` (numpy Generator seeding, reproducible)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    las_files = sorted(Path(las_dir).glob("*.las")) if las_dir else []
    unit = str(rng.choice(["m", "ft"]))
    px_per_unit = float(rng.uniform(25, 60)) if unit == "m" else float(rng.uniform(8, 20))
    length = length or float(rng.uniform(1500, 4000)) / px_per_unit
    top = float(rng.integers(100, 3000))
    n_tracks = int(rng.integers(1, 5))
    tracks = []
    curves_out: dict[str, tuple[str, npt.NDArray[np.float64]]] = {}
    grid_depth = np.arange(0.0, length + 1e-9, 0.05)
    counter = 0
    for ti in range(n_tracks):
        width = int(rng.integers(220, 520))
        log_track = rng.random() < 0.25
        decades = int(rng.integers(2, 5))
        lo_exp = float(rng.integers(-1, 2))
        n_curves = int(rng.integers(1, 4))
        styles = list(rng.permutation(STYLES))[:n_curves]
        curves = []
        for style in styles:
            counter += 1
            src = _real_curve(rng, las_files, length) if las_files and rng.random() < 0.7 else None
            d, v = src if src is not None else _stochastic_curve(rng, length)
            v = np.interp(grid_depth, d, v)
            q_lo, q_hi = np.nanpercentile(v, [2, 98])
            spread = max(q_hi - q_lo, 1e-6)
            frac = (v - q_lo) / spread
            # place the curve in a random part of the track, sometimes off-scale
            frac = (
                rng.uniform(0.05, 0.5)
                + frac * rng.uniform(0.3, 0.9)
                + (rng.uniform(0.2, 0.5) if rng.random() < 0.15 else 0.0)
            )
            if log_track:
                lv, rv = 10.0**lo_exp, 10.0 ** (lo_exp + decades)
                # a real log's bad sample can lie hundreds of track widths off (seed 420,196:
                # 609), where the power overflows; 50 widths off is off the paper all the same
                frac = np.clip(frac, -50.0, 50.0)
                values = 10.0 ** (math.log10(lv) + frac * (math.log10(rv) - math.log10(lv)))
                scale = "log"
            else:
                lv, rv = 0.0, float(rng.choice([1.0, 10.0, 100.0, 150.0]))
                if rng.random() < 0.3:
                    lv, rv = rv, lv  # reversed scale
                values = lv + frac * (rv - lv)
                scale = "linear"
            mnemonic = f"C{counter:02d}"
            width_px = float(rng.choice([1, 2, 2, 3, 3, 4, 5, 6]))
            ink = (
                int(rng.integers(0, 40)) if rng.random() < 0.8 else int(rng.integers(60, 130))
            )  # faded ink
            curves.append(
                CurveDraw(
                    mnemonic,
                    "U",
                    top + grid_depth,
                    values,
                    lv,
                    rv,
                    scale=scale,
                    style=style,
                    width=width_px,
                    wrap=bool(rng.random() < 0.3),
                    ink=ink,
                )
            )
            curves_out[mnemonic] = ("U", values)
        tracks.append(
            TrackDraw(f"T{ti + 1}", width, curves, grid_divisions=int(rng.choice([4, 5, 10])))
        )

    paper = int(rng.integers(215, 256))
    r = render_log(
        tracks,
        top,
        top + length,
        unit=unit,
        px_per_unit=px_per_unit,
        margin=int(rng.integers(50, 120)),
        gap=int(rng.integers(20, 90)),
        grid_ink=int(rng.integers(90, 200)),
        paper=paper,
        depth_numbers=True,
        well={"WELL": f"SYNTH-{seed}"},
    )
    canvas = r.image.astype(np.float32)
    _annotate(canvas, rng)
    img, layout, paths = _damage(canvas, r, rng)
    if rng.random() < 0.3:  # JPEG
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=int(rng.integers(30, 90)))
        img = np.asarray(Image.open(buf).convert("L"), dtype=np.uint8)
    return SynthLog(img, layout, top + grid_depth, curves_out, paths)


def _annotate(img: npt.NDArray[np.float32], rng: np.random.Generator) -> None:
    """A header block and a few handwritten-looking strokes."""
    h, w = img.shape
    hb = int(rng.integers(20, 45))
    img[5 : 5 + hb, 5 : w - 5] = np.minimum(img[5 : 5 + hb, 5 : w - 5], 250)
    img[5, 5 : w - 5] = img[4 + hb, 5 : w - 5] = 40
    for _ in range(int(rng.integers(0, 4))):
        n = int(rng.integers(20, 80))
        y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
        t = np.cumsum(rng.normal(0, 1, (n, 2)), axis=0) * rng.uniform(1, 4)
        ys = np.clip((y0 + t[:, 0]).astype(int), 0, h - 1)
        xs = np.clip((x0 + t[:, 1]).astype(int), 0, w - 1)
        img[ys, xs] = 60


def _damage(
    img: npt.NDArray[np.float32], r: Rendered, rng: np.random.Generator
) -> tuple[npt.NDArray[np.uint8], dict[str, Any], dict[str, npt.NDArray[np.bool_]]]:
    h, w = img.shape
    paths = dict(r.paths)
    layout = r.layout
    # uneven, yellowed paper and stains
    coarse = (max(2, h // 64), max(2, w // 64))
    shade = ndimage.zoom(rng.normal(0, 1, coarse), (h / coarse[0], w / coarse[1]), order=1)[:h, :w]
    img += shade.astype(np.float32) * float(rng.uniform(0, 8))
    for _ in range(int(rng.integers(0, 3))):
        cy, cx, rad = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(20, 120)
        d2 = (np.arange(h)[:, None] - cy) ** 2 + (np.arange(w)[None, :] - cx) ** 2
        img -= np.exp(-d2 / (2 * rad**2)).astype(np.float32) * float(rng.uniform(10, 40))
    if rng.random() < 0.3:  # fold line
        y = int(rng.integers(0, h))
        img[max(0, y - 2) : y + 2] -= float(rng.uniform(20, 60))
    # paper stretch: rows resampled with a smooth factor; the layout's depth points follow
    if rng.random() < 0.5:
        factor = 1.0 + rng.uniform(-0.02, 0.02)
        new_h = int(round(h * factor))
        src = np.linspace(0, h - 1, new_h)
        img = ndimage.map_coordinates(
            img, np.meshgrid(src, np.arange(w), indexing="ij"), order=1, mode="nearest"
        ).astype(np.float32)
        paths = {
            k: ndimage.map_coordinates(
                v.astype(np.float32), np.meshgrid(src, np.arange(w), indexing="ij"), order=0
            )
            > 0.5
            for k, v in paths.items()
        }
        pts = layout["depth"]["points"]
        layout["depth"]["points"] = [[row * (new_h - 1) / (h - 1), depth] for row, depth in pts]
        h = new_h
    if rng.random() < 0.3:  # slight rotation (a few pixels over the log)
        angle = float(rng.uniform(-0.08, 0.08))
        img = ndimage.rotate(img, angle, reshape=False, order=1, mode="nearest")
        paths = {
            k: ndimage.rotate(v.astype(np.float32), angle, reshape=False, order=0) > 0.5
            for k, v in paths.items()
        }
    blur = float(rng.uniform(0, 1.2))
    if blur > 0.3:
        img = ndimage.gaussian_filter(img, blur)
    img += rng.normal(0, float(rng.uniform(0, 10)), img.shape).astype(np.float32)
    speck = rng.random(img.shape) < float(rng.uniform(0, 0.002))
    img[speck] = rng.choice([0.0, 255.0])
    if rng.random() < 0.2:  # bilevel, as a Group 4 TIFF
        img = np.where(img < float(rng.uniform(120, 180)), 0.0, 255.0)
    return np.clip(img, 0, 255).astype(np.uint8), layout, paths


def write_case(log: SynthLog, folder: str | Path, name: str) -> None:
    """Write NAME.png, NAME.toml, NAME_reference.las and NAME_mask_<style>.png."""
    from PIL import Image

    from .las import write_las
    from .layout import dumps_layout

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(log.image).save(folder / f"{name}.png")
    (folder / f"{name}.toml").write_text(dumps_layout(log.layout))
    unit = log.layout["depth"]["unit"]
    curves = [(m, u, m, v) for m, (u, v) in log.curves.items()]
    write_las(
        folder / f"{name}_reference.las",
        np.round(log.depth, 4),
        unit,
        curves,
        log.layout["well"],
        [],
    )
    for style, mask in log.paths.items():
        Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"{name}_mask_{style}.png")
