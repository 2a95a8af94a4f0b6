// Resize: the fast fixed-point resampler against the double-precision reference (every filter, odd
// and degenerate sizes, integer and arbitrary ratios, random and extreme content), destination guard
// bytes, and hand-computed values for area x3, bilinear x2 and anti-aliased down-scaling.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "ns/core/resize.h"

namespace {

using ns::core::ResizeFilter;

constexpr ResizeFilter kFilters[] = {ResizeFilter::area, ResizeFilter::bilinear, ResizeFilter::bicubic};
constexpr int kGuard = 16;          // guard samples on every side of a destination
constexpr uint8_t kSentinel = 0xA5;

enum class Content { random, extremes, stripes, constant };

const char* content_name(Content c) {
  switch (c) {
    case Content::random: return "random";
    case Content::extremes: return "extremes";
    case Content::stripes: return "stripes";
    case Content::constant: return "constant";
  }
  return "?";
}

// A plane with padding between rows (stride > width) so that stride handling is exercised.
struct Plane {
  int width;
  int height;
  int stride;
  std::vector<uint8_t> pixels;
  Plane(int w, int h) : width(w), height(h), stride(w + 7), pixels(static_cast<size_t>(stride) * h, 0) {}
  uint8_t& at(int x, int y) { return pixels[static_cast<size_t>(y) * stride + x]; }
  uint8_t at(int x, int y) const { return pixels[static_cast<size_t>(y) * stride + x]; }
};

Plane make_plane(int w, int h, Content content, uint32_t seed) {
  Plane p(w, h);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::bernoulli_distribution coin(0.5);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      switch (content) {
        case Content::random: p.at(x, y) = static_cast<uint8_t>(byte(rng)); break;
        case Content::extremes: p.at(x, y) = coin(rng) ? 255 : 0; break;
        case Content::stripes: p.at(x, y) = ((x + y) & 1) ? 255 : 0; break;
        case Content::constant: p.at(x, y) = 255; break;
      }
    }
  }
  return p;
}

// A destination surrounded by guard bytes on every side (stride wider than the row too).
struct GuardedPlane {
  int width;
  int height;
  int stride;
  std::vector<uint8_t> buffer;
  GuardedPlane(int w, int h)
      : width(w), height(h), stride(w + 2 * kGuard), buffer(static_cast<size_t>(stride) * (h + 2 * kGuard), kSentinel) {}
  uint8_t* data() { return buffer.data() + static_cast<size_t>(kGuard) * stride + kGuard; }
  uint8_t at(int x, int y) const { return buffer[static_cast<size_t>(y + kGuard) * stride + x + kGuard]; }
  bool guards_intact() const {
    for (int y = -kGuard; y < height + kGuard; ++y) {
      for (int x = -kGuard; x < width + kGuard; ++x) {
        const bool inside = x >= 0 && x < width && y >= 0 && y < height;
        if (!inside && at(x, y) != kSentinel) return false;
      }
    }
    return true;
  }
};

struct SizeCase {
  int sw, sh, dw, dh;
};

// Runs both resamplers and returns the largest absolute difference; fails on any guard change.
int max_difference(const Plane& src, int dw, int dh, ResizeFilter filter, const std::string& name) {
  GuardedPlane fast(dw, dh);
  GuardedPlane ref(dw, dh);
  ns::core::resize_plane(src.pixels.data(), src.stride, src.width, src.height, fast.data(), fast.stride, dw, dh,
                         filter);
  ns::core::resize_plane_ref(src.pixels.data(), src.stride, src.width, src.height, ref.data(), ref.stride, dw, dh,
                             filter);
  EXPECT_TRUE(fast.guards_intact()) << name << ": fast resize wrote outside the destination";
  EXPECT_TRUE(ref.guards_intact()) << name << ": reference resize wrote outside the destination";
  int worst = 0;
  for (int y = 0; y < dh; ++y) {
    for (int x = 0; x < dw; ++x) worst = std::max(worst, std::abs(fast.at(x, y) - ref.at(x, y)));
  }
  return worst;
}

TEST(Resize, FastMatchesReferenceWithinOne) {
  const std::vector<SizeCase> sizes = {
      {1, 1, 1, 1},    {1, 1, 5, 3},    {5, 3, 1, 1},    {1, 17, 3, 40},  {17, 1, 40, 3},  {1, 9, 1, 4},
      {3, 5, 7, 2},    {3, 5, 2, 9},    {24, 18, 48, 36}, {24, 18, 72, 54}, {24, 18, 96, 72}, {48, 36, 24, 18},
      {72, 54, 24, 18}, {96, 72, 24, 18}, {37, 23, 101, 59}, {101, 59, 37, 23}, {64, 36, 63, 37}, {13, 11, 13, 29},
  };
  const Content contents[] = {Content::random, Content::extremes, Content::stripes, Content::constant};
  uint32_t seed = 7;
  for (const ResizeFilter filter : kFilters) {
    for (const SizeCase& s : sizes) {
      for (const Content content : contents) {
        const Plane src = make_plane(s.sw, s.sh, content, ++seed);
        const std::string name = std::string(ns::core::resize_filter_name(filter)) + "_" + std::to_string(s.sw) +
                                 "x" + std::to_string(s.sh) + "_to_" + std::to_string(s.dw) + "x" +
                                 std::to_string(s.dh) + "_" + content_name(content) + " (seed " +
                                 std::to_string(seed) + ")";
        EXPECT_LE(max_difference(src, s.dw, s.dh, filter, name), 1) << name;
      }
    }
  }
}

TEST(Resize, ConstantPlaneStaysConstant) {
  for (const ResizeFilter filter : kFilters) {
    for (const uint8_t value : {0, 1, 128, 254, 255}) {
      Plane src(19, 7);
      std::fill(src.pixels.begin(), src.pixels.end(), value);
      for (const SizeCase& s : {SizeCase{19, 7, 57, 21}, SizeCase{19, 7, 5, 3}, SizeCase{19, 7, 23, 4}}) {
        std::vector<uint8_t> fast(static_cast<size_t>(s.dw) * s.dh, 0);
        std::vector<uint8_t> ref(fast.size(), 0);
        ns::core::resize_plane(src.pixels.data(), src.stride, 19, 7, fast.data(), s.dw, s.dw, s.dh, filter);
        ns::core::resize_plane_ref(src.pixels.data(), src.stride, 19, 7, ref.data(), s.dw, s.dw, s.dh, filter);
        for (size_t i = 0; i < fast.size(); ++i) {
          ASSERT_EQ(fast[i], value) << ns::core::resize_filter_name(filter) << " sample " << i;
          ASSERT_EQ(ref[i], value) << ns::core::resize_filter_name(filter) << " sample " << i;
        }
      }
    }
  }
}

// 6x6 -> 2x2 with area: each output is the rounded mean of its 3x3 block, computed by hand below.
TEST(Resize, AreaThirdIsRoundedBlockMeanByHand) {
  const uint8_t src[36] = {
      0,   1,   2,   10,  10,  10,   //
      3,   4,   5,   10,  14,  10,   //
      6,   7,   8,   10,  10,  10,   //
      255, 255, 255, 1,   2,   1,    //
      255, 250, 255, 2,   1,   2,    //
      255, 255, 255, 1,   2,   2,    //
  };
  // Block sums: 36 -> 4.00; 94 -> 10.44; 2290 -> 254.44; 14 -> 1.56.
  const uint8_t expected[4] = {4, 10, 254, 2};
  uint8_t fast[4] = {};
  uint8_t ref[4] = {};
  ns::core::resize_plane(src, 6, 6, 6, fast, 2, 2, 2, ResizeFilter::area);
  ns::core::resize_plane_ref(src, 6, 6, 6, ref, 2, 2, 2, ResizeFilter::area);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(fast[i], expected[i]) << "fast, block " << i;
    EXPECT_EQ(ref[i], expected[i]) << "reference, block " << i;
  }
}

// Random content, x3 area: both resamplers give exactly the integer-rounded mean of each 3x3 block
// (a mean of 9 integers is never exactly halfway, so rounding is unambiguous).
TEST(Resize, AreaThirdEqualsExactBlockMean) {
  const Plane src = make_plane(63, 45, Content::random, 1234);
  std::vector<uint8_t> fast(21 * 15), ref(21 * 15);
  ns::core::resize_plane(src.pixels.data(), src.stride, 63, 45, fast.data(), 21, 21, 15, ResizeFilter::area);
  ns::core::resize_plane_ref(src.pixels.data(), src.stride, 63, 45, ref.data(), 21, 21, 15, ResizeFilter::area);
  for (int y = 0; y < 15; ++y) {
    for (int x = 0; x < 21; ++x) {
      int sum = 0;
      for (int j = 0; j < 3; ++j) {
        for (int i = 0; i < 3; ++i) sum += src.at(3 * x + i, 3 * y + j);
      }
      const int mean = (2 * sum + 9) / 18;  // round(sum / 9)
      ASSERT_EQ(fast[y * 21 + x], mean) << "fast at " << x << "," << y << " (seed 1234)";
      ASSERT_EQ(ref[y * 21 + x], mean) << "reference at " << x << "," << y << " (seed 1234)";
    }
  }
}

// Centre alignment: 2 samples -> 4 puts outputs at source positions -0.25, 0.25, 0.75, 1.25; the
// outer ones fall beyond the edge and are replicated.
TEST(Resize, BilinearDoubleIsCentreAlignedByHand) {
  const uint8_t src[2] = {0, 100};
  const uint8_t expected[4] = {0, 25, 75, 100};
  uint8_t fast[4] = {};
  uint8_t ref[4] = {};
  ns::core::resize_plane(src, 2, 2, 1, fast, 4, 4, 1, ResizeFilter::bilinear);
  ns::core::resize_plane_ref(src, 2, 2, 1, ref, 4, 4, 1, ResizeFilter::bilinear);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(fast[i], expected[i]) << "fast, sample " << i;
    EXPECT_EQ(ref[i], expected[i]) << "reference, sample " << i;
  }
}

// Catmull-Rom on a step 0, 0 | 100, 100, up-scaled x2: output 3 sits at source position 1.25, so the
// taps at 0, 1, 2, 3 have t = -1.25, -0.25, 0.75, 1.75 and weights -0.0703125, 0.8671875, 0.2265625,
// -0.0234375 -> 100 * (0.2265625 - 0.0234375) = 20.3125 -> 20; output 4 (at 1.75) mirrors it: 79.6875 -> 80.
TEST(Resize, BicubicStepByHand) {
  const uint8_t src[4] = {0, 0, 100, 100};
  uint8_t fast[8] = {};
  uint8_t ref[8] = {};
  ns::core::resize_plane(src, 4, 4, 1, fast, 8, 8, 1, ResizeFilter::bicubic);
  ns::core::resize_plane_ref(src, 4, 4, 1, ref, 8, 8, 1, ResizeFilter::bicubic);
  EXPECT_EQ(ref[3], 20);
  EXPECT_EQ(fast[3], 20);
  EXPECT_EQ(ref[4], 80);
  EXPECT_EQ(fast[4], 80);
  // The step rings on both sides: output 2 (at 0.75) is 100 * -0.0703125 = -7.03, clamped to 0; output 5
  // (at 2.25) mirrors it at 107.03 -> 107.
  EXPECT_EQ(ref[2], 0);
  EXPECT_EQ(fast[2], 0);
  EXPECT_EQ(ref[5], 107);
  EXPECT_EQ(fast[5], 107);
}

// Down-scaling a one-pixel checkerboard by 4 with a widened kernel averages it out (a narrow
// interpolating kernel would alias to black or white).
TEST(Resize, DownscaleIsAntiAliased) {
  const Plane src = make_plane(64, 64, Content::stripes, 0);
  for (const ResizeFilter filter : kFilters) {
    std::vector<uint8_t> out(16 * 16);
    ns::core::resize_plane(src.pixels.data(), src.stride, 64, 64, out.data(), 16, 16, 16, filter);
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_GE(out[i], 118) << ns::core::resize_filter_name(filter) << " sample " << i;
      ASSERT_LE(out[i], 137) << ns::core::resize_filter_name(filter) << " sample " << i;
    }
  }
}

TEST(Resize, SameSizeIsExactCopy) {
  const Plane src = make_plane(31, 17, Content::random, 99);
  for (const ResizeFilter filter : kFilters) {
    std::vector<uint8_t> fast(31 * 17), ref(31 * 17);
    ns::core::resize_plane(src.pixels.data(), src.stride, 31, 17, fast.data(), 31, 31, 17, filter);
    ns::core::resize_plane_ref(src.pixels.data(), src.stride, 31, 17, ref.data(), 31, 31, 17, filter);
    for (int y = 0; y < 17; ++y) {
      for (int x = 0; x < 31; ++x) {
        ASSERT_EQ(fast[y * 31 + x], src.at(x, y));
        ASSERT_EQ(ref[y * 31 + x], src.at(x, y));
      }
    }
  }
}

TEST(Resize, FrameResizesEveryPlaneAndKeepsTimestamps) {
  ns::core::Frame src(37, 23);
  std::mt19937 rng(5);
  for (int p = 0; p < ns::core::kPlaneCount; ++p) {
    for (int y = 0; y < src.plane_height(p); ++y) {
      for (int x = 0; x < src.plane_width(p); ++x) src.row(p, y)[x] = static_cast<uint8_t>(rng() & 0xFF);
    }
  }
  src.pts = 1234;
  src.index = 56;
  const ns::core::Frame out = ns::core::resized(src, 111, 69, ResizeFilter::bicubic);
  ASSERT_EQ(out.width(), 111);
  ASSERT_EQ(out.height(), 69);
  EXPECT_EQ(out.pts, 1234);
  EXPECT_EQ(out.index, 56);
  for (int p = 0; p < ns::core::kPlaneCount; ++p) {
    std::vector<uint8_t> ref(static_cast<size_t>(out.plane_width(p)) * out.plane_height(p));
    ns::core::resize_plane_ref(src.data(p), src.stride(p), src.plane_width(p), src.plane_height(p), ref.data(),
                               out.plane_width(p), out.plane_width(p), out.plane_height(p), ResizeFilter::bicubic);
    for (int y = 0; y < out.plane_height(p); ++y) {
      for (int x = 0; x < out.plane_width(p); ++x) {
        ASSERT_LE(std::abs(out.row(p, y)[x] - ref[static_cast<size_t>(y) * out.plane_width(p) + x]), 1)
            << "plane " << p << " at " << x << "," << y;
      }
    }
  }
}

TEST(Resize, FilterNamesRoundTripAndUnknownThrows) {
  for (const ResizeFilter filter : kFilters) {
    EXPECT_EQ(ns::core::parse_resize_filter(ns::core::resize_filter_name(filter)), filter);
  }
  try {
    ns::core::parse_resize_filter("lanczos");
    FAIL() << "expected ns::Error";
  } catch (const ns::Error& e) {
    EXPECT_EQ(e.code(), ns::ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("lanczos"), std::string::npos) << e.what();
  }
}

TEST(Resize, EmptySizesThrow) {
  const uint8_t src[4] = {};
  uint8_t dst[4] = {};
  for (const ResizeFilter filter : kFilters) {
    EXPECT_THROW(ns::core::resize_plane(src, 2, 2, 2, dst, 2, 0, 2, filter), ns::Error);
    EXPECT_THROW(ns::core::resize_plane(src, 2, 2, 0, dst, 2, 2, 2, filter), ns::Error);
    EXPECT_THROW(ns::core::resize_plane_ref(src, 2, 2, 2, dst, 2, 2, 0, filter), ns::Error);
  }
  ns::core::Frame empty;
  ns::core::Frame dst_frame(4, 4);
  EXPECT_THROW(ns::core::resize(empty, dst_frame, ResizeFilter::bilinear), ns::Error);
}

}  // namespace
