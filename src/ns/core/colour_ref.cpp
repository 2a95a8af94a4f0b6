// The plain reference for BT.709 limited-range conversion, in double precision: the specification the
// fixed-point versions in colour.cpp are tested against. Formulas (R, G, B and Y' in 0..255):
//   Y' = 0.2126 R + 0.7152 G + 0.0722 B,  Y = 16 + 219 Y' / 255,
//   Cb = 128 + 224 (B - Y') / (1.8556 * 255),  Cr = 128 + 224 (R - Y') / (1.5748 * 255),
// chroma from the average R, G, B of each 2x2 block (an odd last row or column is replicated); the
// inverse up-samples chroma bilinearly, each chroma sample sitting at the centre of its 2x2 luma block.
#include <algorithm>
#include <cmath>

#include "ns/core/colour.h"
#include "ns/core/colour_impl.h"

namespace ns::core {

namespace {

constexpr double kKr = 0.2126;
constexpr double kKg = 0.7152;
constexpr double kKb = 0.0722;

uint8_t to_byte(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }


// Chroma value at luma position `x` of a plane of `size` samples (centred siting, edges replicated).
struct Lerp {
  int a;
  int b;
  double wb;  // weight of b; a gets 1 - wb
};
Lerp chroma_position(int x, int size) {
  const double c = (x - 0.5) / 2.0;
  const int j = static_cast<int>(std::floor(c));
  return {std::clamp(j, 0, size - 1), std::clamp(j + 1, 0, size - 1), c - j};
}

}  // namespace

void rgb_to_i420_ref(const RgbImage& src, Frame& dst) {
  prepare_i420_destination(src, dst);
  for (int y = 0; y < src.height; ++y) {
    const uint8_t* in = src.row(y);
    uint8_t* out = dst.row(0, y);
    for (int x = 0; x < src.width; ++x) {
      const double luma = kKr * in[3 * x] + kKg * in[3 * x + 1] + kKb * in[3 * x + 2];
      out[x] = to_byte(16.0 + 219.0 * luma / 255.0);
    }
  }
  for (int cy = 0; cy < dst.plane_height(1); ++cy) {
    const int y0 = 2 * cy;
    const int y1 = std::min(y0 + 1, src.height - 1);
    for (int cx = 0; cx < dst.plane_width(1); ++cx) {
      const int x0 = 2 * cx;
      const int x1 = std::min(x0 + 1, src.width - 1);
      double rgb[3] = {0, 0, 0};
      for (int c = 0; c < 3; ++c) {
        rgb[c] = (src.row(y0)[3 * x0 + c] + src.row(y0)[3 * x1 + c] + src.row(y1)[3 * x0 + c] +
                  src.row(y1)[3 * x1 + c]) /
                 4.0;
      }
      const double luma = kKr * rgb[0] + kKg * rgb[1] + kKb * rgb[2];
      dst.row(1, cy)[cx] = to_byte(128.0 + 224.0 * (rgb[2] - luma) / (1.8556 * 255.0));
      dst.row(2, cy)[cx] = to_byte(128.0 + 224.0 * (rgb[0] - luma) / (1.5748 * 255.0));
    }
  }
}

void i420_to_rgb_ref(const Frame& src, RgbImage& dst) {
  prepare_rgb_destination(src, dst);
  const int cw = src.plane_width(1);
  const int ch = src.plane_height(1);
  for (int y = 0; y < src.height(); ++y) {
    const Lerp vy = chroma_position(y, ch);
    uint8_t* out = dst.row(y);
    for (int x = 0; x < src.width(); ++x) {
      const Lerp vx = chroma_position(x, cw);
      double chroma[2];
      for (int p = 1; p <= 2; ++p) {
        const double top = (1 - vx.wb) * src.row(p, vy.a)[vx.a] + vx.wb * src.row(p, vy.a)[vx.b];
        const double bottom = (1 - vx.wb) * src.row(p, vy.b)[vx.a] + vx.wb * src.row(p, vy.b)[vx.b];
        chroma[p - 1] = (1 - vy.wb) * top + vy.wb * bottom;
      }
      const double luma = (src.row(0, y)[x] - 16.0) * 255.0 / 219.0;
      const double pb = (chroma[0] - 128.0) * 255.0 / 224.0;
      const double pr = (chroma[1] - 128.0) * 255.0 / 224.0;
      const double r = luma + 1.5748 * pr;
      const double b = luma + 1.8556 * pb;
      const double g = (luma - kKr * r - kKb * b) / kKg;
      out[3 * x] = to_byte(r);
      out[3 * x + 1] = to_byte(g);
      out[3 * x + 2] = to_byte(b);
    }
  }
}

}  // namespace ns::core
