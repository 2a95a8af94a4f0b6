// The C kernels of ns/motion (the specification every SIMD version must match bit-exactly), the kernel table
// initialisation and the CPU level.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "ns/motion/dsp_impl.h"

namespace ns::motion {

// Keys cubic (a = -0.5) weights at t = phase / 16 for taps -1, 0, +1, +2, times 64, rounded; the largest tap
// absorbs the rounding so that each row sums to 64; phases p and 16 - p are mirror images.
const int8_t kSubpelFilters[kSubpelPhases][4] = {
    {0, 64, 0, 0},    {-2, 63, 3, 0},   {-3, 61, 6, 0},   {-4, 59, 10, -1}, {-4, 56, 14, -2}, {-5, 51, 20, -2},
    {-5, 47, 25, -3}, {-4, 41, 30, -3}, {-4, 36, 36, -4}, {-3, 30, 41, -4}, {-3, 25, 47, -5}, {-2, 20, 51, -5},
    {-2, 14, 56, -4}, {-1, 10, 59, -4}, {0, 6, 61, -3},   {0, 3, 63, -2},
};

static uint32_t sad_nxn_c(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride, int n) {
  uint32_t sum = 0;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) sum += static_cast<uint32_t>(std::abs(a[x] - b[x]));
    a += a_stride;
    b += b_stride;
  }
  return sum;
}

uint32_t sad_8x8_c(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride) {
  return sad_nxn_c(a, a_stride, b, b_stride, 8);
}

uint32_t sad_16x16_c(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride) {
  return sad_nxn_c(a, a_stride, b, b_stride, 16);
}

uint32_t sad_subpel_8x8_c(const uint8_t* cur, ptrdiff_t cur_stride, const uint8_t* ref, ptrdiff_t ref_stride,
                          int phase_x, int phase_y) {
  uint8_t pred[8 * 8];
  interpolate_c(pred, 8, ref, ref_stride, 8, 8, phase_x, phase_y);
  return sad_8x8_c(cur, cur_stride, pred, 8);
}

void interpolate_c(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* src, ptrdiff_t src_stride, int width, int height,
                   int phase_x, int phase_y) {
  const int8_t* cx = kSubpelFilters[phase_x];
  const int8_t* cy = kSubpelFilters[phase_y];
  int16_t t[(kMaxInterpolateSize + 3) * kMaxInterpolateSize];
  for (int y = -1; y < height + 2; ++y) {
    const uint8_t* s = src + y * src_stride;
    int16_t* row = t + (y + 1) * kMaxInterpolateSize;
    for (int x = 0; x < width; ++x) {
      row[x] = static_cast<int16_t>(cx[0] * s[x - 1] + cx[1] * s[x] + cx[2] * s[x + 1] + cx[3] * s[x + 2]);
    }
  }
  for (int y = 0; y < height; ++y) {
    const int16_t* rows = t + y * kMaxInterpolateSize;
    for (int x = 0; x < width; ++x) {
      int v = 0;
      for (int k = 0; k < 4; ++k) v += (rows[k * kMaxInterpolateSize + x] * cy[k] + 32) >> 6;
      dst[x] = static_cast<uint8_t>(std::clamp((v + 32) >> 6, 0, 255));
    }
    dst += dst_stride;
  }
}

void sub_c(int16_t* dst, ptrdiff_t dst_stride, const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b,
           ptrdiff_t b_stride, int width, int height) {
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) dst[x] = static_cast<int16_t>(a[x] - b[x]);
    dst += dst_stride;
    a += a_stride;
    b += b_stride;
  }
}

int detected_cpu_level() {
#if NS_MOTION_X86
  static const int level = __builtin_cpu_supports("avx2") ? kCpuLevelAvx2 : kCpuLevelC;
  return level;
#else
  return kCpuLevelC;
#endif
}

int host_cpu_level() {
  static const int level = [] {
    int detected = detected_cpu_level();
    const char* env = std::getenv("NS_CPU_LEVEL");
    if (!env || !*env) return detected;
    std::string_view v(env);
    int requested = detected;
    if (v == "c" || v == "0") requested = kCpuLevelC;
    if (v == "avx2" || v == "1") requested = kCpuLevelAvx2;
    return std::min(requested, detected);
  }();
  return level;
}

const char* cpu_level_name(int level) {
  switch (level) {
    case kCpuLevelC:
      return "c";
    case kCpuLevelAvx2:
      return "avx2";
    default:
      return "?";
  }
}

void init_dsp(Dsp& dsp, int cpu_level) {
  dsp.sad_8x8 = sad_8x8_c;
  dsp.sad_16x16 = sad_16x16_c;
  dsp.sad_subpel_8x8 = sad_subpel_8x8_c;
  dsp.interpolate = interpolate_c;
  dsp.sub = sub_c;
#if NS_MOTION_X86
  if (cpu_level < kCpuLevelAvx2 || detected_cpu_level() < kCpuLevelAvx2) return;
  dsp.sad_8x8 = sad_8x8_avx2;
  dsp.sad_16x16 = sad_16x16_avx2;
  dsp.sad_subpel_8x8 = sad_subpel_8x8_avx2;
  dsp.interpolate = interpolate_avx2;
  dsp.sub = sub_avx2;
#else
  (void)cpu_level;
#endif
}

const Dsp& dsp_for_level(int cpu_level) {
  static const Dsp tables[2] = {
      [] {
        Dsp d;
        init_dsp(d, kCpuLevelC);
        return d;
      }(),
      [] {
        Dsp d;
        init_dsp(d, kCpuLevelAvx2);
        return d;
      }(),
  };
  if (cpu_level < 0) cpu_level = host_cpu_level();
  return tables[std::clamp(cpu_level, kCpuLevelC, kCpuLevelAvx2)];
}

InterpolateFn interpolate_kernel(int cpu_level) { return dsp_for_level(cpu_level).interpolate; }

}  // namespace ns::motion
