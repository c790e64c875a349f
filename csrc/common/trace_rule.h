// The centreline tracer's per-cell rules, shared by the CPU and CUDA tracers.
//
// Costs are integers (fixed point, chosen by the Python layer) so that the CPU, the GPU
// and the NumPy reference add them in any order and still agree exactly, ties included.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define VEERNET_HD __host__ __device__ __forceinline__
#else
#define VEERNET_HD inline
#endif

namespace veernet {

struct TraceCosts {
  std::int64_t miss;    // per row, when the path stands off the skeleton
  std::int64_t prob;    // per row, per 1/255 of probability below 1 at the path
  std::int64_t jump;    // per pixel of horizontal move that leaves the skeleton
  std::int64_t follow;  // per pixel of horizontal move along connected skeleton
};

// Probability quantised to 0..255 (NaN and values outside [0, 1] are clamped).
VEERNET_HD int quantize_prob(float p) {
  if (!(p > 0.0f)) return 0;
  if (p >= 1.0f) return 255;
  // rint rounds half to even, as NumPy's rint does.
  return static_cast<int>(rint(static_cast<double>(p) * 255.0));
}

// Cost of standing on a cell.
VEERNET_HD std::int64_t cell_cost(bool on_skeleton, int prob_q, const TraceCosts& c) {
  return (on_skeleton ? 0 : c.miss) + c.prob * (255 - prob_q);
}

// Cost of the horizontal step between columns x and x+1 when moving from one row to
// the next: cheap where either row's skeleton covers both columns (the curve itself
// runs sideways there, as in a gamma-ray kick), expensive elsewhere.
VEERNET_HD std::int64_t step_cost(bool covered_x, bool covered_x1, const TraceCosts& c) {
  return (covered_x && covered_x1) ? c.follow : c.jump;
}

}  // namespace veernet
