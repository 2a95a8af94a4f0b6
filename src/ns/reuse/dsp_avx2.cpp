// AVX2 versions of the ns/reuse row kernels (target attribute, chosen at run time by init_dsp); bit-exact with
// dsp_c.cpp, proven in tests/check_dsp_test.cpp.
#include "ns/reuse/dsp_impl.h"

#if NS_REUSE_X86

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#define NS_AVX2 __attribute__((target("avx2")))

namespace ns::reuse {

namespace {

NS_AVX2 inline __m128i load4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm_cvtsi32_si128(v);
}

NS_AVX2 inline __m256i widen16(const uint8_t* q) {
  return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
}
NS_AVX2 inline __m128i widen8(const uint8_t* q) {
  return _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
}
NS_AVX2 inline __m128i widen4(const uint8_t* q) { return _mm_cvtepu8_epi16(load4(q)); }

// One row of the blend for 8 (or, from 4-byte loads, 4) samples in 16-bit lanes.
NS_AVX2 inline __m128i blend8(__m128i p0, __m128i p1, __m128i p2, __m128i p3, __m128i wl, __m128i wt9, __m128i wb9) {
  const __m128i wr = _mm_sub_epi16(_mm_set1_epi16(64), wl);
  const __m128i t = _mm_add_epi16(_mm_mullo_epi16(p0, wl), _mm_mullo_epi16(p1, wr));
  const __m128i b = _mm_add_epi16(_mm_mullo_epi16(p2, wl), _mm_mullo_epi16(p3, wr));
  const __m128i v = _mm_add_epi16(_mm_mulhrs_epi16(t, wt9), _mm_mulhrs_epi16(b, wb9));
  return _mm_srai_epi16(_mm_add_epi16(v, _mm_set1_epi16(32)), 6);
}

}  // namespace

NS_AVX2 void obmc_blend_avx2(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* const* p, ptrdiff_t p_stride,
                             const uint8_t* wx, const uint8_t* wy, int width, int height) {
  for (int y = 0; y < height; ++y) {
    const ptrdiff_t o = y * p_stride;
    uint8_t* d = dst + y * dst_stride;
    const __m256i wt9 = _mm256_set1_epi16(static_cast<int16_t>(wy[y] << 9));
    const __m256i wb9 = _mm256_set1_epi16(static_cast<int16_t>((64 - wy[y]) << 9));
    int x = 0;
    for (; x + 16 <= width; x += 16) {
      const ptrdiff_t at = o + x;
      const __m256i wl = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wx + x)));
      const __m256i wr = _mm256_sub_epi16(_mm256_set1_epi16(64), wl);
      const __m256i t =
          _mm256_add_epi16(_mm256_mullo_epi16(widen16(p[0] + at), wl), _mm256_mullo_epi16(widen16(p[1] + at), wr));
      const __m256i b =
          _mm256_add_epi16(_mm256_mullo_epi16(widen16(p[2] + at), wl), _mm256_mullo_epi16(widen16(p[3] + at), wr));
      __m256i v = _mm256_add_epi16(_mm256_mulhrs_epi16(t, wt9), _mm256_mulhrs_epi16(b, wb9));
      v = _mm256_srai_epi16(_mm256_add_epi16(v, _mm256_set1_epi16(32)), 6);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + x),
                       _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
    }
    const __m128i wt = _mm256_castsi256_si128(wt9), wb = _mm256_castsi256_si128(wb9);
    if (x + 8 <= width) {
      const ptrdiff_t at = o + x;
      const __m128i wl = widen8(wx + x);
      const __m128i v = blend8(widen8(p[0] + at), widen8(p[1] + at), widen8(p[2] + at), widen8(p[3] + at), wl, wt, wb);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(d + x), _mm_packus_epi16(v, v));
      x += 8;
    }
    if (x + 4 <= width) {
      const ptrdiff_t at = o + x;
      const __m128i v =
          blend8(widen4(p[0] + at), widen4(p[1] + at), widen4(p[2] + at), widen4(p[3] + at), widen4(wx + x), wt, wb);
      const int32_t packed = _mm_cvtsi128_si32(_mm_packus_epi16(v, v));
      std::memcpy(d + x, &packed, 4);
      x += 4;
    }
    for (; x < width; ++x) {
      const int t = wx[x] * p[0][o + x] + (64 - wx[x]) * p[1][o + x];
      const int b = wx[x] * p[2][o + x] + (64 - wx[x]) * p[3][o + x];
      const int v = ((t * wy[y] + 32) >> 6) + ((b * (64 - wy[y]) + 32) >> 6);
      d[x] = static_cast<uint8_t>(std::clamp((v + 32) >> 6, 0, 255));
    }
  }
}

NS_AVX2 void upscale_row_avx2(int16_t* dst, const int16_t* src, const RowTable& table, int width) {
  const __m256i round = _mm256_set1_epi16(16);
  int g = 0;
  for (; g + 2 <= table.simd_groups; g += 2) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + table.group_base[g]));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + table.group_base[g + 1]));
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    const uint8_t* m = table.group_shuffle + g * 32;
    // masks: group g in the low lane, group g + 1 in the high lane
    const __m256i mask_l =
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(m))),
                                _mm_loadu_si128(reinterpret_cast<const __m128i*>(m + 32)), 1);
    const __m256i mask_r =
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(m + 16))),
                                _mm_loadu_si128(reinterpret_cast<const __m128i*>(m + 48)), 1);
    const __m256i l = _mm256_shuffle_epi8(v, mask_l);
    const __m256i r = _mm256_shuffle_epi8(v, mask_r);
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table.weight + g * 8));
    const __m256i d = _mm256_srai_epi16(_mm256_add_epi16(_mm256_mullo_epi16(_mm256_sub_epi16(r, l), w), round), 5);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + g * 8), _mm256_add_epi16(l, d));
  }
  for (; g < table.simd_groups; ++g) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + table.group_base[g]));
    const uint8_t* m = table.group_shuffle + g * 32;
    const __m128i l = _mm_shuffle_epi8(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(m)));
    const __m128i r = _mm_shuffle_epi8(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(m + 16)));
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table.weight + g * 8));
    const __m128i d = _mm_srai_epi16(_mm_add_epi16(_mm_mullo_epi16(_mm_sub_epi16(r, l), w), _mm_set1_epi16(16)), 5);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + g * 8), _mm_add_epi16(l, d));
  }
  for (int x = g * 8; x < width; ++x) {
    const int l = src[table.left[x]];
    const int r = src[table.right[x]];
    dst[x] = static_cast<int16_t>(l + (((r - l) * table.weight[x] + 16) >> 5));
  }
}

NS_AVX2 void add_rows_avx2(uint8_t* dst, const int16_t* top, const int16_t* bottom, int weight, int width) {
  const __m256i w = _mm256_set1_epi16(static_cast<int16_t>(weight));
  const __m256i round = _mm256_set1_epi16(16);
  int x = 0;
  if (weight == 0) {
    for (; x + 16 <= width; x += 16) {
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(top + x));
      const __m256i p = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + x)));
      const __m256i s = _mm256_add_epi16(p, t);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + x),
                       _mm_packus_epi16(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)));
    }
  } else {
    for (; x + 16 <= width; x += 16) {
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(top + x));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bottom + x));
      const __m256i d = _mm256_srai_epi16(_mm256_add_epi16(_mm256_mullo_epi16(_mm256_sub_epi16(b, t), w), round), 5);
      const __m256i p = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(dst + x)));
      const __m256i s = _mm256_add_epi16(p, _mm256_add_epi16(t, d));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + x),
                       _mm_packus_epi16(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)));
    }
  }
  for (; x < width; ++x) {
    const int v = top[x] + (((bottom[x] - top[x]) * weight + 16) >> 5);
    dst[x] = static_cast<uint8_t>(std::clamp(dst[x] + v, 0, 255));
  }
}

namespace {

// Scale 3, 8 outputs per 128-bit lane from 24 HR bytes of one row: `a` holds columns 0..15 and `b` columns 8..23
// of each lane's group. Bytes are paired (0,1) (3,4) ... (21,22) for maddubs, and 2, 5, ..., 23 zero-extended.
NS_AVX2 inline __m256i row_sums3(const uint8_t* p0, const uint8_t* p1) {
  alignas(32) static const int8_t kPairsA[32] = {0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 15, -1, -1, -1, -1, -1,
                                                 0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 15, -1, -1, -1, -1, -1};
  alignas(32) static const int8_t kPairsB[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 8, 10, 11, 13, 14,
                                                 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 8, 10, 11, 13, 14};
  alignas(32) static const int8_t kThirdA[32] = {2, -1, 5, -1, 8, -1, 11, -1, 14, -1, -1, -1, -1, -1, -1, -1,
                                                 2, -1, 5, -1, 8, -1, 11, -1, 14, -1, -1, -1, -1, -1, -1, -1};
  alignas(32) static const int8_t kThirdB[32] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 9, -1, 12, -1, 15, -1,
                                                 -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 9, -1, 12, -1, 15, -1};
  const __m256i a =
      _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0))),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(p1)), 1);
  const __m256i b =
      _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + 8))),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(p1 + 8)), 1);
  const __m256i pairs =
      _mm256_or_si256(_mm256_shuffle_epi8(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(kPairsA))),
                      _mm256_shuffle_epi8(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(kPairsB))));
  const __m256i third =
      _mm256_or_si256(_mm256_shuffle_epi8(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(kThirdA))),
                      _mm256_shuffle_epi8(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(kThirdB))));
  return _mm256_add_epi16(_mm256_maddubs_epi16(pairs, _mm256_set1_epi8(1)), third);
}

}  // namespace

// Means of 16 scale x scale boxes (rounded to nearest, ties up), as int16 lanes.
NS_AVX2 inline __m256i box_mean16_s3(const uint8_t* h, ptrdiff_t stride) {
  // (sum + 4) / 9 == ((sum + 4) * 7282) >> 16 for every sum + 4 <= 2299 (9 * 255 + 4): the product's error
  // against (sum + 4) / 9 is at most 2299 * 2 / (9 * 65536) < 1/9, the smallest gap to the next integer.
  __m256i sum = row_sums3(h, h + 24);
  sum = _mm256_add_epi16(sum, row_sums3(h + stride, h + stride + 24));
  sum = _mm256_add_epi16(sum, row_sums3(h + 2 * stride, h + 2 * stride + 24));
  return _mm256_mulhi_epu16(_mm256_add_epi16(sum, _mm256_set1_epi16(4)), _mm256_set1_epi16(7282));
}

NS_AVX2 inline __m256i box_mean16_s2(const uint8_t* h, ptrdiff_t stride) {
  const __m256i ones = _mm256_set1_epi8(1);
  const __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h));
  const __m256i r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + stride));
  const __m256i sum = _mm256_add_epi16(_mm256_maddubs_epi16(r0, ones), _mm256_maddubs_epi16(r1, ones));
  return _mm256_srli_epi16(_mm256_add_epi16(sum, _mm256_set1_epi16(2)), 2);
}

NS_AVX2 void project_row_avx2(int16_t* dst, const uint8_t* lr, const uint8_t* hr, ptrdiff_t hr_stride, int scale,
                              int width) {
  int x = 0;
  if (scale == 2 || scale == 3) {
    for (; x + 16 <= width; x += 16) {
      const __m256i avg = scale == 3 ? box_mean16_s3(hr + 3 * x, hr_stride) : box_mean16_s2(hr + 2 * x, hr_stride);
      const __m256i l = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lr + x)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + x), _mm256_sub_epi16(l, avg));
    }
  }
  if (x < width) project_row_c(dst + x, lr + x, hr + scale * x, hr_stride, scale, width - x);
}

NS_AVX2 void downscale_row_avx2(uint8_t* dst, const uint8_t* hr, ptrdiff_t hr_stride, int scale, int width) {
  int x = 0;
  if (scale == 2 || scale == 3) {
    for (; x + 16 <= width; x += 16) {
      const __m256i avg = scale == 3 ? box_mean16_s3(hr + 3 * x, hr_stride) : box_mean16_s2(hr + 2 * x, hr_stride);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + x),
                       _mm_packus_epi16(_mm256_castsi256_si128(avg), _mm256_extracti128_si256(avg, 1)));
    }
  }
  if (x < width) downscale_row_c(dst + x, hr + scale * x, hr_stride, scale, width - x);
}

}  // namespace ns::reuse

#endif  // NS_REUSE_X86
