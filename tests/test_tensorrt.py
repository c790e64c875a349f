"""Everything around the TensorRT backend that runs without TensorRT."""

import subprocess
import sys

import numpy as np
import onnx
import pytest

from veernet.segment import ModelError, default_model_path, get_segmenter
from veernet.tensorrt_backend import cache_dir, fp16_variant, plan_name, tensorrt_available


def test_plan_names_change_with_everything_that_invalidates_a_plan():
    base = dict(
        model_digest="abc",
        trt_version="10.13.0",
        compute_capability=(9, 0),
        precision="fp16",
        max_batch=16,
        tile=256,
    )
    names = {plan_name(**base)}
    for key, value in [
        ("model_digest", "abd"),
        ("trt_version", "11.4.0"),
        ("compute_capability", (8, 9)),
        ("precision", "fp32"),
        ("max_batch", 32),
        ("tile", 512),
    ]:
        names.add(plan_name(**{**base, key: value}))
    assert len(names) == 7
    assert all(n.endswith(".plan") for n in names)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VEERNET_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("VEERNET_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "veernet"


def test_fp16_variant_for_strongly_typed_tensorrt():
    data = default_model_path().read_bytes()
    model = onnx.load_from_string(fp16_variant(data))
    onnx.checker.check_model(model)
    f32, f16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    assert model.graph.input[0].type.tensor_type.elem_type == f32  # io stays float32
    assert model.graph.output[0].type.tensor_type.elem_type == f32
    weights = [t for t in model.graph.initializer if t.data_type in (f32, f16) and len(t.dims) == 4]
    assert weights and all(t.data_type == f16 for t in weights)
    assert {p.key for p in model.metadata_props} >= {"veernet.classes", "veernet.tile"}


@pytest.mark.skipif(tensorrt_available(), reason="checks the error where TensorRT is missing")
def test_without_tensorrt_the_errors_are_clear():
    with pytest.raises(ModelError, match="TensorRT is not installed"):
        get_segmenter("tensorrt")
    # auto on a GPU without TensorRT falls back to ONNX Runtime
    assert get_segmenter("auto", device="gpu").name == "onnx"
    p = subprocess.run(
        [sys.executable, "-m", "veernet.cli", "build-engine"], capture_output=True, text=True
    )
    assert p.returncode == 2 and "TensorRT is not installed" in p.stderr


def test_fp16_variant_keeps_the_model_s_answers_close():
    ort = pytest.importorskip("onnxruntime")
    data = default_model_path().read_bytes()
    half = fp16_variant(data)
    try:
        s16 = ort.InferenceSession(half, providers=["CPUExecutionProvider"])
    except Exception as exc:  # some CPU builds lack FP16 kernels: the variant is for TensorRT
        pytest.skip(f"ONNX Runtime cannot run FP16 here: {exc}")
    s32 = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    x = np.full((1, 1, 256, 256), 0.95, np.float32)
    x[..., 100:104] = 0.05
    a, b = s32.run(None, {"image": x})[0], s16.run(None, {"image": x})[0]
    assert np.abs(a - b).max() < 0.05
