"""Render the bundled example under examples/: a 60 m, two-track log of Eastrock Lauren #1.

Writes lauren_700-760m.png (the scan), .toml (its layout) and _reference.las (the curves it
was drawn from).  Run: python tools/make_example.py
"""

from pathlib import Path

import lasio
import numpy as np
from PIL import Image

from veernet.las import write_las
from veernet.layout import dumps_layout
from veernet.render import CurveDraw, TrackDraw, render_log

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared/data/las/eastrock_lauren_P-135.las"
TOP, BOTTOM = 700.0, 760.0


las = lasio.read(str(SRC), engine="normal")
d = np.asarray(las.index, dtype=float)
well = {"WELL": "Lauren #1", "COMP": "Eastrock", "UWI": "P-135", "FLD": "", "LOC": "Nova Scotia"}
tracks = [
    TrackDraw(
        "T1",
        400,
        [
            CurveDraw(
                "GR", "gAPI", d, np.asarray(las["GR"]), 0.0, 150.0, width=3, description="Gamma ray"
            )
        ],
    ),
    TrackDraw(
        "T2",
        400,
        [
            CurveDraw(
                "RHOB",
                "g/cm3",
                d,
                np.asarray(las["RHOB"]),
                1.95,
                2.95,
                width=3,
                description="Bulk density",
            )
        ],
    ),
]
r = render_log(tracks, TOP, BOTTOM, well=well)
Image.fromarray(r.image).save(ROOT / "examples/lauren_700-760m.png", optimize=True)
(ROOT / "examples/lauren_700-760m.toml").write_text(dumps_layout(r.layout))
sel = (d >= TOP - 1) & (d <= BOTTOM + 1)
write_las(
    ROOT / "examples/lauren_700-760m_reference.las",
    d[sel],
    "m",
    [
        ("GR", "gAPI", "Gamma ray", np.asarray(las["GR"])[sel]),
        ("RHOB", "g/cm3", "Bulk density", np.asarray(las["RHOB"])[sel]),
    ],
    well,
    ["Source: eastrock_lauren_P-135.las (public; welly tutorials)"],
)
print("written")
