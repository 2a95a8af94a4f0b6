// Metrics: PSNR from hand-computed SSE values (pooled over Y, U, V and per plane, cap at 100 dB), SSIM
// against a straightforward double-precision implementation written here (2D Gaussian window, direct
// sums), SSIM of flat images by hand, identical images, and size mismatches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "support/fixtures.h"
#include "ns/core/metrics.h"

namespace {

using ns::core::Frame;

// `src` plus seeded Gaussian noise of the given sigma, clamped.
Frame noisy_copy(const Frame& src, double sigma, uint32_t seed) {
  Frame f = src.clone();
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, sigma);
  for (int p = 0; p < ns::core::kPlaneCount; ++p) {
    for (int y = 0; y < f.plane_height(p); ++y) {
      for (int x = 0; x < f.plane_width(p); ++x) {
        const double v = f.row(p, y)[x] + noise(rng);
        f.row(p, y)[x] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
  return f;
}

// A smooth luma pattern (realistic statistics: large flat-ish areas where float errors would show).
Frame smooth_frame(int w, int h) {
  Frame f(w, h);
  f.fill(128, 128, 128);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      f.row(0, y)[x] = static_cast<uint8_t>(std::lround(180 + 60 * std::sin(x * 0.07) * std::cos(y * 0.05)));
    }
  }
  return f;
}

// SSIM written the obvious way: for every valid window position, the Gaussian-weighted means,
// variances and covariance summed directly over the 2D window (window = min(11, size) per axis, the
// 2D Gaussian sigma 1.5 normalised over that window), then the mean of the SSIM map.
double ssim_direct(const Frame& a, const Frame& b) {
  const int w = a.width();
  const int h = a.height();
  const int ww = std::min(11, w);
  const int wh = std::min(11, h);
  std::vector<double> window(static_cast<size_t>(ww) * wh);
  double total = 0;
  for (int v = 0; v < wh; ++v) {
    for (int u = 0; u < ww; ++u) {
      const double du = u - (ww - 1) / 2.0;
      const double dv = v - (wh - 1) / 2.0;
      window[v * ww + u] = std::exp(-(du * du + dv * dv) / (2 * 1.5 * 1.5));
      total += window[v * ww + u];
    }
  }
  for (double& g : window) g /= total;
  const double c1 = std::pow(0.01 * 255, 2);
  const double c2 = std::pow(0.03 * 255, 2);
  double sum = 0;
  int count = 0;
  for (int y = 0; y + wh <= h; ++y) {
    for (int x = 0; x + ww <= w; ++x) {
      double mx = 0, my = 0;
      for (int v = 0; v < wh; ++v) {
        for (int u = 0; u < ww; ++u) {
          mx += window[v * ww + u] * a.row(0, y + v)[x + u];
          my += window[v * ww + u] * b.row(0, y + v)[x + u];
        }
      }
      double vx = 0, vy = 0, cov = 0;
      for (int v = 0; v < wh; ++v) {
        for (int u = 0; u < ww; ++u) {
          const double dx = a.row(0, y + v)[x + u] - mx;
          const double dy = b.row(0, y + v)[x + u] - my;
          vx += window[v * ww + u] * dx * dx;
          vy += window[v * ww + u] * dy * dy;
          cov += window[v * ww + u] * dx * dy;
        }
      }
      sum += ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      ++count;
    }
  }
  return sum / count;
}

TEST(Metrics, PsnrFromSseByHand) {
  // 10 log10(100 * 255^2 / 100) = 10 log10(65025).
  EXPECT_NEAR(ns::core::psnr_from_sse(100, 100), 48.1308036086791, 1e-9);
  EXPECT_DOUBLE_EQ(ns::core::psnr_from_sse(0, 100), 100.0);
  EXPECT_DOUBLE_EQ(ns::core::psnr_from_sse(5, 0), 100.0);
  // 10 log10(1e12 * 65025) = 168 dB: capped.
  EXPECT_DOUBLE_EQ(ns::core::psnr_from_sse(1, 1000000000000ULL), 100.0);
}

// 4x4 frame: 16 Y + 4 U + 4 V = 24 samples. Y differs by +3 and -3 (SSE 18), U by 1 (SSE 1), V not at all.
TEST(Metrics, PooledAndPerPlanePsnrByHand) {
  Frame ref(4, 4);
  ref.fill(100, 120, 140);
  Frame test = ref.clone();
  test.row(0, 1)[2] = 103;
  test.row(0, 3)[0] = 97;
  test.row(1, 1)[1] = 121;
  const ns::core::PlaneError ey = ns::core::plane_error(ref, test, 0);
  EXPECT_EQ(ey.sse, 18u);
  EXPECT_EQ(ey.samples, 16u);
  EXPECT_EQ(ns::core::plane_error(ref, test, 1).sse, 1u);
  EXPECT_EQ(ns::core::plane_error(ref, test, 1).samples, 4u);
  EXPECT_EQ(ns::core::plane_error(ref, test, 2).sse, 0u);
  // Pooled: 10 log10(24 * 65025 / 19); Y: 10 log10(16 * 65025 / 18); U: 10 log10(4 * 65025); V: capped.
  EXPECT_NEAR(ns::core::psnr_pooled(ref, test), 49.14538001626688, 1e-9);
  const ns::core::FrameQuality q = ns::core::measure_quality(ref, test);
  EXPECT_NEAR(q.psnr, 49.14538001626688, 1e-9);
  EXPECT_NEAR(q.psnr_y, 47.619278384205295, 1e-9);
  EXPECT_NEAR(q.psnr_u, 54.15140352195873, 1e-9);
  EXPECT_DOUBLE_EQ(q.psnr_v, 100.0);
}

TEST(Metrics, PooledIsNotTheMeanOfPlanes) {
  // Pooling sums SSE and samples first: with all the error in Y the pooled value sits above psnr_y
  // by 10 log10(24 / 16) exactly.
  Frame ref(4, 4);
  ref.fill(50, 60, 70);
  Frame test = ref.clone();
  test.row(0, 0)[0] = 60;
  const ns::core::FrameQuality q = ns::core::measure_quality(ref, test);
  EXPECT_NEAR(q.psnr - q.psnr_y, 10 * std::log10(24.0 / 16.0), 1e-9);
}

TEST(Metrics, IdenticalFramesAreCappedAndSsimOne) {
  const Frame a = ns::test::random_frame(37, 29, 3);
  const Frame b = a.clone();
  const ns::core::FrameQuality q = ns::core::measure_quality(a, b);
  EXPECT_DOUBLE_EQ(q.psnr, 100.0);
  EXPECT_DOUBLE_EQ(q.psnr_y, 100.0);
  EXPECT_DOUBLE_EQ(q.psnr_u, 100.0);
  EXPECT_DOUBLE_EQ(q.psnr_v, 100.0);
  EXPECT_NEAR(q.ssim_y, 1.0, 1e-9);
}

TEST(Metrics, SsimMatchesDirectImplementation) {
  struct Case {
    const char* name;
    Frame a;
    Frame b;
  };
  std::vector<Case> cases;
  const Frame random = ns::test::random_frame(32, 24, 11);
  cases.push_back({"random_vs_noisy_32x24", random.clone(), noisy_copy(random, 20.0, 12)});
  const Frame smooth = smooth_frame(48, 40);
  cases.push_back({"smooth_vs_noisy_48x40", smooth.clone(), noisy_copy(smooth, 3.0, 13)});
  cases.push_back({"random_vs_random_31x17", ns::test::random_frame(31, 17, 14), ns::test::random_frame(31, 17, 15)});
  // Smaller than the window on one or both axes: the whole extent is the window.
  const Frame tiny = ns::test::random_frame(8, 6, 16);
  cases.push_back({"whole_extent_8x6", tiny.clone(), noisy_copy(tiny, 15.0, 17)});
  const Frame strip = ns::test::random_frame(40, 5, 18);
  cases.push_back({"whole_height_40x5", strip.clone(), noisy_copy(strip, 15.0, 19)});
  const Frame one = ns::test::random_frame(1, 1, 20);
  cases.push_back({"single_pixel", one.clone(), noisy_copy(one, 30.0, 21)});
  for (const Case& c : cases) {
    const double expected = ssim_direct(c.a, c.b);
    EXPECT_NEAR(ns::core::ssim_y(c.a, c.b), expected, 1e-5) << c.name << " (direct: " << expected << ")";
  }
  // Sanity of the cases themselves: noise lowers SSIM visibly, unrelated images score near 0.
  EXPECT_LT(ssim_direct(cases[0].a, cases[0].b), 0.99);
  EXPECT_LT(std::fabs(ssim_direct(cases[2].a, cases[2].b)), 0.1);
}

// Two flat images: variances and covariance are zero, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
TEST(Metrics, SsimOfFlatImagesByHand) {
  Frame a(24, 16);
  Frame b(24, 16);
  a.fill(100, 128, 128);
  b.fill(110, 128, 128);
  // (2 * 100 * 110 + 6.5025) / (100^2 + 110^2 + 6.5025)
  EXPECT_NEAR(ns::core::ssim_y(a, b), 0.9954764440915066, 1e-5);
}

TEST(Metrics, MismatchedSizesThrow) {
  const Frame a = ns::test::random_frame(16, 16, 1);
  const Frame b = ns::test::random_frame(16, 18, 2);
  try {
    ns::core::measure_quality(a, b);
    FAIL() << "expected ns::Error";
  } catch (const ns::Error& e) {
    EXPECT_EQ(e.code(), ns::ErrorCode::mismatch);
    EXPECT_NE(std::string(e.what()).find("16x16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("16x18"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ns::core::psnr_pooled(a, b), ns::Error);
  EXPECT_THROW(ns::core::ssim_y(a, b), ns::Error);
  EXPECT_THROW(ns::core::plane_error(a, b, 0), ns::Error);
}

}  // namespace
