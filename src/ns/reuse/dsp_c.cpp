// The C row kernels of ns/reuse (the specification), their tables and the kernel table initialisation.
#include <algorithm>

#include "ns/core/error.h"
#include "ns/motion/motion.h"
#include "ns/reuse/dsp_impl.h"

namespace ns::reuse {

void obmc_blend_c(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* const* p, ptrdiff_t p_stride, const uint8_t* wx,
                  const uint8_t* wy, int width, int height) {
  for (int y = 0; y < height; ++y) {
    const ptrdiff_t o = y * p_stride;
    for (int x = 0; x < width; ++x) {
      const int t = wx[x] * p[0][o + x] + (64 - wx[x]) * p[1][o + x];
      const int b = wx[x] * p[2][o + x] + (64 - wx[x]) * p[3][o + x];
      const int v = ((t * wy[y] + 32) >> 6) + ((b * (64 - wy[y]) + 32) >> 6);
      dst[y * dst_stride + x] = static_cast<uint8_t>(std::clamp((v + 32) >> 6, 0, 255));
    }
  }
}

void upscale_row_c(int16_t* dst, const int16_t* src, const RowTable& table, int width) {
  for (int x = 0; x < width; ++x) {
    const int l = src[table.left[x]];
    const int r = src[table.right[x]];
    dst[x] = static_cast<int16_t>(l + (((r - l) * table.weight[x] + 16) >> 5));
  }
}

void add_rows_c(uint8_t* dst, const int16_t* top, const int16_t* bottom, int weight, int width) {
  for (int x = 0; x < width; ++x) {
    const int v = top[x] + (((bottom[x] - top[x]) * weight + 16) >> 5);
    dst[x] = static_cast<uint8_t>(std::clamp(dst[x] + v, 0, 255));
  }
}

static int box_mean(const uint8_t* hr, ptrdiff_t hr_stride, int scale) {
  const int area = scale * scale;
  int sum = 0;
  for (int j = 0; j < scale; ++j) {
    for (int i = 0; i < scale; ++i) sum += hr[j * hr_stride + i];
  }
  return (sum + area / 2) / area;
}

void project_row_c(int16_t* dst, const uint8_t* lr, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width) {
  for (int x = 0; x < width; ++x) dst[x] = static_cast<int16_t>(lr[x] - box_mean(hr + scale * x, hr_stride, scale));
}

void downscale_row_c(uint8_t* dst, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width) {
  for (int x = 0; x < width; ++x) dst[x] = static_cast<uint8_t>(box_mean(hr + scale * x, hr_stride, scale));
}

void init_dsp(Dsp& dsp, int cpu_level) {
  dsp.obmc_blend = obmc_blend_c;
  dsp.upscale_row = upscale_row_c;
  dsp.add_rows = add_rows_c;
  dsp.project_row = project_row_c;
  dsp.downscale_row = downscale_row_c;
#if NS_REUSE_X86
  if (cpu_level < motion::kCpuLevelAvx2 || !__builtin_cpu_supports("avx2")) return;
  dsp.obmc_blend = obmc_blend_avx2;
  dsp.upscale_row = upscale_row_avx2;
  dsp.add_rows = add_rows_avx2;
  dsp.project_row = project_row_avx2;
  dsp.downscale_row = downscale_row_avx2;
#else
  (void)cpu_level;
#endif
}

static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

void AxisTable::build(int source, int scale, int out_count, int block) {
  NS_ASSERT(source >= 1 && scale >= 1 && out_count >= 1 && out_count <= source * scale && block >= 0);
  left_.resize(out_count);
  right_.resize(out_count);
  weight_.resize(out_count);
  for (int x = 0; x < out_count; ++x) {
    // in = (x + 0.5) / scale - 0.5 = num / (2 * scale), exactly.
    const int num = 2 * x + 1 - scale;
    const int den = 2 * scale;
    const int fl = floor_div(num, den);
    const int frac = num - fl * den;  // [0, den)
    const int ce = fl + (frac != 0 ? 1 : 0);
    int lo = 0, hi = source - 1;
    if (block > 0) {
      lo = std::min(x / scale, source - 1) / block * block;
      hi = std::min(lo + block, source) - 1;
    }
    left_[x] = std::clamp(fl, lo, hi);
    right_[x] = std::clamp(ce, lo, hi);
    weight_[x] = static_cast<int16_t>(frac * 32 / den);  // floor(w * 32)
  }
  // Groups of 8 outputs for the pshufb kernel.
  const int groups = out_count / 8;
  group_base_.assign(groups, 0);
  group_shuffle_.assign(static_cast<size_t>(groups) * 32, 0);
  simd_groups_ = source >= 8 ? groups : 0;
  for (int g = 0; g < simd_groups_; ++g) {
    int base = left_[g * 8];
    int top = 0;
    for (int j = 0; j < 8; ++j) {
      base = std::min(base, left_[g * 8 + j]);
      top = std::max(top, right_[g * 8 + j]);
    }
    base = std::min(base, source - 8);  // never read beyond the last sample
    if (top - base > 7) {
      simd_groups_ = 0;
      break;
    }
    group_base_[g] = base;
    for (int j = 0; j < 8; ++j) {
      const int l = left_[g * 8 + j] - base;
      const int r = right_[g * 8 + j] - base;
      group_shuffle_[g * 32 + 2 * j] = static_cast<uint8_t>(2 * l);
      group_shuffle_[g * 32 + 2 * j + 1] = static_cast<uint8_t>(2 * l + 1);
      group_shuffle_[g * 32 + 16 + 2 * j] = static_cast<uint8_t>(2 * r);
      group_shuffle_[g * 32 + 16 + 2 * j + 1] = static_cast<uint8_t>(2 * r + 1);
    }
  }
}

RowTable AxisTable::view() const {
  return RowTable{left_.data(), right_.data(), weight_.data(), group_base_.data(), group_shuffle_.data(), simd_groups_};
}

}  // namespace ns::reuse
