#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace veernet::cuda {

// Zhang-Suen thinning of a device mask (rows x cols bytes, non-zero = foreground, rows
// `src_stride` bytes apart) into `dst` (0/1 bytes), ordered on `stream`.  Bit-identical
// to veernet::cpu::thin.
void thin(const std::uint8_t* src, std::int64_t rows, std::int64_t cols, std::int64_t src_stride,
          std::uint8_t* dst, std::int64_t dst_stride, cudaStream_t stream);

}  // namespace veernet::cuda
