// ns/reuse internals: the row kernels of HR reconstruction (bilinear residual up-scaling and add), as a table
// of function pointers. The bilinear arithmetic is reference §7.4's: 5-bit weights, horizontal pass into int16,
//   t = L + (((R - L) * w + 16) >> 5), then the same vertically, added to the prediction and clamped to [0, 255].
// Which source samples L and R are (block-local or frame-wide clamping) is decided by the tables, not the kernels.
// Thread-safety: tables are immutable after init. Checked against C in tests/check_dsp_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#define NS_REUSE_X86 1
#else
#define NS_REUSE_X86 0
#endif

namespace ns::reuse {

// Per output sample along one axis: source indices and the 5-bit weight of the right/bottom one.
// For the SIMD row kernel, outputs are also described in groups of 8: every left/right index of group g lies
// in [group_base[g], group_base[g] + 7], and group_shuffle holds 32 bytes per group (16 pshufb bytes picking the
// left samples out of src[group_base[g] .. + 7], then 16 for the right ones). simd_groups is 0 when the
// sources cannot be described that way; a group never reads beyond the last source sample.
struct RowTable {
  const int32_t* left = nullptr;
  const int32_t* right = nullptr;
  const int16_t* weight = nullptr;
  const int32_t* group_base = nullptr;
  const uint8_t* group_shuffle = nullptr;
  int simd_groups = 0;
};

// dst[x] = L + (((R - L) * w + 16) >> 5) with L = src[left[x]], R = src[right[x]], for x in [0, width).
using UpscaleRowFn = void (*)(int16_t* dst, const int16_t* src, const RowTable& table, int width);

// dst[x] = clamp(dst[x] + top[x] + (((bottom[x] - top[x]) * weight + 16) >> 5), 0, 255), for x in [0, width).
using AddRowsFn = void (*)(uint8_t* dst, const int16_t* top, const int16_t* bottom, int weight, int width);

// Back-projection residual: dst[x] = lr[x] - ((sum of the scale x scale HR samples of x) + scale^2 / 2) / scale^2,
// for x in [0, width); the HR box of x starts at hr[scale * x] and spans `scale` rows of hr_stride.
using ProjectRowFn = void (*)(int16_t* dst, const uint8_t* lr, const uint8_t* hr, ptrdiff_t hr_stride, int scale,
                              int width);

// Area down-scale: dst[x] = ((sum of the scale x scale HR samples of x) + scale^2 / 2) / scale^2.
using DownscaleRowFn = void (*)(uint8_t* dst, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width);

// Overlapped-block blend of four predictions of one tile (p[0] top-left, p[1] top-right, p[2] bottom-left,
// p[3] bottom-right contributor), 6-bit weights of the left (wx[x]) and top (wy[y]) contributors, all in [1, 63]:
//   t = wx * p0 + (64 - wx) * p1,  b = wx * p2 + (64 - wx) * p3              (exact, <= 64 * 255)
//   dst = clamp((((t * wy + 32) >> 6) + ((b * (64 - wy) + 32) >> 6) + 32) >> 6, 0, 255)
using ObmcBlendFn = void (*)(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* const* p, ptrdiff_t p_stride,
                             const uint8_t* wx, const uint8_t* wy, int width, int height);

struct Dsp {
  ObmcBlendFn obmc_blend = nullptr;
  UpscaleRowFn upscale_row = nullptr;
  AddRowsFn add_rows = nullptr;
  ProjectRowFn project_row = nullptr;
  DownscaleRowFn downscale_row = nullptr;
};

void obmc_blend_c(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* const* p, ptrdiff_t p_stride, const uint8_t* wx,
                  const uint8_t* wy, int width, int height);
void upscale_row_c(int16_t* dst, const int16_t* src, const RowTable& table, int width);
void add_rows_c(uint8_t* dst, const int16_t* top, const int16_t* bottom, int weight, int width);
void project_row_c(int16_t* dst, const uint8_t* lr, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width);
void downscale_row_c(uint8_t* dst, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width);

#if NS_REUSE_X86
void obmc_blend_avx2(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* const* p, ptrdiff_t p_stride,
                     const uint8_t* wx, const uint8_t* wy, int width, int height);
void upscale_row_avx2(int16_t* dst, const int16_t* src, const RowTable& table, int width);
void add_rows_avx2(uint8_t* dst, const int16_t* top, const int16_t* bottom, int weight, int width);
void project_row_avx2(int16_t* dst, const uint8_t* lr, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width);
void downscale_row_avx2(uint8_t* dst, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width);
#endif

void init_dsp(Dsp& dsp, int cpu_level);  // motion::kCpuLevel*; C first, then overrides up to cpu_level

// Owns the arrays a RowTable points to: the bilinear mapping of `source` samples onto `source * scale` outputs
// (out_count may be smaller, for odd chroma sizes), either frame-wide (indices clamped to the plane) or
// block-local (clamped to the source block of `block` samples each output falls in), as reference §7.4.
class AxisTable {
 public:
  AxisTable() = default;
  void build(int source, int scale, int out_count, int block);  // block 0: frame-wide
  RowTable view() const;
  int size() const { return static_cast<int>(left_.size()); }
  int32_t left(int i) const { return left_[i]; }
  int32_t right(int i) const { return right_[i]; }
  int16_t weight(int i) const { return weight_[i]; }

 private:
  std::vector<int32_t> left_;
  std::vector<int32_t> right_;
  std::vector<int16_t> weight_;
  std::vector<int32_t> group_base_;
  std::vector<uint8_t> group_shuffle_;
  int simd_groups_ = 0;
};

}  // namespace ns::reuse
