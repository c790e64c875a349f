"""veernet: digitize scanned paper well logs into depth-indexed LAS curves."""

from __future__ import annotations

from typing import Any

from ._core import BUILD_INFO as _BUILD_INFO
from ._core import cuda_device_count as _cuda_device_count
from .pipeline import CurveResult, Result, digitize
from .thinning import thin
from .tracing import TraceParams, trace, trace_many

__version__: str = _BUILD_INFO["version"]

__all__ = [
    "CurveResult",
    "Result",
    "TraceParams",
    "__version__",
    "build_info",
    "digitize",
    "thin",
    "trace",
    "trace_many",
]


def build_info() -> dict[str, Any]:
    """How this copy of veernet was built.

    Returns
    -------
    dict
        ``version``; ``compiler`` (C++ compiler and version); ``cuda`` (whether CUDA
        kernels were compiled in); ``cuda_compiler`` and ``cuda_architectures`` (None
        without CUDA); ``cuda_devices`` (usable CUDA devices now: 0 without a GPU or
        driver, which is not an error).
    """
    info = dict(_BUILD_INFO)
    info["cuda_devices"] = _cuda_device_count() if info["cuda"] else 0
    return info
