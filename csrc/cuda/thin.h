#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../common/thin_tile.h"

namespace veernet::cuda {

// Zhang-Suen thinning of a device mask (rows x cols bytes, non-zero = foreground, rows
// `src_stride` bytes apart) into `dst` (0/1 bytes), ordered on `stream`.  Bit-identical
// to veernet::cpu::thin for any schedule (common/thin_tile.h); the schedule changes only
// the speed.  The caller checks the schedule with thin_schedule_error, as for the CPU twin.
void thin(const std::uint8_t* src, std::int64_t rows, std::int64_t cols, std::int64_t src_stride,
          std::uint8_t* dst, std::int64_t dst_stride, cudaStream_t stream,
          int tile_rows = kThinTileRows, int tile_words = kThinTileWords, int steps = kThinSteps);

}  // namespace veernet::cuda
