// checkasm-style proof of the SIMD kernels of ns/motion and ns/reuse: for every CPU level above C that the
// host supports, each kernel slot that differs from C runs on the same seeded input as the C version (noise and
// hand-made extremes: 0/255, maximal differences, odd sizes, every sub-pel phase), with its output inside a
// buffer of guard bytes, and must match C bit-exactly, guards included. Cases are named like the kernel
// (sad_8x8_avx2, interpolate_w24_h24_avx2, ...).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ns/motion/dsp_impl.h"
#include "ns/reuse/dsp_impl.h"

namespace ns {
namespace {

constexpr uint8_t kSentinel = 0xA5;
constexpr int kGuard = 32;  // guard samples before and after every row and around every destination
constexpr uint32_t kSeed = 20240611;

std::vector<int> simd_levels() {
  std::vector<int> levels;
  for (int level = motion::kCpuLevelC + 1; level <= motion::detected_cpu_level(); ++level) levels.push_back(level);
  return levels;
}

enum class Content { random, extremes, white, black };
constexpr Content kContents[] = {Content::random, Content::extremes, Content::white, Content::black};

// An 8-bit plane with generous margins so that kernels may read around the block they are given.
struct Source {
  int stride;
  std::vector<uint8_t> pixels;
  Source(int w, int h, Content content, uint32_t seed) : stride(w + 2 * kGuard + 5), pixels() {
    pixels.resize(static_cast<size_t>(stride) * (h + 2 * kGuard));
    std::mt19937 rng(seed);
    std::bernoulli_distribution coin(0.5);
    for (auto& p : pixels) {
      switch (content) {
        case Content::random:
          p = static_cast<uint8_t>(rng());
          break;
        case Content::extremes:
          p = coin(rng) ? 255 : 0;
          break;
        case Content::white:
          p = 255;
          break;
        case Content::black:
          p = 0;
          break;
      }
    }
  }
  const uint8_t* at(int x, int y) const {
    return pixels.data() + static_cast<size_t>(y + kGuard) * stride + x + kGuard;
  }
};

// A destination of T with guard rows and columns filled with a sentinel.
template <typename T>
struct Guarded {
  int width, height, stride;
  std::vector<T> data;
  Guarded(int w, int h, T fill) : width(w), height(h), stride(w + 2 * kGuard + 3) {
    data.assign(static_cast<size_t>(stride) * (h + 2 * kGuard), fill);
  }
  T* at(int x, int y) { return data.data() + static_cast<size_t>(y + kGuard) * stride + x + kGuard; }
};

TEST(CheckDsp, Sad) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  motion::Dsp c;
  motion::init_dsp(c, motion::kCpuLevelC);
  for (int level : levels) {
    motion::Dsp d;
    motion::init_dsp(d, level);
    const struct {
      const char* name;
      motion::SadFn ref;
      motion::SadFn fn;
    } kernels[] = {{"sad_8x8", c.sad_8x8, d.sad_8x8}, {"sad_16x16", c.sad_16x16, d.sad_16x16}};
    for (const auto& k : kernels) {
      if (k.fn == k.ref) continue;
      const std::string name = std::string(k.name) + "_" + motion::cpu_level_name(level);
      SCOPED_TRACE(name);
      uint32_t seed = kSeed;
      for (Content ca : kContents) {
        for (Content cb : kContents) {
          const Source a(16, 16, ca, seed++), b(16, 16, cb, seed++);
          for (int offset = 0; offset < 3; ++offset) {
            EXPECT_EQ(k.fn(a.at(offset, 0), a.stride, b.at(0, offset), b.stride),
                      k.ref(a.at(offset, 0), a.stride, b.at(0, offset), b.stride))
                << "seed " << seed << " offset " << offset;
          }
        }
      }
      // Maximal difference: 255 everywhere against 0 everywhere.
      const Source w(16, 16, Content::white, 1), z(16, 16, Content::black, 1);
      EXPECT_EQ(k.fn(w.at(0, 0), w.stride, z.at(0, 0), z.stride), k.ref(w.at(0, 0), w.stride, z.at(0, 0), z.stride));
    }
  }
}

TEST(CheckDsp, SadSubpel) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  motion::Dsp c;
  motion::init_dsp(c, motion::kCpuLevelC);
  for (int level : levels) {
    motion::Dsp d;
    motion::init_dsp(d, level);
    if (d.sad_subpel_8x8 == c.sad_subpel_8x8) continue;
    SCOPED_TRACE(std::string("sad_subpel_8x8_") + motion::cpu_level_name(level));
    uint32_t seed = kSeed;
    for (Content ca : kContents) {
      for (Content cb : kContents) {
        const Source cur(16, 16, ca, seed++), ref(16, 16, cb, seed++);
        for (int fy = 0; fy < motion::kSubpelPhases; ++fy) {
          for (int fx = 0; fx < motion::kSubpelPhases; ++fx) {
            for (int offset = 0; offset < 3; ++offset) {
              ASSERT_EQ(d.sad_subpel_8x8(cur.at(offset, 0), cur.stride, ref.at(1, 1 + offset), ref.stride, fx, fy),
                        c.sad_subpel_8x8(cur.at(offset, 0), cur.stride, ref.at(1, 1 + offset), ref.stride, fx, fy))
                  << "phase " << fx << "," << fy << " seed " << seed << " offset " << offset;
            }
          }
        }
      }
    }
  }
}

TEST(CheckDsp, Interpolate) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  motion::Dsp c;
  motion::init_dsp(c, motion::kCpuLevelC);
  const int widths[] = {4, 8, 12, 16, 20, 24, 32, 48, 64};
  const int heights[] = {1, 3, 4, 8, 12, 24, 64};
  for (int level : levels) {
    motion::Dsp d;
    motion::init_dsp(d, level);
    if (d.interpolate == c.interpolate) continue;
    uint32_t seed = kSeed;
    for (int w : widths) {
      for (int h : heights) {
        const std::string name =
            "interpolate_w" + std::to_string(w) + "_h" + std::to_string(h) + "_" + motion::cpu_level_name(level);
        SCOPED_TRACE(name);
        for (Content content : {Content::random, Content::extremes, Content::white}) {
          const Source src(w + 4, h + 4, content, ++seed);
          for (int fy = 0; fy < motion::kSubpelPhases; ++fy) {
            for (int fx = 0; fx < motion::kSubpelPhases; ++fx) {
              Guarded<uint8_t> ref(w, h, kSentinel), out(w, h, kSentinel);
              c.interpolate(ref.at(0, 0), ref.stride, src.at(1, 1), src.stride, w, h, fx, fy);
              d.interpolate(out.at(0, 0), out.stride, src.at(1, 1), src.stride, w, h, fx, fy);
              ASSERT_EQ(out.data, ref.data) << "phase " << fx << "," << fy << " seed " << seed;
            }
          }
        }
      }
    }
  }
}

TEST(CheckDsp, InterpolateMatchesHandComputedValues) {
  // The C specification itself: half-pel between 0 and 255 on a step edge, and whole-pel identity.
  std::vector<uint8_t> src(8 * 8, 0);
  for (int y = 0; y < 8; ++y) {
    for (int x = 4; x < 8; ++x) src[y * 8 + x] = 255;
  }
  uint8_t out[4 * 4];
  motion::interpolate_c(out, 4, src.data() + 8 + 2, 8, 4, 1, 8, 0);  // outputs at x = 2.5 .. 5.5
  // x = 2.5: taps 1..4 = (0, 0, 0, 255) * (-4, 36, 36, -4) = -1020 -> (-1020 + 32) >> 6 = -16 -> 0
  // x = 3.5: taps 2..5 = (0, 0, 255, 255) -> 32 * 255 = 8160 -> 128
  // x = 4.5: (0, 255, 255, 255) -> 68 * 255 = 17340 -> 271 -> 255
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 128);
  EXPECT_EQ(out[2], 255);
  EXPECT_EQ(out[3], 255);
  motion::interpolate_c(out, 4, src.data() + 8 + 2, 8, 4, 4, 0, 0);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) EXPECT_EQ(out[y * 4 + x], src[(y + 1) * 8 + x + 2]);
  }
  for (const auto& taps : motion::kSubpelFilters) EXPECT_EQ(taps[0] + taps[1] + taps[2] + taps[3], 64);
}

TEST(CheckDsp, Sub) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  motion::Dsp c;
  motion::init_dsp(c, motion::kCpuLevelC);
  for (int level : levels) {
    motion::Dsp d;
    motion::init_dsp(d, level);
    if (d.sub == c.sub) continue;
    SCOPED_TRACE(std::string("sub_") + motion::cpu_level_name(level));
    uint32_t seed = kSeed;
    for (int w = 1; w <= 40; ++w) {
      for (int h : {1, 4, 8, 16}) {
        for (Content content : {Content::random, Content::extremes}) {
          const Source a(w, h, content, ++seed),
              b(w, h, content == Content::random ? Content::random : Content::white, ++seed);
          Guarded<int16_t> ref(w, h, int16_t{0x5A5A}), out(w, h, int16_t{0x5A5A});
          c.sub(ref.at(0, 0), ref.stride, a.at(0, 0), a.stride, b.at(0, 0), b.stride, w, h);
          d.sub(out.at(0, 0), out.stride, a.at(0, 0), a.stride, b.at(0, 0), b.stride, w, h);
          ASSERT_EQ(out.data, ref.data) << "w " << w << " h " << h << " seed " << seed;
        }
      }
    }
  }
}

TEST(CheckDsp, UpscaleRow) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  reuse::Dsp c;
  reuse::init_dsp(c, motion::kCpuLevelC);
  for (int level : levels) {
    reuse::Dsp d;
    reuse::init_dsp(d, level);
    if (d.upscale_row == c.upscale_row) continue;
    SCOPED_TRACE(std::string("upscale_row_") + motion::cpu_level_name(level));
    std::mt19937 rng(kSeed);
    for (int source : {1, 2, 7, 8, 9, 15, 16, 23, 40, 64, 83, 640}) {
      for (int scale = 1; scale <= 4; ++scale) {
        for (int block : {0, 4, 8, 16}) {
          for (int trim : {0, 1}) {  // odd chroma: one output fewer than source * scale
            const int outputs = source * scale - (trim && source * scale > 1 ? 1 : 0);
            reuse::AxisTable table;
            table.build(source, scale, outputs, block);
            // The source row is exactly `source` long, so an over-read would leave the vector (ASan).
            for (int extreme = 0; extreme < 2; ++extreme) {
              std::vector<int16_t> src(source);
              for (auto& v : src) {
                v = static_cast<int16_t>(extreme ? ((rng() & 1) ? 255 : -255) : static_cast<int>(rng() % 511) - 255);
              }
              Guarded<int16_t> ref(outputs, 1, int16_t{0x5A5A}), out(outputs, 1, int16_t{0x5A5A});
              c.upscale_row(ref.at(0, 0), src.data(), table.view(), outputs);
              d.upscale_row(out.at(0, 0), src.data(), table.view(), outputs);
              ASSERT_EQ(out.data, ref.data)
                  << "source " << source << " scale " << scale << " block " << block << " outputs " << outputs;
            }
          }
        }
      }
    }
  }
}

TEST(CheckDsp, AddRows) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  reuse::Dsp c;
  reuse::init_dsp(c, motion::kCpuLevelC);
  for (int level : levels) {
    reuse::Dsp d;
    reuse::init_dsp(d, level);
    if (d.add_rows == c.add_rows) continue;
    SCOPED_TRACE(std::string("add_rows_") + motion::cpu_level_name(level));
    std::mt19937 rng(kSeed);
    for (int width : {1, 5, 15, 16, 17, 33, 64, 100, 1920}) {
      for (int weight = 0; weight < 32; weight += (width > 100 ? 7 : 1)) {
        for (int extreme = 0; extreme < 3; ++extreme) {
          std::vector<int16_t> top(width), bottom(width);
          Guarded<uint8_t> ref(width, 1, kSentinel);
          for (int x = 0; x < width; ++x) {
            switch (extreme) {
              case 0:  // residual noise
                top[x] = static_cast<int16_t>(static_cast<int>(rng() % 511) - 255);
                bottom[x] = static_cast<int16_t>(static_cast<int>(rng() % 511) - 255);
                break;
              case 1:  // full swings, both signs
                top[x] = (rng() & 1) ? 255 : -255;
                bottom[x] = (rng() & 1) ? 255 : -255;
                break;
              default:  // intra samples on a zero prediction
                top[x] = static_cast<int16_t>(rng() % 256);
                bottom[x] = static_cast<int16_t>(rng() % 256);
                break;
            }
            *ref.at(x, 0) = extreme == 2 ? 0 : static_cast<uint8_t>(rng());
          }
          Guarded<uint8_t> out = ref;
          c.add_rows(ref.at(0, 0), top.data(), bottom.data(), weight, width);
          d.add_rows(out.at(0, 0), top.data(), bottom.data(), weight, width);
          ASSERT_EQ(out.data, ref.data) << "width " << width << " weight " << weight << " case " << extreme;
        }
      }
    }
  }
}

TEST(CheckDsp, ObmcBlend) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  reuse::Dsp c;
  reuse::init_dsp(c, motion::kCpuLevelC);
  for (int level : levels) {
    reuse::Dsp d;
    reuse::init_dsp(d, level);
    if (d.obmc_blend == c.obmc_blend) continue;
    SCOPED_TRACE(std::string("obmc_blend_") + motion::cpu_level_name(level));
    std::mt19937 rng(kSeed);
    for (int w : {1, 2, 3, 4, 6, 8, 12, 16, 17, 24, 32}) {
      for (int h : {1, 2, 6, 12, 32}) {
        for (int content = 0; content < 3; ++content) {
          const int stride = w + 3;
          std::vector<uint8_t> planes[4];
          const uint8_t* p[4];
          for (int k = 0; k < 4; ++k) {
            planes[k].resize(static_cast<size_t>(stride) * h);
            for (auto& v : planes[k]) {
              v = content == 0 ? static_cast<uint8_t>(rng()) : (content == 1 ? 255 : ((rng() & 1) ? 255 : 0));
            }
            p[k] = planes[k].data();
          }
          std::vector<uint8_t> wx(w), wy(h);
          for (auto& v : wx) v = static_cast<uint8_t>(1 + rng() % 63);  // [1, 63]
          for (auto& v : wy) v = static_cast<uint8_t>(1 + rng() % 63);
          if (content == 1) {
            wx[0] = 63;
            wy[0] = 1;
          }
          Guarded<uint8_t> ref(w, h, kSentinel), out(w, h, kSentinel);
          c.obmc_blend(ref.at(0, 0), ref.stride, p, stride, wx.data(), wy.data(), w, h);
          d.obmc_blend(out.at(0, 0), out.stride, p, stride, wx.data(), wy.data(), w, h);
          ASSERT_EQ(out.data, ref.data) << "w " << w << " h " << h << " content " << content;
        }
      }
    }
  }
}

TEST(CheckDsp, ObmcBlendMatchesHandComputedValues) {
  // wx = 48 (left 3/4), wy = 16 (top 1/4): top = 48 * 100 + 16 * 200 = 8000, bottom = 48 * 0 + 16 * 40 = 640;
  // (8000 * 16 + 32) >> 6 = 2000, (640 * 48 + 32) >> 6 = 480; (2480 + 32) >> 6 = 39.
  const uint8_t a = 100, b = 200, c = 0, d = 40;
  const uint8_t* p[4] = {&a, &b, &c, &d};
  const uint8_t wx = 48, wy = 16;
  uint8_t out = 0;
  reuse::obmc_blend_c(&out, 1, p, 1, &wx, &wy, 1, 1);
  EXPECT_EQ(out, 39);
}

TEST(CheckDsp, ProjectAndDownscaleRow) {
  const std::vector<int> levels = simd_levels();
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this host";
  reuse::Dsp c;
  reuse::init_dsp(c, motion::kCpuLevelC);
  for (int level : levels) {
    reuse::Dsp d;
    reuse::init_dsp(d, level);
    if (d.project_row == c.project_row) continue;
    SCOPED_TRACE(std::string("project_row_and_downscale_row_") + motion::cpu_level_name(level));
    std::mt19937 rng(kSeed);
    for (int scale = 1; scale <= 4; ++scale) {
      for (int width : {1, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 100, 640}) {
        for (int content = 0; content < 3; ++content) {
          // HR rows exactly scale * width long and LR exactly width: an over-read leaves the vectors (ASan).
          std::vector<uint8_t> hr(static_cast<size_t>(scale) * scale * width), lr(width);
          for (auto& v : hr)
            v = content == 0 ? static_cast<uint8_t>(rng()) : (content == 1 ? 255 : ((rng() & 1) ? 255 : 0));
          for (auto& v : lr) v = content == 1 ? 0 : static_cast<uint8_t>(rng());
          Guarded<int16_t> ref(width, 1, int16_t{0x5A5A}), out(width, 1, int16_t{0x5A5A});
          c.project_row(ref.at(0, 0), lr.data(), hr.data(), scale * width, scale, width);
          d.project_row(out.at(0, 0), lr.data(), hr.data(), scale * width, scale, width);
          ASSERT_EQ(out.data, ref.data) << "project_row scale " << scale << " width " << width << " content "
                                        << content;
          if (d.downscale_row == c.downscale_row) continue;
          Guarded<uint8_t> ref8(width, 1, kSentinel), out8(width, 1, kSentinel);
          c.downscale_row(ref8.at(0, 0), hr.data(), scale * width, scale, width);
          d.downscale_row(out8.at(0, 0), hr.data(), scale * width, scale, width);
          ASSERT_EQ(out8.data, ref8.data) << "downscale_row scale " << scale << " width " << width;
        }
      }
    }
  }
}

TEST(CheckDsp, ProjectRowMatchesHandComputedValues) {
  // Scale 3: the box of LR sample 0 holds 0..8 (sum 36, mean 4), LR 10 -> residual 6; sample 1 holds 255s
  // except one 0 (sum 2040, (2040 + 4) / 9 = 227), LR 200 -> -27.
  std::vector<uint8_t> hr(3 * 6, 255);
  for (int j = 0; j < 3; ++j) {
    for (int i = 0; i < 3; ++i) hr[j * 6 + i] = static_cast<uint8_t>(j * 3 + i);
  }
  hr[1 * 6 + 4] = 0;
  const uint8_t lr[2] = {10, 200};
  int16_t out[2];
  reuse::project_row_c(out, lr, hr.data(), 6, 3, 2);
  EXPECT_EQ(out[0], 6);
  EXPECT_EQ(out[1], -27);
  uint8_t mean[2];
  reuse::downscale_row_c(mean, hr.data(), 6, 3, 2);
  EXPECT_EQ(mean[0], 4);
  EXPECT_EQ(mean[1], 227);
}

TEST(CheckDsp, AxisTableFollowsReferenceBilinear) {
  // Reference §7.4 at scale 3: in = (x + 0.5) / 3 - 0.5, weight floor(frac * 32), block-local clamping.
  reuse::AxisTable block;
  block.build(16, 3, 48, 8);
  EXPECT_EQ(block.left(0), 0);  // in = -1/3: clamped
  EXPECT_EQ(block.right(0), 0);
  EXPECT_EQ(block.left(1), 0);  // in = 0
  EXPECT_EQ(block.right(1), 0);
  EXPECT_EQ(block.weight(1), 0);
  EXPECT_EQ(block.left(2), 0);  // in = 1/3
  EXPECT_EQ(block.right(2), 1);
  EXPECT_EQ(block.weight(2), 10);
  EXPECT_EQ(block.left(3), 0);  // in = 2/3
  EXPECT_EQ(block.right(3), 1);
  EXPECT_EQ(block.weight(3), 21);
  EXPECT_EQ(block.left(23), 7);  // in = 7 + 1/3, but the block ends at 7
  EXPECT_EQ(block.right(23), 7);
  EXPECT_EQ(block.left(24), 8);  // in = 7 + 2/3: the next block starts at 8
  EXPECT_EQ(block.right(24), 8);
  reuse::AxisTable frame;
  frame.build(16, 3, 48, 0);
  EXPECT_EQ(frame.left(23), 7);
  EXPECT_EQ(frame.right(23), 8);
  EXPECT_EQ(frame.weight(23), 10);
  EXPECT_EQ(frame.left(24), 7);
  EXPECT_EQ(frame.right(24), 8);
  EXPECT_EQ(frame.weight(24), 21);
  EXPECT_EQ(frame.left(47), 15);
  EXPECT_EQ(frame.right(47), 15);
  // Row arithmetic: x = 3 has L = 10, R = 40, w = 21 -> 10 + ((30 * 21 + 16) >> 5) = 30.
  const int16_t src[2] = {10, 40};
  reuse::AxisTable two;
  two.build(2, 3, 6, 0);
  int16_t out[6];
  reuse::upscale_row_c(out, src, two.view(), 6);
  const int16_t expected[6] = {10, 10, 19, 30, 40, 40};  // x = 2: 10 + ((30 * 10 + 16) >> 5) = 19
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], expected[i]) << i;
}

}  // namespace
}  // namespace ns
