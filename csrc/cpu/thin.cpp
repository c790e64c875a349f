// Word-parallel Zhang-Suen thinning on the CPU, bit-identical to
// skimage.morphology.skeletonize (2-D).
//
// The mask is packed 64 pixels to a word with a zero border (one word left and right,
// one row above and below), so the neighbour planes of a word are shifts of the three
// words around it and no pixel needs a bounds check.  Each sub-iteration is synchronous
// (every pixel is judged on the image as it was when the sub-iteration began): a row is
// computed into a scratch buffer from the old rows above and below, and the old row is
// kept for the next row's upper neighbour.
//
// Work is skipped at three levels: rows with no foreground, rows whose 3-row
// neighbourhood did not change in the last two sub-iterations (nothing there can change
// now: the rule of a sub-iteration only depends on the neighbourhood, and the last
// sub-iteration of the same kind already left those pixels standing), and zero words.
// Rows are split into bands, one thread per band; bands meet at rows whose old
// contents are copied before each sub-iteration.
#include "thin.h"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstring>
#include <thread>
#include <vector>

#include "../common/thin_rule.h"
#include "../common/thin_tile.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace veernet::cpu {
namespace {

using Word = std::uint64_t;

struct Packed {
  std::int64_t rows = 0;    // image rows
  std::int64_t words = 0;   // data words per row
  std::int64_t stride = 0;  // words + 2 border words
  std::vector<Word> bits;   // (rows + 2) x stride

  Word* row(std::int64_t r) { return bits.data() + (r + 1) * stride + 1; }
};

// Bit j of the result is 1 when src[j] != 0 (j < n <= 64).
inline Word pack_word(const std::uint8_t* src, std::int64_t n) {
  Word out = 0;
  std::int64_t j = 0;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  for (; j + 16 <= n; j += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j));
    const unsigned zeros = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)));
    out |= static_cast<Word>(~zeros & 0xFFFFu) << j;
  }
#endif
  for (; j < n; ++j) out |= static_cast<Word>(src[j] != 0) << j;
  return out;
}

// 8 bits -> 8 bytes of 0/1, little-endian.
struct UnpackTable {
  Word v[256];
  UnpackTable() {
    for (unsigned b = 0; b < 256; ++b) {
      Word x = 0;
      for (int i = 0; i < 8; ++i) x |= static_cast<Word>((b >> i) & 1u) << (8 * i);
      v[b] = x;
    }
  }
};
const UnpackTable kUnpack;

inline void unpack_word(Word word, std::uint8_t* dst, std::int64_t n) {
  if (n == 64 && word == 0) {
    std::memset(dst, 0, 64);
    return;
  }
  if (n == 64) {
    for (int i = 0; i < 8; ++i) {
      const Word bytes = kUnpack.v[(word >> (8 * i)) & 0xFF];
      std::memcpy(dst + 8 * i, &bytes, 8);
    }
    return;
  }
  for (std::int64_t j = 0; j < n; ++j) dst[j] = static_cast<std::uint8_t>((word >> j) & 1u);
}

}  // namespace

void thin(const std::uint8_t* src, std::uint8_t* dst, std::int64_t rows, std::int64_t cols,
          std::int64_t src_row_stride, int threads) {
  if (rows <= 0 || cols <= 0) return;
  Packed img;
  img.rows = rows;
  img.words = (cols + 63) / 64;
  img.stride = img.words + 2;
  img.bits.assign(static_cast<std::size_t>((rows + 2) * img.stride), 0);

  // Change masks: one bit per word, set where the word lost pixels in a sub-iteration.
  // Three generations rotate (the current one and the two before it); a zero row above
  // and below each keeps the neighbourhood test free of bounds checks.
  const std::int64_t mwords = (img.words + 63) / 64;
  std::vector<Word> changed[3];
  for (auto& c : changed) c.assign(static_cast<std::size_t>((rows + 2) * mwords), 0);
  auto mask_row = [&](int gen, std::int64_t r) { return changed[gen].data() + (r + 1) * mwords; };

  // Threads pay off from a few megapixels on: below that, waking them and meeting at
  // two barriers per sub-iteration costs more than the work (measured: 1024x1024 ran
  // 3x slower on two threads than on one).
  const std::int64_t useful = std::min<std::int64_t>(rows / 256, rows * img.words / 32768);
  const int nthreads =
      static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, useful)));
  std::vector<std::int64_t> band(nthreads + 1);
  for (int t = 0; t <= nthreads; ++t) band[t] = rows * t / nthreads;

  // Boundary copies: old first and last row of each band, taken before each
  // sub-iteration, with border words.
  std::vector<Word> first_copy(static_cast<std::size_t>(nthreads * img.stride));
  std::vector<Word> last_copy(static_cast<std::size_t>(nthreads * img.stride));
  std::vector<std::uint8_t> band_changed(static_cast<std::size_t>(nthreads) * 2, 0);

  std::barrier sync(nthreads);

  auto worker = [&](int t) {
    const std::int64_t r0 = band[t], r1 = band[t + 1];
    // Pack this band; mark every non-zero word as changed in the two generations the
    // first sub-iteration looks at, so the first two sub-iterations visit all of them.
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::uint8_t* s = src + r * src_row_stride;
      Word* row = img.row(r);
      Word* m1 = mask_row(1, r);
      Word* m2 = mask_row(2, r);
      for (std::int64_t k = 0; k < img.words; ++k) {
        const Word v = pack_word(s + 64 * k, std::min<std::int64_t>(64, cols - 64 * k));
        row[k] = v;
        if (v) {
          m1[k >> 6] |= Word{1} << (k & 63);
          m2[k >> 6] |= Word{1} << (k & 63);
        }
      }
    }
    std::vector<Word> scratch(static_cast<std::size_t>(img.stride), 0);
    std::vector<Word> prev_old(static_cast<std::size_t>(img.stride), 0);
    std::vector<Word> need(static_cast<std::size_t>(mwords) + 2, 0);
    Word* out = scratch.data() + 1;
    Word* first = first_copy.data() + t * img.stride;
    Word* last = last_copy.data() + t * img.stride;
    sync.arrive_and_wait();

    int quiet_passes = 0;
    for (int step = 0; quiet_passes < 2; ++step) {
      const int pass = step & 1;
      const int now = step % 3, before = (step + 2) % 3, before2 = (step + 1) % 3;
      if (r1 > r0) {
        std::memcpy(first, img.row(r0) - 1, sizeof(Word) * img.stride);
        std::memcpy(last, img.row(r1 - 1) - 1, sizeof(Word) * img.stride);
      }
      sync.arrive_and_wait();

      bool any = false;
      bool prev_saved = false;  // prev_old holds row r-1's old contents
      for (std::int64_t r = r0; r < r1; ++r) {
        // A word can change now only if a word within one row and one word of it
        // changed in the last two sub-iterations.
        Word* now_mask = mask_row(now, r);
        Word any_need = 0;
        for (std::int64_t j = 0; j < mwords; ++j) {
          Word m = 0;
          for (int g : {before, before2}) {
            m |= mask_row(g, r - 1)[j] | mask_row(g, r)[j] | mask_row(g, r + 1)[j];
          }
          need[j + 1] = m;
          any_need |= m;
          now_mask[j] = 0;
        }
        if (!any_need) {
          prev_saved = false;
          continue;
        }
        Word* row = img.row(r);
        const Word* up;
        if (r == r0) {
          up = (t > 0) ? last_copy.data() + (t - 1) * img.stride + 1 : img.row(-1);
        } else if (prev_saved) {
          up = prev_old.data() + 1;
        } else {
          up = img.row(r - 1);  // not visited this sub-iteration, so unchanged
        }
        const Word* dn = (r == r1 - 1 && t + 1 < nthreads)
                             ? first_copy.data() + (t + 1) * img.stride + 1
                             : img.row(r + 1);
        bool removed = false;
        for (std::int64_t j = 0; j < mwords; ++j) {
          // Widen by one word each way (bit 0 of the next mask word is the word after).
          Word m = need[j + 1] | (need[j + 1] << 1) | (need[j + 1] >> 1) | (need[j] >> 63) |
                   (need[j + 2] << 63);
          while (m) {
            const std::int64_t k = 64 * j + __builtin_ctzll(m);
            m &= m - 1;
            if (k >= img.words) break;
            const Word c = row[k];
            if (c == 0) continue;
            // Pixel i's west neighbour is pixel i-1 (bit i-1, or bit 63 of the word
            // before).
            const Word n = up[k], s = dn[k];
            const Word nw = (n << 1) | (up[k - 1] >> 63), ne = (n >> 1) | (up[k + 1] << 63);
            const Word w = (c << 1) | (row[k - 1] >> 63), e = (c >> 1) | (row[k + 1] << 63);
            const Word sw = (s << 1) | (dn[k - 1] >> 63), se = (s >> 1) | (dn[k + 1] << 63);
            const Word del = c & thin_removed_bits<Word>(nw, n, ne, e, se, s, sw, w, pass);
            if (del) {
              out[k] = c & ~del;
              now_mask[j] |= Word{1} << (k & 63);
              removed = true;
            }
          }
        }
        // Keep the whole old row for the next row's upper neighbour, then commit the
        // changed words.
        std::memcpy(prev_old.data(), row - 1, sizeof(Word) * img.stride);
        prev_saved = true;
        if (removed) {
          any = true;
          for (std::int64_t j = 0; j < mwords; ++j) {
            for (Word m = now_mask[j]; m; m &= m - 1) {
              const std::int64_t k = 64 * j + __builtin_ctzll(m);
              row[k] = out[k];
            }
          }
        }
      }
      band_changed[t * 2 + pass] = any;
      sync.arrive_and_wait();
      bool global = false;
      for (int u = 0; u < nthreads; ++u) global |= band_changed[u * 2 + pass] != 0;
      quiet_passes = global ? 0 : quiet_passes + 1;
      // Nobody writes band_changed[*][pass] again before the next barrier.
    }

    for (std::int64_t r = r0; r < r1; ++r) {
      std::uint8_t* d = dst + r * cols;
      const Word* row = img.row(r);
      for (std::int64_t k = 0; k < img.words; ++k) {
        unpack_word(row[k], d + 64 * k, std::min<std::int64_t>(64, cols - 64 * k));
      }
    }
  };

  if (nthreads == 1) {
    worker(0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(nthreads - 1);
  for (int t = 1; t < nthreads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
}

ThinTileStats thin_tiled(const std::uint8_t* src, std::uint8_t* dst, std::int64_t rows,
                         std::int64_t cols, std::int64_t src_row_stride, int tile_rows,
                         int tile_words, int steps) {
  ThinTiles g;
  g.rows = rows;
  g.words = (cols + 31) / 32;
  g.tile_rows = tile_rows;
  g.tile_words = tile_words;
  g.steps = steps;
  ThinTileStats stats;
  if (rows <= 0 || cols <= 0) return stats;
  const std::int64_t ntiles = g.tiles_y() * g.tiles_x();
  stats.tiles = ntiles;

  // Pack into both buffers (the rounds swap them); mark the tiles holding foreground.
  std::vector<ThinWord> buf[2];
  buf[0].assign(static_cast<std::size_t>(rows * g.words), 0);
  std::vector<std::uint8_t> fg(static_cast<std::size_t>(ntiles), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = 0; k < g.words; ++k) {
      const auto bits = static_cast<ThinWord>(
          pack_word(src + r * src_row_stride + 32 * k, std::min<std::int64_t>(32, cols - 32 * k)));
      buf[0][r * g.words + k] = bits;
      if (bits) fg[g.tile_of(r, k)] = 1;
    }
  }
  buf[1] = buf[0];
  for (auto f : fg) stats.foreground_tiles += f;

  // changed[round % 2]: the tiles that changed in the last iteration of a round.
  std::vector<std::uint8_t> changed[2];
  for (auto& c : changed) c.assign(static_cast<std::size_t>(ntiles), 0);
  std::vector<ThinWord> region[2];
  for (auto& reg : region) reg.assign(static_cast<std::size_t>(g.region_size()), 0);
  const int rr = g.region_rows(), rw = g.region_words();
  int last = 0;  // the buffer written last
  for (std::int64_t round = 0; round < g.max_rounds(); ++round) {
    const std::vector<ThinWord>& in = buf[round & 1];
    std::vector<ThinWord>& out = buf[(round + 1) & 1];
    const std::uint8_t* before = changed[(round + 1) & 1].data();
    std::uint8_t* now = changed[round & 1].data();
    std::int64_t changed_tiles = 0;
    for (std::int64_t tile = 0; tile < ntiles; ++tile) {
      const std::int64_t ty = tile / g.tiles_x(), tx = tile % g.tiles_x();
      now[tile] = 0;
      if (!fg[tile]) continue;  // zero in both buffers, for good
      const bool active = round == 0 || thin_tile_active(before, g, ty, tx);
      if (active) {
        ++stats.tile_runs;
        ThinWord* cur = region[0].data();
        ThinWord* nxt = region[1].data();
        for (int i = 0; i < rr; ++i) {
          for (int j = 0; j < rw; ++j) {
            cur[i * rw + j] =
                thin_load(in.data(), rows, g.words, g.image_row(ty, i), g.image_word(tx, j));
          }
        }
        bool last_changed = false;
        for (int s = 0; s < steps; ++s) {
          for (int i = 0; i < rr; ++i) {
            for (int j = 0; j < rw; ++j) {
              const ThinWord v = thin_region_step(cur, rr, rw, i, j, s & 1);
              if (s >= steps - 2 && g.interior(i, j) && v != cur[i * rw + j]) last_changed = true;
              nxt[i * rw + j] = v;
            }
          }
          std::swap(cur, nxt);
        }
        now[tile] = last_changed;
        changed_tiles += last_changed;
        for (int i = steps; i < steps + tile_rows; ++i) {
          for (int j = 1; j <= tile_words; ++j) {
            const std::int64_t r = g.image_row(ty, i), k = g.image_word(tx, j);
            if (r < rows && k < g.words) out[r * g.words + k] = cur[i * rw + j];
          }
        }
      } else {
        for (std::int64_t r = ty * tile_rows; r < std::min(rows, (ty + 1) * tile_rows); ++r) {
          for (std::int64_t k = tx * tile_words; k < std::min(g.words, (tx + 1) * tile_words);
               ++k) {
            out[r * g.words + k] = in[r * g.words + k];
          }
        }
      }
    }
    last = static_cast<int>((round + 1) & 1);
    stats.rounds = round + 1;
    if (changed_tiles == 0) break;
  }

  const std::vector<ThinWord>& img = buf[last];
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = 0; k < g.words; ++k) {
      unpack_word(img[r * g.words + k], dst + r * cols + 32 * k,
                  std::min<std::int64_t>(32, cols - 32 * k));
    }
  }
  return stats;
}

}  // namespace veernet::cpu
