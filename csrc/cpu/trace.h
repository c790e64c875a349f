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

}  // namespace veernet::cpu
