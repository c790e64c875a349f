#pragma once
#include <cstdint>

namespace veernet::cpu {

// Zhang-Suen thinning, bit-identical to skimage.morphology.skeletonize (2-D).
// src: rows x cols bytes (non-zero = foreground), rows `src_row_stride` bytes apart.
// dst: rows x cols bytes, contiguous, receives 0/1.  Uses up to `threads` threads.
void thin(const std::uint8_t* src, std::uint8_t* dst, std::int64_t rows, std::int64_t cols,
          std::int64_t src_row_stride, int threads);

}  // namespace veernet::cpu
