"""Where data lives: NumPy arrays run the CPU kernels, CUDA arrays (CuPy) the GPU twins."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core


def on_device(x: Any) -> bool:
    """True for arrays in GPU memory (anything with ``__cuda_array_interface__``)."""
    return hasattr(x, "__cuda_array_interface__") and not hasattr(x, "__array_interface__")


def require_gpu(what: str) -> Any:
    """The CuPy module, after checking that this build and this machine can run GPU code.

    Raises RuntimeError at the call (never at import) when veernet was built without
    CUDA, CuPy is missing, or no GPU is usable.
    """
    if not _core.BUILD_INFO["cuda"]:
        raise RuntimeError(
            f"{what}: veernet was built without CUDA support; reinstall with nvcc on PATH (VEERNET_CUDA=ON)"
        )
    try:
        import cupy
    except ImportError:
        raise RuntimeError(f"{what}: CuPy is not installed (pip install 'veernet[gpu]')") from None
    if _core.cuda_device_count() == 0:
        raise RuntimeError(f"{what}: no usable CUDA device (no GPU or no NVIDIA driver)")
    return cupy


def current_stream(cupy: Any) -> int:
    """Handle of the caller's current CuPy stream (0 = the legacy default stream)."""
    return int(cupy.cuda.get_current_stream().ptr)


def gpu_usable() -> bool:
    """Whether the GPU path can run here (CUDA build, CuPy installed, a device present)."""
    try:
        require_gpu("probe")
    except RuntimeError:
        return False
    return True


def array_modules(a: Any) -> tuple[Any, Any]:
    """(NumPy, SciPy's ndimage) for a NumPy array, (CuPy, its ndimage twin) for a CuPy one:
    one code path for both, run where the data lives."""
    if isinstance(a, np.ndarray):
        from scipy import ndimage

        return np, ndimage
    import cupy
    from cupyx.scipy import ndimage as cupy_ndimage

    return cupy, cupy_ndimage


def synchronize(xp: Any) -> None:
    """Wait for the current CuPy stream (nothing for NumPy): stage timings then measure
    the stage's own work, not work queued before it."""
    if xp is not np:
        xp.cuda.get_current_stream().synchronize()
