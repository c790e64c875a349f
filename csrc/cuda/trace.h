#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../common/trace_rule.h"

namespace veernet::cuda {

// One track x class to trace.  Device pointers; strides in elements.  The caller sets the
// inputs and `path` / `centre` (rows elements each); the rest is scratch that
// veernet::cuda::trace allocates.
struct TraceProblem {
  const std::uint8_t* skel;
  std::int64_t skel_stride;
  const float* prob;  // may be null
  std::int64_t prob_stride;
  std::int64_t rows, cols;
  std::int32_t* path;
  double* centre;
  std::uint16_t* back;   // back-pointers, rows x cols
  std::int32_t* end;     // the path's last column
  std::int64_t chunks;   // chunks of the forward pass (common/trace_rule.h)
  std::int32_t* starts;  // chunks x cols: each chunk's vector at its top row
  std::int32_t* ends;    // chunks x cols: each chunk's vector at its bottom row
};

// Rows per chunk of the speculative forward pass, and rows of warm-up above each chunk
// (common/trace_rule.h).  Measured on the CPU twin (veernet::cpu::trace_chunked): on a
// 40,000-row track with one band no chunk runs twice; on the skeletons digitize traces
// (199 curves of 40 rendered logs) 17 % of chunks do, most of them where a curve with a
// backup scale is traced over copies of its track (docs/benchmarks.md).
constexpr std::int64_t kTraceChunk = 128;
constexpr std::int64_t kTraceWarmup = 128;

// Widest track the GPU tracer accepts (pixels).
int max_trace_columns();

// Trace `n` problems at once on `stream`; path-identical to veernet::cpu::trace whatever
// `chunk` and `warmup` are (they set the speculative pass's schedule).
void trace(const TraceProblem* problems, int n, const TraceCosts& costs, float band_threshold,
           int max_half_width, cudaStream_t stream, std::int64_t chunk = kTraceChunk,
           std::int64_t warmup = kTraceWarmup);

}  // namespace veernet::cuda
