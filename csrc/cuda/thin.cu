// Word-parallel Zhang-Suen thinning on the GPU, bit-identical to the CPU kernel
// (csrc/cpu/thin.cpp) and so to skimage.morphology.skeletonize.
//
// One cooperative, persistent kernel in three phases, with a grid-wide barrier after
// the packing and after each round, and no host round trip:
//   1. pack the byte mask, 32 pixels to a word (one warp ballot per word), into two
//      buffers, and mark the tiles that hold foreground;
//   2. rounds of the tiled schedule of common/thin_tile.h: each block takes tiles, loads
//      a tile's region into shared memory, runs `steps` sub-iterations there and writes
//      the tile back to the other buffer; a device-side counter of tiles that changed
//      in a round's last iteration decides, on the device, when to stop;
//   3. unpack the buffer written last into the byte skeleton.
// Only tiles with foreground are read after the packing, and only those near a change
// run after the first round.  The CPU twin, veernet::cpu::thin_tiled, runs the same
// schedule one tile after another and is tested against scikit-image.
//
// Nothing written during the launch is read through the read-only cache: buffers that
// other blocks wrote before a barrier are read with plain loads.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "../common/thin_tile.h"
#include "cuda_check.h"
#include "thin.h"

namespace cg = cooperative_groups;

namespace veernet::cuda {
namespace {

using Word = ThinWord;
constexpr int kThreads = 256;

struct ThinArgs {
  const std::uint8_t* src;
  std::int64_t src_stride;
  std::uint8_t* dst;
  std::int64_t dst_stride;
  std::int64_t cols;
  ThinTiles g;
  Word* buf0;  // packed image, rows x words; the rounds swap the two
  Word* buf1;
  std::uint8_t* foreground;  // per tile
  std::uint8_t* changed0;    // per tile: changed in the last iteration of a round,
  std::uint8_t* changed1;    // rounds in turn
  unsigned int* counters;    // three, used in rotation: tiles changed per round
};

// Phase 1: one warp per word of 32 pixels, rows spread over the blocks.
__device__ void pack(const ThinArgs& a) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (std::int64_t r = blockIdx.x; r < a.g.rows; r += gridDim.x) {
    const std::uint8_t* row = a.src + r * a.src_stride;
    for (std::int64_t k = warp; k < a.g.words; k += kThreads / 32) {
      const std::int64_t c = 32 * k + lane;
      const Word bits = __ballot_sync(0xffffffffu, c < a.cols && row[c] != 0);
      if (lane == 0) {
        a.buf0[r * a.g.words + k] = bits;
        a.buf1[r * a.g.words + k] = bits;
        if (bits) a.foreground[a.g.tile_of(r, k)] = 1;
      }
    }
  }
}

// Phase 2, one tile of one round; every thread of the block calls it.  Returns whether
// the tile changed in the round's last iteration (the same on every thread).
__device__ bool run_tile(const ThinArgs& a, const Word* in, Word* out, std::int64_t ty,
                         std::int64_t tx, Word* smem) {
  const ThinTiles& g = a.g;
  const int rr = g.region_rows(), rw = g.region_words();
  // Thread t owns column t % rw of every (kThreads / rw)-th row from t / rw.
  const int row_step = kThreads / rw;
  const int j = threadIdx.x % rw, i0 = threadIdx.x / rw;
  const bool on = i0 < row_step;
  Word* cur = smem;
  Word* nxt = smem + g.region_size();
  if (on) {
    for (int i = i0; i < rr; i += row_step) {
      cur[i * rw + j] = thin_load(in, g.rows, g.words, g.image_row(ty, i), g.image_word(tx, j));
    }
  }
  __syncthreads();
  bool last_changed = false;
  for (int s = 0; s < g.steps; ++s) {
    bool changed = false;
    if (on) {
      for (int i = i0; i < rr; i += row_step) {
        const Word v = thin_region_step(cur, rr, rw, i, j, s & 1);
        changed |= v != cur[i * rw + j] && g.interior(i, j);
        nxt[i * rw + j] = v;
      }
    }
    // One barrier per sub-iteration: all of `nxt` is written before anyone reads it,
    // and all reads of `cur` are done before the next sub-iteration overwrites it.
    const bool any = __syncthreads_or(changed && s >= g.steps - 2);
    last_changed = last_changed || any;
    Word* t = cur;
    cur = nxt;
    nxt = t;
  }
  if (on) {
    for (int i = i0; i < rr; i += row_step) {
      const std::int64_t r = g.image_row(ty, i), k = g.image_word(tx, j);
      if (g.interior(i, j) && r < g.rows && k < g.words) out[r * g.words + k] = cur[i * rw + j];
    }
  }
  __syncthreads();  // the region is free for the block's next tile
  return last_changed;
}

// A tile that does not run keeps its words: copy them to the buffer this round writes.
__device__ void copy_tile(const ThinArgs& a, const Word* in, Word* out, std::int64_t ty,
                          std::int64_t tx) {
  const ThinTiles& g = a.g;
  const std::int64_t k0 = tx * g.tile_words;
  const std::int64_t tw = g.words - k0 < g.tile_words ? g.words - k0 : g.tile_words;
  const std::int64_t r0 = ty * g.tile_rows;
  const std::int64_t th = g.rows - r0 < g.tile_rows ? g.rows - r0 : g.tile_rows;
  for (std::int64_t i = threadIdx.x; i < th * tw; i += kThreads) {
    const std::int64_t at = (r0 + i / tw) * g.words + k0 + i % tw;
    out[at] = in[at];
  }
}

// Phase 3: four pixels per thread, rows spread over the blocks.
__device__ void unpack(const ThinArgs& a, const Word* img) {
  const std::int64_t quads = (a.cols + 3) / 4;
  for (std::int64_t r = blockIdx.x; r < a.g.rows; r += gridDim.x) {
    std::uint8_t* row = a.dst + r * a.dst_stride;
    const Word* bits = img + r * a.g.words;
    const bool aligned = (reinterpret_cast<std::uintptr_t>(row) & 3u) == 0;
    for (std::int64_t q = threadIdx.x; q < quads; q += kThreads) {
      const std::int64_t c = 4 * q;
      const unsigned x = (bits[c >> 5] >> (c & 31)) & 0xFu;
      if (aligned && c + 4 <= a.cols) {
        *reinterpret_cast<std::uint32_t*>(row + c) =
            (x & 1u) | ((x & 2u) << 7) | ((x & 4u) << 14) | ((x & 8u) << 21);
      } else {
        for (int b = 0; b < 4 && c + b < a.cols; ++b) row[c + b] = (x >> b) & 1u;
      }
    }
  }
}

__global__ void thin_kernel(ThinArgs a) {
  cg::grid_group grid = cg::this_grid();
  extern __shared__ Word smem[];
  const ThinTiles& g = a.g;
  const std::int64_t tiles = g.tiles_y() * g.tiles_x();
  const bool leader = blockIdx.x == 0 && threadIdx.x == 0;

  pack(a);
  grid.sync();

  std::int64_t round = 0;
  while (round < g.max_rounds()) {
    // (Selected, not indexed: an indexed kernel parameter would be copied to the stack.)
    const bool odd = round & 1;
    const Word* in = odd ? a.buf1 : a.buf0;
    Word* out = odd ? a.buf0 : a.buf1;
    const std::uint8_t* before = odd ? a.changed0 : a.changed1;
    std::uint8_t* now = odd ? a.changed1 : a.changed0;
    for (std::int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
      if (!a.foreground[tile]) continue;  // zero in both buffers, for good
      const std::int64_t ty = tile / g.tiles_x(), tx = tile % g.tiles_x();
      bool changed = false;
      if (round == 0 || thin_tile_active(before, g, ty, tx)) {
        changed = run_tile(a, in, out, ty, tx, smem);
      } else {
        copy_tile(a, in, out, ty, tx);
      }
      if (threadIdx.x == 0) {
        now[tile] = changed;
        if (changed) atomicAdd(&a.counters[round % 3], 1u);
      }
    }
    // The counter the next round adds to was last read after the barrier of the round
    // before this one, so it can be reset now.
    if (leader) a.counters[(round + 1) % 3] = 0;
    grid.sync();
    const unsigned int changed_tiles = *static_cast<volatile unsigned int*>(&a.counters[round % 3]);
    ++round;
    if (changed_tiles == 0) break;
  }
  unpack(a, (round & 1) ? a.buf1 : a.buf0);
}

}  // namespace

void thin(const std::uint8_t* src, std::int64_t rows, std::int64_t cols, std::int64_t src_stride,
          std::uint8_t* dst, std::int64_t dst_stride, cudaStream_t stream, int tile_rows,
          int tile_words, int steps) {
  if (rows <= 0 || cols <= 0) return;
  ThinArgs a{};
  a.src = src;
  a.src_stride = src_stride;
  a.dst = dst;
  a.dst_stride = dst_stride;
  a.cols = cols;
  a.g.rows = rows;
  a.g.words = (cols + 31) / 32;
  a.g.tile_rows = tile_rows;
  a.g.tile_words = tile_words;
  a.g.steps = steps;
  const std::int64_t tiles = a.g.tiles_y() * a.g.tiles_x();
  const std::size_t n_words = static_cast<std::size_t>(rows * a.g.words);
  const std::size_t flag_bytes = static_cast<std::size_t>(3 * tiles);

  DeviceBuffers guard(stream);
  for (Word** b : {&a.buf0, &a.buf1}) {
    check(cudaMallocAsync(b, n_words * sizeof(Word), stream), "cudaMallocAsync");
    guard.add(*b);
  }
  check(cudaMallocAsync(&a.counters, 3 * sizeof(unsigned int), stream), "cudaMallocAsync");
  guard.add(a.counters);
  check(cudaMallocAsync(&a.foreground, flag_bytes, stream), "cudaMallocAsync");
  guard.add(a.foreground);
  a.changed0 = a.foreground + tiles;
  a.changed1 = a.foreground + 2 * tiles;
  check(cudaMemsetAsync(a.counters, 0, 3 * sizeof(unsigned int), stream), "cudaMemsetAsync");
  check(cudaMemsetAsync(a.foreground, 0, flag_bytes, stream), "cudaMemsetAsync");

  int device = 0, sms = 0, per_sm = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "attribute");
  const std::size_t smem = 2 * static_cast<std::size_t>(a.g.region_size()) * sizeof(Word);
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, thin_kernel, kThreads, smem),
        "occupancy");
  // Enough blocks for every tile and for the packing's rows, no more than fit at once.
  const std::int64_t wanted = std::max<std::int64_t>(tiles, rows);
  const int blocks = static_cast<int>(std::max<std::int64_t>(
      1, std::min<std::int64_t>(wanted, static_cast<std::int64_t>(sms) * per_sm)));
  void* args[] = {&a};
  check(cudaLaunchCooperativeKernel(reinterpret_cast<void*>(thin_kernel), blocks, kThreads, args,
                                    smem, stream),
        "thin_kernel cooperative launch");
}

}  // namespace veernet::cuda
