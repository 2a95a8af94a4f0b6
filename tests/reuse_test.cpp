// HR reconstruction: a static scene reproduces its anchor bit-exactly (every mode), SR anchors blend into a chain
// that descends from an anchor as weighted (whole otherwise, and at a scene cut), a sub-pixel translation tracks the
// HR truth and beats bicubic, back-projection beats the faithful NEMO mode, a scene cut is never worse than bicubic,
// C and SIMD agree, odd sizes and other scales work, threads give bit-identical frames, decoder vectors alone track
// a translation, and bad input gives clear errors.
#include "ns/reuse/reuse.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"
#include "ns/motion/motion.h"
#include "support/fixtures.h"

namespace ns {
namespace {

constexpr int kScale = 3;

// A smooth HR texture: oriented sinusoids with a natural 1/f amplitude fall-off, from 0.01 to 0.15 cycles per
// HR pixel (up to 0.45 cycles per LR pixel: detail near the LR Nyquist limit that bicubic up-scaling attenuates
// and the anchor keeps), rendered at any sub-pixel offset with separable sine tables:
// sin(a + b) = sin a cos b + cos a sin b.
class Texture {
 public:
  explicit Texture(uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> radius(0.01, 0.15), angle(0, 2 * std::numbers::pi);
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int i = 0; i < 10; ++i) {
        const double r = radius(rng), a = angle(rng);
        const double amp = std::min(24.0, 0.5 / r) * (p == 0 ? 1.0 : 0.5);
        waves_[p].push_back({r * std::cos(a), r * std::sin(a), angle(rng), amp});
      }
    }
  }

  // The HR frame seen with the texture shifted by (ox, oy) HR pixels: pixel (x, y) shows T(x + ox, y + oy).
  core::Frame render(int w, int h, double ox, double oy) const {
    core::Frame f(w, h);
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const double step = p == 0 ? 1.0 : 2.0, off = p == 0 ? 0.0 : 0.5;
      const int pw = f.plane_width(p), ph = f.plane_height(p);
      std::vector<double> acc(static_cast<size_t>(pw) * ph, 128.0);
      std::vector<double> sa(pw), ca(pw);
      for (const Wave& wv : waves_[p]) {
        for (int x = 0; x < pw; ++x) {
          const double a = 2 * std::numbers::pi * wv.kx * (x * step + off + ox) + wv.ph;
          sa[x] = wv.amp * std::sin(a);
          ca[x] = wv.amp * std::cos(a);
        }
        for (int y = 0; y < ph; ++y) {
          const double b = 2 * std::numbers::pi * wv.ky * (y * step + off + oy);
          const double sb = std::sin(b), cb = std::cos(b);
          double* row = acc.data() + static_cast<size_t>(y) * pw;
          for (int x = 0; x < pw; ++x) row[x] += sa[x] * cb + ca[x] * sb;
        }
      }
      for (int y = 0; y < ph; ++y) {
        for (int x = 0; x < pw; ++x) {
          f.row(p, y)[x] =
              static_cast<uint8_t>(std::lround(std::clamp(acc[static_cast<size_t>(y) * pw + x], 0.0, 255.0)));
        }
      }
    }
    return f;
  }

 private:
  struct Wave {
    double kx, ky, ph, amp;
  };
  std::vector<Wave> waves_[core::kPlaneCount];
};

core::Frame downscale(const core::Frame& hr) {
  return core::resized(hr, hr.width() / kScale, hr.height() / kScale, core::ResizeFilter::area);
}

core::Frame bicubic(const core::Frame& lr) {
  return core::resized(lr, lr.width() * kScale, lr.height() * kScale, core::ResizeFilter::bicubic);
}

struct SequenceQuality {
  double min_reuse = 1e9, mean_reuse = 0, mean_bicubic = 0, min_gain = 1e9;
  double first_reuse = 0, first_bicubic = 0;  // frame 1
};

// Frames n = 0 .. count - 1 of a texture moving by (vx, vy) LR pixels per frame; frame 0 is the anchor (the HR
// truth itself). Returns PSNR statistics over frames 1 .. count - 1.
SequenceQuality run_translation(const reuse::ReuseSettings& settings, int lr_w, int lr_h, double vx, double vy,
                                int count) {
  const Texture texture(17);
  reuse::Reconstructor rec(settings, lr_w, lr_h);
  SequenceQuality q;
  for (int n = 0; n < count; ++n) {
    const core::Frame truth = texture.render(lr_w * kScale, lr_h * kScale, kScale * vx * n, kScale * vy * n);
    core::Frame lr = downscale(truth);
    lr.index = n;
    const core::Frame& out = rec.push(lr, n == 0 ? &truth : nullptr);
    if (n == 0) continue;
    EXPECT_EQ(rec.last_stats().kind, reuse::FrameKind::reused) << "frame " << n;
    const double reuse_db = core::psnr_pooled(truth, out);
    const double bicubic_db = core::psnr_pooled(truth, bicubic(lr));
    q.min_reuse = std::min(q.min_reuse, reuse_db);
    q.mean_reuse += reuse_db / (count - 1);
    q.mean_bicubic += bicubic_db / (count - 1);
    q.min_gain = std::min(q.min_gain, reuse_db - bicubic_db);
    if (n == 1) {
      q.first_reuse = reuse_db;
      q.first_bicubic = bicubic_db;
    }
  }
  return q;
}

TEST(Reuse, StaticSceneReproducesTheAnchorExactly) {
  const Texture texture(3);
  const core::Frame truth = texture.render(96, 72, 0, 0);
  const core::Frame lr = downscale(truth);
  // The anchor need not be the truth: any HR image must come back unchanged while nothing moves.
  core::Frame anchor = truth.clone();
  for (int y = 0; y < anchor.height(); y += 7) anchor.row(0, y)[y % anchor.width()] ^= 0x55;
  for (int variant = 0; variant < 4; ++variant) {
    const auto mode = variant % 2 ? reuse::ResidualUpscale::block_bilinear : reuse::ResidualUpscale::frame_bilinear;
    const auto source = variant / 2 ? reuse::ResidualSource::lr_prediction : reuse::ResidualSource::hr_projection;
    reuse::Reconstructor rec(reuse::ReuseSettings{.residual_upscale = mode, .residual_source = source}, lr.width(),
                             lr.height());
    EXPECT_TRUE(test::same_pixels(rec.push(lr, &anchor), anchor));
    EXPECT_EQ(rec.last_stats().kind, reuse::FrameKind::anchor);
    for (int n = 1; n <= 10; ++n) {
      core::Frame next = lr.clone();
      next.index = n;
      const core::Frame& out = rec.push(next);
      EXPECT_TRUE(test::same_pixels(out, anchor)) << "frame " << n << " variant " << variant;
      EXPECT_EQ(out.index, n);
      EXPECT_EQ(rec.last_stats().intra_blocks, 0);
    }
  }
}

// The image with a pattern added that each 3 x 3 box (scale 3) sums to zero (+a, -a, 0 along x, left out where it
// would clip): it differs from `image` only above the LR band, and its area down-scale is the same.
core::Frame with_detail_above_lr_band(const core::Frame& image, int a) {
  core::Frame out = image.clone();
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < out.plane_height(p); ++y) {
      uint8_t* row = out.row(p, y);
      for (int x = 0; x + 1 < out.plane_width(p); x += 3) {
        if (row[x] + a <= 255 && row[x + 1] - a >= 0) {
          row[x] = static_cast<uint8_t>(row[x] + a);
          row[x + 1] = static_cast<uint8_t>(row[x + 1] - a);
        }
      }
    }
  }
  return out;
}

// Mean absolute difference of two LR images, all planes.
double mean_abs_difference(const core::Frame& a, const core::Frame& b) {
  double sum = 0;
  int64_t count = 0;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < a.plane_height(p); ++y) {
      for (int x = 0; x < a.plane_width(p); ++x) sum += std::abs(a.row(p, y)[x] - b.row(p, y)[x]);
      count += a.plane_width(p);
    }
  }
  return sum / static_cast<double>(count);
}

TEST(Reuse, SrAnchorsAreBlendedIntoTheChainExceptAtACut) {
  const Texture texture(4), other(12);
  const core::Frame truth = texture.render(96, 72, 0, 0);
  core::Frame lr = downscale(truth);
  // Two anchors of the same static frame that differ above the LR band only (two SR models' guesses at the detail,
  // say); the chain's has more detail, so the detail rule leaves the share at its base.
  const core::Frame first = with_detail_above_lr_band(truth, 40);
  const core::Frame& second = truth;
  ASSERT_TRUE(test::same_pixels(downscale(first), lr));
  for (const double weight : {0.25, 1.0}) {
    reuse::Reconstructor rec(reuse::ReuseSettings{.anchor_weight = weight}, lr.width(), lr.height());
    EXPECT_TRUE(test::same_pixels(rec.push(lr, &first), first));  // no chain yet: the anchor whole
    lr.index = 1;
    const core::Frame& out = rec.push(lr, &second);
    EXPECT_EQ(rec.last_stats().kind, reuse::FrameKind::anchor);
    // The static chain predicts the first anchor exactly and the two share their LR band, so the blend is known
    // sample by sample.
    const int w = static_cast<int>(std::lround(weight * 256));
    int wrong = 0;
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int y = 0; y < out.plane_height(p); ++y) {
        for (int x = 0; x < out.plane_width(p); ++x) {
          const int expected = (second.row(p, y)[x] * w + first.row(p, y)[x] * (256 - w) + 128) >> 8;
          wrong += out.row(p, y)[x] != expected;
        }
      }
    }
    EXPECT_EQ(wrong, 0) << "weight " << weight;
  }
  // An anchor whose LR band differs from the chain's (here its negative, which has the same detail): the blended
  // frame takes its LR band from the anchor, not a quarter of it. (Blending the whole band would leave 0.75 of the
  // difference; one back-projection through the bilinear residual up-scale leaves a measured 0.09.)
  {
    core::Frame negative = truth.clone();
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int y = 0; y < negative.plane_height(p); ++y) {
        uint8_t* row = negative.row(p, y);
        for (int x = 0; x < negative.plane_width(p); ++x) row[x] = static_cast<uint8_t>(255 - row[x]);
      }
    }
    reuse::Reconstructor rec(reuse::ReuseSettings{.anchor_weight = 0.25}, lr.width(), lr.height());
    rec.push(lr, &truth);
    const core::Frame blended = rec.push(lr, &negative).clone();
    EXPECT_FALSE(test::same_pixels(blended, negative));  // blended above the LR band, not replaced
    const double left = mean_abs_difference(downscale(blended), downscale(negative));
    const double before = mean_abs_difference(lr, downscale(negative));
    EXPECT_LT(left, 0.2 * before) << "LR band left from the chain: " << left / before;
  }
  // Where the chain holds much less detail than the new anchor (here the first anchor had half the contrast: half
  // the Laplacian), the new anchor is taken whole rather than averaged with the washed-out picture.
  {
    core::Frame faint = truth.clone();
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int y = 0; y < faint.plane_height(p); ++y) {
        uint8_t* row = faint.row(p, y);
        for (int x = 0; x < faint.plane_width(p); ++x) row[x] = static_cast<uint8_t>((row[x] + 128) / 2);
      }
    }
    reuse::Reconstructor rec(reuse::ReuseSettings{.anchor_weight = 0.25}, lr.width(), lr.height());
    rec.push(downscale(faint), &faint);
    EXPECT_TRUE(test::same_pixels(rec.push(downscale(faint), &truth), truth));
  }
  // A chain that started from a bicubic up-scale holds no anchor: the first anchor is taken whole.
  {
    reuse::Reconstructor rec(reuse::ReuseSettings{.anchor_weight = 0.25}, lr.width(), lr.height());
    rec.push(lr);
    EXPECT_EQ(rec.last_stats().kind, reuse::FrameKind::upscaled);
    EXPECT_TRUE(test::same_pixels(rec.push(lr, &second), second));
  }
  // At a scene cut the chain holds nothing of the new scene: the anchor is taken whole.
  reuse::Reconstructor rec(reuse::ReuseSettings{.anchor_weight = 0.25}, lr.width(), lr.height());
  rec.push(lr, &truth);
  const core::Frame cut_truth = other.render(96, 72, 0, 0);
  core::Frame cut = downscale(cut_truth);
  cut.index = 2;
  EXPECT_TRUE(test::same_pixels(rec.push(cut, &cut_truth), cut_truth));
  EXPECT_TRUE(rec.last_stats().scene_cut);
  EXPECT_THROW(reuse::Reconstructor(reuse::ReuseSettings{.anchor_weight = 0}, 8, 8), Error);
}

// Measured on this content (LR 96x64, 0.25 px/frame in x and 0.5 in y, 40 frames after a true anchor): reuse
// min 46.32 dB, mean 47.71 dB; bicubic mean 40.04 dB; the smallest per-frame gain over bicubic 6.25 dB.
// The bounds keep a margin of about 2 dB.
TEST(Reuse, SubpelTranslationTracksTheTruthAndBeatsBicubic) {
  const SequenceQuality q = run_translation(reuse::ReuseSettings{}, 96, 64, 0.25, 0.5, 41);
  RecordProperty("min_psnr_db", std::to_string(q.min_reuse));
  RecordProperty("mean_psnr_db", std::to_string(q.mean_reuse));
  RecordProperty("mean_bicubic_db", std::to_string(q.mean_bicubic));
  std::printf("translation: reuse min %.2f dB mean %.2f dB, bicubic mean %.2f dB, min gain %.2f dB\n", q.min_reuse,
              q.mean_reuse, q.mean_bicubic, q.min_gain);
  EXPECT_GE(q.min_reuse, 44.0);
  EXPECT_GT(q.min_gain, 4.0);
  EXPECT_GT(q.mean_reuse, q.mean_bicubic + 5.0);
}

// The faithful NEMO mode (LR residual, block-local bilinear) adds the LR prediction's interpolation error to an
// already good HR prediction and never corrects HR errors (open loop): it starts well above bicubic and decays.
// Back-projection (the default source) keeps every frame consistent with its LR frame. Measured here:
// back-projection 47.73 dB (block-local) / 47.71 dB (frame-wide) mean; faithful 46.11 dB at frame 1, 34.51 dB
// mean, 26.6 dB at frame 40.
TEST(Reuse, BackProjectionBeatsTheFaithfulModeOnTranslation) {
  reuse::ReuseSettings faithful;
  faithful.residual_source = reuse::ResidualSource::lr_prediction;
  faithful.residual_upscale = reuse::ResidualUpscale::block_bilinear;
  faithful.obmc = false;
  reuse::ReuseSettings projected_block;
  projected_block.residual_upscale = reuse::ResidualUpscale::block_bilinear;
  const SequenceQuality qf = run_translation(faithful, 96, 64, 0.25, 0.5, 41);
  const SequenceQuality qb = run_translation(projected_block, 96, 64, 0.25, 0.5, 41);
  const SequenceQuality qd = run_translation(reuse::ReuseSettings{}, 96, 64, 0.25, 0.5, 41);
  std::printf(
      "faithful: first %.2f dB mean %.2f dB; back-projection block-local: mean %.2f dB min %.2f dB; "
      "frame-wide: mean %.2f dB min %.2f dB\n",
      qf.first_reuse, qf.mean_reuse, qb.mean_reuse, qb.min_reuse, qd.mean_reuse, qd.min_reuse);
  EXPECT_GT(qf.first_reuse, qf.first_bicubic + 3.0);  // the faithful path works: one step from a true anchor
  EXPECT_GE(qb.min_reuse, 44.0);
  EXPECT_GT(qb.mean_reuse, qf.mean_reuse + 3.0);
  EXPECT_GT(qd.mean_reuse, qf.mean_reuse + 3.0);
}

TEST(Reuse, SceneCutIsNeverWorseThanBicubic) {
  const Texture a(5), b(6);
  const int lw = 96, lh = 64;
  reuse::Reconstructor rec(reuse::ReuseSettings{}, lw, lh);
  for (int n = 0; n < 16; ++n) {
    const Texture& t = n < 8 ? a : b;  // the cut is at frame 8
    const core::Frame truth = t.render(lw * kScale, lh * kScale, 0.75 * n, 1.5 * n);
    core::Frame lr = downscale(truth);
    lr.index = n;
    const core::Frame& out = rec.push(lr, n == 0 ? &truth : nullptr);
    if (n < 8) continue;
    const double reuse_db = core::psnr_pooled(truth, out);
    const double bicubic_db = core::psnr_pooled(truth, bicubic(lr));
    std::printf("frame %d: reuse %.2f dB bicubic %.2f dB kind %s\n", n, reuse_db, bicubic_db,
                reuse::frame_kind_name(rec.last_stats().kind));
    EXPECT_GE(reuse_db, bicubic_db - 0.1) << "frame " << n;
    if (n == 8) {
      EXPECT_TRUE(rec.last_stats().scene_cut);
    }
  }
}

TEST(Reuse, FirstFrameWithoutAnchorIsBicubicAndStartsTheChain) {
  const Texture t(8);
  const core::Frame lr0 = downscale(t.render(96, 48, 0, 0));
  reuse::Reconstructor rec(reuse::ReuseSettings{}, lr0.width(), lr0.height());
  EXPECT_TRUE(test::same_pixels(rec.push(lr0), bicubic(lr0)));
  EXPECT_EQ(rec.last_stats().kind, reuse::FrameKind::upscaled);
  EXPECT_FALSE(rec.last_stats().scene_cut);
  // The same frame again is reused from that up-scale, and back-projection brings its down-scale closer to the
  // LR frame than the bicubic up-scale's.
  const core::Frame& again = rec.push(lr0);
  EXPECT_EQ(rec.last_stats().kind, reuse::FrameKind::reused);
  EXPECT_GT(core::psnr_pooled(lr0, downscale(again)), core::psnr_pooled(lr0, downscale(bicubic(lr0))) + 1.0);
  // reset() forgets the chain.
  rec.reset();
  rec.push(lr0);
  EXPECT_EQ(rec.last_stats().kind, reuse::FrameKind::upscaled);
}

TEST(Reuse, CAndSimdKernelsGiveIdenticalFrames) {
  const Texture t(9);
  for (auto mode : {reuse::ResidualUpscale::frame_bilinear, reuse::ResidualUpscale::block_bilinear}) {
    reuse::Reconstructor c(reuse::ReuseSettings{.residual_upscale = mode, .cpu_level = motion::kCpuLevelC}, 64, 40);
    reuse::Reconstructor host(reuse::ReuseSettings{.residual_upscale = mode}, 64, 40);
    for (int n = 0; n < 6; ++n) {
      const core::Frame truth = t.render(64 * kScale, 40 * kScale, 1.1 * n, -0.7 * n);
      const core::Frame lr = downscale(truth);
      const core::Frame* anchor = n == 0 ? &truth : nullptr;
      EXPECT_TRUE(test::same_pixels(c.push(lr, anchor), host.push(lr, anchor))) << "frame " << n;
    }
  }
}

TEST(Reuse, OddSizesAndOtherScalesWork) {
  const Texture t(10);
  for (int scale : {1, 2, 3, 4}) {
    for (auto [lw, lh] : {std::pair{37, 23}, std::pair{1, 1}, std::pair{9, 17}}) {
      for (int block : {8, 16}) {
        reuse::Reconstructor rec(reuse::ReuseSettings{.scale = scale, .block_size = block}, lw, lh);
        for (int n = 0; n < 4; ++n) {
          const core::Frame truth = t.render(lw * scale, lh * scale, 0.9 * n, 0.4 * n);
          const core::Frame lr = core::resized(truth, lw, lh, core::ResizeFilter::area);
          const core::Frame& out = rec.push(lr, n == 0 ? &truth : nullptr);
          ASSERT_EQ(out.width(), lw * scale);
          ASSERT_EQ(out.height(), lh * scale);
          if (lw > 8) {
            EXPECT_GT(core::psnr_pooled(truth, out), 25.0) << lw << "x" << lh << " scale " << scale << " frame " << n;
          }
        }
      }
    }
  }
}

TEST(Reuse, BadInputGivesClearErrors) {
  const core::Frame lr(32, 16), hr(96, 48), wrong_hr(64, 32), wrong_lr(30, 16);
  reuse::Reconstructor rec(reuse::ReuseSettings{}, 32, 16);
  EXPECT_EQ(rec.hr_width(), 96);
  EXPECT_EQ(rec.hr_height(), 48);
  EXPECT_EQ(test::error_code_of([&] { rec.push(wrong_lr); }), ErrorCode::mismatch);
  EXPECT_EQ(test::error_code_of([&] { rec.push(lr, &wrong_hr); }), ErrorCode::mismatch);
  EXPECT_EQ(test::error_code_of([&] { rec.push(core::Frame()); }), ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { reuse::Reconstructor(reuse::ReuseSettings{.scale = 5}, 32, 16); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { reuse::Reconstructor(reuse::ReuseSettings{.block_size = 4}, 32, 16); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { reuse::Reconstructor(reuse::ReuseSettings{}, 0, 16); }), ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { reuse::parse_residual_upscale("nearest"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(reuse::parse_residual_upscale("block"), reuse::ResidualUpscale::block_bilinear);
  try {
    rec.push(lr, &wrong_hr);
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("64x32"), std::string::npos) << what;
    EXPECT_NE(what.find("96x48"), std::string::npos) << what;
  }
  // After errors the reconstructor still works.
  core::Frame ok = lr.clone();
  ok.fill(100, 128, 128);
  core::Frame anchor = hr.clone();
  anchor.fill(90, 120, 130);
  EXPECT_TRUE(test::same_pixels(rec.push(ok, &anchor), anchor));
}

// A pan with an object moving against it (new content: intra blocks) and a scene cut at frame 6: every thread
// count gives the same frames, in the default and the faithful mode.
TEST(Reuse, ThreadsGiveBitIdenticalFrames) {
  const Texture background(11), object(12), cut(13);
  const int lw = 88, lh = 56;
  std::vector<core::Frame> truths, lrs;
  for (int n = 0; n < 9; ++n) {
    core::Frame truth = (n < 6 ? background : cut).render(lw * kScale, lh * kScale, 1.4 * n, -0.8 * n);
    const core::Frame patch = object.render(60, 45, -5.0 * n, 2.0 * n);
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int sub = p == 0 ? 1 : 2;
      for (int y = 0; y < patch.plane_height(p); ++y) {
        std::copy_n(patch.row(p, y), patch.plane_width(p), truth.row(p, y + 60 / sub) + (90 + 6 * n) / sub);
      }
    }
    lrs.push_back(downscale(truth));
    lrs.back().index = n;
    truths.push_back(std::move(truth));
  }
  for (const bool faithful : {false, true}) {
    reuse::ReuseSettings base;
    if (faithful) {
      base.residual_source = reuse::ResidualSource::lr_prediction;
      base.residual_upscale = reuse::ResidualUpscale::block_bilinear;
      base.obmc = false;
    }
    std::vector<reuse::Reconstructor> recs;
    for (int threads : {1, 2, 3, 7}) {
      reuse::ReuseSettings s = base;
      s.threads = threads;
      recs.emplace_back(s, lw, lh);
    }
    int intra = 0, cuts = 0;
    for (int n = 0; n < 9; ++n) {
      const core::Frame* anchor = n == 0 ? &truths[0] : nullptr;
      const core::Frame first = recs[0].push(lrs[n], anchor).clone();
      intra += recs[0].last_stats().intra_blocks;
      cuts += recs[0].last_stats().scene_cut ? 1 : 0;
      for (size_t k = 1; k < recs.size(); ++k) {
        EXPECT_TRUE(test::same_pixels(recs[k].push(lrs[n], anchor), first))
            << "frame " << n << " reconstructor " << k << (faithful ? " faithful" : "");
      }
    }
    EXPECT_GT(intra, 0);
    EXPECT_EQ(cuts, 1);
  }
  EXPECT_EQ(test::error_code_of([] { reuse::Reconstructor(reuse::ReuseSettings{.threads = 0}, 32, 16); }),
            ErrorCode::invalid_argument);
}

// The decoder's vectors alone (no search of our own): given the true vector for every block, a translation from
// a ground-truth anchor stays far above bicubic. Measured: min 45.82 dB, mean 47.98 dB over 20 frames (bicubic
// mean 40.04 dB); the bound keeps a margin of about 2 dB.
TEST(Reuse, DecoderVectorsAloneTrackATranslation) {
  const Texture texture(17);
  const int lw = 96, lh = 64;
  reuse::ReuseSettings settings;
  settings.motion_search = false;
  reuse::Reconstructor rec(settings, lw, lh);
  // 0.25 and 0.5 LR pixels per frame: frame n shows frame n - 1 moved by (-0.25, -0.5), so the vector to the
  // previous frame is (+1, +2) quarter pels.
  const std::vector<motion::MotionVector> hints(static_cast<size_t>(lw / 8) * (lh / 8), motion::MotionVector{1, 2});
  double min_db = 1e9, mean_db = 0, mean_bicubic = 0;
  for (int n = 0; n < 21; ++n) {
    const core::Frame truth = texture.render(lw * kScale, lh * kScale, kScale * 0.25 * n, kScale * 0.5 * n);
    core::Frame lr = downscale(truth);
    lr.index = n;
    const core::Frame& out = rec.push(lr, n == 0 ? &truth : nullptr, n == 0 ? std::span<const motion::MotionVector>{}
                                                                             : std::span(hints));
    if (n == 0) continue;
    const double db = core::psnr_pooled(truth, out);
    min_db = std::min(min_db, db);
    mean_db += db / 20;
    mean_bicubic += core::psnr_pooled(truth, bicubic(lr)) / 20;
  }
  std::printf("decoder vectors: min %.2f dB mean %.2f dB, bicubic mean %.2f dB\n", min_db, mean_db, mean_bicubic);
  EXPECT_GE(min_db, 44.0);
  EXPECT_GT(mean_db, mean_bicubic + 5.0);
  // One candidate per block or none.
  const std::vector<motion::MotionVector> wrong(5);
  const core::Frame lr = downscale(texture.render(lw * kScale, lh * kScale, 0, 0));
  EXPECT_EQ(test::error_code_of([&] { rec.push(lr, nullptr, wrong); }), ErrorCode::mismatch);
}

}  // namespace
}  // namespace ns
