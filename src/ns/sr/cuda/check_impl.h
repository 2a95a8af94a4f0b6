// Internal to sr/cuda: CUDA error checks that throw ns::Error, and owning handles for device and pinned memory.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

// Wraps one CUDA runtime call: on failure throws ns::Error (internal) naming the call, the CUDA error and
// the place, e.g. NS_CUDA_CHECK(cudaMalloc(&p, n)).
#define NS_CUDA_CHECK(call) ::ns::sr::cuda::check((call), #call, __FILE__, __LINE__)

namespace ns::sr::cuda {

void check(cudaError_t status, const char* call, const char* file, int line);

// How device (cudaMalloc: 256-byte aligned) and page-locked host memory (cudaMallocHost: copies from it run
// asynchronously on a stream) are allocated and freed.
struct DeviceMemory {
  static void* allocate(size_t bytes);
  void operator()(void* p) const { cudaFree(p); }
};
struct PinnedMemory {
  static void* allocate(size_t bytes);
  void operator()(void* p) const { cudaFreeHost(p); }
};

// `bytes` of Memory, freed on destruction; empty when default-constructed.
template <typename Memory>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t bytes) : ptr_(Memory::allocate(bytes)), bytes_(bytes) {}
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_.get());
  }
  size_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<void, Memory> ptr_;
  size_t bytes_ = 0;
};

using DeviceBuffer = Buffer<DeviceMemory>;
using PinnedBuffer = Buffer<PinnedMemory>;

}  // namespace ns::sr::cuda
