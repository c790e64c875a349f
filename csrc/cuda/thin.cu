// Word-parallel Zhang-Suen thinning on the GPU, bit-identical to the CPU twin
// (csrc/cpu/thin.cpp) and so to skimage.morphology.skeletonize.
//
// The mask is packed 32 pixels to a word (one warp ballot per word) into a bordered
// bit image.  One cooperative, persistent kernel runs all sub-iterations: each thread
// judges words of the source image and writes the destination (the two swap every
// sub-iteration, which gives the synchronous semantics), a grid-wide barrier separates
// sub-iterations, and a device-side change counter decides, on the device, when two
// sub-iterations in a row removed nothing.  No host round trip per iteration.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/thin_rule.h"
#include "cuda_check.h"
#include "thin.h"

namespace cg = cooperative_groups;

namespace veernet::cuda {
namespace {

using Word = std::uint32_t;

// One warp per 32 pixels: bit j of word k of row r is pixel (r, 32k + j).
__global__ void pack_kernel(const std::uint8_t* __restrict__ src, std::int64_t rows,
                            std::int64_t cols, std::int64_t src_stride, Word* __restrict__ a,
                            Word* __restrict__ b, std::int64_t words, std::int64_t stride) {
  const std::int64_t warp = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= rows * words) return;
  const std::int64_t r = warp / words, k = warp % words;
  const std::int64_t c = 32 * k + lane;
  const bool on = c < cols && src[r * src_stride + c] != 0;
  const Word bits = __ballot_sync(0xffffffffu, on);
  if (lane == 0) {
    const std::int64_t at = (r + 1) * stride + 1 + k;
    a[at] = bits;
    b[at] = bits;
  }
}

__global__ void unpack_kernel(const Word* __restrict__ bits, std::int64_t rows, std::int64_t cols,
                              std::int64_t stride, std::uint8_t* __restrict__ dst,
                              std::int64_t dst_stride) {
  const std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  if (i >= rows * cols) return;
  const std::int64_t r = i / cols, c = i % cols;
  const Word w = bits[(r + 1) * stride + 1 + (c >> 5)];
  dst[r * dst_stride + c] = static_cast<std::uint8_t>((w >> (c & 31)) & 1u);
}

// All sub-iterations in one cooperative launch.  `changes` holds three counters used
// in rotation: the current sub-iteration's, the previous one's, and one being reset.
__global__ void thin_kernel(Word* a, Word* b, std::int64_t rows, std::int64_t words,
                            std::int64_t stride, unsigned int* changes, int* steps_out,
                            int max_steps) {
  cg::grid_group grid = cg::this_grid();
  const std::int64_t total = rows * words;
  const std::int64_t start = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x;
  const std::int64_t step_size = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  int quiet = 0;
  int step = 0;
  for (; step < max_steps && quiet < 2; ++step) {
    const int pass = step & 1;
    const Word* src = (step & 1) ? b : a;
    Word* dst = (step & 1) ? a : b;
    unsigned int removed = 0;
    for (std::int64_t i = start; i < total; i += step_size) {
      const std::int64_t r = i / words, k = i % words;
      const std::int64_t at = (r + 1) * stride + 1 + k;
      const Word c = src[at];
      Word out = c;
      if (c) {
        const Word* up = src + at - stride;
        const Word* dn = src + at + stride;
        const Word n = up[0], s = dn[0];
        const Word nw = (n << 1) | (up[-1] >> 31), ne = (n >> 1) | (up[1] << 31);
        const Word w = (c << 1) | (src[at - 1] >> 31), e = (c >> 1) | (src[at + 1] << 31);
        const Word sw = (s << 1) | (dn[-1] >> 31), se = (s >> 1) | (dn[1] << 31);
        const Word del = c & thin_removed_bits<Word>(nw, n, ne, e, se, s, sw, w, pass);
        out = c & ~del;
        removed |= del;
      }
      dst[at] = out;
    }
    if (__syncthreads_or(removed != 0) && threadIdx.x == 0) atomicAdd(&changes[step % 3], 1u);
    if (start == 0) changes[(step + 1) % 3] = 0;  // the counter the next step will use
    grid.sync();
    quiet = changes[step % 3] ? 0 : quiet + 1;
    grid.sync();  // everyone has read this step's counter before it is reset
  }
  if (start == 0) *steps_out = step;
}

}  // namespace

void thin(const std::uint8_t* src, std::int64_t rows, std::int64_t cols, std::int64_t src_stride,
          std::uint8_t* dst, std::int64_t dst_stride, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  const std::int64_t words = (cols + 31) / 32;
  const std::int64_t stride = words + 2;
  const std::size_t n_words = static_cast<std::size_t>((rows + 2) * stride);
  Word *a = nullptr, *b = nullptr;
  unsigned int* changes = nullptr;
  int* steps = nullptr;
  DeviceBuffers guard(stream);
  check(cudaMallocAsync(&a, n_words * sizeof(Word), stream), "cudaMallocAsync");
  guard.add(a);
  check(cudaMallocAsync(&b, n_words * sizeof(Word), stream), "cudaMallocAsync");
  guard.add(b);
  check(cudaMallocAsync(&changes, 3 * sizeof(unsigned int) + sizeof(int), stream),
        "cudaMallocAsync");
  guard.add(changes);
  steps = reinterpret_cast<int*>(changes + 3);
  check(cudaMemsetAsync(a, 0, n_words * sizeof(Word), stream), "cudaMemsetAsync");
  check(cudaMemsetAsync(b, 0, n_words * sizeof(Word), stream), "cudaMemsetAsync");
  check(cudaMemsetAsync(changes, 0, 3 * sizeof(unsigned int), stream), "cudaMemsetAsync");

  const std::int64_t warps = rows * words;
  pack_kernel<<<static_cast<unsigned>((warps * 32 + 255) / 256), 256, 0, stream>>>(
      src, rows, cols, src_stride, a, b, words, stride);
  check(cudaGetLastError(), "pack_kernel launch");

  int device = 0, sms = 0, per_sm = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "attribute");
  const int threads = 256;
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, thin_kernel, threads, 0),
        "occupancy");
  const std::int64_t needed = (warps + threads - 1) / threads;
  const int blocks = static_cast<int>(std::max<std::int64_t>(
      1, std::min<std::int64_t>(needed, static_cast<std::int64_t>(sms) * per_sm)));
  // Each sub-iteration removes at least one pixel or the loop ends, and a blob loses a
  // layer per two sub-iterations: rows + cols + 4 bounds the count for any image.
  int max_steps = static_cast<int>(std::min<std::int64_t>(2 * (rows + cols) + 4, 1 << 30));
  void* args[] = {&a,
                  &b,
                  const_cast<std::int64_t*>(&rows),
                  const_cast<std::int64_t*>(&words),
                  const_cast<std::int64_t*>(&stride),
                  &changes,
                  &steps,
                  &max_steps};
  check(cudaLaunchCooperativeKernel(reinterpret_cast<void*>(thin_kernel), blocks, threads, args, 0,
                                    stream),
        "thin_kernel cooperative launch");
  // The result is in the buffer written last; which one that is depends on the step
  // count, known only on the device.  Both agree after the two quiet sub-iterations
  // (nothing changed), so either holds the skeleton: read a.
  unpack_kernel<<<static_cast<unsigned>((rows * cols + 255) / 256), 256, 0, stream>>>(
      a, rows, cols, stride, dst, dst_stride);
  check(cudaGetLastError(), "unpack_kernel launch");
}

}  // namespace veernet::cuda
