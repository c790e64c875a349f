// pybind11 bindings of veernet._core (private: users call veernet.thin / veernet.trace,
// which validate their arguments first).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/thin_rule.h"
#include "common/thin_tile.h"
#include "cpu/thin.h"
#include "cpu/trace.h"
#if VEERNET_WITH_CUDA
#include <cuda_runtime.h>

#include "cuda/device_info.h"
#include "cuda/thin.h"
#include "cuda/trace.h"
#endif

namespace py = pybind11;

namespace {

// A 2-D array of one-byte elements whose columns are adjacent in memory.
struct ByteImage {
  const std::uint8_t* data;
  std::int64_t rows, cols, row_stride;
};

ByteImage byte_image(const py::array& a, const char* name) {
  if (a.ndim() != 2 || a.itemsize() != 1 ||
      (a.shape(0) > 0 && a.shape(1) > 1 && a.strides(1) != 1)) {
    throw std::invalid_argument(std::string(name) +
                                ": expected a 2-D one-byte array with contiguous columns");
  }
  return {static_cast<const std::uint8_t*>(a.data()), a.shape(0), a.shape(1), a.strides(0)};
}

py::array_t<bool> thin(const py::array& mask, int threads) {
  const ByteImage img = byte_image(mask, "mask");
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  py::array_t<bool> out({img.rows, img.cols});
  auto* dst = reinterpret_cast<std::uint8_t*>(out.mutable_data());
  {
    py::gil_scoped_release release;
    veernet::cpu::thin(img.data, dst, img.rows, img.cols, img.row_stride, threads);
  }
  return out;
}

void check_thin_schedule(int tile_rows, int tile_words, int steps) {
  if (const char* why = veernet::thin_schedule_error(tile_rows, tile_words, steps)) {
    throw std::invalid_argument(std::string("thin schedule (") + std::to_string(tile_rows) + ", " +
                                std::to_string(tile_words) + ", " + std::to_string(steps) +
                                "): " + why);
  }
}

py::tuple thin_tiled(const py::array& mask, int tile_rows, int tile_words, int steps) {
  const ByteImage img = byte_image(mask, "mask");
  check_thin_schedule(tile_rows, tile_words, steps);
  py::array_t<bool> out({img.rows, img.cols});
  auto* dst = reinterpret_cast<std::uint8_t*>(out.mutable_data());
  veernet::cpu::ThinTileStats stats;
  {
    py::gil_scoped_release release;
    stats = veernet::cpu::thin_tiled(img.data, dst, img.rows, img.cols, img.row_stride, tile_rows,
                                     tile_words, steps);
  }
  py::dict counts;
  counts["tiles"] = stats.tiles;
  counts["foreground_tiles"] = stats.foreground_tiles;
  counts["rounds"] = stats.rounds;
  counts["tile_runs"] = stats.tile_runs;
  return py::make_tuple(out, counts);
}

// The skeleton and optional probability map of a trace call, checked.
struct TraceInput {
  ByteImage skel;
  py::array_t<float> prob_arr;  // keeps the probabilities alive while the kernel runs
  const float* prob = nullptr;
  std::int64_t prob_stride = 0;
};

TraceInput trace_input(const py::array& skeleton, const py::object& prob_obj) {
  TraceInput in{byte_image(skeleton, "skeleton"), {}, nullptr, 0};
  if (!prob_obj.is_none()) {
    in.prob_arr = py::array_t<float>::ensure(prob_obj);
    const auto& pa = in.prob_arr;
    if (!pa || pa.ndim() != 2 || pa.shape(0) != in.skel.rows || pa.shape(1) != in.skel.cols ||
        (in.skel.rows > 0 && pa.shape(1) > 1 && pa.strides(1) != sizeof(float)) ||
        pa.strides(0) % sizeof(float) != 0) {
      throw std::invalid_argument("prob: expected a float32 array shaped like the skeleton");
    }
    in.prob = pa.data();
    in.prob_stride = pa.strides(0) / static_cast<std::int64_t>(sizeof(float));
  }
  return in;
}

py::tuple trace(const py::array& skeleton, const py::object& prob_obj, std::int64_t miss,
                std::int64_t prob_cost, std::int64_t jump, std::int64_t follow,
                float band_threshold, int max_half_width) {
  const TraceInput in = trace_input(skeleton, prob_obj);
  py::array_t<std::int32_t> path(in.skel.rows);
  py::array_t<double> centre(in.skel.rows);
  const veernet::TraceCosts costs{miss, prob_cost, jump, follow};
  {
    py::gil_scoped_release release;
    veernet::cpu::trace(in.skel.data, in.skel.row_stride, in.prob, in.prob_stride, in.skel.rows,
                        in.skel.cols, costs, band_threshold, max_half_width, path.mutable_data(),
                        centre.mutable_data());
  }
  return py::make_tuple(path, centre);
}

py::tuple trace_chunked(const py::array& skeleton, const py::object& prob_obj, std::int64_t miss,
                        std::int64_t prob_cost, std::int64_t jump, std::int64_t follow,
                        float band_threshold, int max_half_width, std::int64_t chunk,
                        std::int64_t warmup) {
  const TraceInput in = trace_input(skeleton, prob_obj);
  py::array_t<std::int32_t> path(in.skel.rows);
  py::array_t<double> centre(in.skel.rows);
  const veernet::TraceCosts costs{miss, prob_cost, jump, follow};
  veernet::cpu::ChunkStats stats;
  {
    py::gil_scoped_release release;
    stats = veernet::cpu::trace_chunked(in.skel.data, in.skel.row_stride, in.prob, in.prob_stride,
                                        in.skel.rows, in.skel.cols, costs, band_threshold,
                                        max_half_width, chunk, warmup, path.mutable_data(),
                                        centre.mutable_data());
  }
  py::dict counts;
  counts["chunks"] = stats.chunks;
  counts["reruns"] = stats.reruns;
  return py::make_tuple(path, centre, counts);
}

#if VEERNET_WITH_CUDA
// A device array described by __cuda_array_interface__ (version 2 or 3).
struct DeviceArray {
  void* ptr;
  std::vector<std::int64_t> shape, strides;  // strides in bytes
  std::string typestr;
};

DeviceArray device_array(const py::object& obj, const char* name) {
  if (!py::hasattr(obj, "__cuda_array_interface__")) {
    throw std::invalid_argument(std::string(name) + ": not a CUDA array");
  }
  const py::dict cai = obj.attr("__cuda_array_interface__");
  DeviceArray a;
  a.typestr = cai["typestr"].cast<std::string>();
  const auto data = cai["data"].cast<py::tuple>();
  a.ptr = reinterpret_cast<void*>(data[0].cast<std::uintptr_t>());
  for (auto s : cai["shape"].cast<py::tuple>()) a.shape.push_back(s.cast<std::int64_t>());
  const std::int64_t item = std::stoll(a.typestr.substr(2));
  if (cai.contains("strides") && !cai["strides"].is_none()) {
    for (auto s : cai["strides"].cast<py::tuple>()) a.strides.push_back(s.cast<std::int64_t>());
  } else {
    a.strides.assign(a.shape.size(), item);
    for (int i = static_cast<int>(a.shape.size()) - 2; i >= 0; --i)
      a.strides[i] = a.strides[i + 1] * a.shape[i + 1];
  }
  return a;
}

void require(const DeviceArray& a, const char* name, std::size_t ndim, std::int64_t item) {
  if (a.shape.size() != ndim || std::stoll(a.typestr.substr(2)) != item) {
    throw std::invalid_argument(std::string(name) + ": unexpected shape or dtype " + a.typestr);
  }
  if (ndim == 2 && a.shape[0] > 0 && a.shape[1] > 1 && a.strides[1] != item) {
    throw std::invalid_argument(std::string(name) + ": columns must be adjacent in memory");
  }
}

void thin_cuda(const py::object& src_obj, const py::object& dst_obj, std::uintptr_t stream,
               int tile_rows, int tile_words, int steps) {
  const DeviceArray src = device_array(src_obj, "mask");
  const DeviceArray dst = device_array(dst_obj, "out");
  require(src, "mask", 2, 1);
  require(dst, "out", 2, 1);
  check_thin_schedule(tile_rows, tile_words, steps);
  py::gil_scoped_release release;
  veernet::cuda::thin(static_cast<const std::uint8_t*>(src.ptr), src.shape[0], src.shape[1],
                      src.strides[0], static_cast<std::uint8_t*>(dst.ptr), dst.strides[0],
                      reinterpret_cast<cudaStream_t>(stream), tile_rows, tile_words, steps);
}

void trace_cuda(const py::list& jobs, std::int64_t miss, std::int64_t prob_cost, std::int64_t jump,
                std::int64_t follow, float band_threshold, int max_half_width,
                std::uintptr_t stream, std::int64_t chunk, std::int64_t warmup) {
  std::vector<veernet::cuda::TraceProblem> problems;
  for (const auto& job_obj : jobs) {
    const auto job = job_obj.cast<py::tuple>();
    const DeviceArray skel = device_array(job[0], "skeleton");
    require(skel, "skeleton", 2, 1);
    veernet::cuda::TraceProblem P{};
    P.skel = static_cast<const std::uint8_t*>(skel.ptr);
    P.skel_stride = skel.strides[0];
    P.rows = skel.shape[0];
    P.cols = skel.shape[1];
    if (!job[1].is_none()) {
      const DeviceArray prob = device_array(job[1], "prob");
      require(prob, "prob", 2, 4);
      if (prob.shape != skel.shape)
        throw std::invalid_argument("prob: shape differs from skeleton");
      P.prob = static_cast<const float*>(prob.ptr);
      P.prob_stride = prob.strides[0] / 4;
    }
    const DeviceArray path = device_array(job[2], "path");
    const DeviceArray centre = device_array(job[3], "centre");
    require(path, "path", 1, 4);
    require(centre, "centre", 1, 8);
    P.path = static_cast<std::int32_t*>(path.ptr);
    P.centre = static_cast<double*>(centre.ptr);
    problems.push_back(P);
  }
  const veernet::TraceCosts costs{miss, prob_cost, jump, follow};
  py::gil_scoped_release release;
  veernet::cuda::trace(problems.data(), static_cast<int>(problems.size()), costs, band_threshold,
                       max_half_width, reinterpret_cast<cudaStream_t>(stream), chunk, warmup);
}
#endif

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "veernet's compiled kernels (private; use the veernet package).";
  m.def("thin", &thin, py::arg("mask"), py::arg("threads") = 0);
  m.def("trace", &trace, py::arg("skeleton"), py::arg("prob"), py::arg("miss"),
        py::arg("prob_cost"), py::arg("jump"), py::arg("follow"), py::arg("band_threshold"),
        py::arg("max_half_width"));
  m.def("trace_chunked", &trace_chunked, py::arg("skeleton"), py::arg("prob"), py::arg("miss"),
        py::arg("prob_cost"), py::arg("jump"), py::arg("follow"), py::arg("band_threshold"),
        py::arg("max_half_width"), py::arg("chunk"), py::arg("warmup"),
        "The GPU tracer's speculative chunked algorithm on the CPU: (path, centre, counts).");
  m.def("thin_tiled", &thin_tiled, py::arg("mask"), py::arg("tile_rows"), py::arg("tile_words"),
        py::arg("steps"),
        "The GPU thinning kernel's tiled schedule on the CPU: (skeleton, counts).");
  m.attr("THIN_SCHEDULE") =
      py::make_tuple(veernet::kThinTileRows, veernet::kThinTileWords, veernet::kThinSteps);
  m.def("thin_rule_table", [](int pass) {
    // The word-parallel rule evaluated on all 256 neighbourhoods, for the tests.
    py::array_t<bool> out(256);
    for (unsigned n = 0; n < 256; ++n) out.mutable_data()[n] = veernet::thin_removes(n, pass);
    return out;
  });
  m.def("thin_lut", []() {
    py::array_t<std::uint8_t> out(256);
    for (int n = 0; n < 256; ++n) out.mutable_data()[n] = veernet::THIN_LUT[n];
    return out;
  });

  py::dict info;
  info["version"] = VEERNET_VERSION;
  info["compiler"] = VEERNET_COMPILER;
#if VEERNET_WITH_CUDA
  info["cuda"] = true;
  info["cuda_compiler"] = VEERNET_CUDA_COMPILER;
  info["cuda_architectures"] = VEERNET_CUDA_ARCHS;
  m.def("cuda_device_count", &veernet::cuda::device_count);
  m.def("cuda_count_nonzero", [](const py::array_t<std::uint8_t, py::array::c_style>& a) {
    const auto* p = a.data();
    const auto n = static_cast<std::size_t>(a.size());
    py::gil_scoped_release release;
    return veernet::cuda::count_nonzero(p, n);
  });
  m.def("thin_cuda", &thin_cuda, py::arg("mask"), py::arg("out"), py::arg("stream"),
        py::arg("tile_rows") = veernet::kThinTileRows,
        py::arg("tile_words") = veernet::kThinTileWords, py::arg("steps") = veernet::kThinSteps);
  m.def("trace_cuda", &trace_cuda, py::arg("jobs"), py::arg("miss"), py::arg("prob_cost"),
        py::arg("jump"), py::arg("follow"), py::arg("band_threshold"), py::arg("max_half_width"),
        py::arg("stream"), py::arg("chunk") = veernet::cuda::kTraceChunk,
        py::arg("warmup") = veernet::cuda::kTraceWarmup);
  m.attr("CUDA_MAX_TRACE_COLUMNS") = veernet::cuda::max_trace_columns();
  m.attr("CUDA_TRACE_SCHEDULE") =
      py::make_tuple(veernet::cuda::kTraceChunk, veernet::cuda::kTraceWarmup);
#else
  info["cuda"] = false;
  info["cuda_compiler"] = py::none();
  info["cuda_architectures"] = py::none();
  m.def("cuda_device_count", []() { return 0; });
  m.def("cuda_count_nonzero", [](const py::array&) -> std::int64_t {
    throw std::runtime_error(
        "veernet was built without CUDA support (VEERNET_CUDA=OFF or no nvcc)");
  });
  m.attr("CUDA_MAX_TRACE_COLUMNS") = 0;
  m.attr("CUDA_TRACE_SCHEDULE") = py::none();
#endif
  m.attr("BUILD_INFO") = info;
}
