#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../common/trace_rule.h"

namespace veernet::cuda {

// One track x class to trace.  Device pointers; strides in elements.  The caller sets the
// inputs and `path` / `centre` (rows elements each); `back` and `end` are scratch that
// veernet::cuda::trace allocates.
struct TraceProblem {
  const std::uint8_t* skel;
  std::int64_t skel_stride;
  const float* prob;  // may be null
  std::int64_t prob_stride;
  std::int64_t rows, cols;
  std::int32_t* path;
  double* centre;
  std::uint16_t* back;
  std::int32_t* end;
};

// Widest track the GPU tracer accepts (pixels).
int max_trace_columns();

// Trace `n` problems at once on `stream`; path-identical to veernet::cpu::trace.
void trace(const TraceProblem* problems, int n, const TraceCosts& costs, float band_threshold,
           int max_half_width, cudaStream_t stream);

}  // namespace veernet::cuda
