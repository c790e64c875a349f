import os
import subprocess
import sys

import numpy as np
import pytest

import veernet
from veernet import _core


def test_build_info_reports_the_build():
    info = veernet.build_info()
    assert info["version"] == veernet.__version__
    assert info["compiler"]
    assert isinstance(info["cuda"], bool)
    if info["cuda"]:
        assert info["cuda_compiler"].startswith("nvcc")
        assert "90" in info["cuda_architectures"]
    else:
        assert info["cuda_architectures"] is None
    assert info["cuda_devices"] >= 0


@pytest.mark.skipif(
    os.environ.get("VEERNET_EXPECT_CUDA") != "1",
    reason="CI sets VEERNET_EXPECT_CUDA=1 where nvcc is installed",
)
def test_ci_build_compiled_the_cuda_sources():
    assert veernet.build_info()["cuda"] is True


def test_import_needs_no_gpu_or_driver():
    # A fresh interpreter imports the package and runs a CPU kernel whatever the machine.
    code = "import numpy as np, veernet; print(veernet.thin(np.ones((1, 5), bool)).sum())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "5"


def test_cuda_kernel_runs_or_fails_clearly():
    data = (np.random.default_rng().random(1_000_003) < 0.3).astype(np.uint8)
    if not _core.BUILD_INFO["cuda"]:
        with pytest.raises(RuntimeError, match="built without CUDA"):
            _core.cuda_count_nonzero(data)
    elif _core.cuda_device_count() == 0:
        with pytest.raises(RuntimeError, match="no usable CUDA device"):
            _core.cuda_count_nonzero(data)
    else:
        assert _core.cuda_count_nonzero(data) == np.count_nonzero(data)


def test_demo_command_runs():
    out = subprocess.run(
        [sys.executable, "-m", "veernet.cli", "demo"], capture_output=True, text=True, check=True
    )
    assert "median |error|" in out.stdout
    median = float(out.stdout.split("median |error| ")[1].split(" px")[0])
    assert median < 0.5
