// ns/motion internals: the pure block kernels of motion estimation, as a table of function pointers.
// Kernels see pointers, strides and sizes only. init_dsp fills every slot with the _c version (the
// specification), then overrides slots per ISA up to the requested CPU level.
// Thread-safety: dsp_for_level returns immutable tables built once. Errors: none (callers validate).
// Checked bit-exactly against C in tests/check_dsp_test.cpp; timed in bench/reuse_bench.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ns/motion/motion.h"

#if defined(__x86_64__) || defined(__i386__)
#define NS_MOTION_X86 1
#else
#define NS_MOTION_X86 0
#endif

namespace ns::motion {

// Sum of absolute differences of an NxN block.
using SadFn = uint32_t (*)(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride);

// SAD of an 8x8 block against the sub-pel prediction at ref (interpolate with width = height = 8, phases
// 0 .. 15, without an intermediate buffer). Reads rows -1 .. 9 and columns -1 .. 14 around ref.
using SadSubpelFn = uint32_t (*)(const uint8_t* cur, ptrdiff_t cur_stride, const uint8_t* ref, ptrdiff_t ref_stride,
                                 int phase_x, int phase_y);

// dst = a - b for a width x height block (int16 destination).
using SubFn = void (*)(int16_t* dst, ptrdiff_t dst_stride, const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b,
                       ptrdiff_t b_stride, int width, int height);

struct Dsp {
  SadFn sad_8x8 = nullptr;
  SadFn sad_16x16 = nullptr;
  SadSubpelFn sad_subpel_8x8 = nullptr;
  InterpolateFn interpolate = nullptr;
  SubFn sub = nullptr;
};

// 4-tap cubic (Keys a = -0.5) per 1/16 phase, 6-bit, each row sums to 64, mirror-symmetric.
extern const int8_t kSubpelFilters[kSubpelPhases][4];

uint32_t sad_8x8_c(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride);
uint32_t sad_16x16_c(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride);
uint32_t sad_subpel_8x8_c(const uint8_t* cur, ptrdiff_t cur_stride, const uint8_t* ref, ptrdiff_t ref_stride,
                          int phase_x, int phase_y);
void interpolate_c(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* src, ptrdiff_t src_stride, int width, int height,
                   int phase_x, int phase_y);
void sub_c(int16_t* dst, ptrdiff_t dst_stride, const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b,
           ptrdiff_t b_stride, int width, int height);

#if NS_MOTION_X86
uint32_t sad_8x8_avx2(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride);
uint32_t sad_16x16_avx2(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride);
uint32_t sad_subpel_8x8_avx2(const uint8_t* cur, ptrdiff_t cur_stride, const uint8_t* ref, ptrdiff_t ref_stride,
                             int phase_x, int phase_y);
void interpolate_avx2(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* src, ptrdiff_t src_stride, int width,
                      int height, int phase_x, int phase_y);
void sub_avx2(int16_t* dst, ptrdiff_t dst_stride, const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b,
              ptrdiff_t b_stride, int width, int height);
#endif

// The highest level the CPU itself supports (no environment override).
int detected_cpu_level();

void init_dsp(Dsp& dsp, int cpu_level);
const Dsp& dsp_for_level(int cpu_level);  // -1: host_cpu_level(); cached per level

}  // namespace ns::motion
