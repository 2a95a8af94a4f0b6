// AVX2 versions of the ns/motion kernels (compiled with a target attribute, selected at run time by init_dsp).
// Each one matches its _c version in dsp_c.cpp bit-exactly; tests/check_dsp_test.cpp proves it.
#include "ns/motion/dsp_impl.h"

#if NS_MOTION_X86

#include <immintrin.h>

#include <cstring>

#define NS_AVX2 __attribute__((target("avx2")))

namespace ns::motion {
namespace {

NS_AVX2 inline __m128i load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm_cvtsi32_si128(v);
}

NS_AVX2 inline void store4(uint8_t* p, __m128i v) {
  int32_t s = _mm_cvtsi128_si32(v);
  std::memcpy(p, &s, 4);
}

NS_AVX2 inline void store16_u8(uint8_t* dst, __m256i v) {
  __m128i packed = _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), packed);
}

struct Taps256 {
  __m256i c[4];
};
struct Taps128 {
  __m128i c[4];
};

// The taps times 2^9, one per 16-bit lane, for mulhrs: (t * c + 32) >> 6 == mulhrs(t, c << 9) (c <= 63: the
// vertical pass over int16 rows runs only for phases other than 0, whose largest tap is 63).
NS_AVX2 inline Taps256 taps256(const int8_t* f) {
  Taps256 t;
  for (int k = 0; k < 4; ++k) t.c[k] = _mm256_set1_epi16(static_cast<int16_t>(f[k] * (1 << 9)));
  return t;
}
NS_AVX2 inline Taps128 taps128(const int8_t* f) {
  Taps128 t;
  for (int k = 0; k < 4; ++k) t.c[k] = _mm_set1_epi16(static_cast<int16_t>(f[k] * (1 << 9)));
  return t;
}

// The taps as signed byte pairs (c0, c1) and (c2, c3) for maddubs on interleaved sample pairs (p[-1], p[0]) and
// (p[1], p[2]). Exact: each pair sum lies in [-5 * 255, 64 * 255], far from the int16 saturation.
struct PairTaps {
  __m256i c01, c23;
};
NS_AVX2 inline PairTaps pair_taps(const int8_t* f) {
  auto pair = [](int8_t a, int8_t b) {
    return static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint8_t>(a) | (static_cast<uint8_t>(b) << 8)));
  };
  return PairTaps{_mm256_set1_epi16(pair(f[0], f[1])), _mm256_set1_epi16(pair(f[2], f[3]))};
}
NS_AVX2 inline __m128i lo(__m256i v) { return _mm256_castsi256_si128(v); }

NS_AVX2 inline __m128i loadu128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
NS_AVX2 inline __m128i load8(const uint8_t* p) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)); }
NS_AVX2 inline __m256i join(__m128i low, __m128i high) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1);
}

// Horizontal 4-tap sums (exact int16) from byte pairs: pshufb gathers (p[x-1], p[x]) and (p[x+1], p[x+2]).
// 16 outputs at s: lane 0 holds s[-1 .. 14] (outputs 0 .. 7), lane 1 s[2 .. 17] (outputs 8 .. 15).
alignas(32) constexpr int8_t kPairs16A[32] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8,
                                              5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13};
alignas(32) constexpr int8_t kPairs16B[32] = {2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10,
                                              7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15};
// 8 outputs: s[-1 .. 6] then s[2 .. 9] (s[k] at byte k + 1, or k + 6 for k >= 7).
alignas(16) constexpr int8_t kPairs8A[16] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 13};
alignas(16) constexpr int8_t kPairs8B[16] = {2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 13, 13, 14, 14, 15};
// 4 outputs: s[-1 .. 2] then s[2 .. 5] (s[k] at byte k + 1, or k + 2 for k >= 3).
alignas(16) constexpr int8_t kPairs4A[16] = {0, 1, 1, 2, 2, 3, 3, 5, -1, -1, -1, -1, -1, -1, -1, -1};
alignas(16) constexpr int8_t kPairs4B[16] = {2, 3, 3, 5, 5, 6, 6, 7, -1, -1, -1, -1, -1, -1, -1, -1};

NS_AVX2 inline __m256i pairs_sum(__m256i v, const int8_t* a, const int8_t* b, const PairTaps& t) {
  const __m256i pa = _mm256_shuffle_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(a)));
  const __m256i pb = _mm256_shuffle_epi8(v, _mm256_load_si256(reinterpret_cast<const __m256i*>(b)));
  return _mm256_add_epi16(_mm256_maddubs_epi16(pa, t.c01), _mm256_maddubs_epi16(pb, t.c23));
}
NS_AVX2 inline __m128i pairs_sum(__m128i v, const int8_t* a, const int8_t* b, const PairTaps& t) {
  const __m128i pa = _mm_shuffle_epi8(v, _mm_load_si128(reinterpret_cast<const __m128i*>(a)));
  const __m128i pb = _mm_shuffle_epi8(v, _mm_load_si128(reinterpret_cast<const __m128i*>(b)));
  return _mm_add_epi16(_mm_maddubs_epi16(pa, lo(t.c01)), _mm_maddubs_epi16(pb, lo(t.c23)));
}
NS_AVX2 inline __m256i hsum16(const uint8_t* s, const PairTaps& t) {
  return pairs_sum(join(loadu128(s - 1), loadu128(s + 2)), kPairs16A, kPairs16B, t);
}
NS_AVX2 inline __m128i hsum8(const uint8_t* s, const PairTaps& t) {
  return pairs_sum(_mm_unpacklo_epi64(load8(s - 1), load8(s + 2)), kPairs8A, kPairs8B, t);
}
NS_AVX2 inline __m128i hsum4(const uint8_t* s, const PairTaps& t) {
  return pairs_sum(_mm_unpacklo_epi32(load4(s - 1), load4(s + 2)), kPairs4A, kPairs4B, t);
}

// Vertical 4-tap sums on bytes (exact int16), rows s - stride .. s + 2 * stride, from rows interleaved bytewise.
NS_AVX2 inline __m256i vsum16_u8(const uint8_t* s, ptrdiff_t stride, const PairTaps& t) {
  const __m128i r0 = loadu128(s - stride), r1 = loadu128(s), r2 = loadu128(s + stride), r3 = loadu128(s + 2 * stride);
  const __m256i p01 = join(_mm_unpacklo_epi8(r0, r1), _mm_unpackhi_epi8(r0, r1));
  const __m256i p23 = join(_mm_unpacklo_epi8(r2, r3), _mm_unpackhi_epi8(r2, r3));
  return _mm256_add_epi16(_mm256_maddubs_epi16(p01, t.c01), _mm256_maddubs_epi16(p23, t.c23));
}
NS_AVX2 inline __m128i vsum8_u8(const uint8_t* s, ptrdiff_t stride, const PairTaps& t) {
  const __m128i p01 = _mm_unpacklo_epi8(load8(s - stride), load8(s));
  const __m128i p23 = _mm_unpacklo_epi8(load8(s + stride), load8(s + 2 * stride));
  return _mm_add_epi16(_mm_maddubs_epi16(p01, lo(t.c01)), _mm_maddubs_epi16(p23, lo(t.c23)));
}
NS_AVX2 inline __m128i vsum4_u8(const uint8_t* s, ptrdiff_t stride, const PairTaps& t) {
  const __m128i p01 = _mm_unpacklo_epi8(load4(s - stride), load4(s));
  const __m128i p23 = _mm_unpacklo_epi8(load4(s + stride), load4(s + 2 * stride));
  return _mm_add_epi16(_mm_maddubs_epi16(p01, lo(t.c01)), _mm_maddubs_epi16(p23, lo(t.c23)));
}

// Vertical pass over four rows of horizontal sums with per-term rounding: sum_k ((t_k * c_k + 32) >> 6), as
// mulhrs(t, c << 9).
NS_AVX2 inline __m256i vsum_i16(__m256i t0, __m256i t1, __m256i t2, __m256i t3, const Taps256& c) {
  return _mm256_add_epi16(_mm256_add_epi16(_mm256_mulhrs_epi16(t0, c.c[0]), _mm256_mulhrs_epi16(t1, c.c[1])),
                          _mm256_add_epi16(_mm256_mulhrs_epi16(t2, c.c[2]), _mm256_mulhrs_epi16(t3, c.c[3])));
}
NS_AVX2 inline __m128i vsum_i16(__m128i t0, __m128i t1, __m128i t2, __m128i t3, const Taps128& c) {
  return _mm_add_epi16(_mm_add_epi16(_mm_mulhrs_epi16(t0, c.c[0]), _mm_mulhrs_epi16(t1, c.c[1])),
                       _mm_add_epi16(_mm_mulhrs_epi16(t2, c.c[2]), _mm_mulhrs_epi16(t3, c.c[3])));
}

// Two rows (s and s + stride) of 8 horizontal sums, one row per lane; reads columns -1 .. 14.
alignas(32) constexpr int8_t kPairs2x8A[32] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8,
                                               0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8};
alignas(32) constexpr int8_t kPairs2x8B[32] = {2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10,
                                               2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10};
NS_AVX2 inline __m256i hsum8x2(const uint8_t* s, ptrdiff_t stride, const PairTaps& t) {
  return pairs_sum(join(loadu128(s - 1), loadu128(s + stride - 1)), kPairs2x8A, kPairs2x8B, t);
}

// Four 8-byte rows ordered as packus leaves two row pairs: lane 0 rows 0 and 2, lane 1 rows 1 and 3.
NS_AVX2 inline __m256i rows8_0213(const uint8_t* p, ptrdiff_t stride) {
  auto two = [](const uint8_t* a, const uint8_t* b) {
    return _mm_castpd_si128(_mm_loadh_pd(_mm_castsi128_pd(load8(a)), reinterpret_cast<const double*>(b)));
  };
  return join(two(p, p + 2 * stride), two(p + stride, p + 3 * stride));
}

// Four 8-byte rows in one register.
NS_AVX2 inline __m256i rows8x4(const uint8_t* p, ptrdiff_t stride) {
  __m128i r01 = _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)),
                                   _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + stride)));
  __m128i r23 = _mm_unpacklo_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 * stride)),
                                   _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 3 * stride)));
  return _mm256_inserti128_si256(_mm256_castsi128_si256(r01), r23, 1);
}

NS_AVX2 inline __m256i round6(__m256i v) { return _mm256_srai_epi16(_mm256_add_epi16(v, _mm256_set1_epi16(32)), 6); }
NS_AVX2 inline __m128i round6(__m128i v) { return _mm_srai_epi16(_mm_add_epi16(v, _mm_set1_epi16(32)), 6); }

}  // namespace

NS_AVX2 uint32_t sad_8x8_avx2(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride) {
  __m256i acc = _mm256_setzero_si256();
  for (int y = 0; y < 8; y += 4) {
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(rows8x4(a, a_stride), rows8x4(b, b_stride)));
    a += 4 * a_stride;
    b += 4 * b_stride;
  }
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(s));
}

NS_AVX2 uint32_t sad_16x16_avx2(const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b, ptrdiff_t b_stride) {
  __m256i acc = _mm256_setzero_si256();
  for (int y = 0; y < 16; y += 2) {
    __m256i ra = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))),
                                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + a_stride)), 1);
    __m256i rb = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b))),
                                         _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + b_stride)), 1);
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(ra, rb));
    a += 2 * a_stride;
    b += 2 * b_stride;
  }
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(s));
}

// The 8x8 prediction lives in four registers of int16 row pairs (rows 2m, 2m + 1), so both passes and the SAD
// run on whole registers; the result equals interpolate + SAD term by term.
NS_AVX2 uint32_t sad_subpel_8x8_avx2(const uint8_t* cur, ptrdiff_t cur_stride, const uint8_t* ref,
                                     ptrdiff_t ref_stride, int phase_x, int phase_y) {
  if (phase_x == 0 && phase_y == 0) return sad_8x8_avx2(cur, cur_stride, ref, ref_stride);
  __m256i pred[4];
  if (phase_y == 0) {
    const PairTaps t = pair_taps(kSubpelFilters[phase_x]);
    for (int m = 0; m < 4; ++m) pred[m] = round6(hsum8x2(ref + 2 * m * ref_stride, ref_stride, t));
  } else if (phase_x == 0) {
    // a[m]: byte pairs of rows (2m - 1, 2m) in lane 0 and (2m, 2m + 1) in lane 1; the pairs two rows further
    // down are a[m + 1].
    const PairTaps t = pair_taps(kSubpelFilters[phase_y]);
    __m256i a[5];
    __m128i above = load8(ref - ref_stride);
    for (int m = 0; m < 5; ++m) {
      const __m128i r0 = load8(ref + 2 * m * ref_stride), r1 = load8(ref + (2 * m + 1) * ref_stride);
      a[m] = join(_mm_unpacklo_epi8(above, r0), _mm_unpacklo_epi8(r0, r1));
      above = r1;
    }
    for (int m = 0; m < 4; ++m) {
      pred[m] = round6(_mm256_add_epi16(_mm256_maddubs_epi16(a[m], t.c01), _mm256_maddubs_epi16(a[m + 1], t.c23)));
    }
  } else {
    // h[m]: horizontal sums of rows (2m - 1, 2m); h[5] holds row 9 alone. Rows (2m, 2m + 1) straddle h[m] and
    // h[m + 1].
    const PairTaps t = pair_taps(kSubpelFilters[phase_x]);
    const Taps256 v = taps256(kSubpelFilters[phase_y]);
    __m256i h[6];
    for (int m = 0; m < 5; ++m) h[m] = hsum8x2(ref + (2 * m - 1) * ref_stride, ref_stride, t);
    h[5] = _mm256_zextsi128_si256(pairs_sum(loadu128(ref + 9 * ref_stride - 1), kPairs2x8A, kPairs2x8B, t));
    for (int m = 0; m < 4; ++m) {
      const __m256i mid0 = _mm256_permute2x128_si256(h[m], h[m + 1], 0x21);
      const __m256i mid1 = _mm256_permute2x128_si256(h[m + 1], h[m + 2], 0x21);
      pred[m] = round6(vsum_i16(h[m], mid0, h[m + 1], mid1, v));
    }
  }
  const __m256i top = _mm256_sad_epu8(rows8_0213(cur, cur_stride), _mm256_packus_epi16(pred[0], pred[1]));
  const __m256i bottom =
      _mm256_sad_epu8(rows8_0213(cur + 4 * cur_stride, cur_stride), _mm256_packus_epi16(pred[2], pred[3]));
  const __m256i acc = _mm256_add_epi64(top, bottom);
  __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(s));
}

NS_AVX2 void interpolate_avx2(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* src, ptrdiff_t src_stride, int width,
                              int height, int phase_x, int phase_y) {
  if (phase_x == 0 && phase_y == 0) {
    // Whole-pel copy: rows are short (4 .. 64 bytes), so inline vector copies instead of a memcpy call per row.
    for (int y = 0; y < height; ++y) {
      const uint8_t* s = src + y * src_stride;
      uint8_t* d = dst + y * dst_stride;
      int x = 0;
      for (; x + 32 <= width; x += 32) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + x),
                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + x)));
      }
      if (x + 16 <= width) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + x), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + x)));
        x += 16;
      }
      if (x + 8 <= width) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d + x), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + x)));
        x += 8;
      }
      if (x + 4 <= width) {
        std::memcpy(d + x, s + x, 4);
        x += 4;
      }
      for (; x < width; ++x) d[x] = s[x];
    }
    return;
  }
  const int8_t* fx = kSubpelFilters[phase_x];
  const int8_t* fy = kSubpelFilters[phase_y];
  if (phase_y == 0 || phase_x == 0) {
    // One pass: out = clamp((sum c * p + 32) >> 6), horizontally or vertically (equal to the two-pass formula).
    const bool horizontal = phase_y == 0;
    const PairTaps t = pair_taps(horizontal ? fx : fy);
    for (int y = 0; y < height; ++y) {
      const uint8_t* s = src + y * src_stride;
      uint8_t* d = dst + y * dst_stride;
      int x = 0;
      for (; x + 16 <= width; x += 16) {
        __m256i v = horizontal ? hsum16(s + x, t) : vsum16_u8(s + x, src_stride, t);
        store16_u8(d + x, round6(v));
      }
      if (x + 8 <= width) {
        __m128i v = round6(horizontal ? hsum8(s + x, t) : vsum8_u8(s + x, src_stride, t));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d + x), _mm_packus_epi16(v, v));
        x += 8;
      }
      if (x + 4 <= width) {
        __m128i v = round6(horizontal ? hsum4(s + x, t) : vsum4_u8(s + x, src_stride, t));
        store4(d + x, _mm_packus_epi16(v, v));
      }
    }
    return;
  }
  // Two passes, column strip by column strip: the horizontal sums of rows y - 1 .. y + 2 stay in registers and
  // slide down one row per output row, so every source row is filtered once per strip.
  const PairTaps h = pair_taps(fx);
  const Taps256 v256 = taps256(fy);
  const Taps128 v128 = taps128(fy);
  int x = 0;
  for (; x + 16 <= width; x += 16) {
    const uint8_t* s = src + x;
    __m256i t0 = hsum16(s - src_stride, h), t1 = hsum16(s, h), t2 = hsum16(s + src_stride, h);
    for (int y = 0; y < height; ++y) {
      const __m256i t3 = hsum16(s + (y + 2) * src_stride, h);
      store16_u8(dst + y * dst_stride + x, round6(vsum_i16(t0, t1, t2, t3, v256)));
      t0 = t1;
      t1 = t2;
      t2 = t3;
    }
  }
  if (x + 8 <= width) {
    const uint8_t* s = src + x;
    __m128i t0 = hsum8(s - src_stride, h), t1 = hsum8(s, h), t2 = hsum8(s + src_stride, h);
    for (int y = 0; y < height; ++y) {
      const __m128i t3 = hsum8(s + (y + 2) * src_stride, h);
      const __m128i v = round6(vsum_i16(t0, t1, t2, t3, v128));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + y * dst_stride + x), _mm_packus_epi16(v, v));
      t0 = t1;
      t1 = t2;
      t2 = t3;
    }
    x += 8;
  }
  if (x + 4 <= width) {
    const uint8_t* s = src + x;
    __m128i t0 = hsum4(s - src_stride, h), t1 = hsum4(s, h), t2 = hsum4(s + src_stride, h);
    for (int y = 0; y < height; ++y) {
      const __m128i t3 = hsum4(s + (y + 2) * src_stride, h);
      const __m128i v = round6(vsum_i16(t0, t1, t2, t3, v128));
      store4(dst + y * dst_stride + x, _mm_packus_epi16(v, v));
      t0 = t1;
      t1 = t2;
      t2 = t3;
    }
  }
}

NS_AVX2 void sub_avx2(int16_t* dst, ptrdiff_t dst_stride, const uint8_t* a, ptrdiff_t a_stride, const uint8_t* b,
                      ptrdiff_t b_stride, int width, int height) {
  for (int y = 0; y < height; ++y) {
    int x = 0;
    for (; x + 16 <= width; x += 16) {
      __m256i va = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + x)));
      __m256i vb = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + x)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + x), _mm256_sub_epi16(va, vb));
    }
    if (x + 8 <= width) {
      __m128i va = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + x)));
      __m128i vb = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + x)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + x), _mm_sub_epi16(va, vb));
      x += 8;
    }
    for (; x < width; ++x) dst[x] = static_cast<int16_t>(a[x] - b[x]);
    dst += dst_stride;
    a += a_stride;
    b += b_stride;
  }
}

}  // namespace ns::motion

#endif  // NS_MOTION_X86
