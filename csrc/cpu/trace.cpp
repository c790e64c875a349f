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
namespace {

// The row recurrence of one track: cell costs, and the step from one row's cost vector to
// the next with its back-pointers.
class Forward {
 public:
  Forward(const std::uint8_t* skel, std::int64_t skel_stride, const float* prob,
          std::int64_t prob_stride, std::int64_t cols, const TraceCosts& costs)
      : skel_(skel),
        skel_stride_(skel_stride),
        prob_(prob),
        prob_stride_(prob_stride),
        W_(static_cast<std::size_t>(cols)),
        costs_(costs),
        C_(W_),
        fval_(W_),
        gval_(W_),
        farg_(W_),
        garg_(W_) {}

  // D = the cell costs of row r.
  void cells(std::int64_t r, std::vector<std::int64_t>& D) const {
    D.resize(W_);
    for (std::size_t x = 0; x < W_; ++x) D[x] = cell(r, x);
  }

  // D (row r-1) -> D (row r); the best predecessor of every column to bp.
  void step(std::int64_t r, std::vector<std::int64_t>& D, std::uint16_t* bp) {
    const std::uint8_t* a = skel_ + (r - 1) * skel_stride_;
    const std::uint8_t* b = skel_ + r * skel_stride_;
    C_[0] = 0;
    for (std::size_t x = 0; x + 1 < W_; ++x) {
      C_[x + 1] = C_[x] + step_cost(a[x] || b[x], a[x + 1] || b[x + 1], costs_);
    }
    // From the left: min over a <= b of D[a] - C[a], nearest on ties.
    std::int64_t best = std::numeric_limits<std::int64_t>::max();
    std::int32_t arg = 0;
    for (std::size_t x = 0; x < W_; ++x) {
      const std::int64_t m = D[x] - C_[x];
      if (replaces_best(m, best)) {
        best = m;
        arg = static_cast<std::int32_t>(x);
      }
      fval_[x] = best + C_[x];
      farg_[x] = arg;
    }
    // From the right: min over a >= b of D[a] + C[a], nearest on ties.
    best = std::numeric_limits<std::int64_t>::max();
    for (std::size_t x = W_; x-- > 0;) {
      const std::int64_t m = D[x] + C_[x];
      if (replaces_best(m, best)) {
        best = m;
        arg = static_cast<std::int32_t>(x);
      }
      gval_[x] = best - C_[x];
      garg_[x] = arg;
    }
    for (std::size_t x = 0; x < W_; ++x) {
      const bool left =
          take_left(fval_[x], gval_[x], farg_[x], garg_[x], static_cast<std::int64_t>(x));
      bp[x] = static_cast<std::uint16_t>(left ? farg_[x] : garg_[x]);
      D[x] = (left ? fval_[x] : gval_[x]) + cell(r, x);
    }
  }

 private:
  std::int64_t cell(std::int64_t r, std::size_t x) const {
    const int q =
        prob_ ? quantize_prob(prob_[r * prob_stride_ + static_cast<std::int64_t>(x)]) : 255;
    return cell_cost(skel_[r * skel_stride_ + static_cast<std::int64_t>(x)] != 0, q, costs_);
  }

  const std::uint8_t* skel_;
  std::int64_t skel_stride_;
  const float* prob_;
  std::int64_t prob_stride_;
  std::size_t W_;
  TraceCosts costs_;
  std::vector<std::int64_t> C_, fval_, gval_;
  std::vector<std::int32_t> farg_, garg_;
};

// Whether a and b differ by one constant.
bool same_shift(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  for (std::size_t x = 1; x < a.size(); ++x)
    if (a[x] - b[x] != a[0] - b[0]) return false;
  return true;
}

// From the last row's cost vector and the back-pointers: the path (the cheapest last
// column, the leftmost on ties) and its sub-pixel centres (trace_rule.h).
void finish(const std::uint8_t* skel, std::int64_t skel_stride, const float* prob,
            std::int64_t prob_stride, std::int64_t rows, std::int64_t cols,
            const std::vector<std::uint16_t>& back, const std::vector<std::int64_t>& D,
            float band_threshold, int max_half_width, std::int32_t* path, double* centre) {
  const std::size_t W = static_cast<std::size_t>(cols);
  std::size_t end = 0;
  for (std::size_t x = 1; x < W; ++x)
    if (D[x] < D[end]) end = x;
  std::int64_t x = static_cast<std::int64_t>(end);
  for (std::int64_t r = rows - 1; r >= 0; --r) {
    path[r] = static_cast<std::int32_t>(x);
    if (r > 0) x = back[static_cast<std::size_t>(r) * W + static_cast<std::size_t>(x)];
  }
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

// Degenerate shapes; true when handled.
bool degenerate(std::int64_t rows, std::int64_t cols, std::int32_t* path, double* centre) {
  if (rows <= 0) return true;
  if (cols <= 0) {
    for (std::int64_t r = 0; r < rows; ++r) {
      path[r] = -1;
      centre[r] = std::nan("");
    }
    return true;
  }
  if (cols > 65535) throw std::invalid_argument("trace: at most 65535 columns");
  return false;
}

}  // namespace

void trace(const std::uint8_t* skel, std::int64_t skel_stride, const float* prob,
           std::int64_t prob_stride, std::int64_t rows, std::int64_t cols, const TraceCosts& costs,
           float band_threshold, int max_half_width, std::int32_t* path, double* centre) {
  if (degenerate(rows, cols, path, centre)) return;
  const std::size_t W = static_cast<std::size_t>(cols);
  std::vector<std::uint16_t> back(static_cast<std::size_t>(rows) * W);
  Forward fwd(skel, skel_stride, prob, prob_stride, cols, costs);
  std::vector<std::int64_t> D;
  fwd.cells(0, D);
  for (std::int64_t r = 1; r < rows; ++r) fwd.step(r, D, back.data() + r * W);
  finish(skel, skel_stride, prob, prob_stride, rows, cols, back, D, band_threshold, max_half_width,
         path, centre);
}

ChunkStats trace_chunked(const std::uint8_t* skel, std::int64_t skel_stride, const float* prob,
                         std::int64_t prob_stride, std::int64_t rows, std::int64_t cols,
                         const TraceCosts& costs, float band_threshold, int max_half_width,
                         std::int64_t chunk, std::int64_t warmup, std::int32_t* path,
                         double* centre) {
  if (chunk < 1 || warmup < 0) throw std::invalid_argument("trace: chunk >= 1, warmup >= 0");
  ChunkStats stats;
  if (degenerate(rows, cols, path, centre)) return stats;
  const std::size_t W = static_cast<std::size_t>(cols);
  std::vector<std::uint16_t> back(static_cast<std::size_t>(rows) * W);
  std::vector<std::uint16_t> discard(W);
  Forward fwd(skel, skel_stride, prob, prob_stride, cols, costs);
  const std::int64_t K = chunk_count(rows, chunk);
  stats.chunks = K;
  // start[k]: the vector chunk k starts from at its top row (speculative, then the
  // end of the chunk above once it failed its check); end[k]: its vector at its bottom.
  std::vector<std::vector<std::int64_t>> start(static_cast<std::size_t>(K)),
      end(static_cast<std::size_t>(K));
  auto run = [&](std::int64_t k) {  // chunk k from start[k] at its top row
    std::vector<std::int64_t> D = start[static_cast<std::size_t>(k)];
    for (std::int64_t r = chunk_top(k, chunk) + 1; r <= chunk_bottom(k, rows, chunk); ++r)
      fwd.step(r, D, back.data() + r * W);
    end[static_cast<std::size_t>(k)] = std::move(D);
  };
  // Every chunk at once (here one after another): its warm-up, then its own rows.
  for (std::int64_t k = 0; k < K; ++k) {
    const std::int64_t s0 = chunk_start(k, chunk, warmup), top = chunk_top(k, chunk);
    std::vector<std::int64_t> D;
    fwd.cells(s0, D);
    for (std::int64_t r = s0 + 1; r <= top; ++r) fwd.step(r, D, discard.data());
    start[static_cast<std::size_t>(k)] = std::move(D);
    run(k);
  }
  // Then in order from the top, one check per chunk against the end of the chunk above,
  // which is exact by then: a chunk that fails runs again from that end.
  for (std::int64_t k = 1; k < K; ++k) {
    const std::size_t i = static_cast<std::size_t>(k);
    if (same_shift(start[i], end[i - 1])) continue;
    ++stats.reruns;
    start[i] = end[i - 1];
    run(k);
  }
  finish(skel, skel_stride, prob, prob_stride, rows, cols, back, end.back(), band_threshold,
         max_half_width, path, centre);
  return stats;
}

}  // namespace veernet::cpu
