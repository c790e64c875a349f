"""Thinning: reduce a curve mask to a one-pixel-wide skeleton."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._device import current_stream, on_device, require_gpu


def thin(mask: Any, *, threads: int | None = None) -> Any:
    """Zhang-Suen thinning of a 2-D mask.

    The result is bit-identical to ``skimage.morphology.skeletonize(mask)`` (2-D,
    default method) and much faster: 64 pixels are judged per machine word, rows and
    words with nothing left to thin are skipped, and bands of rows run on several
    threads.

    Parameters
    ----------
    mask : (rows, cols) array of bool or uint8, NumPy or CuPy
        Foreground where non-zero.  Any memory layout; a copy is made only when the
        columns are not adjacent in memory.  A CuPy array is thinned on its GPU, on the
        caller's current CuPy stream, and the result is a CuPy array.
    threads : int, optional
        CPU threads to use; default: all cores.  Small images use fewer.

    Returns
    -------
    skeleton : (rows, cols) array of bool, on the same device as ``mask``

    Raises
    ------
    ValueError
        If ``mask`` is not 2-D or not of dtype bool or uint8.
    RuntimeError
        For a CuPy array when this build has no CUDA kernels or no GPU is usable.

    References
    ----------
    .. [1] T. Y. Zhang and C. Y. Suen, "A fast parallel algorithm for thinning digital
           patterns", Communications of the ACM 27(3), 1984.

    Examples
    --------
    >>> import numpy as np, veernet
    >>> band = np.zeros((5, 7), bool); band[1:4, 1:6] = True
    >>> veernet.thin(band).astype(int)[2]
    array([0, 1, 1, 1, 1, 1, 0])
    """
    if on_device(mask):
        return thin_gpu(mask)
    if threads is not None and threads < 1:
        raise ValueError(f"thin: threads must be at least 1, got {threads}")
    return _core.thin(_host_mask(mask), threads or 0)


def _host_mask(mask: npt.ArrayLike) -> npt.NDArray[Any]:
    """``mask`` checked, as a NumPy array whose columns are adjacent in memory."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"thin: mask must be 2-D, got {arr.ndim}-D with shape {arr.shape}")
    if arr.dtype not in (np.bool_, np.uint8):
        raise ValueError(f"thin: mask must be bool or uint8, got {arr.dtype}")
    if arr.shape[1] > 1 and arr.strides[1] != 1:
        arr = np.ascontiguousarray(arr)
    return arr


def thin_gpu(mask: Any, *, schedule: tuple[int, int, int] | None = None) -> Any:
    """Thin a CuPy mask on its GPU, on the caller's current CuPy stream.

    One persistent kernel packs the mask 32 pixels to a word, then runs rounds of
    ``steps`` sub-iterations on tiles of ``tile_rows`` rows by ``tile_words`` words, each
    in the block's shared memory with a margin of ``steps`` rows and one word around it,
    only on tiles that hold foreground and, after the first round, only near a change.
    ``schedule`` (tile rows, tile words, steps; default ``veernet._core.THIN_SCHEDULE``)
    changes only the speed, never the skeleton; :func:`thin_tiled_cpu` runs the same
    schedule on the CPU.
    """
    cupy = require_gpu("thin")
    if mask.ndim != 2:
        raise ValueError(f"thin: mask must be 2-D, got {mask.ndim}-D with shape {mask.shape}")
    if mask.dtype not in (cupy.bool_, cupy.uint8):
        raise ValueError(f"thin: mask must be bool or uint8, got {mask.dtype}")
    if mask.shape[1] > 1 and mask.strides[1] != 1:
        mask = cupy.ascontiguousarray(mask)
    out = cupy.empty(mask.shape, dtype=cupy.bool_)
    if mask.size:
        _core.thin_cuda(mask, out, current_stream(cupy), *(schedule or _core.THIN_SCHEDULE))
    return out


def thin_tiled_cpu(
    mask: npt.ArrayLike, *, schedule: tuple[int, int, int] | None = None
) -> tuple[npt.NDArray[np.bool_], dict[str, int]]:
    """The GPU kernel's tiled schedule run on the CPU: (skeleton, counts).

    The same skeleton as :func:`thin`, by the rounds of :func:`thin_gpu` run one tile
    after another.  It is slower than :func:`thin`; it exists so that the schedule is
    tested, and its work counted, on any machine.  ``counts``: ``tiles``,
    ``foreground_tiles`` (the only ones read after packing), ``rounds`` (each one grid-wide
    barrier on the GPU) and ``tile_runs`` (tiles run over all rounds).

    Raises ``ValueError`` for a schedule the kernel cannot run (see
    ``csrc/common/thin_tile.h``).
    """
    skeleton, counts = _core.thin_tiled(_host_mask(mask), *(schedule or _core.THIN_SCHEDULE))
    return skeleton, dict(counts)
