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

// Tie rules of the row step, in one place for every implementation.  A predecessor
// from the left replaces the best so far when it is no worse (so the nearest wins); from
// the right likewise.  Between the best from the left (cost f, column fa) and from the
// right (g, ga) of column x: the cheaper, then the nearer, then the left one.
VEERNET_HD bool replaces_best(std::int64_t candidate, std::int64_t best) {
  return candidate <= best;
}

VEERNET_HD bool take_left(std::int64_t f, std::int64_t g, std::int64_t fa, std::int64_t ga,
                          std::int64_t x) {
  if (f != g) return f < g;
  return (x - fa) <= (ga - x);
}

// Sub-pixel centre of row `s` (skeleton bytes) / `p` (probabilities, or null) at the
// path's column c, given the path's columns in the rows before and after.  The skeleton
// run through c, clipped to where the path comes from and goes to (a steep stretch drawn
// as a long run in one row counts only its part between the neighbouring rows'
// positions; a horizontal grid line crossing the curve does not count at all), widened
// by the band of probability >= band_threshold (at most max_half_width pixels each
// side); the probability-weighted centroid of that interval, or the run's midpoint
// without probabilities.  The caller has checked that s[c] is set.
VEERNET_HD double refine_centre(const std::uint8_t* s, const float* p, std::int64_t cols,
                                std::int64_t c, std::int64_t before, std::int64_t after,
                                float band_threshold, int max_half_width) {
  std::int64_t a = c < before ? c : before;
  a = a < after ? a : after;
  std::int64_t b = c > before ? c : before;
  b = b > after ? b : after;
  std::int64_t sl = c, sr = c;
  while (sl - 1 >= a && s[sl - 1]) --sl;
  while (sr + 1 <= b && s[sr + 1]) ++sr;
  const double mid = 0.5 * static_cast<double>(sl + sr);
  if (!p) return mid;
  std::int64_t lo = sl, hi = sr;
  while (lo - 1 >= 0 && sl - (lo - 1) <= max_half_width && p[lo - 1] >= band_threshold) --lo;
  while (hi + 1 < cols && (hi + 1) - sr <= max_half_width && p[hi + 1] >= band_threshold) ++hi;
  double sw = 0.0, swx = 0.0;
  for (std::int64_t k = lo; k <= hi; ++k) {
    const double w = (p[k] > 0.0f) ? static_cast<double>(p[k]) : 0.0;
    sw += w;
    swx += w * static_cast<double>(k);
  }
  return (sw > 0.0) ? swx / sw : mid;
}

// The speculative chunked forward pass (the GPU tracer; cpu::trace_chunked is its CPU
// twin).  The row recurrence is cut into chunks of `chunk` rows.  Chunk k owns the
// back-pointers of rows top(k)+1 .. bottom(k), where bottom(k) = top(k+1); it starts
// `warmup` rows above its top from the cell costs of that row instead of the true cost
// vector, which it cannot know before the chunks above it are done, so all chunks run at
// once.  Viterbi survivors merge: once every column's best path through the warm-up
// starts from one common column, the speculative vector at top(k) differs from the true
// one by a constant, and a constant changes no comparison, so every back-pointer below is
// the one the sequential pass writes.  That is checked exactly, chunk by chunk from the
// top, against the vector the chunk above ended with; a chunk that fails is run again
// from that vector.  So the path is identical whatever `chunk` and `warmup` are; they
// decide only how much runs in parallel and how often a chunk runs twice.
VEERNET_HD std::int64_t chunk_count(std::int64_t rows, std::int64_t chunk) {
  return rows > 1 ? (rows - 2) / chunk + 1 : 1;
}
VEERNET_HD std::int64_t chunk_top(std::int64_t k, std::int64_t chunk) { return k * chunk; }
VEERNET_HD std::int64_t chunk_bottom(std::int64_t k, std::int64_t rows, std::int64_t chunk) {
  const std::int64_t b = (k + 1) * chunk;
  return b < rows - 1 ? b : (rows > 0 ? rows - 1 : 0);
}
// First row of chunk k's warm-up (chunk 0 starts at row 0 from the true initial vector).
VEERNET_HD std::int64_t chunk_start(std::int64_t k, std::int64_t chunk, std::int64_t warmup) {
  const std::int64_t s = chunk_top(k, chunk) - warmup;
  return (k == 0 || s < 0) ? 0 : s;
}

}  // namespace veernet
