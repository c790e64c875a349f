"""QC overlay: recovered curves in colour over a downsampled copy of the scan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .io import atomic_writer
from .resample import runs

if TYPE_CHECKING:
    from .pipeline import Result

COLOURS = [
    (220, 20, 60),
    (0, 114, 178),
    (0, 158, 115),
    (230, 159, 0),
    (204, 121, 167),
    (86, 180, 233),
]


def write_qc(
    path: str | Path, image: npt.NDArray[np.uint8], result: Result, *, max_rows: int = 4000
) -> None:
    """Draw each recovered curve (its LAS values, NULLs as breaks) over the scan, shrunk
    to at most ``max_rows`` rows."""
    from PIL import Image, ImageDraw

    scale = min(1.0, max_rows / image.shape[0])
    base = Image.fromarray(image).convert("RGB")
    if scale < 1.0:
        base = base.resize(
            (max(1, int(image.shape[1] * scale)), max(1, int(image.shape[0] * scale))),
            Image.Resampling.BILINEAR,
        )
    draw = ImageDraw.Draw(base)
    tracks = {tr.name: tr for tr in result.layout.tracks}
    for i, curve in enumerate(result.curves):
        colour = COLOURS[i % len(COLOURS)]
        # What ships: the resampled values, mapped back to the scan through the layout.
        track = tracks[curve.track]
        rows = result.layout.depth.row(curve.depth)
        cols = track.left + curve.spec.drawn_fraction(curve.value) * track.width
        ok = ~np.isnan(cols)
        for a, b in runs(ok):
            pts = list(zip((cols[a:b] * scale).tolist(), (rows[a:b] * scale).tolist(), strict=True))
            if len(pts) > 1:
                draw.line(pts, fill=colour, width=2)
            elif pts:
                draw.point(pts, fill=colour)
        draw.text(
            (4, 4 + 12 * i), f"{curve.mnemonic} ({curve.track}): {curve.qc.status}", fill=colour
        )
    with atomic_writer(path, "wb") as fh:
        base.save(fh, format="PNG")
