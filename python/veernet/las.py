"""Write: LAS 2.0 through lasio, atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .io import atomic_writer

NULL = -999.25
#: ~W items LAS 2.0 requires (besides STRT, STOP, STEP, NULL).
REQUIRED_WELL = ("COMP", "WELL", "FLD", "LOC", "SRVC", "DATE", "UWI")


def _decimals(step: float) -> int:
    for k in range(0, 7):
        if abs(round(step, k) - step) < 1e-9:
            return max(k, 2)
    return 6


def _divides(value: float, step: float) -> bool:
    """Whether ``value`` passes lascheck's "divided by step is a whole number" test.

    lascheck scales both numbers by 10**decimals in binary floating point, so some exact
    decimal multiples (about 1 in 9 for 0.1524 m) fail it; we reproduce its arithmetic.
    """
    a, b = abs(value), abs(step)
    decimals = max(len(repr(x).split(".")[-1]) if "." in repr(x) else 0 for x in (a, b))
    scale = 10**decimals
    a_s, b_s = a * scale, b * scale
    return a_s - (a_s // b_s) * b_s == 0


def _pad_for_checkers(depth, curves, step, dec):
    """Extend the depth index with all-NULL rows until STRT and STOP pass lascheck.

    Only NULL rows are added, so no value is invented; a few steps at most.
    """
    if len(depth) < 2:
        return depth, curves
    k0, k1 = round(depth[0] / step), round(depth[-1] / step)
    before = after = 0
    while not _divides(round((k0 - before) * step, dec), step) and before < 50:
        before += 1
    while not _divides(round((k1 + after) * step, dec), step) and after < 50:
        after += 1
    if before == after == 0:
        return depth, curves
    new_depth = np.arange(k0 - before, k1 + after + 1, dtype=np.float64) * step
    pad = [
        (m, u, d, np.concatenate([np.full(before, np.nan), v, np.full(after, np.nan)]))
        for m, u, d, v in curves
    ]
    return new_depth, pad


def write_las(
    path: str | Path,
    depth: npt.NDArray[np.float64],
    depth_unit: str,
    curves: Sequence[tuple[str, str, str, npt.NDArray[np.float64]]],
    well: dict[str, str],
    other: Sequence[str],
) -> None:
    """Write an unwrapped LAS 2.0 file via a temporary file and an atomic rename.

    ``curves`` are (mnemonic, unit, description, values) with NaN for NULL.  Numbers are
    written in fixed point: depths with the decimals the step needs, values with 4.
    """
    import lasio

    path = Path(path)
    las = lasio.LASFile()
    unit = depth_unit.upper()
    step = float(depth[1] - depth[0]) if len(depth) > 1 else 0.0
    dec = _decimals(step)
    step = round(step, dec)
    depth, curves = _pad_for_checkers(np.asarray(depth, dtype=np.float64), list(curves), step, dec)
    las.well["STRT"].value = round(float(depth[0]), dec) if len(depth) else 0.0
    las.well["STRT"].unit = unit
    las.well["STOP"].value = round(float(depth[-1]), dec) if len(depth) else 0.0
    las.well["STOP"].unit = unit
    las.well["STEP"].value = round(step, dec)
    las.well["STEP"].unit = unit
    las.well["NULL"].value = NULL
    for key in REQUIRED_WELL:
        if key not in las.well:
            las.well[key] = lasio.HeaderItem(key, value="")
    for key, value in well.items():
        if key in ("STRT", "STOP", "STEP", "NULL"):
            continue
        if key in las.well:
            las.well[key].value = value
        else:
            las.well[key] = lasio.HeaderItem(key, value=value)
    las.append_curve("DEPT", np.round(depth, dec), unit=unit, descr="Depth")
    for mnemonic, cunit, descr, values in curves:
        las.append_curve(
            mnemonic, np.where(np.isnan(values), NULL, values), unit=cunit, descr=descr or mnemonic
        )
    las.other = "\n".join(other)
    fmt = f"%.{max(dec, 4)}f"
    with atomic_writer(path) as fh:
        las.write(fh, version=2.0, wrap=False, fmt=fmt, len_numeric_field=-1)
