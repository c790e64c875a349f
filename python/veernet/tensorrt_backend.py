"""The segmenter as a TensorRT engine (NVIDIA GPUs), built from the shipped ONNX model.

Thin by design: TensorRT's documented Python API (versions 10 and 11) does the work.

- TensorRT 10: the FP32 ONNX model is parsed and built with the FP16 builder flag.
- TensorRT 11 builds strongly typed networks only, so the precision comes from the model:
  an FP16 variant of the ONNX model (``onnxconverter_common``, inputs and outputs kept
  float32) is produced once and cached beside the plans.
- One optimization profile over batch sizes 1 … ``max_batch`` at the model's tile size.
- A timing cache and the serialized plan live in the user's cache directory
  (``$VEERNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/veernet``, else ``~/.cache/veernet``), the plan
  keyed by model digest, TensorRT version, GPU compute capability, precision and profile, and
  written atomically.
- Inference runs with ``execute_async_v3`` on CuPy buffers on the caller's current stream.

This module is exercised on machines with TensorRT; the tests here check everything around
it (cache keys, the FP16 variant, errors without TensorRT).  See README.md, "GPU".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ._device import on_device
from .io import atomic_writer
from .segment import ModelError, OnnxSegmenter, default_model_path


def cache_dir() -> Path:
    """Where plans, timing caches and FP16 model variants are kept."""
    if os.environ.get("VEERNET_CACHE_DIR"):
        return Path(os.environ["VEERNET_CACHE_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "veernet"


def plan_name(
    model_digest: str,
    trt_version: str,
    compute_capability: tuple[int, int],
    precision: str,
    max_batch: int,
    tile: int,
) -> str:
    """File name of a serialized plan: everything that makes a plan invalid is in it."""
    cc = f"sm{compute_capability[0]}{compute_capability[1]}"
    return f"segmenter-{model_digest}-trt{trt_version}-{cc}-{precision}-b{max_batch}-t{tile}.plan"


def fp16_variant(onnx_bytes: bytes) -> bytes:
    """The model with FP16 weights and arithmetic, float32 at its input and output."""
    try:
        import onnx
        from onnxconverter_common import float16
    except ImportError:
        raise ModelError(
            "an FP16 model for TensorRT 11 needs onnx and onnxconverter-common (pip install 'veernet[gpu]')"
        ) from None
    model = onnx.load_from_string(onnx_bytes)
    converted = float16.convert_float_to_float16(model, keep_io_types=True)
    return bytes(converted.SerializeToString())


def _trt() -> Any:
    try:
        import tensorrt
    except ImportError:
        raise ModelError(
            "TensorRT is not installed (pip install 'veernet[gpu]'); use --segmenter onnx"
        ) from None
    return tensorrt


def build_plan(model: str | Path | None = None, *, max_batch: int = 16, log: Any = None) -> Path:
    """Build (or find in the cache) the TensorRT plan of ``model``; return its path."""
    trt = _trt()
    import cupy

    model_path = Path(model) if model is not None else default_model_path()
    onnx_seg = OnnxSegmenter(model_path)  # validates the file and reads its metadata
    onnx_bytes = model_path.read_bytes()
    major = int(trt.__version__.split(".")[0])
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    cc = (int(props["major"]), int(props["minor"]))
    precision = "fp16"
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    plan_path = folder / plan_name(
        onnx_seg.digest, trt.__version__, cc, precision, max_batch, onnx_seg.tile
    )
    if plan_path.exists():
        return plan_path

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    strongly_typed = major >= 11
    if strongly_typed:
        fp16_path = folder / f"segmenter-{onnx_seg.digest}-fp16.onnx"
        if not fp16_path.exists():
            with atomic_writer(fp16_path, "wb") as fh:
                fh.write(fp16_variant(onnx_bytes))
        onnx_bytes = fp16_path.read_bytes()
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    else:
        flags = 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_bytes):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelError(f"{model_path}: TensorRT could not parse the model ({errors})")
    config = builder.create_builder_config()
    if not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    timing_path = folder / f"timing-trt{trt.__version__}-sm{cc[0]}{cc[1]}.cache"
    timing = config.create_timing_cache(timing_path.read_bytes() if timing_path.exists() else b"")
    config.set_timing_cache(timing, ignore_mismatch=False)
    profile = builder.create_optimization_profile()
    name = network.get_input(0).name
    t = onnx_seg.tile
    profile.set_shape(name, (1, 1, t, t), (max(1, max_batch // 2), 1, t, t), (max_batch, 1, t, t))
    config.add_optimization_profile(profile)
    (log or _stderr)(
        f"building a TensorRT {trt.__version__} engine for {model_path.name} (once; cached in {folder})"
    )
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ModelError(f"{model_path}: TensorRT failed to build an engine")
    with atomic_writer(plan_path, "wb") as fh:
        fh.write(bytes(plan))
    with atomic_writer(timing_path, "wb") as fh:
        fh.write(bytes(config.get_timing_cache().serialize()))
    return plan_path


class TensorRTSegmenter:
    """The learned segmenter run by a TensorRT engine on the current CUDA device."""

    name = "tensorrt"
    separates_styles = True
    device_arrays = True

    def __init__(self, model: str | Path | None = None, *, max_batch: int = 16, log: Any = None):
        trt = _trt()
        import cupy

        self._cp = cupy
        meta = OnnxSegmenter(model)
        self.classes, self.tile, self.digest = meta.classes, meta.tile, meta.digest
        self.max_batch = max_batch
        plan = build_plan(model, max_batch=max_batch, log=log).read_bytes()
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise ModelError(
                "TensorRT could not load the cached plan; delete it from " + str(cache_dir())
            )
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input = next(
            n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT
        )
        self.output = next(
            n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT
        )

    def tile_shape(self, width: int) -> tuple[int, int]:
        return (self.tile, self.tile)

    def predict(self, tiles: Any) -> Any:
        """CuPy tiles give CuPy probabilities, left on the device on the current stream;
        NumPy tiles go up and come back as NumPy."""
        cp = self._cp
        keep_on_device = on_device(tiles)
        outs = []
        for k in range(0, len(tiles), self.max_batch):
            d_in = cp.ascontiguousarray(cp.asarray(tiles[k : k + self.max_batch], dtype=cp.float32))
            d_out = cp.empty(
                (d_in.shape[0], len(self.classes), self.tile, self.tile), dtype=cp.float32
            )
            self.context.set_input_shape(self.input, tuple(d_in.shape))
            self.context.set_tensor_address(self.input, int(d_in.data.ptr))
            self.context.set_tensor_address(self.output, int(d_out.data.ptr))
            stream = cp.cuda.get_current_stream()
            if not self.context.execute_async_v3(stream.ptr):
                raise RuntimeError("TensorRT execute_async_v3 failed")
            outs.append(d_out if keep_on_device else cp.asnumpy(d_out, stream=stream))
        return cp.concatenate(outs) if keep_on_device else np.concatenate(outs)


def _stderr(message: str) -> None:
    print(f"veernet: {message}", file=sys.stderr)


def tensorrt_available() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return True
