// The Zhang-Suen per-pixel rule, shared by the CPU and CUDA thinning kernels.
//
// veernet.thin must be bit-identical to skimage.morphology.skeletonize (2-D, default
// method).  scikit-image does not use the textbook Zhang-Suen conditions but a 256-entry
// lookup table over the eight neighbours; we carry that table verbatim so there is one
// definition of the rule.  Index bits: NW=1, N=2, NE=4, E=8, SE=16, S=32, SW=64, W=128.
// Value 1: removable in the first sub-iteration, 2: in the second, 3: in both.
//
// Both sub-iterations are synchronous: every pixel is judged on the image as it was at
// the start of the sub-iteration.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define VEERNET_HD __host__ __device__ __forceinline__
#else
#define VEERNET_HD inline
#endif

namespace veernet {

// clang-format off
// Host-only: the device evaluates the same rule through thin_removed_bits below.
inline constexpr std::uint8_t THIN_LUT[256] = {
    0, 0, 0, 1, 0, 0, 1, 3, 0, 0, 3, 1, 1, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 3, 0, 3, 3,
    0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 2, 2,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 2, 0,
    0, 0, 3, 1, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 3, 1, 3, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 1, 0, 0, 0, 0, 2, 2, 0, 0, 2, 0, 0, 0};
// clang-format on

// Word-parallel rule: each bit of a word is one pixel, each argument holds that pixel's
// neighbour in one direction.  Returns the pixels removable in sub-iteration `pass`
// (0 or 1), not yet masked by the centre pixel.  W is any unsigned integer type: 64-bit
// words on the CPU, 32-bit words on the GPU.  The logic is generated from THIN_LUT and
// tested against it on all 256 neighbourhoods.
template <typename W>
VEERNET_HD W thin_removed_bits(W nw, W n, W ne, W e, W se, W s, W sw, W w, int pass) {
  W del1, del2;
#include "thin_rule_bitwise.inc"
  return pass == 0 ? del1 : del2;
}

// Scalar rule, through the same logic: is a set pixel whose neighbourhood index is
// `nbhd` removed in sub-iteration `pass`?
VEERNET_HD bool thin_removes(unsigned nbhd, int pass) {
  auto bit = [nbhd](int i) { return (nbhd >> i) & 1u; };
  return thin_removed_bits<unsigned>(bit(0), bit(1), bit(2), bit(3), bit(4), bit(5), bit(6), bit(7),
                                     pass) &
         1u;
}

}  // namespace veernet
