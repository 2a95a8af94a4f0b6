// Motion estimation: exact vectors on known whole-pel and quarter-pel translations (interior blocks), the
// choice between references, intra on new content, external candidates, the residual against a hand-made
// prediction with replicated edges, and clear errors for bad sizes, settings and missing frames; decoder vectors
// as candidates (and alone); threads give the same field as one thread.
#include "ns/motion/motion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "support/fixtures.h"

namespace ns {
namespace {

using motion::MotionVector;

// A smooth texture: a sum of oriented sinusoids (at most 0.2 cycles per pixel) sampled at (x + ox, y + oy).
core::Frame smooth_frame(int w, int h, double ox, double oy, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> freq(-0.2, 0.2), phase(0, 2 * std::numbers::pi);
  struct Wave {
    double kx, ky, ph, amp;
  };
  std::vector<Wave> waves[core::kPlaneCount];
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int i = 0; i < 6; ++i) waves[p].push_back({freq(rng), freq(rng), phase(rng), p == 0 ? 18.0 : 9.0});
  }
  core::Frame f(w, h);
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const double step = p == 0 ? 1.0 : 2.0;
    const double off = p == 0 ? 0.0 : 0.5;
    for (int y = 0; y < f.plane_height(p); ++y) {
      for (int x = 0; x < f.plane_width(p); ++x) {
        const double X = x * step + off + ox, Y = y * step + off + oy;
        double v = 128;
        for (const Wave& wv : waves[p]) v += wv.amp * std::sin(2 * std::numbers::pi * (wv.kx * X + wv.ky * Y) + wv.ph);
        f.row(p, y)[x] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return f;
}

// Seeded noise on a large canvas, optionally blurred (box of 2 * blur + 1, twice) into natural-looking
// texture with a correlation length the search can follow; frames are crops at whole-pel offsets.
struct Canvas {
  int w, h;
  std::vector<uint8_t> pixels[core::kPlaneCount];
  Canvas(int width, int height, uint32_t seed, int blur = 0) : w(width), h(height) {
    std::mt19937 rng(seed);
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int pw = p == 0 ? w : w / 2, ph = p == 0 ? h : h / 2;
      std::vector<int> v(static_cast<size_t>(pw) * ph);
      for (auto& x : v) x = static_cast<int>(rng() & 255);
      const int r = p == 0 ? blur : blur / 2;
      for (int pass = 0; pass < 2 * (r > 0 ? 2 : 0); ++pass) {  // horizontal, vertical, horizontal, vertical
        const bool horizontal = pass % 2 == 0;
        std::vector<int> out(v.size());
        for (int y = 0; y < ph; ++y) {
          for (int x = 0; x < pw; ++x) {
            int sum = 0;
            for (int k = -r; k <= r; ++k) {
              const int xx = horizontal ? std::clamp(x + k, 0, pw - 1) : x;
              const int yy = horizontal ? y : std::clamp(y + k, 0, ph - 1);
              sum += v[static_cast<size_t>(yy) * pw + xx];
            }
            out[static_cast<size_t>(y) * pw + x] = sum / (2 * r + 1);
          }
        }
        v.swap(out);
      }
      // Stretch the contrast back after blurring.
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      const int span = std::max(1, *hi - *lo);
      pixels[p].resize(v.size());
      for (size_t i = 0; i < v.size(); ++i) pixels[p][i] = static_cast<uint8_t>((v[i] - *lo) * 255 / span);
    }
  }
  // ox, oy even so that chroma moves by whole samples too.
  core::Frame crop(int fw, int fh, int ox, int oy) const {
    core::Frame f(fw, fh);
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int pw = p == 0 ? w : w / 2;
      const int px = p == 0 ? ox : ox / 2, py = p == 0 ? oy : oy / 2;
      for (int y = 0; y < f.plane_height(p); ++y) {
        for (int x = 0; x < f.plane_width(p); ++x)
          f.row(p, y)[x] = pixels[p][static_cast<size_t>(y + py) * pw + x + px];
      }
    }
    return f;
  }
};

motion::Reference padded(const core::Frame& f, const motion::Estimator& e) {
  motion::Reference r;
  r.assign(f, e.border());
  return r;
}

// Blocks whose whole search footprint stays inside the frame for a vector of up to `margin` pixels.
bool interior(const motion::MotionField& field, int bx, int by, int w, int h, int margin) {
  const int bs = field.block_size;
  return bx * bs >= margin && by * bs >= margin && (bx + 1) * bs + margin <= w && (by + 1) * bs + margin <= h;
}

TEST(Motion, StaticFrameGivesZeroVectorsAndZeroSad) {
  const core::Frame f = smooth_frame(64, 48, 0, 0, 1);
  motion::Estimator est(motion::MotionSettings{}, 64, 48);
  const motion::Reference cur = padded(f, est), ref = padded(f, est);
  const motion::SearchReference refs[] = {{&ref}};
  const motion::MotionField& field = est.estimate(cur, refs);
  ASSERT_EQ(field.blocks_x, 8);
  ASSERT_EQ(field.blocks_y, 6);
  for (const auto& b : field.blocks) {
    EXPECT_EQ(b.ref, 0);
    EXPECT_EQ(b.mv, (MotionVector{0, 0}));
    EXPECT_EQ(b.sad, 0u);
  }
}

TEST(Motion, WholePelTranslationIsExact) {
  const Canvas canvas(256, 192, 7, 3);
  const int w = 128, h = 96;
  // cur(x, y) = canvas(x + 40, y + 30) and ref(x, y) = canvas(x + 34, y + 34), so cur(x, y) = ref(x + 6, y - 4).
  const core::Frame cur_f = canvas.crop(w, h, 40, 30), ref_f = canvas.crop(w, h, 34, 34);
  for (int block : {8, 16}) {
    motion::MotionSettings s;
    s.block_size = block;
    motion::Estimator est(s, w, h);
    const motion::Reference cur = padded(cur_f, est), ref = padded(ref_f, est);
    const motion::SearchReference refs[] = {{&ref}};
    // Two calls: the second also has the temporal candidates of the first.
    for (int call = 0; call < 2; ++call) {
      const motion::MotionField& field = est.estimate(cur, refs);
      int checked = 0;
      for (int by = 0; by < field.blocks_y; ++by) {
        for (int bx = 0; bx < field.blocks_x; ++bx) {
          if (!interior(field, bx, by, w, h, 8)) continue;
          const auto& b = field.at(bx, by);
          EXPECT_EQ(b.mv, (MotionVector{6 * 4, -4 * 4})) << "block " << bx << "," << by << " size " << block;
          EXPECT_EQ(b.sad, 0u);
          ++checked;
        }
      }
      EXPECT_GT(checked, 10);
    }
  }
}

TEST(Motion, QuarterPelTranslationIsExact) {
  const int w = 96, h = 64;
  // cur(x) = T(x + 1.25 + 0.75, ...) relative to ref(x) = T(x + ...): cur(x) = ref(x + (1.25, -0.75)).
  const core::Frame ref_f = smooth_frame(w, h, 10.0, 20.0, 3);
  const core::Frame cur_f = smooth_frame(w, h, 11.25, 19.25, 3);
  motion::Estimator est(motion::MotionSettings{}, w, h);
  const motion::Reference cur = padded(cur_f, est), ref = padded(ref_f, est);
  const motion::SearchReference refs[] = {{&ref}};
  const motion::MotionField& field = est.estimate(cur, refs);
  int checked = 0;
  for (int by = 0; by < field.blocks_y; ++by) {
    for (int bx = 0; bx < field.blocks_x; ++bx) {
      if (!interior(field, bx, by, w, h, 8)) continue;
      EXPECT_EQ(field.at(bx, by).mv, (MotionVector{5, -3})) << "block " << bx << "," << by;
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);
}

TEST(Motion, PicksTheReferenceThatMatches) {
  const Canvas a(160, 120, 11, 3), b(160, 120, 12, 3);
  const core::Frame cur_f = b.crop(64, 48, 20, 20);
  const core::Frame wrong_f = a.crop(64, 48, 20, 20), right_f = b.crop(64, 48, 22, 18);
  motion::Estimator est(motion::MotionSettings{}, 64, 48);
  const motion::Reference cur = padded(cur_f, est), wrong = padded(wrong_f, est), right = padded(right_f, est);
  const motion::SearchReference refs[] = {{&wrong}, {&right}};
  const motion::MotionField& field = est.estimate(cur, refs);
  for (int by = 1; by + 1 < field.blocks_y; ++by) {
    for (int bx = 1; bx + 1 < field.blocks_x; ++bx) {
      EXPECT_EQ(field.at(bx, by).ref, 1);
      EXPECT_EQ(field.at(bx, by).mv, (MotionVector{-2 * 4, 2 * 4}));
    }
  }
}

TEST(Motion, NewContentIsIntra) {
  const Canvas a(64, 48, 21);
  const core::Frame cur_f = smooth_frame(64, 48, 0, 0, 5);  // nothing like the noise reference
  const core::Frame ref_f = a.crop(64, 48, 0, 0);
  motion::Estimator est(motion::MotionSettings{}, 64, 48);
  const motion::Reference cur = padded(cur_f, est), ref = padded(ref_f, est);
  const motion::SearchReference refs[] = {{&ref}};
  const motion::MotionField& field = est.estimate(cur, refs);
  EXPECT_EQ(field.intra_count(), static_cast<int>(field.blocks.size()));
}

TEST(Motion, ExternalCandidatesFindLargeMotion) {
  // Noise gives the search no slope to follow: a 50-pixel move is only found from a candidate.
  const Canvas canvas(256, 160, 31);
  const int w = 96, h = 64;
  const core::Frame cur_f = canvas.crop(w, h, 100, 40), ref_f = canvas.crop(w, h, 50, 40);
  motion::Estimator est(motion::MotionSettings{}, w, h);
  const motion::Reference cur = padded(cur_f, est), ref = padded(ref_f, est);
  const size_t blocks = static_cast<size_t>(w / 8) * (h / 8);
  const std::vector<MotionVector> hints(blocks, MotionVector{50 * 4, 0});
  const motion::SearchReference refs[] = {{&ref, 0, hints}};
  const motion::MotionField& field = est.estimate(cur, refs);
  int checked = 0;
  for (int by = 0; by < field.blocks_y; ++by) {
    for (int bx = 0; bx * 8 + 8 + 50 <= w; ++bx) {  // the match lies inside the reference
      EXPECT_EQ(field.at(bx, by).mv, (MotionVector{200, 0})) << "block " << bx << "," << by;
      EXPECT_EQ(field.at(bx, by).sad, 0u);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5 * 8);
}

TEST(Motion, ResidualIsCurrentMinusReplicatedEdgePrediction) {
  // A hand-made field: intra, zero, and whole-sample vectors (multiples of 8 quarter-pels, so chroma moves by
  // whole samples too) that point outside the frame, where the prediction replicates the reference's edges.
  const int w = 36, h = 20;  // partial blocks at the right and bottom; chroma 18x10
  const Canvas canvas(64, 64, 41);
  const core::Frame cur_f = canvas.crop(w, h, 8, 8), ref_f = canvas.crop(w, h, 0, 2);
  motion::Estimator est(motion::MotionSettings{}, w, h);
  const motion::Reference cur = padded(cur_f, est), ref = padded(ref_f, est);
  const motion::SearchReference refs[] = {{&ref}};
  motion::MotionField field = est.estimate(cur, refs);
  const MotionVector vectors[] = {{0, 0}, {-40, 24}, {64, -8}, {8, 8}, {-16, 64}, {200, -200}};
  for (size_t i = 0; i < field.blocks.size(); ++i) {
    field.blocks[i] = i == 0 ? motion::BlockMotion{} : motion::BlockMotion{vectors[i % 6], 0, 0};
  }
  motion::Residual res;
  est.compute_residual(cur, refs, field, res);
  ASSERT_EQ(res.width, w);
  ASSERT_EQ(res.height, h);
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const int bs = p == 0 ? 8 : 4, div = p == 0 ? 4 : 8;
    for (int y = 0; y < res.plane_height(p); ++y) {
      for (int x = 0; x < res.plane_width(p); ++x) {
        const auto& b = field.at(x / bs, y / bs);
        int expected = cur_f.row(p, y)[x];
        if (!b.intra()) {
          const int rx = std::clamp(x + b.mv.x / div, 0, ref_f.plane_width(p) - 1);
          const int ry = std::clamp(y + b.mv.y / div, 0, ref_f.plane_height(p) - 1);
          expected -= ref_f.row(p, ry)[rx];
        }
        ASSERT_EQ(res.row(p, y)[x], expected) << "plane " << p << " at " << x << "," << y;
      }
    }
  }
}

TEST(Motion, SubpelResidualUsesTheSharedInterpolation) {
  const core::Frame cur_f = smooth_frame(32, 32, 0, 0, 2), ref_f = smooth_frame(32, 32, 0.5, 0, 2);
  motion::Estimator est(motion::MotionSettings{}, 32, 32);
  const motion::Reference cur = padded(cur_f, est), ref = padded(ref_f, est);
  const motion::SearchReference refs[] = {{&ref}};
  motion::MotionField field = est.estimate(cur, refs);
  for (auto& b : field.blocks) b = motion::BlockMotion{MotionVector{5, -3}, 0, 0};  // (1.25, -0.75) luma
  motion::Residual res;
  est.compute_residual(cur, refs, field, res);
  const motion::InterpolateFn interp = motion::interpolate_kernel(motion::kCpuLevelC);
  // Block (1, 1): luma 1.25 = 1 + 4/16 and -0.75 = -1 + 4/16, so (8 + 1, 8 - 1) with phases (4, 4);
  // chroma 5/8 = 0 + 10/16 and -3/8 = -1 + 10/16, so (4 + 0, 4 - 1) with phases (10, 10).
  uint8_t pred[8 * 8];
  interp(pred, 8, ref.origin(0) + 7 * ref.stride(0) + 9, ref.stride(0), 8, 8, 4, 4);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) ASSERT_EQ(res.row(0, 8 + y)[8 + x], cur_f.row(0, 8 + y)[8 + x] - pred[y * 8 + x]);
  }
  interp(pred, 4, ref.origin(1) + 3 * ref.stride(1) + 4, ref.stride(1), 4, 4, 10, 10);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) ASSERT_EQ(res.row(1, 4 + y)[4 + x], cur_f.row(1, 4 + y)[4 + x] - pred[y * 4 + x]);
  }
}

TEST(Motion, OddSizesAndTinyFramesWork) {
  for (auto [w, h] : {std::pair{1, 1}, std::pair{7, 5}, std::pair{37, 23}}) {
    const core::Frame a = smooth_frame(w, h, 0, 0, 9), b = smooth_frame(w, h, 1.5, 0.25, 9);
    motion::Estimator est(motion::MotionSettings{}, w, h);
    const motion::Reference cur = padded(b, est), ref = padded(a, est);
    const motion::SearchReference refs[] = {{&ref}};
    const motion::MotionField& field = est.estimate(cur, refs);
    EXPECT_EQ(field.blocks_x, (w + 7) / 8);
    motion::Residual res;
    est.compute_residual(cur, refs, field, res);
    EXPECT_EQ(res.planes[1].size(), static_cast<size_t>((w + 1) / 2) * ((h + 1) / 2));
  }
}

TEST(Motion, BadInputGivesClearErrors) {
  const core::Frame f = smooth_frame(32, 32, 0, 0, 1), g = smooth_frame(48, 32, 0, 0, 1);
  motion::Estimator est(motion::MotionSettings{}, 32, 32);
  const motion::Reference cur = padded(f, est), other = padded(g, est);
  motion::Reference thin;
  thin.assign(f, 2);
  motion::Reference empty;
  const motion::SearchReference wrong_size[] = {{&other}};
  EXPECT_EQ(test::error_code_of([&] { est.estimate(cur, wrong_size); }), ErrorCode::mismatch);
  const motion::SearchReference no_border[] = {{&thin}};
  EXPECT_EQ(test::error_code_of([&] { est.estimate(cur, no_border); }), ErrorCode::invalid_argument);
  const motion::SearchReference unassigned[] = {{&empty}};
  EXPECT_EQ(test::error_code_of([&] { est.estimate(cur, unassigned); }), ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([&] { est.estimate(cur, {}); }), ErrorCode::invalid_argument);
  const std::vector<MotionVector> too_few(3);
  const motion::SearchReference short_hints[] = {{&cur, 0, too_few}};
  EXPECT_EQ(test::error_code_of([&] { est.estimate(cur, short_hints); }), ErrorCode::mismatch);
  EXPECT_EQ(test::error_code_of([&] {
              motion::Reference r;
              r.assign(core::Frame(), 8);
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { motion::Estimator(motion::MotionSettings{.block_size = 12}, 32, 32); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { motion::Estimator(motion::MotionSettings{.search_range = 0}, 32, 32); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { motion::Estimator(motion::MotionSettings{}, 0, 32); }), ErrorCode::invalid_argument);
  try {
    est.estimate(cur, wrong_size);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("48x32"), std::string::npos) << e.what();
  }
}

TEST(Motion, CKernelsGiveTheSameFieldAsSimd) {
  const core::Frame a = smooth_frame(80, 48, 3.0, 2.0, 13), b = smooth_frame(80, 48, 4.75, 1.5, 13);
  motion::MotionSettings c_settings;
  c_settings.cpu_level = motion::kCpuLevelC;
  motion::Estimator c_est(c_settings, 80, 48), host_est(motion::MotionSettings{}, 80, 48);
  const motion::Reference cur = padded(b, c_est), ref = padded(a, c_est);
  const motion::SearchReference refs[] = {{&ref}};
  const motion::MotionField& fc = c_est.estimate(cur, refs);
  const motion::MotionField& fh = host_est.estimate(cur, refs);
  for (size_t i = 0; i < fc.blocks.size(); ++i) {
    EXPECT_EQ(fc.blocks[i].mv, fh.blocks[i].mv);
    EXPECT_EQ(fc.blocks[i].sad, fh.blocks[i].sad);
  }
}

// Two references (previous, and an older "anchor" with a cost bias), three frames in a row so that temporal
// candidates are used, noise content with a moving patch so that some blocks are intra: the fields of 2, 3 and
// 5 threads equal the single-thread field block for block.
TEST(Motion, ThreadsGiveTheSameFieldAsOneThread) {
  const Canvas canvas(320, 200, 41, 2), other(320, 200, 42);
  const int w = 120, h = 72;
  auto frame = [&](int n) {
    core::Frame f = canvas.crop(w, h, 40 + 6 * n, 30 - 2 * n);
    const core::Frame patch = other.crop(24, 16, 10 * n, 0);  // new content each frame
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int y = 0; y < patch.plane_height(p); ++y) {
        std::copy_n(patch.row(p, y), patch.plane_width(p), f.row(p, y + (p == 0 ? 40 : 20)) + (p == 0 ? 48 : 24));
      }
    }
    return f;
  };
  std::vector<motion::Estimator> estimators;
  for (int threads : {1, 2, 3, 5}) estimators.emplace_back(motion::MotionSettings{.threads = threads}, w, h);
  std::vector<motion::Reference> frames(4);
  for (int n = 0; n < 4; ++n) frames[n].assign(frame(n), estimators[0].border());
  int intra = 0;
  for (int n = 1; n < 4; ++n) {
    const motion::SearchReference refs[] = {{&frames[n - 1]}, {&frames[0], -64}};
    std::vector<motion::MotionField> fields;
    for (motion::Estimator& e : estimators) fields.push_back(e.estimate(frames[n], refs));
    intra += fields[0].intra_count();
    for (size_t k = 1; k < fields.size(); ++k) {
      for (size_t i = 0; i < fields[0].blocks.size(); ++i) {
        const motion::BlockMotion &a = fields[0].blocks[i], &b = fields[k].blocks[i];
        ASSERT_TRUE(a.mv == b.mv && a.ref == b.ref && a.sad == b.sad && a.intra_sad == b.intra_sad)
            << "frame " << n << " estimator " << k << " block " << i;
      }
    }
    motion::Residual r1, r2;
    estimators[0].compute_residual(frames[n], refs, fields[0], r1);
    estimators[1].compute_residual(frames[n], refs, fields[0], r2);
    for (int p = 0; p < core::kPlaneCount; ++p) EXPECT_EQ(r1.planes[p], r2.planes[p]) << "frame " << n;
  }
  EXPECT_GT(intra, 0);  // the patch made some
  EXPECT_EQ(test::error_code_of([] { motion::Estimator(motion::MotionSettings{.threads = 0}, 32, 32); }),
            ErrorCode::invalid_argument);
}

TEST(Motion, CodedBlocksBecomeOneCandidatePerBlock) {
  // 40x20 frame, 8x8 blocks: 5 x 3 blocks with centres at x = 4, 12, ..., 36 and y = 4, 12, 20.
  const motion::CodedBlock coded[] = {
      {0, 0, 16, 16, MotionVector{4, -8}},    // macroblock 0: blocks (0..1, 0..1)
      {16, 0, 16, 16, MotionVector{-3, 5}},   // macroblock 1: blocks (2..3, 0..1)
      {8, 0, 8, 8, MotionVector{12, 0}},      // an 8x8 partition over block (1, 0), later: wins
      {32, 16, 16, 16, MotionVector{7, 7}},   // bottom right, partly outside the frame: block (4, 2)
      {0, 16, 4, 4, MotionVector{99, 99}},    // a 4x4 partition not covering block (0, 2)'s centre (4, 20)
  };
  std::vector<MotionVector> out;
  motion::block_candidates(coded, 40, 20, 8, out);
  const std::vector<MotionVector> want = {
      {4, -8}, {12, 0}, {-3, 5}, {-3, 5}, {0, 0},  //
      {4, -8}, {4, -8}, {-3, 5}, {-3, 5}, {0, 0},  //
      {0, 0},  {0, 0},  {0, 0},  {0, 0},  {7, 7},
  };
  EXPECT_EQ(out, want);
  // 16x16 blocks: centres at 8, 24 (x) and 8 (y); 40x20 has 3 x 2 blocks.
  motion::block_candidates(coded, 40, 20, 16, out);
  const std::vector<MotionVector> want16 = {{4, -8}, {-3, 5}, {0, 0}, {0, 0}, {0, 0}, {7, 7}};
  EXPECT_EQ(out, want16);
  EXPECT_EQ(test::error_code_of([&] { motion::block_candidates(coded, 0, 20, 8, out); }),
            ErrorCode::invalid_argument);
}

// Without our own search the field holds exactly the given vectors (or zero, or intra), sub-pel ones included.
TEST(Motion, DecoderVectorsAloneAreUsedAsGiven) {
  const core::Frame a = smooth_frame(64, 48, 3.0, 2.0, 21), b = smooth_frame(64, 48, 4.25, 1.5, 21);
  motion::Estimator own(motion::MotionSettings{}, 64, 48);
  motion::Estimator given(motion::MotionSettings{.search = false}, 64, 48);
  const motion::Reference cur = padded(b, own), ref = padded(a, own);
  // The true vector is (+1.25, -0.5) pels = (5, -2) quarter pels; give it to half of the blocks, a wrong one to
  // the others.
  std::vector<MotionVector> hints(own.field().blocks.size());
  for (size_t i = 0; i < hints.size(); ++i) hints[i] = i % 2 ? MotionVector{5, -2} : MotionVector{-12, 8};
  const motion::SearchReference with[] = {{&ref, 0, hints}};
  const motion::MotionField& fg = given.estimate(cur, with);
  const motion::MotionField& fo = own.estimate(cur, with);
  int exact = 0;
  for (size_t i = 0; i < hints.size(); ++i) {
    const motion::BlockMotion& g = fg.blocks[i];
    EXPECT_TRUE(g.intra() || g.mv == hints[i] || g.mv == MotionVector{}) << "block " << i;
    if (i % 2) exact += g.mv == hints[i] ? 1 : 0;
    // Our own search refines the wrong hints: never worse than the hints alone.
    if (!g.intra() && !fo.blocks[i].intra()) {
      EXPECT_LE(fo.blocks[i].sad, g.sad) << "block " << i;
    }
  }
  EXPECT_EQ(exact, static_cast<int>(hints.size() / 2));
}

}  // namespace
}  // namespace ns
