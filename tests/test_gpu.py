"""GPU twins against the CPU kernels on the same inputs.  Skipped, not faked, without a GPU."""

import numpy as np
import pytest
from skimage.morphology import skeletonize

import veernet
from reference import (
    random_mask,
    random_scheduled_trace_case,
    random_thin_schedule,
    random_trace_case,
)
from veernet._device import gpu_usable
from veernet.testing import curve_band_mask, track_mosaic

needs_gpu = pytest.mark.skipif(not gpu_usable(), reason="needs a CUDA build, CuPy and a GPU")


class FakeDeviceArray:
    """Looks like a GPU array to the dispatch (it never reaches a kernel here)."""

    ndim, shape = 2, (4, 4)

    @property
    def __cuda_array_interface__(self):
        return {"shape": (4, 4), "typestr": "|u1", "data": (0, False), "version": 3}


@needs_gpu
def test_gpu_pipeline_follows_a_backup_scale_like_the_cpu(render_case):
    case = render_case(
        "eastrock_lauren_P-135.las",
        [("GR", 0.0, 140.0, "linear", "solid")],
        700.0,
        760.0,
        wrap=True,
    )
    cpu = veernet.digitize(case.scan, case.layout, segmenter="classical", device="cpu")
    gpu = veernet.digitize(case.scan, case.layout, segmenter="classical", device="gpu")
    (a,), (b,) = cpu.curves, gpu.curves
    assert np.nanmax(a.value) > 140.0
    np.testing.assert_allclose(a.value, b.value, rtol=0, atol=1e-9, equal_nan=True)


@pytest.mark.skipif(gpu_usable(), reason="checks the error where no GPU is usable")
def test_device_arrays_fail_clearly_at_the_call_without_a_gpu():
    with pytest.raises(
        RuntimeError,
        match="thin: (veernet was built without CUDA|CuPy is not installed|no usable CUDA device)",
    ):
        veernet.thin(FakeDeviceArray())
    with pytest.raises(
        RuntimeError,
        match="trace: (veernet was built without CUDA|CuPy is not installed|no usable CUDA device)",
    ):
        veernet.trace(FakeDeviceArray())
    with pytest.raises(RuntimeError, match="trace: "):
        veernet.trace_many([(FakeDeviceArray(), None)])
    with pytest.raises(ValueError, match="mix NumPy and CuPy"):
        veernet.trace_many([(FakeDeviceArray(), None), (np.zeros((2, 2), bool), None)])


@needs_gpu
def test_gpu_thin_identical_on_random_masks():
    import cupy as cp

    rng = np.random.default_rng()
    for _ in range(200):
        m = random_mask(rng, 300, 0.5, 3)
        got = veernet.thin(cp.asarray(m))
        assert isinstance(got, cp.ndarray) and got.dtype == cp.bool_
        np.testing.assert_array_equal(cp.asnumpy(got), veernet.thin(m))


@needs_gpu
@pytest.mark.parametrize("shape", [(1, 1), (1, 100), (100, 1), (33, 65), (4096, 4096)])
def test_gpu_thin_identical_on_edge_shapes_and_pages(shape):
    import cupy as cp

    rng = np.random.default_rng()
    m = track_mosaic(*shape, rng) if min(shape) >= 1024 else rng.random(shape) < 0.5
    expected = skeletonize(m)
    np.testing.assert_array_equal(cp.asnumpy(veernet.thin(cp.asarray(m))), expected)
    full = np.ones(shape, bool)
    np.testing.assert_array_equal(cp.asnumpy(veernet.thin(cp.asarray(full))), veernet.thin(full))


@needs_gpu
def test_gpu_thin_any_schedule_gives_the_cpu_skeleton():
    # Small tiles and short rounds make changes cross many tiles and rounds; the CPU twin
    # of the schedule counts the same rounds the kernel runs.
    import cupy as cp

    from veernet.thinning import thin_gpu, thin_tiled_cpu

    rng = np.random.default_rng()
    for _ in range(80):
        m = random_mask(rng, 400, 0.6, 5)
        schedule = random_thin_schedule(rng)
        expected, _ = thin_tiled_cpu(m, schedule=schedule)
        got = thin_gpu(cp.asarray(m), schedule=schedule)
        np.testing.assert_array_equal(cp.asnumpy(got), expected, err_msg=f"schedule {schedule}")
    np.testing.assert_array_equal(expected, veernet.thin(m))
    with pytest.raises(ValueError, match="even"):
        thin_gpu(cp.ones((8, 8), cp.bool_), schedule=(64, 8, 3))


@needs_gpu
def test_gpu_thin_views_and_streams():
    import cupy as cp

    rng = np.random.default_rng()
    big = (rng.random((300, 500)) < 0.4).astype(np.uint8)
    d = cp.asarray(big)
    with cp.cuda.Stream(non_blocking=True) as s:
        got = veernet.thin(d[7:250, 13:400])
        s.synchronize()
    np.testing.assert_array_equal(cp.asnumpy(got), veernet.thin(big[7:250, 13:400]))
    np.testing.assert_array_equal(cp.asnumpy(veernet.thin(d[:, ::3])), veernet.thin(big[:, ::3]))


@needs_gpu
def test_gpu_trace_path_identical_on_random_inputs():
    import cupy as cp

    rng = np.random.default_rng()
    for _ in range(150):
        rows = int(rng.integers(1, 700))
        cols = int(rng.choice([1, 2, 31, 33, 100, 129, 257, 513, 1025, 2048]))
        skel, prob, params = random_trace_case(rng, rows, cols)
        c_cpu, p_cpu = veernet.trace(skel, prob, params, return_path=True)
        c_gpu, p_gpu = veernet.trace(
            cp.asarray(skel), None if prob is None else cp.asarray(prob), params, return_path=True
        )
        np.testing.assert_array_equal(cp.asnumpy(p_gpu), p_cpu)
        np.testing.assert_allclose(cp.asnumpy(c_gpu), c_cpu, rtol=0, atol=1e-9, equal_nan=True)


@needs_gpu
def test_gpu_trace_any_schedule_gives_the_cpu_path():
    # Small chunks and short warm-ups make many chunks fail their check and run again.
    import cupy as cp

    from veernet.tracing import trace_gpu

    rng = np.random.default_rng()
    for _ in range(60):
        skel, prob, params, schedule = random_scheduled_trace_case(rng)
        c_cpu, p_cpu = veernet.trace(skel, prob, params, return_path=True)
        ((c_gpu, p_gpu),) = trace_gpu(
            [(cp.asarray(skel), None if prob is None else cp.asarray(prob))],
            params,
            schedule=schedule,
        )
        np.testing.assert_array_equal(cp.asnumpy(p_gpu), p_cpu, err_msg=f"schedule {schedule}")
        np.testing.assert_allclose(cp.asnumpy(c_gpu), c_cpu, rtol=0, atol=1e-9, equal_nan=True)


@needs_gpu
def test_gpu_drop_vertical_runs_identical():
    import cupy as cp

    from veernet.pipeline import drop_vertical_runs

    rng = np.random.default_rng()
    for _ in range(50):
        skel = rng.random(tuple(int(v) for v in rng.integers(1, 300, 2))) < 0.6
        columns = np.unique(rng.integers(0, skel.shape[1], 4))
        expected = drop_vertical_runs(skel.copy(), columns, 20)
        got = drop_vertical_runs(cp.asarray(skel), columns, 20)
        np.testing.assert_array_equal(cp.asnumpy(got), expected)


@needs_gpu
def test_gpu_trace_batch_of_rendered_tracks():
    import cupy as cp

    from veernet.tracing import trace_gpu

    rng = np.random.default_rng()
    jobs, expected = [], []
    for cols in (150, 400, 700):
        mask, _ = curve_band_mask(5000, cols, rng, curves=2)
        skel = veernet.thin(mask)
        prob = mask.astype(np.float32)
        jobs.append((cp.asarray(skel), cp.asarray(prob)))
        expected.append(veernet.trace(skel, prob, return_path=True))
    for (c_gpu, p_gpu), (c_cpu, p_cpu) in zip(trace_gpu(jobs), expected, strict=True):
        np.testing.assert_array_equal(cp.asnumpy(p_gpu), p_cpu)
        np.testing.assert_allclose(cp.asnumpy(c_gpu), c_cpu, atol=1e-9, equal_nan=True)
    # the dispatch sends device pairs to the GPU tracer, and refuses a mix
    for (c_gpu, p_gpu), (c_cpu, p_cpu) in zip(veernet.trace_many(jobs), expected, strict=True):
        np.testing.assert_array_equal(cp.asnumpy(p_gpu), p_cpu)
        np.testing.assert_allclose(cp.asnumpy(c_gpu), c_cpu, atol=1e-9, equal_nan=True)
    with pytest.raises(ValueError, match="mix NumPy and CuPy"):
        veernet.trace_many([jobs[0], (cp.asnumpy(jobs[1][0]), None)])


@needs_gpu
def test_gpu_count_kernel():
    from veernet import _core

    data = (np.random.default_rng().random(1_000_003) < 0.3).astype(np.uint8)
    assert _core.cuda_count_nonzero(data) == np.count_nonzero(data)


@needs_gpu
def test_gpu_ink_extension_identical_on_random_masks():
    import cupy as cp

    from veernet.pipeline import extend_along_ink

    rng = np.random.default_rng()
    for _ in range(50):
        shape = tuple(rng.integers(1, 300, 2))
        ink = rng.random(shape) < rng.uniform(0.01, 0.4)
        mask = ink & (rng.random(shape) < 0.05)
        link = int(rng.integers(0, 5))
        cpu = extend_along_ink(mask, ink, link)
        gpu = extend_along_ink(cp.asarray(mask), cp.asarray(ink), link)
        np.testing.assert_array_equal(cp.asnumpy(gpu), cpu)


@needs_gpu
def test_gpu_pipeline_writes_the_same_las_as_the_cpu(tmp_path):
    from pathlib import Path

    ex = Path(__file__).resolve().parents[1] / "examples"
    scan, layout = ex / "lauren_700-760m.png", ex / "lauren_700-760m.toml"
    cpu = veernet.digitize(scan, layout, device="cpu")
    gpu = veernet.digitize(scan, layout, device="gpu")
    assert cpu.device == "cpu" and gpu.device == "gpu"
    for a, b in zip(cpu.curves, gpu.curves, strict=True):
        np.testing.assert_array_equal(np.isnan(a.value), np.isnan(b.value))
        np.testing.assert_allclose(a.value, b.value, rtol=0, atol=1e-9, equal_nan=True)
    cpu.to_las(tmp_path / "cpu.las")
    gpu.to_las(tmp_path / "gpu.las")
    assert (tmp_path / "cpu.las").read_text() == (tmp_path / "gpu.las").read_text()


def test_device_gpu_fails_clearly_where_none_is_usable():
    if gpu_usable():
        pytest.skip("a GPU is usable here")
    from pathlib import Path

    ex = Path(__file__).resolve().parents[1] / "examples"
    with pytest.raises(RuntimeError, match="digitize --device gpu"):
        veernet.digitize(
            ex / "lauren_700-760m.png",
            ex / "lauren_700-760m.toml",
            device="gpu",
            segmenter="classical",
        )


class DeviceOnnx:
    """The shipped model behind the device interface TensorRT offers: CuPy tiles in, CuPy
    probabilities out (ONNX Runtime runs on the host in between).  With it the pipeline's
    device path (the scan up once, tiles cut, blended and masked on the GPU) runs on a GPU
    machine without TensorRT, on the same probabilities as the CPU run."""

    device_arrays = True

    def __init__(self):
        from veernet.segment import OnnxSegmenter

        self.inner = OnnxSegmenter()
        self.name, self.classes, self.digest = "onnx-device", self.inner.classes, self.inner.digest
        self.separates_styles = True

    def tile_shape(self, width):
        return self.inner.tile_shape(width)

    def predict(self, tiles):
        import cupy as cp

        assert isinstance(tiles, cp.ndarray)
        return cp.asarray(self.inner.predict(cp.asnumpy(tiles)))


@needs_gpu
def test_gpu_ink_map_and_device_tiling_identical():
    from pathlib import Path

    import cupy as cp

    from veernet.scan import load_scan
    from veernet.segment import OnnxSegmenter, curve_ink, segment_region

    ex = Path(__file__).resolve().parents[1] / "examples"
    img = load_scan(ex / "lauren_700-760m.png").image
    d_img = cp.asarray(img)
    for rows, cols in [((0, img.shape[0]), (0, img.shape[1])), ((100, 300), (50, 400))]:
        np.testing.assert_array_equal(
            cp.asnumpy(curve_ink(d_img, rows, cols)), curve_ink(img, rows, cols)
        )
    rows, cols = (0, 700), (0, min(img.shape[1], 450))
    host = segment_region(img, rows, cols, OnnxSegmenter(), keep=[1, 2])
    device = segment_region(d_img, rows, cols, DeviceOnnx(), keep=[1, 2])
    assert isinstance(device, cp.ndarray)
    np.testing.assert_allclose(cp.asnumpy(device), host, rtol=0, atol=1e-6)


@needs_gpu
def test_gpu_pipeline_with_a_device_segmenter_writes_the_same_las(tmp_path):
    from pathlib import Path

    ex = Path(__file__).resolve().parents[1] / "examples"
    scan, layout = ex / "lauren_700-760m.png", ex / "lauren_700-760m.toml"
    cpu = veernet.digitize(scan, layout, device="cpu", segmenter="onnx")
    gpu = veernet.digitize(scan, layout, device="gpu", segmenter=DeviceOnnx())
    assert gpu.device == "gpu" and gpu.segmenter == "onnx-device"
    for a, b in zip(cpu.curves, gpu.curves, strict=True):
        assert a.qc.status == b.qc.status
        np.testing.assert_allclose(a.value, b.value, rtol=0, atol=1e-6, equal_nan=True)
    cpu.to_las(tmp_path / "cpu.las")
    gpu.to_las(tmp_path / "gpu.las")
    body = [
        line for line in (tmp_path / "cpu.las").read_text().splitlines() if "SEGMENTER" not in line
    ]
    assert body == [
        line for line in (tmp_path / "gpu.las").read_text().splitlines() if "SEGMENTER" not in line
    ]
