// The oracle selector (measured reuse quality), the quantiser estimator, Spearman's rank correlation and the
// oracle / evaluation options of `neuroscaler select`. Expected values are worked out by hand in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ns/anchor/anchor.h"
#include "ns/anchor/oracle.h"
#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"
#include "ns/media/writer.h"
#include "ns/reuse/reuse.h"
#include "support/fixtures.h"

namespace {

using namespace ns;
using namespace ns::anchor;

// ----------------------------------------------------------------------------------------------------------------
// Spearman
// ----------------------------------------------------------------------------------------------------------------

TEST(AnchorSpearman, MonotoneReversedTiedAndDegenerate) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(spearman_correlation(a, std::vector<double>{10, 20, 30, 40, 1000}), 1.0);
  EXPECT_DOUBLE_EQ(spearman_correlation(a, std::vector<double>{5, 4, 3, 2, 1}), -1.0);
  // b = 5, 6, 7, 8, 7: ranks 1, 2, 3.5, 5, 3.5 (ties averaged); a's ranks 1..5, mean 3 for both.
  // ra - 3 = -2, -1, 0, 1, 2; rb - 3 = -2, -1, 0.5, 2, 0.5: sum of products 4 + 1 + 0 + 2 + 1 = 8;
  // sum (ra - 3)^2 = 10; sum (rb - 3)^2 = 4 + 1 + 0.25 + 4 + 0.25 = 9.5; rho = 8 / sqrt(10 * 9.5).
  EXPECT_NEAR(spearman_correlation(a, std::vector<double>{5, 6, 7, 8, 7}), 8.0 / std::sqrt(95.0), 1e-12);
  EXPECT_TRUE(std::isnan(spearman_correlation(a, std::vector<double>{3, 3, 3, 3, 3})));
  EXPECT_TRUE(std::isnan(spearman_correlation(std::vector<double>{1}, std::vector<double>{2})));
}

// ----------------------------------------------------------------------------------------------------------------
// Quantiser estimator
// ----------------------------------------------------------------------------------------------------------------

media::CodedFrame h264_frame(int64_t index, uint32_t bytes, int qp) {
  media::CodedFrame f;
  f.decode_index = index;
  f.display_index = index;
  f.bytes = bytes;
  f.base_q_index = qp;
  f.slice_type = 'P';
  return f;
}

TEST(AnchorEstimator, QuantiserStepsAreHandComputed) {
  // H.264: 0.625 x 2^(QP / 6): QP 24 -> 10, QP 30 -> 20, QP 36 -> 40.
  EXPECT_DOUBLE_EQ(quantiser_step(h264_frame(0, 1, 24)), 10.0);
  EXPECT_DOUBLE_EQ(quantiser_step(h264_frame(0, 1, 30)), 20.0);
  EXPECT_DOUBLE_EQ(quantiser_step(h264_frame(0, 1, 36)), 40.0);
  // VP9 (slice_type 0): 4 at index 0, q + 7 up to 96, then 103 e^(0.018 (q - 96)).
  media::CodedFrame vp9;
  vp9.base_q_index = 0;
  EXPECT_DOUBLE_EQ(quantiser_step(vp9), 4.0);
  vp9.base_q_index = 50;
  EXPECT_DOUBLE_EQ(quantiser_step(vp9), 57.0);
  vp9.base_q_index = 196;
  EXPECT_NEAR(quantiser_step(vp9), 103.0 * std::exp(1.8), 1e-9);
  double previous = 0;
  for (int q = 0; q < 256; ++q) {  // strictly increasing over the whole range
    vp9.base_q_index = q;
    EXPECT_GT(quantiser_step(vp9), previous) << "q " << q;
    previous = quantiser_step(vp9);
  }
  vp9.base_q_index = -1;  // unknown quantiser
  EXPECT_EQ(quantiser_step(vp9), 0.0);
}

TEST(AnchorEstimator, FrameWeightScalesBytesByTheStepRatio) {
  // Reference step for H.264 is 16: 80 bytes at QP 30 (step 20) -> 100; at QP 36 (step 40) -> 200; exponent 2 at
  // QP 36 -> 80 x 2.5^2 = 500. Bytes estimator and unknown quantisers keep the bytes.
  EXPECT_DOUBLE_EQ(frame_weight(h264_frame(0, 80, 30), Estimator::quantiser, 1.0), 100.0);
  EXPECT_DOUBLE_EQ(frame_weight(h264_frame(0, 80, 36), Estimator::quantiser, 1.0), 200.0);
  EXPECT_DOUBLE_EQ(frame_weight(h264_frame(0, 80, 36), Estimator::quantiser, 2.0), 500.0);
  EXPECT_DOUBLE_EQ(frame_weight(h264_frame(0, 80, 36), Estimator::bytes, 1.0), 80.0);
  EXPECT_DOUBLE_EQ(frame_weight(h264_frame(0, 80, -1), Estimator::quantiser, 1.0), 80.0);
}

TEST(AnchorEstimator, QuantiserWeightsMoveThePickTowardsCoarselyCodedFrames) {
  // 10 units of 100 bytes, no GOP horizon, one candidate (ratio 0.1). Bytes: R[c] = 100 (c + 1), score
  // (10 - c) R[c] is 3000 at c = 4 and 5: the lower offset, 4, wins. Quantiser: units 0..4 at QP 24 (weight
  // 100 x 10 / 16 = 62.5), 5..9 at QP 30 (125): R = 62.5 .. 312.5, then 437.5, 562.5, 687.5, ...; scores
  // c = 4: 6 x 312.5 = 1875, c = 5: 5 x 437.5 = 2187.5, c = 6: 4 x 562.5 = 2250, c = 7: 3 x 687.5 = 2062.5 -> 6.
  SelectorConfig config;
  config.gop = 0;
  config.max_candidate_ratio = 0.1;
  StreamSelector by_bytes(config);
  config.estimator = Estimator::quantiser;
  StreamSelector by_quantiser(config);
  for (int i = 0; i < 10; ++i) {
    const media::CodedFrame f = h264_frame(i, 100, i < 5 ? 24 : 30);
    by_bytes.push(f);
    by_quantiser.push(f);
  }
  ASSERT_EQ(by_bytes.sort().size(), 1u);
  EXPECT_EQ(by_bytes.sort()[0].offset, 4);
  ASSERT_EQ(by_quantiser.sort().size(), 1u);
  EXPECT_EQ(by_quantiser.sort()[0].offset, 6);
  EXPECT_DOUBLE_EQ(by_quantiser.units()[0].weight, 62.5);
  EXPECT_EQ(by_quantiser.units()[0].bytes, 100u);
  // single_scores is the first pick's score of every unit: (10 - c) R[c] / mean; mean weight = 93.75.
  const std::vector<double> scores = by_quantiser.single_scores();
  ASSERT_EQ(scores.size(), 10u);
  EXPECT_DOUBLE_EQ(scores[6], 2250.0 / 93.75);
  EXPECT_DOUBLE_EQ(scores[0], 10 * 62.5 / 93.75);
}

TEST(AnchorEstimator, AltrefAtDisplayMovesTheClassToTheFrameShowingTheAltref) {
  // VP9 with an alt-ref: decode 0 key (display 0), 1 hidden alt-ref refreshing slot mask 4 + 2 shown (display 1),
  // 3 normal (display 2), 4 show_existing_frame (display 3: shows the alt-ref), 5 normal (display 4). NeuroScaler
  // gives the alt-ref class to display 1 (its superframe); altref_at_display to display 3. Bytes stay where they
  // were sent: unit 1 has 500 + 100 either way. Then a second alt-ref (mask 2) shown by an overlay frame: display 6
  // refreshes mask 1 (not it), display 7 refreshes mask 2 (the overlay).
  std::vector<media::CodedFrame> frames;
  auto add = [&](int64_t display, uint32_t bytes, media::FrameClass cls, bool shown, bool existing,
                 uint8_t refresh = 1) {
    media::CodedFrame f;
    f.refresh_flags = refresh;
    f.decode_index = static_cast<int64_t>(frames.size());
    f.display_index = display;
    f.bytes = bytes;
    f.cls = cls;
    f.shown = shown;
    f.show_existing = existing;
    frames.push_back(f);
  };
  add(0, 5000, media::FrameClass::key, true, false);
  add(1, 500, media::FrameClass::altref, false, false, 4);
  add(1, 100, media::FrameClass::normal, true, false);
  add(2, 100, media::FrameClass::normal, true, false);
  add(3, 10, media::FrameClass::normal, true, true);
  add(4, 100, media::FrameClass::normal, true, false);
  add(5, 400, media::FrameClass::altref, false, false, 2);
  add(5, 100, media::FrameClass::normal, true, false);
  add(6, 100, media::FrameClass::normal, true, false, 1);
  add(7, 8, media::FrameClass::normal, true, false, 2);
  for (bool at_display : {false, true}) {
    SelectorConfig config;
    config.altref_at_display = at_display;
    StreamSelector s(config);
    for (const media::CodedFrame& f : frames) s.push(f);
    ASSERT_EQ(s.units().size(), 8u);
    EXPECT_EQ(s.units()[1].bytes, 600u);
    EXPECT_EQ(s.units()[1].cls, at_display ? UnitClass::normal : UnitClass::altref);
    EXPECT_EQ(s.units()[3].cls, at_display ? UnitClass::altref : UnitClass::normal);
    EXPECT_EQ(s.units()[4].cls, UnitClass::normal);
    EXPECT_EQ(s.units()[5].cls, at_display ? UnitClass::normal : UnitClass::altref);
    EXPECT_EQ(s.units()[6].cls, UnitClass::normal);
    EXPECT_EQ(s.units()[7].cls, at_display ? UnitClass::altref : UnitClass::normal);
  }
}

TEST(AnchorEstimator, MethodNeuroscalerQUsesTheQuantiserEstimator) {
  EXPECT_EQ(method_from_name("neuroscaler-q"), Method::neuroscaler_q);
  EXPECT_STREQ(method_name(Method::neuroscaler_q), "neuroscaler-q");
  EXPECT_EQ(method_from_name("oracle"), Method::oracle);
  EXPECT_STREQ(estimator_name(Estimator::quantiser), "quantiser");
  EXPECT_STREQ(estimator_name(Estimator::bytes), "bytes");
  SchedulerConfig config;
  config.method = Method::oracle;
  EXPECT_EQ(test::error_code_of([&] { Scheduler s(config); }), ErrorCode::invalid_argument);
  // One stream as above with a 10 % quota (1 anchor of 10 frames): neuroscaler-q picks display 6, neuroscaler 4.
  for (Method method : {Method::neuroscaler, Method::neuroscaler_q}) {
    config.method = method;
    config.fraction = 0.1;
    config.epoch_frames = 10;
    config.selector.gop = 0;
    config.selector.max_candidate_ratio = 0.1;
    Scheduler s(config);
    const int id = s.add_stream({"a", 0});
    for (int i = 0; i < 10; ++i) s.push(id, h264_frame(i, 100, i < 5 ? 24 : 30));
    const EpochResult r = s.run_epoch();
    ASSERT_EQ(r.anchors.size(), 1u);
    EXPECT_EQ(r.anchors[0].display_index, method == Method::neuroscaler ? 4 : 6) << method_name(method);
  }
}

// ----------------------------------------------------------------------------------------------------------------
// Oracle
// ----------------------------------------------------------------------------------------------------------------

constexpr int kHrW = 96;
constexpr int kHrH = 64;

// A clip of `count` HR frames moving 2 px per frame; from `cut` on a different scene (another seed and motion).
core::Frame clip_frame(int64_t index, int64_t cut) {
  return index < cut ? test::synthetic_frame(kHrW, kHrH, index, 1, 2, 1)
                     : test::synthetic_frame(kHrW, kHrH, index, 99, -3, 2);
}

OracleFrame oracle_frame(int64_t index, int64_t cut) {
  OracleFrame f;
  f.reference = clip_frame(index, cut);
  f.lr = core::Frame(kHrW / 2, kHrH / 2);
  core::resize(f.reference, f.lr, core::ResizeFilter::area);
  f.decode_index = index;
  return f;
}

// Ground-truth anchors, which replace their frame (as the oracle models every anchor).
reuse::ReuseSettings small_reuse() {
  return reuse::ReuseSettings{.scale = 2, .search_range = 16, .anchor_weight = 1.0};
}

TEST(AnchorOracle, PicksOneFrameInEachSceneAndTheCutItself) {
  // 12 frames, scene cut at 7, quota round(2/12 * 12) = 2. Reuse restarts from a bicubic up-scale at a cut, so an
  // anchor before the cut lifts nothing after it: one anchor goes to each scene. In the second scene the cut
  // frame 7 lifts every frame of it (7..11) and has the worst baseline (bicubic, the chain restarted): it wins.
  // (In the first scene the chain from an anchor decays fast on this small clip, ~2 dB per frame, so frame 1 can
  // beat frame 0: frame 0 alone is bicubic in both cases.)
  SchedulerConfig config;
  config.epoch_frames = 12;
  config.fraction = 2.0 / 12.0;
  OracleSelector oracle(config, small_reuse());
  const int id = oracle.add_stream({"clip", 0}, kHrW / 2, kHrH / 2);
  for (int i = 0; i < 12; ++i) oracle.push(id, oracle_frame(i, 7));
  const OracleEpoch e = oracle.run_epoch();
  ASSERT_EQ(e.result.anchors.size(), 2u);
  EXPECT_LT(e.result.anchors[0].display_index, 7);
  EXPECT_EQ(e.result.anchors[1].display_index, 7);
  EXPECT_EQ(e.result.quota, 2);
  // baseline (12) + every frame's chain to the end of the epoch (12 * 13 / 2 = 78) + the chain rebuilt from the
  // last anchor (12 - 7 = 5).
  EXPECT_EQ(e.reconstructions, 12 + 78 + 5);
  ASSERT_EQ(e.frames.size(), 12u);
  double final_sum = 0, baseline_sum = 0;
  for (const OracleFrameGain& f : e.frames) {
    final_sum += f.final_psnr;
    baseline_sum += f.baseline_psnr;
  }
  // The anchors' marginal gains (their scores) add up to the epoch's summed PSNR change.
  EXPECT_NEAR(final_sum - baseline_sum, e.result.anchors[0].score + e.result.anchors[1].score, 1e-6);
  EXPECT_GT(e.result.anchors[1].score, 0);
  // The anchored frames are the reference itself: PSNR capped at 100 dB.
  EXPECT_EQ(e.frames[e.result.anchors[0].display_index].final_psnr, core::kPsnrCapDb);
  EXPECT_EQ(e.frames[7].final_psnr, core::kPsnrCapDb);
  // A frame just before the cut helps only up to the cut: less than the cut frame itself.
  EXPECT_LT(e.frames[6].single_gain, e.frames[7].single_gain);
}

TEST(AnchorOracle, TablesMatchASequentialReconstructionAcrossEpochs) {
  // Two epochs of 8 frames, 1 anchor each (fraction 1/8). The oracle's final PSNR of every frame must be what
  // a plain Reconstructor gives with the chosen anchors, frames pushed in order (the chain carried across epochs).
  SchedulerConfig config;
  config.epoch_frames = 8;
  config.fraction = 1.0 / 8.0;
  OracleSelector oracle(config, small_reuse());
  const int id = oracle.add_stream({"clip", 0}, kHrW / 2, kHrH / 2);
  std::vector<OracleFrameGain> frames;
  std::vector<int64_t> anchors;
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (int i = 0; i < 8; ++i) oracle.push(id, oracle_frame(epoch * 8 + i, 1000));
    OracleEpoch e = oracle.run_epoch();
    ASSERT_EQ(e.result.anchors.size(), 1u);
    EXPECT_EQ(e.result.index, epoch);
    anchors.push_back(e.result.anchors[0].display_index);
    frames.insert(frames.end(), e.frames.begin(), e.frames.end());
  }
  reuse::Reconstructor check(small_reuse(), kHrW / 2, kHrH / 2);
  for (int j = 0; j < 16; ++j) {
    OracleFrame f = oracle_frame(j, 1000);
    f.lr.index = j;
    const bool is_anchor = j == anchors[0] || j == anchors[1];
    const core::Frame& hr = check.push(f.lr, is_anchor ? &f.reference : nullptr);
    EXPECT_NEAR(frames[j].final_psnr, core::psnr_pooled(f.reference, hr), 0.05) << "frame " << j;
  }
}

TEST(AnchorOracle, BudgetModeSkipsStreamsWhoseAnchorsDoNotFit) {
  // Two streams: "cheap" anchors cost 1 ms, "costly" 5 ms; budget 3 ms. The costly stream can never fit, so the
  // oracle takes anchors of the cheap stream while they help (at most 3).
  SchedulerConfig config;
  config.epoch_frames = 6;
  config.mode = Mode::budget;
  config.budget_ms = 3;
  OracleSelector oracle(config, small_reuse());
  const int cheap = oracle.add_stream({"cheap", 1}, kHrW / 2, kHrH / 2);
  const int costly = oracle.add_stream({"costly", 5}, kHrW / 2, kHrH / 2);
  for (int i = 0; i < 6; ++i) {
    oracle.push(cheap, oracle_frame(i, 1000));
    oracle.push(costly, oracle_frame(i, 3));
  }
  const OracleEpoch e = oracle.run_epoch();
  EXPECT_EQ(e.result.quota, -1);
  EXPECT_GE(e.result.skipped, 1);
  ASSERT_FALSE(e.result.anchors.empty());
  EXPECT_LE(e.result.anchors.size(), 3u);
  for (const Anchor& a : e.result.anchors) EXPECT_EQ(a.stream, cheap);
  EXPECT_LE(e.result.used_ms, 3.0);
  EXPECT_EQ(e.frames.size(), 12u);
  (void)costly;
}

TEST(AnchorOracle, RejectsFramesOfTheWrongSize) {
  SchedulerConfig config;
  OracleSelector oracle(config, small_reuse());
  const int id = oracle.add_stream({"clip", 0}, kHrW / 2, kHrH / 2);
  OracleFrame f = oracle_frame(0, 100);
  f.reference = core::Frame(kHrW + 2, kHrH);
  EXPECT_EQ(test::error_code_of([&] { oracle.push(id, std::move(f)); }), ErrorCode::mismatch);
  OracleFrame g = oracle_frame(0, 100);
  g.lr = core::Frame(10, 10);
  EXPECT_EQ(test::error_code_of([&] { oracle.push(id, std::move(g)); }), ErrorCode::mismatch);
  OracleFrame h = oracle_frame(0, 100);
  h.anchor = core::Frame(kHrW / 2, kHrH / 2);
  EXPECT_EQ(test::error_code_of([&] { oracle.push(id, std::move(h)); }), ErrorCode::mismatch);
  EXPECT_EQ(test::error_code_of([&] { oracle.push(id + 5, oracle_frame(0, 100)); }), ErrorCode::invalid_argument);
}

// ----------------------------------------------------------------------------------------------------------------
// The select command's oracle and evaluation
// ----------------------------------------------------------------------------------------------------------------

// Writes an HR reference (FFV1) and its LR stream (VP9, half size) of `count` frames with a cut at `cut`.
void write_clip(const std::string& hr_path, const std::string& lr_path, int count, int cut) {
  media::VideoWriter hr(hr_path, kHrW, kHrH, {60, 1}, media::EncoderSettings::lossless());
  media::VideoWriter lr(lr_path, kHrW / 2, kHrH / 2, {60, 1}, media::EncoderSettings::streamer_vp9(kHrW / 2, kHrH / 2));
  for (int i = 0; i < count; ++i) {
    const OracleFrame f = oracle_frame(i, cut);
    hr.write(f.reference);
    lr.write(f.lr);
  }
  hr.finish();
  lr.finish();
}

TEST(AnchorOracleCli, OracleWritesAPlanAndGainsAndEvaluates) {
  test::TempDir dir;
  const std::string hr = dir.file("hr.mkv");
  const std::string lr = dir.file("lr.webm");
  write_clip(hr, lr, 16, 9);
  const test::CliResult r =
      test::run_cli({"select", "--in", lr, "--method", "oracle", "--reference", hr, "--scale", "2", "--fraction",
                     "0.125", "--epoch-frames", "8", "--out", dir.file("plan.json"), "--gains", dir.file("g.json"),
                     "--evaluate"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Plan plan = read_plan(dir.file("plan.json"));
  EXPECT_EQ(plan.method, "oracle");
  ASSERT_EQ(plan.epochs.size(), 2u);
  ASSERT_EQ(plan.epochs[1].anchors.size(), 1u);
  EXPECT_GE(plan.epochs[1].anchors[0].display_index, 9);  // after the scene cut: frame 8 alone would gain little
  EXPECT_NE(r.err.find("Spearman"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("oracle\t0.1250\t16\t2\t"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("g.json")));
}

TEST(AnchorOracleCli, ReportsMissingReferenceMismatchedSizesAndMisplacedOptions) {
  test::TempDir dir;
  const std::string hr = dir.file("hr.mkv");
  const std::string lr = dir.file("lr.webm");
  write_clip(hr, lr, 4, 100);
  const std::string plan = dir.file("plan.json");
  test::CliResult r = test::run_cli({"select", "--in", lr, "--method", "oracle", "--out", plan});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("needs one --reference"), std::string::npos) << r.err;
  // The reference is 2x the LR size, not 3x (the default scale).
  r = test::run_cli({"select", "--in", lr, "--method", "oracle", "--reference", hr, "--out", plan});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("96x64"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--scale"), std::string::npos) << r.err;
  r = test::run_cli({"select", "--in", lr, "--method", "neuroscaler", "--gains", dir.file("g.json"), "--out", plan});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--method oracle"), std::string::npos) << r.err;
  r = test::run_cli({"select", "--in", lr, "--method", "neuroscaler-q", "--evaluate", "--out", plan});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--evaluate needs one --reference"), std::string::npos) << r.err;
  r = test::run_cli({"select", "--in", lr, "--fractions", "0.25,0.5", "--out", plan});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("{fraction}"), std::string::npos) << r.err;
  r = test::run_cli({"select", "--in", lr, "--compare", plan, "--out", plan});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("add it"), std::string::npos) << r.err;
}

TEST(AnchorOracleCli, SeveralFractionsWriteOnePlanEach) {
  // 4 frames, uniform: round(0.25 x 4) = 1 anchor (display 0), round(0.5 x 4) = 2 (displays 0 and 2).
  test::TempDir dir;
  const std::string hr = dir.file("hr.mkv");
  const std::string lr = dir.file("lr.webm");
  write_clip(hr, lr, 4, 100);
  const test::CliResult r = test::run_cli({"select", "--in", lr, "--method", "uniform", "--fractions", "0.25,0.5",
                                           "--out", dir.file("plan-{fraction}.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Plan quarter = read_plan(dir.file("plan-0.25.json"));
  const Plan half = read_plan(dir.file("plan-0.5.json"));
  EXPECT_EQ(quarter.fraction, 0.25);
  ASSERT_EQ(quarter.epochs.size(), 1u);
  ASSERT_EQ(quarter.epochs[0].anchors.size(), 1u);
  EXPECT_EQ(quarter.epochs[0].anchors[0].display_index, 0);
  ASSERT_EQ(half.epochs[0].anchors.size(), 2u);
  EXPECT_EQ(half.epochs[0].anchors[1].display_index, 2);
}

}  // namespace
