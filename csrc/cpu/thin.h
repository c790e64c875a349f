#pragma once
#include <cstdint>

namespace veernet::cpu {

// Zhang-Suen thinning, bit-identical to skimage.morphology.skeletonize (2-D).
// src: rows x cols bytes (non-zero = foreground), rows `src_row_stride` bytes apart.
// dst: rows x cols bytes, contiguous, receives 0/1.  Uses up to `threads` threads.
void thin(const std::uint8_t* src, std::uint8_t* dst, std::int64_t rows, std::int64_t cols,
          std::int64_t src_row_stride, int threads);

// The GPU kernel's schedule (common/thin_tile.h) run one tile after another: the CPU twin
// that tests it and counts its work.  Same result as thin(); slower.
struct ThinTileStats {
  std::int64_t tiles = 0;             // tiles of the image
  std::int64_t foreground_tiles = 0;  // tiles holding foreground (the only ones that run)
  std::int64_t rounds = 0;            // rounds, each `steps` sub-iterations
  std::int64_t tile_runs = 0;         // tiles run, over all rounds
};
ThinTileStats thin_tiled(const std::uint8_t* src, std::uint8_t* dst, std::int64_t rows,
                         std::int64_t cols, std::int64_t src_row_stride, int tile_rows,
                         int tile_words, int steps);

}  // namespace veernet::cpu
