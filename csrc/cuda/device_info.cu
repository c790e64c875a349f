// CUDA runtime probes.  The runtime is linked statically and loads the driver lazily,
// so importing veernet._core never needs libcuda; these calls fail cleanly without it.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "device_info.h"

namespace veernet::cuda {
namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
  }
}

__global__ void count_nonzero_kernel(const std::uint8_t* data, std::size_t n,
                                     unsigned long long* total) {
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    local += data[i] != 0;
  }
  // Warp reduction, then one atomic per warp.
  for (int off = 16; off > 0; off >>= 1) local += __shfl_down_sync(0xffffffffu, local, off);
  if ((threadIdx.x & 31) == 0 && local) atomicAdd(total, local);
}

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

std::int64_t count_nonzero(const std::uint8_t* host, std::size_t n) {
  if (device_count() == 0) {
    throw std::runtime_error("no usable CUDA device (no GPU or no NVIDIA driver)");
  }
  std::uint8_t* dev = nullptr;
  unsigned long long* total = nullptr;
  unsigned long long result = 0;
  try {
    check(cudaMalloc(&dev, n ? n : 1), "cudaMalloc");
    check(cudaMalloc(&total, sizeof(*total)), "cudaMalloc");
    check(cudaMemcpy(dev, host, n, cudaMemcpyHostToDevice), "cudaMemcpy");
    check(cudaMemset(total, 0, sizeof(*total)), "cudaMemset");
    const int threads = 256;
    const int blocks =
        static_cast<int>(std::min<std::size_t>((n + threads - 1) / threads + 1, 1024));
    count_nonzero_kernel<<<blocks, threads>>>(dev, n, total);
    check(cudaGetLastError(), "count_nonzero_kernel launch");
    check(cudaMemcpy(&result, total, sizeof(result), cudaMemcpyDeviceToHost), "cudaMemcpy");
  } catch (...) {
    cudaFree(dev);
    cudaFree(total);
    throw;
  }
  cudaFree(dev);
  cudaFree(total);
  return static_cast<std::int64_t>(result);
}

}  // namespace veernet::cuda
