// Colour: BT.709 limited range. Hand-checked values for black, white and the primaries, fixed point
// against the double-precision reference (|difference| <= 1) on random content and odd sizes, the
// 2x2 chroma averaging and centred up-sampling by hand, a smooth round trip, and size mismatches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "support/fixtures.h"

namespace {

using ns::core::Frame;
using ns::core::RgbImage;

RgbImage solid_rgb(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  RgbImage img(w, h);
  for (int i = 0; i < w * h; ++i) {
    img.pixels[3 * i] = r;
    img.pixels[3 * i + 1] = g;
    img.pixels[3 * i + 2] = b;
  }
  return img;
}

RgbImage random_rgb(int w, int h, uint32_t seed) {
  RgbImage img(w, h);
  std::mt19937 rng(seed);
  for (auto& v : img.pixels) v = static_cast<uint8_t>(rng() & 0xFF);
  return img;
}

struct Yuv {
  int y, u, v;
};

Yuv first_sample(const Frame& f) { return {f.row(0, 0)[0], f.row(1, 0)[0], f.row(2, 0)[0]}; }

// Y = 16 + 219 Y'/255; Cb = 128 + 224 (B - Y') / (1.8556 * 255); Cr = 128 + 224 (R - Y') / (1.5748 * 255).
TEST(Colour, PrimariesByHand) {
  struct Case {
    const char* name;
    uint8_t r, g, b;
    Yuv expected;
  };
  const Case cases[] = {
      {"black", 0, 0, 0, {16, 128, 128}},
      {"white", 255, 255, 255, {235, 128, 128}},
      // Y = 16 + 219 * 0.2126 = 62.56; Cb = 128 - 224 * 0.2126 / 1.8556 = 102.34; Cr = 128 + 224 * 0.7874 / 1.5748 = 240.
      {"red", 255, 0, 0, {63, 102, 240}},
      // Y = 16 + 219 * 0.7152 = 172.63; Cb = 128 - 224 * 0.7152 / 1.8556 = 41.66; Cr = 128 - 224 * 0.7152 / 1.5748 = 26.27.
      {"green", 0, 255, 0, {173, 42, 26}},
      // Y = 16 + 219 * 0.0722 = 31.81; Cb = 128 + 224 * 0.9278 / 1.8556 = 240; Cr = 128 - 224 * 0.0722 / 1.5748 = 117.73.
      {"blue", 0, 0, 255, {32, 240, 118}},
  };
  for (const Case& c : cases) {
    const RgbImage img = solid_rgb(4, 2, c.r, c.g, c.b);
    Frame fast(4, 2);
    Frame ref(4, 2);
    ns::core::rgb_to_i420(img, fast);
    ns::core::rgb_to_i420_ref(img, ref);
    for (const Frame* f : {&fast, &ref}) {
      const Yuv got = first_sample(*f);
      EXPECT_EQ(got.y, c.expected.y) << c.name << (f == &fast ? " fast" : " ref");
      EXPECT_EQ(got.u, c.expected.u) << c.name << (f == &fast ? " fast" : " ref");
      EXPECT_EQ(got.v, c.expected.v) << c.name << (f == &fast ? " fast" : " ref");
    }
  }
}

TEST(Colour, InverseOfBlackWhiteRedByHand) {
  struct Case {
    const char* name;
    uint8_t y, u, v;
    uint8_t r, g, b;
  };
  const Case cases[] = {
      {"black", 16, 128, 128, 0, 0, 0},
      {"white", 235, 128, 128, 255, 255, 255},
      // Y'' = 47 * 255/219 = 54.73, Pb = -26 * 255/224 = -29.60, Pr = 112 * 255/224 = 127.5:
      // R = 54.73 + 1.5748 * 127.5 = 255.5 -> 255 (clamped), B = 54.73 - 1.8556 * 29.60 = -0.20 -> 0,
      // G = (54.73 - 0.2126 * 255.51 + 0.0722 * 0.20) / 0.7152 = 0.59 -> 1.
      {"red", 63, 102, 240, 255, 1, 0},
  };
  for (const Case& c : cases) {
    Frame f(3, 3);
    f.fill(c.y, c.u, c.v);
    RgbImage fast(3, 3);
    RgbImage ref(3, 3);
    ns::core::i420_to_rgb(f, fast);
    ns::core::i420_to_rgb_ref(f, ref);
    for (const RgbImage* img : {&fast, &ref}) {
      for (int i = 0; i < 9; ++i) {
        EXPECT_EQ(img->pixels[3 * i], c.r) << c.name << " R, pixel " << i;
        EXPECT_EQ(img->pixels[3 * i + 1], c.g) << c.name << " G, pixel " << i;
        EXPECT_EQ(img->pixels[3 * i + 2], c.b) << c.name << " B, pixel " << i;
      }
    }
  }
}

// Chroma is computed from the average R, G, B of each 2x2 block; a 3x1 image's last block replicates
// its single column: block 0 = (red + blue) / 2 = (127.5, 0, 127.5), block 1 = blue.
TEST(Colour, ChromaAveragesTwoByTwoAndReplicatesOddEdge) {
  RgbImage img(3, 1);
  const uint8_t pixels[9] = {255, 0, 0, 0, 0, 255, 0, 0, 255};
  std::copy(pixels, pixels + 9, img.pixels.begin());
  Frame fast;
  Frame ref;
  ns::core::rgb_to_i420(img, fast);
  ns::core::rgb_to_i420_ref(img, ref);
  ASSERT_EQ(fast.plane_width(1), 2);
  ASSERT_EQ(fast.plane_height(1), 1);
  // Block 0: Y' = 0.2126 * 127.5 + 0.0722 * 127.5 = 36.31; Cb = 128 + 224 * (127.5 - 36.31) / (1.8556 * 255) = 171.17;
  // Cr = 128 + 224 * (127.5 - 36.31) / (1.5748 * 255) = 178.87. Block 1 is blue: Cb 240, Cr 117.73.
  for (const Frame* f : {&fast, &ref}) {
    EXPECT_EQ(f->row(1, 0)[0], 171);
    EXPECT_EQ(f->row(2, 0)[0], 179);
    EXPECT_EQ(f->row(1, 0)[1], 240);
    EXPECT_EQ(f->row(2, 0)[1], 118);
  }
}

// Centred siting: luma column 0 sits a quarter chroma sample left of chroma 0 (replicated), column 1 a
// quarter right of it: 3/4 C0 + 1/4 C1. With Cr = 128 and 160 and Y = 126 (Y'' = 128.08):
// column 1 Cr = 136 -> Pr = 8 * 255/224 = 9.107, R = 128.08 + 1.5748 * 9.107 = 142.42 -> 142;
// column 2 Cr = 152 -> Pr = 27.32, R = 171.11 -> 171; column 3 Cr = 160 -> Pr = 36.43, R = 185.45 -> 185.
TEST(Colour, ChromaUpsamplingIsCentredByHand) {
  Frame f(4, 2);
  f.fill(126, 128, 128);
  f.row(2, 0)[1] = 160;
  RgbImage fast;
  RgbImage ref;
  ns::core::i420_to_rgb(f, fast);
  ns::core::i420_to_rgb_ref(f, ref);
  for (const RgbImage* img : {&fast, &ref}) {
    EXPECT_EQ(img->row(0)[0], 128) << "column 0 takes chroma 0 only";
    EXPECT_EQ(img->row(0)[3], 142);
    EXPECT_EQ(img->row(0)[6], 171);
    EXPECT_EQ(img->row(0)[9], 185) << "column 3 takes chroma 1 only (replicated edge)";
  }
}

TEST(Colour, FastMatchesReferenceWithinOne) {
  const int sizes[][2] = {{1, 1}, {2, 2}, {3, 5}, {5, 3}, {1, 9}, {9, 1}, {17, 9}, {64, 36}, {33, 31}};
  uint32_t seed = 100;
  for (const auto& s : sizes) {
    ++seed;
    const RgbImage img = random_rgb(s[0], s[1], seed);
    Frame fast;
    Frame ref;
    ns::core::rgb_to_i420(img, fast);
    ns::core::rgb_to_i420_ref(img, ref);
    for (int p = 0; p < ns::core::kPlaneCount; ++p) {
      for (int y = 0; y < fast.plane_height(p); ++y) {
        for (int x = 0; x < fast.plane_width(p); ++x) {
          ASSERT_LE(std::abs(fast.row(p, y)[x] - ref.row(p, y)[x]), 1)
              << "rgb_to_i420 " << s[0] << "x" << s[1] << " plane " << p << " at " << x << "," << y << " (seed "
              << seed << ")";
        }
      }
    }
    // Any YUV triple, including ones outside the RGB gamut (clamping) and the 0/255 extremes.
    Frame yuv = ns::test::random_frame(s[0], s[1], seed);
    yuv.row(0, 0)[0] = 255;
    yuv.row(1, 0)[0] = 0;
    yuv.row(2, 0)[0] = 255;
    RgbImage fast_rgb;
    RgbImage ref_rgb;
    ns::core::i420_to_rgb(yuv, fast_rgb);
    ns::core::i420_to_rgb_ref(yuv, ref_rgb);
    for (size_t i = 0; i < fast_rgb.pixels.size(); ++i) {
      ASSERT_LE(std::abs(fast_rgb.pixels[i] - ref_rgb.pixels[i]), 1)
          << "i420_to_rgb " << s[0] << "x" << s[1] << " byte " << i << " (seed " << seed << ")";
    }
  }
}

// A smooth image survives RGB -> I420 -> RGB with a small error: quantisation of Y, Cb, Cr (about
// 1.16 and 1.8 RGB steps per code) plus the chroma 2x2 average and re-interpolation on gentle slopes.
TEST(Colour, SmoothRoundTripIsClose) {
  const int w = 96;
  const int h = 64;
  RgbImage img(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = img.row(y) + 3 * x;
      p[0] = static_cast<uint8_t>(std::lround(128 + 100 * std::sin(x * 0.05 + y * 0.02)));
      p[1] = static_cast<uint8_t>(std::lround(128 + 90 * std::cos(x * 0.03 - y * 0.04)));
      p[2] = static_cast<uint8_t>(std::lround(128 + 80 * std::sin(y * 0.06 + 1.0)));
    }
  }
  Frame yuv;
  ns::core::rgb_to_i420(img, yuv);
  RgbImage back;
  ns::core::i420_to_rgb(yuv, back);
  int worst = 0;
  double total = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i) {
    const int d = std::abs(img.pixels[i] - back.pixels[i]);
    worst = std::max(worst, d);
    total += d;
  }
  const double mean = total / static_cast<double>(img.pixels.size());
  EXPECT_LE(worst, 3);
  EXPECT_LT(mean, 0.5);  // measured: worst 3, mean 0.35 (fixed point and reference alike)
}

TEST(Colour, SizeMismatchThrows) {
  const RgbImage img = random_rgb(8, 6, 1);
  Frame wrong(8, 8);
  try {
    ns::core::rgb_to_i420(img, wrong);
    FAIL() << "expected ns::Error";
  } catch (const ns::Error& e) {
    EXPECT_EQ(e.code(), ns::ErrorCode::mismatch);
    EXPECT_NE(std::string(e.what()).find("8x6"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("8x8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ns::core::rgb_to_i420_ref(img, wrong), ns::Error);
  RgbImage small(4, 4);
  const Frame f = ns::test::random_frame(8, 6, 2);
  EXPECT_THROW(ns::core::i420_to_rgb(f, small), ns::Error);
  EXPECT_THROW(ns::core::i420_to_rgb_ref(f, small), ns::Error);
}

}  // namespace
