from typing import Any

import numpy as np
import numpy.typing as npt

BUILD_INFO: dict[str, Any]

def thin(mask: npt.NDArray[Any], threads: int = 0) -> npt.NDArray[np.bool_]: ...
def trace(
    skeleton: npt.NDArray[Any],
    prob: npt.NDArray[np.float32] | None,
    miss: int,
    prob_cost: int,
    jump: int,
    follow: int,
    band_threshold: float,
    max_half_width: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...
def trace_chunked(
    skeleton: npt.NDArray[Any],
    prob: npt.NDArray[np.float32] | None,
    miss: int,
    prob_cost: int,
    jump: int,
    follow: int,
    band_threshold: float,
    max_half_width: int,
    chunk: int,
    warmup: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64], dict[str, int]]: ...
def thin_tiled(
    mask: npt.NDArray[np.uint8], tile_rows: int, tile_words: int, steps: int
) -> tuple[npt.NDArray[np.bool_], dict[str, int]]: ...

#: (tile rows, tile words, steps per round) of the GPU thinning kernel's schedule.
THIN_SCHEDULE: tuple[int, int, int]

def thin_rule_table(pass_: int) -> npt.NDArray[np.bool_]: ...
def thin_lut() -> npt.NDArray[np.uint8]: ...
def cuda_device_count() -> int: ...
def cuda_count_nonzero(data: npt.NDArray[np.uint8]) -> int: ...
def thin_cuda(
    mask: Any, out: Any, stream: int, tile_rows: int = ..., tile_words: int = ..., steps: int = ...
) -> None: ...
def trace_cuda(
    jobs: list[tuple[Any, Any, Any, Any]],
    miss: int,
    prob_cost: int,
    jump: int,
    follow: int,
    band_threshold: float,
    max_half_width: int,
    stream: int,
    chunk: int = ...,
    warmup: int = ...,
) -> None: ...

CUDA_MAX_TRACE_COLUMNS: int
#: (chunk rows, warm-up rows) of the GPU tracer's schedule; None without CUDA.
CUDA_TRACE_SCHEDULE: tuple[int, int] | None
