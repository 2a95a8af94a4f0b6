// sr/cuda: CUDA error checks and owning memory handles (check_impl.h).
#include <fmt/format.h>

#include "ns/core/error.h"
#include "ns/sr/cuda/check_impl.h"

namespace ns::sr::cuda {

void check(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call does not report it again
  throw Error(ErrorCode::internal,
              fmt::format("sr/cuda: {} failed ({}: {}) at {}:{}; check the GPU driver and --device, or use "
                          "--backend onednn",
                          call, cudaGetErrorName(status), cudaGetErrorString(status), file, line));
}

void* DeviceMemory::allocate(size_t bytes) {
  void* p = nullptr;
  NS_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void* PinnedMemory::allocate(size_t bytes) {
  void* p = nullptr;
  NS_CUDA_CHECK(cudaMallocHost(&p, bytes));
  return p;
}

}  // namespace ns::sr::cuda
