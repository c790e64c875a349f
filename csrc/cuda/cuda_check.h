// Error checking and stream-ordered temporaries for the CUDA kernels.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace veernet::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
  }
}

// Frees its device allocations on `stream` when it goes out of scope (also on error).
class DeviceBuffers {
 public:
  explicit DeviceBuffers(cudaStream_t stream) : stream_(stream) {}
  DeviceBuffers(const DeviceBuffers&) = delete;
  DeviceBuffers& operator=(const DeviceBuffers&) = delete;
  ~DeviceBuffers() {
    for (void* p : ptrs_) cudaFreeAsync(p, stream_);
  }
  void add(void* p) { ptrs_.push_back(p); }

 private:
  cudaStream_t stream_;
  std::vector<void*> ptrs_;
};

}  // namespace veernet::cuda
