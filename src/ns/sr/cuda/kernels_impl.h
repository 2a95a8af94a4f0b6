// Internal to sr/cuda: the kernels' launchers (conv3x3.cu, colour.cu), called by the host code in
// cuda_upscaler.cpp. Launchers only enqueue on `stream` and return cudaGetLastError(); the caller checks it.
// Layouts: activations fp16 NHWC, images of a batch one after another; the network input has
// kInputChannels channels (R, G, B, then zeros) so that every convolution has a multiple of 16 inputs.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace ns::sr::cuda {

inline constexpr int kInputChannels = 16;
inline constexpr int kMaxChannels = 64;  // the largest cin / F the tensor-core kernel's shared memory allows

// What a convolution writes: NHWC fp16 (`out`, cout channels), the same through PixelShuffle(r) (`out`,
// cout / r^2 channels at r x the size; the weights' output channels permuted to (i * r + j) * F + c), or
// the first `planar_channels` channels as planar fp32 (`out_planar`, [batch][planar_channels][h][w]).
enum class Store { nhwc, shuffle, planar_f32 };

// One 3x3 convolution, stride 1, zero padding 1, over `batch` images of width x height, each with its own
// model: models[image] is a device pointer to that image's weight blob, in which this layer's weights are
// [9 * cin][cout] fp16 at weight_offset (row k = (ky * 3 + kx) * cin + ci) and its bias [cout] fp32 at
// bias_offset. out = ReLU?(conv(in) + bias + residual?). Offsets are multiples of 256 bytes.
struct ConvLaunch {
  const __half* in = nullptr;  // [batch][height][width][cin]
  int batch = 0;
  int width = 0;
  int height = 0;
  int cin = 0;   // multiple of 16, <= kMaxChannels
  int cout = 0;  // multiple of 16
  const unsigned char* const* models = nullptr;  // device array of `batch` pointers
  size_t weight_offset = 0;
  size_t bias_offset = 0;
  bool relu = false;
  const __half* residual = nullptr;  // Store::nhwc only; may equal `out` (each element is read, then written)
  Store store = Store::nhwc;
  int shuffle = 1;  // r for Store::shuffle
  __half* out = nullptr;
  float* out_planar = nullptr;
  int planar_channels = 0;
};

// Sets the kernels' shared-memory limits for the current device; once per device before the first launch.
cudaError_t conv3x3_init();
// Implicit GEMM on tensor cores (WMMA 16x16x16, fp16 in, fp32 accumulate), fused epilogue.
cudaError_t conv3x3_tensor_core(const ConvLaunch& conv, cudaStream_t stream);
// One thread per pixel and 8 output channels, fp32 accumulation: the plain second opinion for tests.
cudaError_t conv3x3_direct(const ConvLaunch& conv, cudaStream_t stream);

// Colour (BT.709 limited range, the fixed-point formulas of core/colour.cpp). I420 images are packed:
// Y (w x h), then U and V ((w + 1) / 2 x (h + 1) / 2), no row padding; images one after another.
inline __host__ __device__ size_t i420_bytes(int width, int height) {
  return static_cast<size_t>(width) * height + 2 * static_cast<size_t>((width + 1) / 2) * ((height + 1) / 2);
}
// I420 -> RGB (core::i420_to_rgb), / 255 -> the network input.
cudaError_t i420_to_input(const uint8_t* i420, int batch, int width, int height, __half* input, cudaStream_t stream);
// Planar fp32 RGB [batch][3][h][w] -> the network input.
cudaError_t planar_to_input(const float* planar, int batch, int width, int height, __half* input,
                            cudaStream_t stream);
// Network output, planar fp32 [batch][3][h][w] -> x 255, clamp, round half to even -> RGB -> I420
// (core::rgb_to_i420). Sets *nan_flag to 1 when any value is NaN.
cudaError_t output_to_i420(const float* planar, int batch, int width, int height, uint8_t* i420, int* nan_flag,
                           cudaStream_t stream);

}  // namespace ns::sr::cuda
