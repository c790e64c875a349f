// Viterbi centreline tracing on the GPU, path-identical to the CPU twin
// (csrc/cpu/trace.cpp): the same integer costs, prefix sums and tie rules
// (common/trace_rule.h).
//
// Forward pass: one warp per chunk of rows of a problem (track x class), a row per step;
// each lane holds ITEMS consecutive columns in registers, and the three scans of a row
// (step-cost prefix sums, running minimum from the left, running minimum from the right)
// are a sequential scan inside the lane plus a shuffle scan across the warp: no shared
// memory and no block barriers on the critical path of the row recurrence.  Back-pointers
// go to global memory.  The chunks of every problem run at once, each after a warm-up
// from a guessed start; a second kernel checks each chunk's start against the end of the
// chunk above, in order, and runs again the few that fail (the speculative pass of
// common/trace_rule.h; exact, so paths stay identical).  A 40,000-row track is then ~300
// chunks across the chip instead of 40,000 dependent row steps on one warp.
//
// Backtracking is chunked so it does not cost one dependent global load per row on a
// single thread: for every chunk of rows and every column at its bottom, a thread
// follows the back-pointers to the chunk's top; one thread then chains the chunks, and
// each chunk's rows are filled in parallel.  Sub-pixel refinement: a thread per row.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "../common/trace_rule.h"
#include "cuda_check.h"
#include "trace.h"

namespace veernet::cuda {
namespace {

// Rows per chunk of the backtracking (chunk_count and friends in common/trace_rule.h).
constexpr std::int64_t kBacktrackChunk = 128;
// Costs are renormalised (the row minimum subtracted) every kRenorm rows so that 32-bit
// integers suffice; subtracting one constant from a whole row changes no comparison, so
// paths stay identical to the CPU's 64-bit arithmetic.  The host checks the bound.
constexpr int kRenorm = 256;
constexpr std::int32_t kBig = 1 << 30;  // cost of the padding columns past the track

// Scan summaries.  Column x carries `in`, the step cost of entering it from x-1.
//   From the left, a segment's summary is the best cost of arriving at its right end
//   from any column in it: v = min_a D[a] + in[a+1..end], with T = in[start..end].
//   From the right, it is the best cost of reaching its left end's entry edge from any
//   column in it: v = min_a D[a] + in[start..a].
// Ties go to the candidate nearer the segment end being arrived at (common/trace_rule.h).
struct Summary {
  std::int32_t v, t, a;
};

__device__ __forceinline__ Summary left_then_right_fwd(Summary l, Summary r) {
  const std::int32_t via_l = l.v + r.t;
  Summary s;
  s.t = l.t + r.t;
  if (replaces_best(r.v, via_l)) {
    s.v = r.v;
    s.a = r.a;
  } else {
    s.v = via_l;
    s.a = l.a;
  }
  return s;
}

__device__ __forceinline__ Summary left_then_right_bwd(Summary l, Summary r) {
  const std::int32_t via_r = l.t + r.v;
  Summary s;
  s.t = l.t + r.t;
  if (replaces_best(l.v, via_r)) {
    s.v = l.v;
    s.a = l.a;
  } else {
    s.v = via_r;
    s.a = r.a;
  }
  return s;
}

__device__ __forceinline__ Summary shfl_up(Summary m, int d) {
  return {__shfl_up_sync(0xffffffffu, m.v, d), __shfl_up_sync(0xffffffffu, m.t, d),
          __shfl_up_sync(0xffffffffu, m.a, d)};
}
__device__ __forceinline__ Summary shfl_down(Summary m, int d) {
  return {__shfl_down_sync(0xffffffffu, m.v, d), __shfl_down_sync(0xffffffffu, m.t, d),
          __shfl_down_sync(0xffffffffu, m.a, d)};
}

template <int ITEMS>
__device__ __forceinline__ void load_row(const TraceProblem& P, const TraceCosts& costs,
                                         std::int64_t r, std::int64_t x0, bool (&on)[ITEMS],
                                         std::int32_t (&cell)[ITEMS]) {
  const std::uint8_t* s = P.skel + r * P.skel_stride;
  const float* p = P.prob ? P.prob + r * P.prob_stride : nullptr;
#pragma unroll
  for (int i = 0; i < ITEMS; ++i) {
    const std::int64_t x = x0 + i;
    const bool valid = x < P.cols;
    on[i] = valid && s[x] != 0;
    const int q = (valid && p) ? quantize_prob(p[x]) : 255;
    cell[i] = valid ? static_cast<std::int32_t>(cell_cost(on[i], q, costs)) : 0;
  }
}

// Runs the row recurrence of problem P on one warp: D holds the cost vector of row
// `first` (its skeleton row is reloaded here); rows first+1 .. bottom follow.  Back-pointers
// are written for rows after `top` only (the rows above are a chunk's warm-up); with
// `at_top`, the vector of row `top` is stored there.
template <int ITEMS>
__device__ __forceinline__ void run_rows(const TraceProblem& P, const TraceCosts& costs,
                                         std::int32_t (&D)[ITEMS], std::int64_t first,
                                         std::int64_t top, std::int64_t bottom,
                                         std::int32_t* at_top) {
  const int lane = threadIdx.x;
  const std::int64_t x0 = static_cast<std::int64_t>(lane) * ITEMS;
  const std::int32_t step_follow = static_cast<std::int32_t>(costs.follow);
  const std::int32_t step_jump = static_cast<std::int32_t>(costs.jump);
  if (at_top && first == top) {
#pragma unroll
    for (int i = 0; i < ITEMS; ++i)
      if (x0 + i < P.cols) at_top[x0 + i] = D[i];
  }
  bool prev_on[ITEMS];
  bool on[ITEMS];
  std::int32_t cell[ITEMS];
  load_row<ITEMS>(P, costs, first, x0, prev_on, cell);
  if (first < bottom) load_row<ITEMS>(P, costs, first + 1, x0, on, cell);

  for (std::int64_t r = first + 1; r <= bottom; ++r) {
    // Prefetch the next row while this one is computed.
    bool next_on[ITEMS];
    std::int32_t next_cell[ITEMS];
    if (r < bottom) load_row<ITEMS>(P, costs, r + 1, x0, next_on, next_cell);

    bool cov[ITEMS];
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) cov[i] = on[i] || prev_on[i];
    const bool cov_before = __shfl_up_sync(0xffffffffu, cov[ITEMS - 1], 1);
    std::int32_t in[ITEMS];
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
      const std::int64_t x = x0 + i;
      const bool left_cov = (i > 0) ? cov[i - 1] : cov_before;
      in[i] = (x == 0 || x >= P.cols) ? 0 : (left_cov && cov[i] ? step_follow : step_jump);
    }
    // In-lane scans, both directions.
    Summary fwd[ITEMS], bwd[ITEMS];
    fwd[0] = {D[0], in[0], static_cast<std::int32_t>(x0)};
#pragma unroll
    for (int i = 1; i < ITEMS; ++i)
      fwd[i] = left_then_right_fwd(fwd[i - 1], {D[i], in[i], static_cast<std::int32_t>(x0 + i)});
    bwd[ITEMS - 1] = {D[ITEMS - 1] + in[ITEMS - 1], in[ITEMS - 1],
                      static_cast<std::int32_t>(x0 + ITEMS - 1)};
#pragma unroll
    for (int i = ITEMS - 2; i >= 0; --i)
      bwd[i] =
          left_then_right_bwd({D[i] + in[i], in[i], static_cast<std::int32_t>(x0 + i)}, bwd[i + 1]);
    // Across the warp: inclusive scans of the lane summaries, then shift by one lane.
    Summary fs = fwd[ITEMS - 1], bs = bwd[0];
#pragma unroll
    for (int d = 1; d < 32; d <<= 1) {
      const Summary fo = shfl_up(fs, d);
      const Summary bo = shfl_down(bs, d);
      if (lane >= d) fs = left_then_right_fwd(fo, fs);
      if (lane + d < 32) bs = left_then_right_bwd(bs, bo);
    }
    const Summary before = shfl_up(fs, 1);
    const Summary after = shfl_down(bs, 1);

    std::uint16_t* bp = P.back + r * P.cols;
    const bool keep = r > top;
    std::int32_t row_min = kBig;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
      const std::int64_t x = x0 + i;
      const Summary f = lane > 0 ? left_then_right_fwd(before, fwd[i]) : fwd[i];
      const Summary g = lane < 31 ? left_then_right_bwd(bwd[i], after) : bwd[i];
      const std::int32_t gv = g.v - in[i];
      const bool left = take_left(f.v, gv, f.a, g.a, x);
      if (x < P.cols) {
        if (keep) bp[x] = static_cast<std::uint16_t>(left ? f.a : g.a);
        D[i] = (left ? f.v : gv) + cell[i];
        row_min = min(row_min, D[i]);
      } else {
        D[i] = kBig;
      }
      prev_on[i] = on[i];
      on[i] = next_on[i];
      cell[i] = next_cell[i];
    }
    if ((r % kRenorm) == 0) {
#pragma unroll
      for (int d = 16; d > 0; d >>= 1)
        row_min = min(row_min, __shfl_xor_sync(0xffffffffu, row_min, d));
#pragma unroll
      for (int i = 0; i < ITEMS; ++i)
        if (x0 + i < P.cols) D[i] -= row_min;
    }
    if (at_top && r == top) {
#pragma unroll
      for (int i = 0; i < ITEMS; ++i)
        if (x0 + i < P.cols) at_top[x0 + i] = D[i];
    }
  }
}

template <int ITEMS>
__device__ __forceinline__ void load_vector(const std::int32_t* v, std::int64_t cols,
                                            std::int32_t (&D)[ITEMS]) {
  const std::int64_t x0 = static_cast<std::int64_t>(threadIdx.x) * ITEMS;
#pragma unroll
  for (int i = 0; i < ITEMS; ++i) D[i] = (x0 + i < cols) ? v[x0 + i] : kBig;
}

template <int ITEMS>
__device__ __forceinline__ void store_vector(std::int32_t* v, std::int64_t cols,
                                             const std::int32_t (&D)[ITEMS]) {
  const std::int64_t x0 = static_cast<std::int64_t>(threadIdx.x) * ITEMS;
#pragma unroll
  for (int i = 0; i < ITEMS; ++i)
    if (x0 + i < cols) v[x0 + i] = D[i];
}

// The speculative pass (common/trace_rule.h): block (k, p) runs chunk k of problem p from
// the cell costs of its first warm-up row, storing its vector at its top row in
// P.starts[k] and at its bottom row in P.ends[k].
template <int ITEMS>
__global__ void __launch_bounds__(32) chunks_kernel(const TraceProblem* problems, TraceCosts costs,
                                                    std::int64_t chunk, std::int64_t warmup) {
  const TraceProblem P = problems[blockIdx.y];
  const std::int64_t k = blockIdx.x;
  if (k >= P.chunks) return;
  const std::int64_t first = chunk_start(k, chunk, warmup);
  const std::int64_t x0 = static_cast<std::int64_t>(threadIdx.x) * ITEMS;
  bool on[ITEMS];
  std::int32_t cell[ITEMS];
  load_row<ITEMS>(P, costs, first, x0, on, cell);
  std::int32_t D[ITEMS];
#pragma unroll
  for (int i = 0; i < ITEMS; ++i) D[i] = (x0 + i < P.cols) ? cell[i] : kBig;
  run_rows<ITEMS>(P, costs, D, first, chunk_top(k, chunk), chunk_bottom(k, P.rows, chunk),
                  P.starts + k * P.cols);
  store_vector<ITEMS>(P.ends + k * P.cols, P.cols, D);
}

// The checks, in order from the top, one warp per problem: chunk k is exact when the
// vector it started from differs by one constant from the (exact) end of chunk k-1;
// otherwise it runs again from that end.  Then the cheapest last column, leftmost on ties.
template <int ITEMS>
__global__ void __launch_bounds__(32)
    check_kernel(const TraceProblem* problems, TraceCosts costs, std::int64_t chunk) {
  const TraceProblem P = problems[blockIdx.x];
  const int lane = threadIdx.x;
  const std::int64_t x0 = static_cast<std::int64_t>(lane) * ITEMS;
  std::int32_t D[ITEMS];
  for (std::int64_t k = 1; k < P.chunks; ++k) {
    const std::int32_t* s = P.starts + k * P.cols;
    const std::int32_t* e = P.ends + (k - 1) * P.cols;
    // Column 0 is lane 0's first item; every valid column must show its difference.
    const std::int32_t shift = __shfl_sync(0xffffffffu, s[0] - e[0], 0);
    bool same = true;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i)
      if (x0 + i < P.cols) same = same && (s[x0 + i] - e[x0 + i] == shift);
    if (__all_sync(0xffffffffu, same)) continue;
    load_vector<ITEMS>(e, P.cols, D);
    const std::int64_t top = chunk_top(k, chunk);
    run_rows<ITEMS>(P, costs, D, top, top, chunk_bottom(k, P.rows, chunk), nullptr);
    store_vector<ITEMS>(P.ends + k * P.cols, P.cols, D);
  }
  load_vector<ITEMS>(P.ends + (P.chunks - 1) * P.cols, P.cols, D);
  std::int32_t best_v = kBig, best_a = 0;
#pragma unroll
  for (int i = 0; i < ITEMS; ++i) {
    if (x0 + i < P.cols && D[i] < best_v) {
      best_v = D[i];
      best_a = static_cast<std::int32_t>(x0 + i);
    }
  }
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) {
    const std::int32_t ov = __shfl_down_sync(0xffffffffu, best_v, d);
    const std::int32_t oa = __shfl_down_sync(0xffffffffu, best_a, d);
    if (ov < best_v || (ov == best_v && oa < best_a)) {
      best_v = ov;
      best_a = oa;
    }
  }
  if (lane == 0) *P.end = best_a;
}

// For chunk c and column x at its bottom row: the column reached at its top row.
__global__ void chunk_map_kernel(TraceProblem P, std::int32_t* map, std::int64_t chunks) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= chunks * P.cols) return;
  const std::int64_t c = i / P.cols, x0 = i % P.cols;
  const std::int64_t top = chunk_top(c, kBacktrackChunk);
  const std::int64_t bottom = chunk_bottom(c, P.rows, kBacktrackChunk);
  std::int64_t x = x0;
  for (std::int64_t r = bottom; r > top; --r) x = P.back[r * P.cols + x];
  map[i] = static_cast<std::int32_t>(x);
}

__global__ void chain_kernel(TraceProblem P, const std::int32_t* map, std::int64_t chunks,
                             std::int32_t* at_bottom) {
  // at_bottom[c]: the path's column at chunk c's bottom row.
  std::int64_t x = *P.end;
  for (std::int64_t c = chunks - 1; c >= 0; --c) {
    at_bottom[c] = static_cast<std::int32_t>(x);
    x = map[c * P.cols + x];
  }
}

__global__ void fill_kernel(TraceProblem P, const std::int32_t* at_bottom, std::int64_t chunks) {
  const std::int64_t c = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (c >= chunks) return;
  const std::int64_t top = chunk_top(c, kBacktrackChunk);
  const std::int64_t bottom = chunk_bottom(c, P.rows, kBacktrackChunk);
  std::int64_t x = at_bottom[c];
  for (std::int64_t r = bottom; r >= top; --r) {
    // Neighbouring chunks share their boundary row; both write the same column.
    P.path[r] = static_cast<std::int32_t>(x);
    if (r > top) x = P.back[r * P.cols + x];
  }
}

__global__ void refine_kernel(TraceProblem P, float band_threshold, int max_half_width) {
  const std::int64_t r = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (r >= P.rows) return;
  const std::int64_t c = P.path[r];
  const std::uint8_t* s = P.skel + r * P.skel_stride;
  if (!s[c]) {
    P.centre[r] = nan("");
    return;
  }
  const std::int64_t before = r > 0 ? P.path[r - 1] : c;
  const std::int64_t after = r + 1 < P.rows ? P.path[r + 1] : c;
  P.centre[r] = refine_centre(s, P.prob ? P.prob + r * P.prob_stride : nullptr, P.cols, c, before,
                              after, band_threshold, max_half_width);
}

template <int ITEMS>
void launch_forward(const TraceProblem* dev_problems, int n, std::int64_t max_chunks,
                    const TraceCosts& costs, std::int64_t chunk, std::int64_t warmup,
                    cudaStream_t stream) {
  chunks_kernel<ITEMS>
      <<<dim3(static_cast<unsigned>(max_chunks), static_cast<unsigned>(n)), 32, 0, stream>>>(
          dev_problems, costs, chunk, warmup);
  check(cudaGetLastError(), "trace chunks_kernel launch");
  check_kernel<ITEMS><<<n, 32, 0, stream>>>(dev_problems, costs, chunk);
  check(cudaGetLastError(), "trace check_kernel launch");
}

}  // namespace

int max_trace_columns() { return 32 * 64; }

void trace(const TraceProblem* problems, int n, const TraceCosts& costs, float band_threshold,
           int max_half_width, cudaStream_t stream, std::int64_t chunk, std::int64_t warmup) {
  if (n <= 0) return;
  if (chunk < 1 || warmup < 0) throw std::invalid_argument("GPU trace: chunk >= 1, warmup >= 0");
  std::int64_t widest = 0;
  for (int i = 0; i < n; ++i) widest = std::max<std::int64_t>(widest, problems[i].cols);
  if (widest > max_trace_columns()) {
    throw std::invalid_argument("GPU trace: at most 2048 columns per track");
  }
  // 32-bit headroom (see kRenorm): costs gathered between renormalisations plus the
  // widest sideways move, twice, must stay below the padding cost.
  const std::int64_t max_cell = costs.miss + 255 * costs.prob;
  const std::int64_t spread =
      (kRenorm + 2) * max_cell + 2 * std::max(costs.jump, costs.follow) * widest;
  if (spread >= kBig / 2) {
    throw std::invalid_argument(
        "GPU trace: costs too large for 32-bit arithmetic; lower them or trace on the CPU");
  }
  DeviceBuffers guard(stream);
  std::vector<TraceProblem> ps(problems, problems + n);
  std::int64_t max_chunks = 1;
  for (auto& P : ps) {
    // The end column, each chunk's start and end vectors, the back-pointers (rows x cols).
    P.chunks = chunk_count(P.rows, chunk);
    max_chunks = std::max(max_chunks, P.chunks);
    const std::size_t vectors = sizeof(std::int32_t) * static_cast<std::size_t>(P.chunks * P.cols);
    const std::size_t bytes = sizeof(std::uint16_t) * static_cast<std::size_t>(P.rows * P.cols);
    std::uint8_t* scratch = nullptr;
    check(cudaMallocAsync(&scratch, 16 + 2 * vectors + bytes, stream), "cudaMallocAsync");
    guard.add(scratch);
    P.end = reinterpret_cast<std::int32_t*>(scratch);
    P.starts = reinterpret_cast<std::int32_t*>(scratch + 16);
    P.ends = reinterpret_cast<std::int32_t*>(scratch + 16 + vectors);
    P.back = reinterpret_cast<std::uint16_t*>(scratch + 16 + 2 * vectors);
  }
  if (max_chunks > 65535 * 1024) throw std::invalid_argument("GPU trace: too many chunks");
  TraceProblem* dev = nullptr;
  check(cudaMallocAsync(&dev, sizeof(TraceProblem) * n, stream), "cudaMallocAsync");
  guard.add(dev);
  // Pageable source: the copy is staged before cudaMemcpyAsync returns, so `ps` may go.
  check(cudaMemcpyAsync(dev, ps.data(), sizeof(TraceProblem) * n, cudaMemcpyHostToDevice, stream),
        "cudaMemcpyAsync");
  // One instantiation for the widest problem keeps a single launch for all of them.
  if (widest <= 32 * 4)
    launch_forward<4>(dev, n, max_chunks, costs, chunk, warmup, stream);
  else if (widest <= 32 * 8)
    launch_forward<8>(dev, n, max_chunks, costs, chunk, warmup, stream);
  else if (widest <= 32 * 16)
    launch_forward<16>(dev, n, max_chunks, costs, chunk, warmup, stream);
  else if (widest <= 32 * 32)
    launch_forward<32>(dev, n, max_chunks, costs, chunk, warmup, stream);
  else
    launch_forward<64>(dev, n, max_chunks, costs, chunk, warmup, stream);

  for (const TraceProblem& P : ps) {
    if (P.rows <= 0 || P.cols <= 0) continue;
    const std::int64_t chunks = chunk_count(P.rows, kBacktrackChunk);
    std::int32_t *map = nullptr, *at_bottom = nullptr;
    check(cudaMallocAsync(&map, sizeof(std::int32_t) * (chunks * P.cols + chunks), stream),
          "cudaMallocAsync");
    guard.add(map);
    at_bottom = map + chunks * P.cols;
    const std::int64_t threads = chunks * P.cols;
    chunk_map_kernel<<<static_cast<unsigned>((threads + 255) / 256), 256, 0, stream>>>(P, map,
                                                                                       chunks);
    check(cudaGetLastError(), "trace chunk_map_kernel launch");
    chain_kernel<<<1, 1, 0, stream>>>(P, map, chunks, at_bottom);
    check(cudaGetLastError(), "trace chain_kernel launch");
    fill_kernel<<<static_cast<unsigned>((chunks + 127) / 128), 128, 0, stream>>>(P, at_bottom,
                                                                                 chunks);
    check(cudaGetLastError(), "trace fill_kernel launch");
    refine_kernel<<<static_cast<unsigned>((P.rows + 255) / 256), 256, 0, stream>>>(
        P, band_threshold, max_half_width);
    check(cudaGetLastError(), "trace refine_kernel launch");
  }
}

}  // namespace veernet::cuda
