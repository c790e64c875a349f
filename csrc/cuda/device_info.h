#pragma once
#include <cstddef>
#include <cstdint>

namespace veernet::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no device.
int device_count();

// Count the non-zero bytes of a host buffer on the current device.  A deliberately
// small kernel that keeps the CUDA build path exercised.  Throws std::runtime_error when
// no device is usable.
std::int64_t count_nonzero(const std::uint8_t* host, std::size_t n);

}  // namespace veernet::cuda
