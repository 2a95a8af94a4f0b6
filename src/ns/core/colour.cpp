// Fixed-point BT.709 limited-range conversion (16 fractional bits, int32 arithmetic), same formulas as
// the double-precision reference in colour_ref.cpp and within +-1 of it (tests/colour_test.cpp).
// Chroma up-sampling for the inverse is exact in integers: with centred siting each luma sample takes
// 3/4 of its own chroma sample and 1/4 of the neighbour on each axis, so the weights are 9, 3, 3, 1 / 16.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ns/core/colour.h"
#include "ns/core/colour_fixed.h"
#include "ns/core/colour_impl.h"
#include "ns/core/error.h"

namespace ns::core {

static std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

namespace {

using namespace colour_fixed;  // the coefficients, shared with sr/cuda/colour.cu

inline uint8_t clamp_byte(int32_t v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }


// One luma row of chroma, x16 and centred on 0: vertically 3/4 near + 1/4 far, then horizontally luma
// column 2j takes 3/4 of chroma j and 1/4 of j - 1, column 2j + 1 3/4 of j and 1/4 of j + 1 (edges
// replicated). Writes 2 * cw samples: the luma width, plus one that is never read when it is odd.
void upsample_chroma_row(const uint8_t* __restrict near, const uint8_t* __restrict far, int32_t* __restrict v,
                         int cw, int32_t* __restrict out) {
  for (int j = 0; j < cw; ++j) v[j] = 3 * near[j] + far[j];
  constexpr int32_t offset = 16 * 128;
  out[0] = 4 * v[0] - offset;
  out[2 * cw - 1] = 4 * v[cw - 1] - offset;
  if (cw > 1) {
    out[1] = 3 * v[0] + v[1] - offset;
    out[2 * cw - 2] = 3 * v[cw - 1] + v[cw - 2] - offset;
  }
  for (int j = 1; j + 1 < cw; ++j) {
    out[2 * j] = 3 * v[j] + v[j - 1] - offset;
    out[2 * j + 1] = 3 * v[j] + v[j + 1] - offset;
  }
}

void convert_row(const uint8_t* __restrict luma, const int32_t* __restrict cb, const int32_t* __restrict cr,
                 uint8_t* __restrict r, uint8_t* __restrict g, uint8_t* __restrict b, int w) {
  constexpr int kShift = kBits + 4;
  constexpr int32_t bias = 1 << (kShift - 1);
  for (int x = 0; x < w; ++x) {
    const int32_t yv = kInvY * 16 * (luma[x] - 16) + bias;
    r[x] = clamp_byte((yv + kInvRCr * cr[x]) >> kShift);
    g[x] = clamp_byte((yv - kInvGCb * cb[x] - kInvGCr * cr[x]) >> kShift);
    b[x] = clamp_byte((yv + kInvBCb * cb[x]) >> kShift);
  }
}

}  // namespace

void prepare_i420_destination(const RgbImage& src, Frame& dst) {
  if (dst.empty()) dst = Frame(src.width, src.height);
  if (dst.width() != src.width || dst.height() != src.height) {
    throw Error(ErrorCode::mismatch, "rgb_to_i420: sizes differ (RGB " + size_text(src.width, src.height) +
                                         ", frame " + size_text(dst.width(), dst.height()) +
                                         "); allocate the frame at the image size");
  }
}

void prepare_rgb_destination(const Frame& src, RgbImage& dst) {
  if (src.empty()) {
    throw Error(ErrorCode::invalid_argument, "i420_to_rgb: empty frame; decode or allocate the frame first");
  }
  if (dst.width == 0 && dst.height == 0) dst = RgbImage(src.width(), src.height());
  if (dst.width != src.width() || dst.height != src.height()) {
    throw Error(ErrorCode::mismatch, "i420_to_rgb: sizes differ (frame " + size_text(src.width(), src.height()) +
                                         ", RGB " + size_text(dst.width, dst.height) +
                                         "); allocate the image at the frame size");
  }
}

void rgb_to_i420(const RgbImage& src, Frame& dst) {
  prepare_i420_destination(src, dst);
  const int w = src.width;
  const int h = src.height;
  constexpr int32_t y_bias = (16 << kBits) + (1 << (kBits - 1));
  for (int y = 0; y < h; ++y) {
    const uint8_t* __restrict in = src.row(y);
    uint8_t* __restrict out = dst.row(0, y);
    for (int x = 0; x < w; ++x) {
      out[x] = static_cast<uint8_t>((kYr * in[3 * x] + kYg * in[3 * x + 1] + kYb * in[3 * x + 2] + y_bias) >> kBits);
    }
  }
  // Chroma from the sums of each 2x2 block (so 2 more fractional bits).
  constexpr int kChromaShift = kBits + 2;
  constexpr int32_t c_bias = (128 << kChromaShift) + (1 << (kChromaShift - 1));
  const int cw = dst.plane_width(1);
  for (int cy = 0; cy < dst.plane_height(1); ++cy) {
    const uint8_t* __restrict top = src.row(2 * cy);
    const uint8_t* __restrict bottom = src.row(std::min(2 * cy + 1, h - 1));
    uint8_t* __restrict cb = dst.row(1, cy);
    uint8_t* __restrict cr = dst.row(2, cy);
    for (int cx = 0; cx < cw; ++cx) {
      const int a = 6 * cx;
      const int b = 3 * std::min(2 * cx + 1, w - 1);
      const int32_t r = top[a] + top[b] + bottom[a] + bottom[b];
      const int32_t g = top[a + 1] + top[b + 1] + bottom[a + 1] + bottom[b + 1];
      const int32_t bl = top[a + 2] + top[b + 2] + bottom[a + 2] + bottom[b + 2];
      cb[cx] = clamp_byte((kCbR * r + kCbG * g + kCbB * bl + c_bias) >> kChromaShift);
      cr[cx] = clamp_byte((kCrR * r + kCrG * g + kCrB * bl + c_bias) >> kChromaShift);
    }
  }
}

void i420_to_rgb(const Frame& src, RgbImage& dst) {
  prepare_rgb_destination(src, dst);
  const int w = src.width();
  const int h = src.height();
  const int cw = src.plane_width(1);
  const int ch = src.plane_height(1);
  // Per luma row: chroma interpolated vertically (x4) on the chroma grid, then horizontally (x16, minus
  // the 128 offset) on the luma grid; then R, G, B as planar rows, then interleaved. Each loop is a plain
  // loop over x that the compiler can vectorise.
  std::vector<int32_t> vertical(static_cast<size_t>(cw));
  std::vector<int32_t> row_cb(static_cast<size_t>(w) + 1);
  std::vector<int32_t> row_cr(static_cast<size_t>(w) + 1);
  std::vector<uint8_t> planar(static_cast<size_t>(w) * 3);
  for (int y = 0; y < h; ++y) {
    // Luma row y sits at chroma coordinate y / 2 - 1/4: near row y / 2 (3/4), far row above or below (1/4).
    const int near = y / 2;
    const int far = std::clamp((y & 1) ? near + 1 : near - 1, 0, ch - 1);
    for (int p = 1; p <= 2; ++p) {
      upsample_chroma_row(src.row(p, near), src.row(p, far), vertical.data(), cw,
                          (p == 1 ? row_cb : row_cr).data());
    }
    convert_row(src.row(0, y), row_cb.data(), row_cr.data(), planar.data(), planar.data() + w,
                planar.data() + 2 * w, w);
    uint8_t* __restrict out = dst.row(y);
    const uint8_t* __restrict r = planar.data();
    const uint8_t* __restrict g = r + w;
    const uint8_t* __restrict b = g + w;
    for (int x = 0; x < w; ++x) {
      out[3 * x] = r[x];
      out[3 * x + 1] = g[x];
      out[3 * x + 2] = b[x];
    }
  }
}

}  // namespace ns::core
