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

NS_AVX2 inline Taps256 taps256(const int8_t* f, int shift) {
  Taps256 t;
  for (int k = 0; k < 4; ++k) t.c[k] = _mm256_set1_epi16(static_cast<int16_t>(f[k] * (1 << shift)));
  return t;
}
NS_AVX2 inline Taps128 taps128(const int8_t* f, int shift) {
  Taps128 t;
  for (int k = 0; k < 4; ++k) t.c[k] = _mm_set1_epi16(static_cast<int16_t>(f[k] * (1 << shift)));
  return t;
}

// Horizontal 4-tap sums (exact int16) for 16, 8 and 4 outputs starting at s.
NS_AVX2 inline __m256i hsum16(const uint8_t* s, const Taps256& t) {
  __m256i a =
      _mm256_mullo_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s - 1))), t.c[0]);
  __m256i b = _mm256_mullo_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s))), t.c[1]);
  __m256i c =
      _mm256_mullo_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 1))), t.c[2]);
  __m256i d =
      _mm256_mullo_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2))), t.c[3]);
  return _mm256_add_epi16(_mm256_add_epi16(a, b), _mm256_add_epi16(c, d));
}
NS_AVX2 inline __m128i hsum8(const uint8_t* s, const Taps128& t) {
  __m128i a = _mm_mullo_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s - 1))), t.c[0]);
  __m128i b = _mm_mullo_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s))), t.c[1]);
  __m128i c = _mm_mullo_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + 1))), t.c[2]);
  __m128i d = _mm_mullo_epi16(_mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + 2))), t.c[3]);
  return _mm_add_epi16(_mm_add_epi16(a, b), _mm_add_epi16(c, d));
}
NS_AVX2 inline __m128i hsum4(const uint8_t* s, const Taps128& t) {
  __m128i a = _mm_mullo_epi16(_mm_cvtepu8_epi16(load4(s - 1)), t.c[0]);
  __m128i b = _mm_mullo_epi16(_mm_cvtepu8_epi16(load4(s)), t.c[1]);
  __m128i c = _mm_mullo_epi16(_mm_cvtepu8_epi16(load4(s + 1)), t.c[2]);
  __m128i d = _mm_mullo_epi16(_mm_cvtepu8_epi16(load4(s + 2)), t.c[3]);
  return _mm_add_epi16(_mm_add_epi16(a, b), _mm_add_epi16(c, d));
}

// Vertical 4-tap sums on bytes (exact int16): rows s - stride .. s + 2 * stride.
NS_AVX2 inline __m256i vsum16_u8(const uint8_t* s, ptrdiff_t stride, const Taps256& t) {
  __m256i acc = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    __m256i p = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + (k - 1) * stride)));
    acc = _mm256_add_epi16(acc, _mm256_mullo_epi16(p, t.c[k]));
  }
  return acc;
}
NS_AVX2 inline __m128i vsum8_u8(const uint8_t* s, ptrdiff_t stride, const Taps128& t) {
  __m128i acc = _mm_setzero_si128();
  for (int k = 0; k < 4; ++k) {
    __m128i p = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(s + (k - 1) * stride)));
    acc = _mm_add_epi16(acc, _mm_mullo_epi16(p, t.c[k]));
  }
  return acc;
}
NS_AVX2 inline __m128i vsum4_u8(const uint8_t* s, ptrdiff_t stride, const Taps128& t) {
  __m128i acc = _mm_setzero_si128();
  for (int k = 0; k < 4; ++k) {
    __m128i p = _mm_cvtepu8_epi16(load4(s + (k - 1) * stride));
    acc = _mm_add_epi16(acc, _mm_mullo_epi16(p, t.c[k]));
  }
  return acc;
}

// Vertical pass over int16 rows with per-term rounding: sum_k ((t_k * c_k + 32) >> 6) via mulhrs(t, c << 9).
NS_AVX2 inline __m256i vsum16_i16(const int16_t* t, const Taps256& c) {
  __m256i acc = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    __m256i r = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + k * kMaxInterpolateSize));
    acc = _mm256_add_epi16(acc, _mm256_mulhrs_epi16(r, c.c[k]));
  }
  return acc;
}
NS_AVX2 inline __m128i vsum8_i16(const int16_t* t, const Taps128& c) {
  __m128i acc = _mm_setzero_si128();
  for (int k = 0; k < 4; ++k) {
    __m128i r = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + k * kMaxInterpolateSize));
    acc = _mm_add_epi16(acc, _mm_mulhrs_epi16(r, c.c[k]));
  }
  return acc;
}
NS_AVX2 inline __m128i vsum4_i16(const int16_t* t, const Taps128& c) {
  __m128i acc = _mm_setzero_si128();
  for (int k = 0; k < 4; ++k) {
    __m128i r = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(t + k * kMaxInterpolateSize));
    acc = _mm_add_epi16(acc, _mm_mulhrs_epi16(r, c.c[k]));
  }
  return acc;
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
    const Taps256 t256 = taps256(horizontal ? fx : fy, 0);
    const Taps128 t128 = taps128(horizontal ? fx : fy, 0);
    for (int y = 0; y < height; ++y) {
      const uint8_t* s = src + y * src_stride;
      uint8_t* d = dst + y * dst_stride;
      int x = 0;
      for (; x + 16 <= width; x += 16) {
        __m256i v = horizontal ? hsum16(s + x, t256) : vsum16_u8(s + x, src_stride, t256);
        store16_u8(d + x, round6(v));
      }
      if (x + 8 <= width) {
        __m128i v = round6(horizontal ? hsum8(s + x, t128) : vsum8_u8(s + x, src_stride, t128));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(d + x), _mm_packus_epi16(v, v));
        x += 8;
      }
      if (x + 4 <= width) {
        __m128i v = round6(horizontal ? hsum4(s + x, t128) : vsum4_u8(s + x, src_stride, t128));
        store4(d + x, _mm_packus_epi16(v, v));
      }
    }
    return;
  }
  alignas(32) int16_t t[(kMaxInterpolateSize + 3) * kMaxInterpolateSize];
  const Taps256 h256 = taps256(fx, 0);
  const Taps128 h128 = taps128(fx, 0);
  for (int y = -1; y < height + 2; ++y) {
    const uint8_t* s = src + y * src_stride;
    int16_t* row = t + (y + 1) * kMaxInterpolateSize;
    int x = 0;
    for (; x + 16 <= width; x += 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + x), hsum16(s + x, h256));
    if (x + 8 <= width) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(row + x), hsum8(s + x, h128));
      x += 8;
    }
    if (x + 4 <= width) _mm_storel_epi64(reinterpret_cast<__m128i*>(row + x), hsum4(s + x, h128));
  }
  const Taps256 v256 = taps256(fy, 9);
  const Taps128 v128 = taps128(fy, 9);
  for (int y = 0; y < height; ++y) {
    const int16_t* rows = t + y * kMaxInterpolateSize;
    uint8_t* d = dst + y * dst_stride;
    int x = 0;
    for (; x + 16 <= width; x += 16) store16_u8(d + x, round6(vsum16_i16(rows + x, v256)));
    if (x + 8 <= width) {
      __m128i v = round6(vsum8_i16(rows + x, v128));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(d + x), _mm_packus_epi16(v, v));
      x += 8;
    }
    if (x + 4 <= width) {
      __m128i v = round6(vsum4_i16(rows + x, v128));
      store4(d + x, _mm_packus_epi16(v, v));
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
