// The GPU thinning schedule, shared by the CUDA kernel (csrc/cuda/thin.cu) and its CPU
// twin (veernet::cpu::thin_tiled), which runs the same steps one tile after another so
// that the schedule is tested on any machine.
//
// Temporal blocking.  The image is packed 32 pixels to a word and cut into tiles of
// `tile_rows` rows by `tile_words` words.  A round runs `steps` sub-iterations (an even
// number, so rounds start on the first sub-iteration) of every tile that holds
// foreground, in a region of the tile plus `steps` rows above and below and one word
// (32 pixels) left and right, with zeros past the region.  A wrong pixel at the region's
// border can spoil its neighbours one pixel per sub-iteration, so after `steps` of them
// the tile itself is still exact: each round advances the whole image `steps`
// sub-iterations with no barrier in between.
//
// Which tiles run.  A pixel can change in a sub-iteration only if a pixel within one of
// it changed in one of the two sub-iterations before (the last time the same rule was
// applied, its neighbourhood was the same).  Following that back from a round to the last
// iteration of the round before covers at most `steps` pixels, which lie within the
// tile's 3x3 neighbourhood of tiles.  So a tile runs in a round only if a tile of that
// neighbourhood changed in the last iteration of the round before (every foreground tile
// runs in the first round), and the image is thinned once a round ends whose last
// iteration changed no tile: it is then a fixed point of both sub-iterations, as it is
// when scikit-image's loop stops.
#pragma once

#include <cstdint>

#include "thin_rule.h"

namespace veernet {

using ThinWord = std::uint32_t;

// Default schedule: 64 x 256-pixel tiles, 16 sub-iterations (8 iterations) per round, so
// that a band up to about 14 pixels wide is thinned, and found thinned, in one round.
inline constexpr int kThinTileRows = 64;
inline constexpr int kThinTileWords = 8;
inline constexpr int kThinSteps = 16;

struct ThinTiles {
  std::int64_t rows = 0, words = 0;  // image rows, words per row (32 pixels each)
  int tile_rows = kThinTileRows, tile_words = kThinTileWords, steps = kThinSteps;

  VEERNET_HD std::int64_t tiles_y() const { return (rows + tile_rows - 1) / tile_rows; }
  VEERNET_HD std::int64_t tiles_x() const { return (words + tile_words - 1) / tile_words; }
  VEERNET_HD int region_rows() const { return tile_rows + 2 * steps; }
  VEERNET_HD int region_words() const { return tile_words + 2; }
  VEERNET_HD int region_size() const { return region_rows() * region_words(); }
  VEERNET_HD std::int64_t tile_of(std::int64_t r, std::int64_t k) const {
    return (r / tile_rows) * tiles_x() + k / tile_words;
  }
  // Image row and word of region cell (i, j) of tile (ty, tx); may lie outside the image.
  VEERNET_HD std::int64_t image_row(std::int64_t ty, int i) const {
    return ty * tile_rows - steps + i;
  }
  VEERNET_HD std::int64_t image_word(std::int64_t tx, int j) const {
    return tx * tile_words - 1 + j;
  }
  // More rounds than any image needs: each sub-iteration removes a pixel or the loop ends,
  // and a blob loses a layer per two, so rows + cols + 4 sub-iterations always suffice.
  VEERNET_HD std::int64_t max_rounds() const { return (2 * (rows + 32 * words) + 4) / steps + 2; }
  // Is region cell (i, j) in the tile itself?
  VEERNET_HD bool interior(int i, int j) const {
    return i >= steps && i < steps + tile_rows && j >= 1 && j <= tile_words;
  }
};

// Why a schedule cannot be run, or nullptr: the tile must hold the pixels a round can
// reach (`steps` rows, and 32 pixels across for the one-word margin), and a region's two
// buffers must fit in 48 KiB of a GPU block's shared memory.
inline const char* thin_schedule_error(int tile_rows, int tile_words, int steps) {
  if (tile_rows < 1 || tile_words < 1) return "tile rows and words must be at least 1";
  if (steps < 2 || steps % 2 != 0) return "steps per round must be even and at least 2";
  if (steps > tile_rows || steps > 32) {
    return "steps per round must not exceed the tile rows or 32";
  }
  if (tile_words > 62 || 2 * static_cast<std::int64_t>(tile_rows + 2 * steps) * (tile_words + 2) *
                                 static_cast<std::int64_t>(sizeof(ThinWord)) >
                             48 * 1024) {
    return "a tile's region must fit in 48 KiB (two buffers) and be at most 64 words wide";
  }
  return nullptr;
}

// Word (r, k) of a packed image of `rows` x `words`, zero outside it.
VEERNET_HD ThinWord thin_load(const ThinWord* img, std::int64_t rows, std::int64_t words,
                              std::int64_t r, std::int64_t k) {
  return (r >= 0 && r < rows && k >= 0 && k < words) ? img[r * words + k] : 0u;
}

// Cell (i, j) of a region of `rr` x `rw` words after one sub-iteration `pass`, zeros
// past the region.
VEERNET_HD ThinWord thin_region_step(const ThinWord* reg, int rr, int rw, int i, int j, int pass) {
  const int at = i * rw + j;
  const ThinWord c = reg[at];
  if (c == 0) return 0;
  auto cell = [&](int di, int dj) -> ThinWord {
    const int y = i + di, x = j + dj;
    return (y >= 0 && y < rr && x >= 0 && x < rw) ? reg[y * rw + x] : 0u;
  };
  const ThinWord n = cell(-1, 0), s = cell(1, 0);
  // Pixel b's west neighbour is pixel b-1 (bit b-1, or bit 31 of the word before).
  const ThinWord nw = (n << 1) | (cell(-1, -1) >> 31), ne = (n >> 1) | (cell(-1, 1) << 31);
  const ThinWord w = (c << 1) | (cell(0, -1) >> 31), e = (c >> 1) | (cell(0, 1) << 31);
  const ThinWord sw = (s << 1) | (cell(1, -1) >> 31), se = (s >> 1) | (cell(1, 1) << 31);
  return c & ~thin_removed_bits<ThinWord>(nw, n, ne, e, se, s, sw, w, pass);
}

// Does tile (ty, tx) run in this round: did a tile of its 3x3 neighbourhood change in
// the last iteration of the round before (`changed`, one byte per tile)?
VEERNET_HD bool thin_tile_active(const std::uint8_t* changed, const ThinTiles& g, std::int64_t ty,
                                 std::int64_t tx) {
  for (std::int64_t y = ty - 1; y <= ty + 1; ++y) {
    for (std::int64_t x = tx - 1; x <= tx + 1; ++x) {
      if (y >= 0 && y < g.tiles_y() && x >= 0 && x < g.tiles_x() && changed[y * g.tiles_x() + x]) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace veernet
