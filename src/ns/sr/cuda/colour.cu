// sr/cuda: BT.709 limited-range colour conversion between packed I420 and the network's tensors
// (kernels_impl.h). The integer arithmetic is that of core/colour.cpp (its coefficients, chroma
// up-sampled with weights 9, 3, 3, 1 / 16, down-sampled as 2x2 sums) so that results are bit-exact with
// core::i420_to_rgb / core::rgb_to_i420; tests/sr_cuda_test.cpp checks it.
#include "ns/core/colour_fixed.h"
#include "ns/sr/cuda/kernels_impl.h"

namespace ns::sr::cuda {

namespace {

using namespace core::colour_fixed;

constexpr int kBlock = 256;

__device__ int32_t clamp_byte(int32_t v) { return v < 0 ? 0 : (v > 255 ? 255 : v); }

unsigned blocks_for(size_t threads) { return static_cast<unsigned>((threads + kBlock - 1) / kBlock); }

// Writes R, G, B (0..1) and zeros to the kInputChannels fp16 channels of one input pixel.
__device__ void store_input_pixel(__half* dst, float r, float g, float b) {
  union {
    uint4 vec[kInputChannels / 8];
    __half h[kInputChannels];
  } px;
  for (int c = 0; c < kInputChannels; ++c) px.h[c] = __float2half_rn(0.0f);
  px.h[0] = __float2half_rn(r);
  px.h[1] = __float2half_rn(g);
  px.h[2] = __float2half_rn(b);
  for (int v = 0; v < kInputChannels / 8; ++v) reinterpret_cast<uint4*>(dst)[v] = px.vec[v];
}

__global__ void i420_to_input_kernel(const uint8_t* i420, int batch, int w, int h, __half* input) {
  const size_t t = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t plane = static_cast<size_t>(w) * h;
  if (t >= plane * batch) return;
  const int image = static_cast<int>(t / plane);
  const int x = static_cast<int>(t % plane % w);
  const int y = static_cast<int>(t % plane / w);
  const int cw = (w + 1) / 2;
  const int ch = (h + 1) / 2;
  const uint8_t* luma = i420 + image * i420_bytes(w, h);
  const uint8_t* u = luma + plane;
  const uint8_t* v = u + static_cast<size_t>(cw) * ch;
  // Luma row y: chroma rows near = y / 2 (3/4) and far (1/4); column x: chroma columns x / 2 (3/4) and
  // its neighbour on x's side (1/4); edges replicate.
  const int near = y / 2;
  const int far = min(max((y & 1) ? near + 1 : near - 1, 0), ch - 1);
  const int j = x / 2;
  const int jn = min(max((x & 1) ? j + 1 : j - 1, 0), cw - 1);
  auto upsample = [&](const uint8_t* p) {
    const int32_t a = 3 * p[near * cw + j] + p[far * cw + j];
    const int32_t b = 3 * p[near * cw + jn] + p[far * cw + jn];
    return 3 * a + b - 16 * 128;
  };
  const int32_t cb = upsample(u);
  const int32_t cr = upsample(v);
  constexpr int kShift = kBits + 4;
  const int32_t yv = kInvY * 16 * (luma[static_cast<size_t>(y) * w + x] - 16) + (1 << (kShift - 1));
  const int32_t r = clamp_byte((yv + kInvRCr * cr) >> kShift);
  const int32_t g = clamp_byte((yv - kInvGCb * cb - kInvGCr * cr) >> kShift);
  const int32_t b = clamp_byte((yv + kInvBCb * cb) >> kShift);
  store_input_pixel(input + t * kInputChannels, static_cast<float>(r) / 255.0f, static_cast<float>(g) / 255.0f,
                    static_cast<float>(b) / 255.0f);
}

__global__ void planar_to_input_kernel(const float* planar, int batch, int w, int h, __half* input) {
  const size_t t = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t plane = static_cast<size_t>(w) * h;
  if (t >= plane * batch) return;
  const float* src = planar + t / plane * 3 * plane + t % plane;
  store_input_pixel(input + t * kInputChannels, src[0], src[plane], src[2 * plane]);
}

// One thread per 2x2 block of the HR image: its (up to) four luma samples and one Cb, Cr pair.
__global__ void output_to_i420_kernel(const float* planar, int batch, int w, int h, uint8_t* i420, int* nan_flag) {
  const int cw = (w + 1) / 2;
  const int ch = (h + 1) / 2;
  const size_t t = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t chroma_plane = static_cast<size_t>(cw) * ch;
  if (t >= chroma_plane * batch) return;
  const int image = static_cast<int>(t / chroma_plane);
  const int cx = static_cast<int>(t % chroma_plane % cw);
  const int cy = static_cast<int>(t % chroma_plane / cw);
  const size_t plane = static_cast<size_t>(w) * h;
  const float* src = planar + static_cast<size_t>(image) * 3 * plane;
  uint8_t* luma = i420 + image * i420_bytes(w, h);
  const int xs[2] = {2 * cx, min(2 * cx + 1, w - 1)};
  const int ys[2] = {2 * cy, min(2 * cy + 1, h - 1)};
  int32_t sum[3] = {0, 0, 0};
  bool nan = false;
  for (int dy = 0; dy < 2; ++dy)
    for (int dx = 0; dx < 2; ++dx) {
      int32_t rgb[3];
      for (int c = 0; c < 3; ++c) {
        const float value = src[c * plane + static_cast<size_t>(ys[dy]) * w + xs[dx]] * 255.0f;
        nan |= isnan(value);
        rgb[c] = static_cast<int32_t>(rintf(fminf(fmaxf(value, 0.0f), 255.0f)));  // half to even
        sum[c] += rgb[c];
      }
      // Replicated edge samples count in the chroma sums only; each luma sample is written once.
      if (2 * cx + dx < w && 2 * cy + dy < h) {
        luma[static_cast<size_t>(ys[dy]) * w + xs[dx]] = static_cast<uint8_t>(
            (kYr * rgb[0] + kYg * rgb[1] + kYb * rgb[2] + (16 << kBits) + (1 << (kBits - 1))) >> kBits);
      }
    }
  if (nan) *nan_flag = 1;
  constexpr int kChromaShift = kBits + 2;
  constexpr int32_t c_bias = (128 << kChromaShift) + (1 << (kChromaShift - 1));
  uint8_t* u = luma + plane;
  uint8_t* v = u + chroma_plane;
  const size_t c = static_cast<size_t>(cy) * cw + cx;
  u[c] = static_cast<uint8_t>(clamp_byte((kCbR * sum[0] + kCbG * sum[1] + kCbB * sum[2] + c_bias) >> kChromaShift));
  v[c] = static_cast<uint8_t>(clamp_byte((kCrR * sum[0] + kCrG * sum[1] + kCrB * sum[2] + c_bias) >> kChromaShift));
}

}  // namespace

cudaError_t i420_to_input(const uint8_t* i420, int batch, int width, int height, __half* input, cudaStream_t stream) {
  const size_t threads = static_cast<size_t>(batch) * width * height;
  i420_to_input_kernel<<<blocks_for(threads), kBlock, 0, stream>>>(i420, batch, width, height, input);
  return cudaGetLastError();
}

cudaError_t planar_to_input(const float* planar, int batch, int width, int height, __half* input,
                            cudaStream_t stream) {
  const size_t threads = static_cast<size_t>(batch) * width * height;
  planar_to_input_kernel<<<blocks_for(threads), kBlock, 0, stream>>>(planar, batch, width, height, input);
  return cudaGetLastError();
}

cudaError_t output_to_i420(const float* planar, int batch, int width, int height, uint8_t* i420, int* nan_flag,
                           cudaStream_t stream) {
  const size_t threads = static_cast<size_t>(batch) * ((width + 1) / 2) * ((height + 1) / 2);
  output_to_i420_kernel<<<blocks_for(threads), kBlock, 0, stream>>>(planar, batch, width, height, i420, nan_flag);
  return cudaGetLastError();
}

}  // namespace ns::sr::cuda
