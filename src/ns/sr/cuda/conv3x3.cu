// sr/cuda: 3x3 convolutions over NHWC fp16 (kernels_impl.h). The tensor-core kernel is an implicit GEMM:
// M = output pixels, N = output channels, K = 9 taps x cin. A block owns a tile of kTileH rows x kTileW
// pixels and BN output channels; it stages the input tile with its 1-pixel halo and the BN columns of
// all 9 x cin weight rows in shared memory once, then each warp (one row of the tile, two 16-pixel WMMA
// tiles) reads the A tile of tap (dy, dx) straight out of the halo patch: consecutive pixels of a row are
// cin halves apart, so the patch is a row-major A matrix with leading dimension cin.
#include <mma.h>

#include "ns/sr/cuda/kernels_impl.h"

namespace ns::sr::cuda {

namespace {

constexpr int kTileH = 8;   // rows per block: one warp each
constexpr int kTileW = 32;  // pixels per row: two 16-pixel WMMA tiles per warp
constexpr int kPatchH = kTileH + 2;
constexpr int kPatchW = kTileW + 2;
constexpr int kThreads = kTileH * 32;
constexpr int kStageFloats = 16 * 16;  // one accumulator tile per warp, for the epilogue

__host__ __device__ constexpr size_t patch_bytes(int cin) { return size_t{kPatchH} * kPatchW * cin * 2; }
__host__ __device__ constexpr size_t weight_bytes(int cin, int bn) { return size_t{9} * cin * bn * 2; }
constexpr size_t smem_bytes(int cin, int bn) {
  return patch_bytes(cin) + weight_bytes(cin, bn) + size_t{kTileH} * kStageFloats * 4;
}

union Half8 {
  uint4 vec;
  __half h[8];
};

// Bias, residual, ReLU and the store for 8 consecutive output channels co0..co0+7 of pixel (x, y).
__device__ __forceinline__ void store_outputs(const ConvLaunch& p, int image, int x, int y, int co0, float v[8]) {
  const unsigned char* model = p.models[image];
  const float* bias = reinterpret_cast<const float*>(model + p.bias_offset);
  for (int j = 0; j < 8; ++j) v[j] += bias[co0 + j];
  if (p.store == Store::planar_f32) {
    for (int j = 0; j < 8 && co0 + j < p.planar_channels; ++j) {
      const float value = p.relu ? fmaxf(v[j], 0.0f) : v[j];
      p.out_planar[((static_cast<size_t>(image) * p.planar_channels + co0 + j) * p.height + y) * p.width + x] = value;
    }
    return;
  }
  size_t index;
  if (p.store == Store::nhwc) {
    index = ((static_cast<size_t>(image) * p.height + y) * p.width + x) * p.cout + co0;
    if (p.residual) {
      Half8 r;
      r.vec = *reinterpret_cast<const uint4*>(p.residual + index);
      for (int j = 0; j < 8; ++j) v[j] += __half2float(r.h[j]);
    }
  } else {  // PixelShuffle: channel co = (i * r + j) * f + c goes to HR pixel (y r + i, x r + j), channel c
    const int r = p.shuffle;
    const int f = p.cout / (r * r);
    const int s = co0 / f;
    const int c = co0 % f;
    const size_t hr_y = static_cast<size_t>(image) * p.height * r + static_cast<size_t>(y) * r + s / r;
    const size_t hr_x = static_cast<size_t>(x) * r + s % r;
    index = (hr_y * p.width * r + hr_x) * f + c;
  }
  Half8 o;
  for (int j = 0; j < 8; ++j) o.h[j] = __float2half_rn(p.relu ? fmaxf(v[j], 0.0f) : v[j]);
  *reinterpret_cast<uint4*>(p.out + index) = o.vec;
}

template <int BN>
__global__ void __launch_bounds__(kThreads) conv3x3_wmma_kernel(const ConvLaunch p) {
  using namespace nvcuda;
  extern __shared__ __align__(128) unsigned char smem[];
  const int cin = p.cin;
  const int tiles_n = p.cout / BN;
  const int image = blockIdx.z / tiles_n;
  const int n0 = (blockIdx.z % tiles_n) * BN;
  const int x0 = blockIdx.x * kTileW;
  const int y0 = blockIdx.y * kTileH;
  __half* patch = reinterpret_cast<__half*>(smem);
  __half* wsm = reinterpret_cast<__half*>(smem + patch_bytes(cin));
  float* stage = reinterpret_cast<float*>(smem + patch_bytes(cin) + weight_bytes(cin, BN));

  // Weights: rows k of columns n0..n0+BN, 16-byte vectors.
  const __half* w = reinterpret_cast<const __half*>(p.models[image] + p.weight_offset);
  constexpr int kRowVectors = BN / 8;
  for (int i = threadIdx.x; i < 9 * cin * kRowVectors; i += kThreads) {
    const int k = i / kRowVectors;
    const int v = i % kRowVectors;
    const __half* src = w + static_cast<size_t>(k) * p.cout + n0 + v * 8;
    reinterpret_cast<uint4*>(wsm)[i] = *reinterpret_cast<const uint4*>(src);
  }
  // Input patch with its halo; zeros outside the image (the convolution's zero padding).
  const __half* in = p.in + static_cast<size_t>(image) * p.height * p.width * cin;
  const int pixel_vectors = cin / 8;
  for (int i = threadIdx.x; i < kPatchH * kPatchW * pixel_vectors; i += kThreads) {
    const int c = i % pixel_vectors;
    const int pixel = i / pixel_vectors;
    const int gx = x0 - 1 + pixel % kPatchW;
    const int gy = y0 - 1 + pixel / kPatchW;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (gx >= 0 && gx < p.width && gy >= 0 && gy < p.height)
      v = *reinterpret_cast<const uint4*>(in + (static_cast<size_t>(gy) * p.width + gx) * cin + c * 8);
    reinterpret_cast<uint4*>(patch)[i] = v;
  }
  __syncthreads();

  constexpr int kFragsN = BN / 16;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][kFragsN];
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int n = 0; n < kFragsN; ++n) wmma::fill_fragment(acc[m][n], 0.0f);
  for (int tap = 0; tap < 9; ++tap) {
    const int dy = tap / 3;
    const int dx = tap % 3;
    for (int c0 = 0; c0 < cin; c0 += 16) {
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> b[kFragsN];
#pragma unroll
      for (int n = 0; n < kFragsN; ++n)
        wmma::load_matrix_sync(b[n], wsm + static_cast<size_t>(tap * cin + c0) * BN + n * 16, BN);
#pragma unroll
      for (int m = 0; m < 2; ++m) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
        wmma::load_matrix_sync(a, patch + static_cast<size_t>((warp + dy) * kPatchW + m * 16 + dx) * cin + c0, cin);
#pragma unroll
        for (int n = 0; n < kFragsN; ++n) wmma::mma_sync(acc[m][n], a, b[n], acc[m][n]);
      }
    }
  }

  // Epilogue: each accumulator tile through the warp's staging area; lane -> pixel lane / 2, channels
  // (lane % 2) * 8 .. + 8.
  float* st = stage + warp * kStageFloats;
  const int y = y0 + warp;
  const int row = lane / 2;
  const int col = (lane % 2) * 8;
#pragma unroll
  for (int m = 0; m < 2; ++m)
#pragma unroll
    for (int n = 0; n < kFragsN; ++n) {
      wmma::store_matrix_sync(st, acc[m][n], 16, wmma::mem_row_major);
      __syncwarp();
      const int x = x0 + m * 16 + row;
      if (x < p.width && y < p.height) {
        float v[8];
        for (int j = 0; j < 8; ++j) v[j] = st[row * 16 + col + j];
        store_outputs(p, image, x, y, n0 + n * 16 + col, v);
      }
      __syncwarp();
    }
}

__global__ void conv3x3_direct_kernel(const ConvLaunch p) {
  const int groups = p.cout / 8;
  const size_t t = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= static_cast<size_t>(p.batch) * p.height * p.width * groups) return;
  const int co0 = static_cast<int>(t % groups) * 8;
  const size_t pixel = t / groups;
  const int x = static_cast<int>(pixel % p.width);
  const int y = static_cast<int>(pixel / p.width % p.height);
  const int image = static_cast<int>(pixel / (static_cast<size_t>(p.width) * p.height));
  const __half* w = reinterpret_cast<const __half*>(p.models[image] + p.weight_offset);
  const __half* in = p.in + static_cast<size_t>(image) * p.height * p.width * p.cin;
  float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int ky = 0; ky < 3; ++ky) {
    const int sy = y + ky - 1;
    if (sy < 0 || sy >= p.height) continue;
    for (int kx = 0; kx < 3; ++kx) {
      const int sx = x + kx - 1;
      if (sx < 0 || sx >= p.width) continue;
      const __half* src = in + (static_cast<size_t>(sy) * p.width + sx) * p.cin;
      for (int ci = 0; ci < p.cin; ++ci) {
        const float a = __half2float(src[ci]);
        const __half* wrow = w + static_cast<size_t>((ky * 3 + kx) * p.cin + ci) * p.cout + co0;
        for (int j = 0; j < 8; ++j) v[j] += a * __half2float(wrow[j]);
      }
    }
  }
  store_outputs(p, image, x, y, co0, v);
}

}  // namespace

cudaError_t conv3x3_init() {
  cudaError_t e = cudaFuncSetAttribute(conv3x3_wmma_kernel<16>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(smem_bytes(kMaxChannels, 16)));
  if (e != cudaSuccess) return e;
  return cudaFuncSetAttribute(conv3x3_wmma_kernel<32>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                              static_cast<int>(smem_bytes(kMaxChannels, 32)));
}

cudaError_t conv3x3_tensor_core(const ConvLaunch& conv, cudaStream_t stream) {
  const dim3 grid((conv.width + kTileW - 1) / kTileW, (conv.height + kTileH - 1) / kTileH);
  if (conv.cout % 32 == 0) {
    const dim3 g(grid.x, grid.y, conv.batch * (conv.cout / 32));
    conv3x3_wmma_kernel<32><<<g, kThreads, smem_bytes(conv.cin, 32), stream>>>(conv);
  } else {
    const dim3 g(grid.x, grid.y, conv.batch * (conv.cout / 16));
    conv3x3_wmma_kernel<16><<<g, kThreads, smem_bytes(conv.cin, 16), stream>>>(conv);
  }
  return cudaGetLastError();
}

cudaError_t conv3x3_direct(const ConvLaunch& conv, cudaStream_t stream) {
  constexpr int kBlock = 128;
  const size_t threads = static_cast<size_t>(conv.batch) * conv.height * conv.width * (conv.cout / 8);
  conv3x3_direct_kernel<<<static_cast<unsigned>((threads + kBlock - 1) / kBlock), kBlock, 0, stream>>>(conv);
  return cudaGetLastError();
}

}  // namespace ns::sr::cuda
