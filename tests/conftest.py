import os
import sys
from pathlib import Path

# tests/reference.py holds the slow references the kernels are checked against.
sys.path.insert(0, str(Path(__file__).parent))

from dataclasses import dataclass

import lasio
import numpy as np
import pytest
from PIL import Image

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The shared well logs; VEERNET_LAS_DIR points elsewhere (a GPU machine gets a carried copy).
LAS_DIR = Path(os.environ.get("VEERNET_LAS_DIR") or SHARED / "las")


@dataclass
class Case:
    scan: Path
    layout: Path
    reference: Path


def load_tool(name: str):
    """The module of ``tools/NAME.py`` (the tools are scripts, not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_layout(layout: dict, path: Path) -> Path:
    from veernet.layout import dumps_layout

    path.write_text(dumps_layout(layout))
    return path


@pytest.fixture
def render_case(tmp_path):
    """Render one or more curves of a shared LAS file into a scan with layout and reference."""
    from veernet.las import write_las
    from veernet.render import CurveDraw, TrackDraw, render_log

    def make(
        las_name,
        curves,
        top,
        bottom,
        *,
        name="case",
        width=3.0,
        unit="m",
        px_per_unit=None,
        wrap=False,
    ):
        las = lasio.read(str(LAS_DIR / las_name), engine="normal")
        d = np.asarray(las.index, dtype=float)
        tracks = []
        ref_curves = []
        for i, (mnem, lo, hi, scale, style) in enumerate(curves):
            v = np.asarray(las[mnem], dtype=float)
            tracks.append(
                TrackDraw(
                    f"T{i + 1}",
                    400,
                    [
                        CurveDraw(
                            mnem,
                            las.curves[mnem].unit or "",
                            d,
                            v,
                            lo,
                            hi,
                            scale=scale,
                            style=style,
                            width=width,
                            wrap=wrap,
                        )
                    ],
                )
            )
            ref_curves.append((mnem, las.curves[mnem].unit or "", mnem, v))
        kwargs = {"px_per_unit": px_per_unit} if px_per_unit else {}
        r = render_log(tracks, top, bottom, unit=unit, well={"WELL": las_name}, **kwargs)
        scan = tmp_path / f"{name}.png"
        Image.fromarray(r.image).save(scan)
        layout = write_layout(r.layout, tmp_path / f"{name}.toml")
        sel = (d >= top - 2) & (d <= bottom + 2) & np.isfinite(d)
        ds, order = np.unique(d[sel], return_index=True)
        step = float(np.median(np.diff(ds)))
        grid = np.arange(np.ceil(ds[0] / step), np.floor(ds[-1] / step) + 1) * step
        ref = [(m, u, de, np.interp(grid, ds, v[sel][order])) for m, u, de, v in ref_curves]
        reference = tmp_path / f"{name}_reference.las"
        write_las(reference, grid, unit, ref, {"WELL": las_name}, [])
        return Case(scan, layout, reference)

    return make
