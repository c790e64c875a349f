"""Load: read a raster log (PNG, JPEG, TIFF incl. Group 4 and multi-page) as 8-bit grey."""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: File suffixes taken as scans when a folder is given (batch inputs, evaluation cases).
SCAN_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")

#: Largest scan accepted, in pixels (default 400 Mpx: 2,000 x 200,000).  Pillow's own
#: decompression-bomb guard stops at 179 Mpx, below a long log; we replace it with this
#: bound.  Override per call or with the environment variable VEERNET_MAX_PIXELS.
DEFAULT_MAX_PIXELS = 400_000_000


class ScanError(ValueError):
    """A scan that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Scan:
    """A scan as 8-bit grey (0 = black ink, 255 = white paper) with its provenance."""

    image: npt.NDArray[np.uint8]
    source: str
    sha256: str
    page: int


def max_pixels() -> int:
    value = os.environ.get("VEERNET_MAX_PIXELS")
    return int(value) if value else DEFAULT_MAX_PIXELS


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_scan(path: str | Path, *, page: int = 0, limit: int | None = None) -> Scan:
    """Read page ``page`` of a scan as 8-bit grey.

    Bilevel (including CCITT Group 4 TIFF), 8- and 16-bit grey, palette and colour images
    are accepted; colour is converted to luminance and 16-bit is scaled to 8 bits.  At
    most one full-size copy besides the result is held.

    Raises
    ------
    ScanError
        Missing, unreadable, truncated or corrupt files, unknown formats, a page that does
        not exist, or an image over ``limit`` pixels (default :func:`max_pixels`).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    limit = max_pixels() if limit is None else limit
    if not path.is_file():
        raise ScanError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # our own bound below replaces Pillow's
            try:
                with Image.open(path) as im:
                    n_pages = getattr(im, "n_frames", 1)
                    if not 0 <= page < n_pages:
                        raise ScanError(
                            f"{path}: page {page} does not exist (the file has {n_pages} page(s))"
                        )
                    im.seek(page)
                    w, h = im.size
                    if w * h > limit:
                        raise ScanError(
                            f"{path}: {w} x {h} px is over the limit of {limit} px (raise VEERNET_MAX_PIXELS to accept it)"
                        )
                    grey = _to_grey(im)
            finally:
                Image.MAX_IMAGE_PIXELS = old
    except ScanError:
        raise
    except UnidentifiedImageError:
        raise ScanError(
            f"{path}: not an image in a format veernet reads (PNG, JPEG, TIFF)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ScanError(f"{path}: corrupt or truncated image ({exc})") from None
    except MemoryError:
        raise ScanError(f"{path}: not enough memory to decode the image") from None
    if grey.size == 0:
        raise ScanError(f"{path}: the image is empty")
    return Scan(grey, str(path), file_sha256(path), page)


def _to_grey(im: Any) -> npt.NDArray[np.uint8]:
    mode = im.mode
    if mode == "1":
        return np.asarray(im.convert("L"), dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im)
        if mode == "I":
            top = max(int(a.max()), 1)
            return (
                (a.astype(np.float64) * (255.0 / (65535 if top > 255 else 255)))
                .clip(0, 255)
                .astype(np.uint8)
            )
        return (a >> 8).astype(np.uint8)
    if mode == "L":
        return np.asarray(im, dtype=np.uint8).copy()
    return np.asarray(im.convert("L"), dtype=np.uint8)
