#pragma once
#include <cstdint>

#include "../common/trace_rule.h"

namespace veernet::cpu {

// Trace one curve's centreline through a rows x cols skeleton (non-zero = skeleton),
// optionally guided by a probability map.  Writes, per row, the chosen column to `path`
// and the sub-pixel centre (NaN where the path is off the skeleton) to `centre`.
// Strides are in elements.
void trace(const std::uint8_t* skel, std::int64_t skel_stride, const float* prob,
           std::int64_t prob_stride, std::int64_t rows, std::int64_t cols, const TraceCosts& costs,
           float band_threshold, int max_half_width, std::int32_t* path, double* centre);

// The same path by the GPU tracer's speculative chunked forward pass (trace_rule.h), with
// the GPU's schedule run one chunk after another: the CPU twin that tests that algorithm
// and counts its work.
struct ChunkStats {
  std::int64_t chunks = 1;  // chunks of the forward pass
  std::int64_t reruns = 0;  // chunks that failed their check and ran again
};
ChunkStats trace_chunked(const std::uint8_t* skel, std::int64_t skel_stride, const float* prob,
                         std::int64_t prob_stride, std::int64_t rows, std::int64_t cols,
                         const TraceCosts& costs, float band_threshold, int max_half_width,
                         std::int64_t chunk, std::int64_t warmup, std::int32_t* path,
                         double* centre);

}  // namespace veernet::cpu
