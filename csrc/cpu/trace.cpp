// Viterbi centreline tracing on the CPU.
//
// States are the columns of a row.  Moving from row r to r+1 costs the sum of the
// horizontal step costs between the two columns (trace_rule.h), plus the cell cost of
// the new cell.  Because the move cost is a sum over unit steps, the best predecessor
// of every column comes from two running minima over prefix sums (one from the left,
// one from the right): O(columns) per row instead of O(columns^2).
//
// Tie rules (the NumPy reference in tests/reference.py follows them exactly): from the
// left, the nearest column wins; from the right, the nearest column wins; between the
// two, the smaller cost, then the nearer column, then the left one.  The last row ends
// at its cheapest column, the leftmost on ties.
#include "trace.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "../common/trace_rule.h"

namespace veernet::cpu {

void trace(const std::uint8_t* skel, std::int64_t skel_stride, const float* prob,
           std::int64_t prob_stride, std::int64_t rows, std::int64_t cols, const TraceCosts& costs,
           float band_threshold, int max_half_width, std::int32_t* path, double* centre) {
  if (rows <= 0) return;
  if (cols <= 0) {
    for (std::int64_t r = 0; r < rows; ++r) {
      path[r] = -1;
      centre[r] = std::nan("");
    }
    return;
  }
  if (cols > 65535) throw std::invalid_argument("trace: at most 65535 columns");
  const std::size_t W = static_cast<std::size_t>(cols);
  std::vector<std::uint16_t> back(static_cast<std::size_t>(rows) * W);
  std::vector<std::int64_t> D(W), C(W), fval(W), gval(W);
  std::vector<std::int32_t> farg(W), garg(W);

  auto cell = [&](std::int64_t r, std::size_t x) {
    const int q = prob ? quantize_prob(prob[r * prob_stride + x]) : 255;
    return cell_cost(skel[r * skel_stride + x] != 0, q, costs);
  };

  for (std::size_t x = 0; x < W; ++x) D[x] = cell(0, x);
  for (std::int64_t r = 1; r < rows; ++r) {
    const std::uint8_t* a = skel + (r - 1) * skel_stride;
    const std::uint8_t* b = skel + r * skel_stride;
    C[0] = 0;
    for (std::size_t x = 0; x + 1 < W; ++x) {
      C[x + 1] = C[x] + step_cost(a[x] || b[x], a[x + 1] || b[x + 1], costs);
    }
    // From the left: min over a <= b of D[a] - C[a], nearest on ties.
    std::int64_t best = std::numeric_limits<std::int64_t>::max();
    std::int32_t arg = 0;
    for (std::size_t x = 0; x < W; ++x) {
      const std::int64_t m = D[x] - C[x];
      if (replaces_best(m, best)) {
        best = m;
        arg = static_cast<std::int32_t>(x);
      }
      fval[x] = best + C[x];
      farg[x] = arg;
    }
    // From the right: min over a >= b of D[a] + C[a], nearest on ties.
    best = std::numeric_limits<std::int64_t>::max();
    for (std::size_t x = W; x-- > 0;) {
      const std::int64_t m = D[x] + C[x];
      if (replaces_best(m, best)) {
        best = m;
        arg = static_cast<std::int32_t>(x);
      }
      gval[x] = best - C[x];
      garg[x] = arg;
    }
    std::uint16_t* bp = back.data() + static_cast<std::size_t>(r) * W;
    for (std::size_t x = 0; x < W; ++x) {
      const bool left = take_left(fval[x], gval[x], farg[x], garg[x], static_cast<std::int64_t>(x));
      bp[x] = static_cast<std::uint16_t>(left ? farg[x] : garg[x]);
      D[x] = (left ? fval[x] : gval[x]) + cell(r, x);
    }
  }

  std::size_t end = 0;
  for (std::size_t x = 1; x < W; ++x)
    if (D[x] < D[end]) end = x;
  std::int64_t x = static_cast<std::int64_t>(end);
  for (std::int64_t r = rows - 1; r >= 0; --r) {
    path[r] = static_cast<std::int32_t>(x);
    if (r > 0) x = back[static_cast<std::size_t>(r) * W + static_cast<std::size_t>(x)];
  }

  // Sub-pixel refinement (trace_rule.h).
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t c = path[r];
    const std::uint8_t* s = skel + r * skel_stride;
    if (!s[c]) {
      centre[r] = std::nan("");
      continue;
    }
    const std::int64_t before = r > 0 ? path[r - 1] : c;
    const std::int64_t after = r + 1 < rows ? path[r + 1] : c;
    centre[r] = refine_centre(s, prob ? prob + r * prob_stride : nullptr, cols, c, before, after,
                              band_threshold, max_half_width);
  }
}

}  // namespace veernet::cpu
