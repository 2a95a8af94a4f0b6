// Anchor selection: accumulated residual, greedy sort, cross-stream scheduler (fraction / budget), baselines,
// plan JSON and the `select` command. Expected values are computed by hand from reference §3.1-3.2 in comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ns/anchor/anchor.h"
#include "ns/core/error.h"
#include "ns/media/probe.h"
#include "support/fixtures.h"

namespace {

using namespace ns;
using namespace ns::anchor;

Unit unit(int64_t display, uint64_t bytes, UnitClass cls = UnitClass::normal) {
  Unit u;
  u.display_index = display;
  u.decode_index = display;
  u.bytes = bytes;
  u.cls = cls;
  return u;
}

media::CodedFrame coded(int64_t decode, int64_t display, uint32_t bytes, media::FrameClass cls, bool shown) {
  media::CodedFrame f;
  f.decode_index = decode;
  f.display_index = display;
  f.bytes = bytes;
  f.cls = cls;
  f.shown = shown;
  return f;
}

SelectorConfig no_gop() {
  SelectorConfig c;
  c.gop = 0;  // horizon = end of the epoch
  return c;
}

void push_flat(StreamSelector& s, int count, uint64_t bytes, int64_t first_display = 0) {
  for (int i = 0; i < count; ++i) s.push_unit(unit(first_display + i, bytes));
}

// Candidates as (offset, score), in sort order; the scores compared are exact (sums and products of integers).
using OffsetsAndScores = std::vector<std::pair<int, double>>;
OffsetsAndScores offsets_and_scores(const std::vector<Candidate>& candidates) {
  OffsetsAndScores out;
  for (const Candidate& c : candidates) out.emplace_back(c.offset, c.score);
  return out;
}

// The candidates of one epoch of 10 units of 100 bytes under `config`.
std::vector<Candidate> sort_ten_flat_units(const SelectorConfig& config) {
  StreamSelector s(config);
  push_flat(s, 10, 100);
  return s.sort();
}

TEST(AnchorSelector, AccumulatedResidualStartsFromCarryAndResetsAtKeys) {
  StreamSelector s(no_gop());
  s.push_unit(unit(0, 10));
  s.push_unit(unit(1, 20));
  s.push_unit(unit(2, 30, UnitClass::key));
  s.push_unit(unit(3, 5));
  s.push_unit(unit(4, 5));
  // carry 0: R = 10, 30, 0 (key), 5, 10
  EXPECT_EQ(s.accumulated(), (std::vector<double>{10, 30, 0, 5, 10}));
  const int anchors[] = {3};
  s.commit(anchors);  // after the anchor at offset 3: only unit 4 (5 bytes) accumulates
  EXPECT_DOUBLE_EQ(s.carry(), 5.0);
  s.push_unit(unit(5, 7));
  s.push_unit(unit(6, 1));
  EXPECT_EQ(s.accumulated(), (std::vector<double>{12, 13}));
}

TEST(AnchorSelector, KeyFrameAnchorDoesNotZeroTheCarryOfTheFramesAfterIt) {
  // Reference §11.6: the original forced the carry to 0 when a key frame was the anchor. Here the carry is
  // R[N-1] after the anchors: the three 10-byte units after the key.
  StreamSelector s(no_gop());
  s.push_unit(unit(0, 900, UnitClass::key));
  push_flat(s, 3, 10, 1);
  const int anchors[] = {0};
  s.commit(anchors);
  EXPECT_DOUBLE_EQ(s.carry(), 30.0);
  // An anchor on the last unit leaves nothing to carry.
  push_flat(s, 3, 10, 4);
  const int last[] = {1, 2};
  s.commit(last);
  EXPECT_DOUBLE_EQ(s.carry(), 0.0);
}

TEST(AnchorSelector, UnitsFromCodedFramesFoldHiddenAltrefIntoShownFrame) {
  StreamSelector s(no_gop());
  s.push(coded(0, 0, 1000, media::FrameClass::key, true));
  s.push(coded(1, 1, 40, media::FrameClass::normal, true));
  s.push(coded(2, 2, 300, media::FrameClass::altref, false));  // hidden alt-ref, display of the next shown frame
  s.push(coded(3, 2, 25, media::FrameClass::normal, true));
  s.push(coded(4, 3, 30, media::FrameClass::normal, true));
  s.push(coded(5, 4, 200, media::FrameClass::altref, false));  // pending: no shown frame yet
  ASSERT_EQ(s.units().size(), 4u);
  EXPECT_EQ(s.units()[0].cls, UnitClass::key);
  EXPECT_EQ(s.units()[1].cls, UnitClass::normal);
  EXPECT_EQ(s.units()[2].cls, UnitClass::altref);
  EXPECT_EQ(s.units()[2].bytes, 325u);
  EXPECT_EQ(s.units()[2].display_index, 2);
  EXPECT_EQ(s.units()[2].decode_index, 3);  // the shown frame
  // R: 0 (key), 40, 365, 395
  EXPECT_EQ(s.accumulated(), (std::vector<double>{0, 40, 365, 395}));
  s.commit({});
  EXPECT_DOUBLE_EQ(s.carry(), 395.0);
  s.push(coded(6, 4, 10, media::FrameClass::normal, true));  // completes the pending alt-ref unit: 210 bytes
  ASSERT_EQ(s.units().size(), 1u);
  EXPECT_EQ(s.units()[0].cls, UnitClass::altref);
  EXPECT_EQ(s.accumulated(), (std::vector<double>{605}));
}

TEST(AnchorSelector, AnAltrefQuantisedLikeItsNeighboursLosesItsPriority) {
  // Shown normal frames at VP9 base_q_idx 80 (step 87), then a hidden alt-ref at q 60 (step 67: 1.3x finer) and
  // one at q 20 (step 27: 3.2x finer). With altref_min_boost 1.8 only the second keeps the alt-ref class; without
  // the rule (0, the reference) both do.
  const auto frame = [](int64_t decode, int64_t display, media::FrameClass cls, bool shown, int q) {
    media::CodedFrame f = coded(decode, display, 500, cls, shown);
    f.base_q_index = q;
    return f;
  };
  for (double min_boost : {1.8, 0.0}) {
    SelectorConfig config = no_gop();
    config.altref_min_boost = min_boost;
    StreamSelector s(config);
    s.push(frame(0, 0, media::FrameClass::key, true, 80));
    for (int i = 1; i <= 4; ++i) s.push(frame(i, i, media::FrameClass::normal, true, 80));
    s.push(frame(5, 5, media::FrameClass::altref, false, 60));
    s.push(frame(6, 5, media::FrameClass::normal, true, 80));
    s.push(frame(7, 6, media::FrameClass::altref, false, 20));
    s.push(frame(8, 6, media::FrameClass::normal, true, 80));
    ASSERT_EQ(s.units().size(), 7u);
    EXPECT_EQ(s.units()[5].cls, min_boost > 0 ? UnitClass::normal : UnitClass::altref) << min_boost;
    EXPECT_EQ(s.units()[6].cls, UnitClass::altref) << min_boost;
    EXPECT_EQ(s.units()[5].bytes, 1000u);  // the bytes stay with the unit either way
  }
  // No quantiser to compare with (a stream whose first frames are hidden): the alt-ref keeps its class.
  SelectorConfig config = no_gop();
  config.altref_min_boost = 1.8;
  StreamSelector s(config);
  s.push(frame(0, 0, media::FrameClass::altref, false, 60));
  s.push(frame(1, 0, media::FrameClass::normal, true, 80));
  EXPECT_EQ(s.units()[0].cls, UnitClass::altref);
}

TEST(AnchorSelector, AFlatEpochIsSortedAsIfEveryUnitWeighedTheMean) {
  // 10 units of 100 bytes but unit 5 of 130 (spread 0.09 of the mean). With their own weights, R = 100 .. 500,
  // 630, 730 ..: the first pick is c = 5 ((10 - 5) x 630 = 3150 against c = 4: 6 x 500 = 3000), the second c = 2
  // (3 x 300 = 900 before the boundary at 5; after it the best is 3 x 200 = 600). With flat_cv 0.3 the epoch is
  // flat and the picks are those of ten equal units (4, then 7, see below). A spread above flat_cv (unit 5 of
  // 1000: 1.4 x the mean) keeps the weights.
  const auto sorted = [](double flat_cv, uint64_t heavy) {
    SelectorConfig config = no_gop();
    config.flat_cv = flat_cv;
    StreamSelector s(config);
    for (int i = 0; i < 10; ++i) s.push_unit(unit(i, i == 5 ? heavy : 100));
    std::vector<int> offsets;
    for (const Candidate& c : s.sort()) offsets.push_back(c.offset);
    return offsets;
  };
  EXPECT_EQ(sorted(0.0, 130), (std::vector<int>{5, 2}));
  EXPECT_EQ(sorted(0.3, 130), (std::vector<int>{4, 7}));
  EXPECT_EQ(sorted(0.3, 1000), sorted(0.0, 1000));
  EXPECT_EQ(sorted(0.3, 1000)[0], 5);
}

TEST(AnchorSelector, GreedyPicksOnFlatSequenceWithinEpoch) {
  // 10 units of 100 bytes, carry 0, horizon = end of epoch, mean 100: R = 100 .. 1000; 2 candidates (20 %).
  // Pick 1: gain (10 - c) * 100 (c + 1) is largest at c = 4 and c = 5 (3000); tie -> c = 4; score 6*500/100 = 30.
  // R becomes 100 200 300 400 0 100 200 300 400 500. Pick 2: for c < 4 the boundary is 4: (4 - c) R[c] =
  // 400 600 600 400; for c > 4: (10 - c) R[c] = 500 800 900 800 500 -> c = 7, score 3 * 300 / 100 = 9.
  StreamSelector s(no_gop());
  push_flat(s, 10, 100);
  const std::vector<Candidate> c = s.sort();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].offset, 4);
  EXPECT_DOUBLE_EQ(c[0].score, 30.0);
  EXPECT_EQ(c[1].offset, 7);
  EXPECT_DOUBLE_EQ(c[1].score, 9.0);
}

TEST(AnchorSelector, GopHorizonExtendsBeyondTheEpoch) {
  // Same units with GOP 120 and no key seen: the horizon of unit c (display c) is c + 120 - c = 120.
  // Pick 1: (120 - c) * 100 (c + 1) grows over c = 0..9 -> c = 9, score 111 * 1000 / 100 = 1110.
  // Pick 2: boundary 9 for c < 9: (9 - c) * 100 (c + 1) -> 2000 at c = 4 (also 2000 at c = 3? 6 * 400 = 2400,
  // no: c = 3 -> 6 * 400 = 2400, c = 4 -> 5 * 500 = 2500, c = 5 -> 4 * 600 = 2400) -> c = 4, score 25.
  SelectorConfig config;
  config.gop = 120;
  EXPECT_EQ(offsets_and_scores(sort_ten_flat_units(config)), (OffsetsAndScores{{9, 1110.0}, {4, 25.0}}));
}

TEST(AnchorSelector, HorizonPastTheEpochCapsTheGopHorizon) {
  // The same 10 units with GOP 120, the horizon capped 5 units past the epoch's end: 15 for every c.
  // Pick 1: (15 - c) * 100 (c + 1) = 1500 2800 3900 4800 5500 6000 6300 6400 6300 6000 -> c = 7, score 8 * 800 / 100
  // = 64. Pick 2: boundary 7 for c < 7: (7 - c) * 100 (c + 1) = 700 1200 1500 1600 1500 1200 700 -> c = 3; for c > 7
  // R = 100 200 after the reset: (15 - c) * R = 700 1200 -> c = 3 wins, score 4 * 400 / 100 = 16.
  SelectorConfig config;
  config.gop = 120;
  config.horizon_past_epoch = 5;
  EXPECT_EQ(offsets_and_scores(sort_ten_flat_units(config)), (OffsetsAndScores{{7, 64.0}, {3, 16.0}}));
}

TEST(AnchorSelector, GopHorizonCountsFromTheLastKeyFrame) {
  // Key at display 0 in epoch 0 (10 units), then epoch 1 = displays 10..19 with GOP 30: horizon of offset c
  // (display 10 + c) is c + 30 - (10 + c) = 20 units. Carry 900 (units 1..9 of 100 bytes after the key).
  // R = 1000 .. 1900; one candidate (20 % of 5 = 1)... use 5 units: R = 1000 1100 1200 1300 1400;
  // gain (20 - c) R[c] = 20000 20900 21600 22100 22400 -> c = 4, score 16 * 1400 / 100 = 224.
  SelectorConfig config;
  config.gop = 30;
  StreamSelector s(config);
  s.push_unit(unit(0, 100, UnitClass::key));
  push_flat(s, 9, 100, 1);
  s.commit({});
  EXPECT_DOUBLE_EQ(s.carry(), 900.0);
  push_flat(s, 5, 100, 10);
  const std::vector<Candidate> c = s.sort();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].offset, 4);
  EXPECT_DOUBLE_EQ(c[0].score, 224.0);
}

TEST(AnchorSelector, KeysFirstThenAltrefsThenNormalsAndKeysAreBoundaries) {
  // 10 units: key at 5, alt-ref at 2 and 8. Candidates: key (score 0), then 2 slots: both alt-refs.
  // R = 100 200 300 400 500 0 100 200 300 400 (bytes 100, carry 0, horizon end of epoch, mean 100).
  // Alt-ref group: c = 2 -> boundary key 5: 3 * 300 = 900 -> 9; c = 8 -> (10 - 8) * 300 = 600 -> 6. Pick 2 (9).
  // Then c = 8 (6).
  StreamSelector s(no_gop());
  for (int i = 0; i < 10; ++i) {
    const UnitClass cls = i == 5 ? UnitClass::key : (i == 2 || i == 8) ? UnitClass::altref : UnitClass::normal;
    s.push_unit(unit(i, 100, cls));
  }
  const std::vector<Candidate> c = s.sort();
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].cls, UnitClass::key);
  EXPECT_EQ(c[0].offset, 5);
  EXPECT_EQ(c[1].cls, UnitClass::altref);
  EXPECT_EQ(c[1].offset, 2);
  EXPECT_DOUBLE_EQ(c[1].score, 9.0);
  EXPECT_EQ(c[2].offset, 8);
  EXPECT_DOUBLE_EQ(c[2].score, 6.0);
}

TEST(AnchorSelector, NormalisationUsesTheMeanUnitSizeOverTheWindow) {
  SelectorConfig config = no_gop();
  config.avg_window = 4;
  StreamSelector s(config);
  s.push_unit(unit(0, 1000));
  push_flat(s, 4, 10, 1);  // window keeps the last 4 units: mean 10
  EXPECT_DOUBLE_EQ(s.mean_unit_bytes(), 10.0);
  StreamSelector empty(config);
  EXPECT_DOUBLE_EQ(empty.mean_unit_bytes(), 1.0);
  StreamSelector zeros(config);
  push_flat(zeros, 5, 0);
  EXPECT_DOUBLE_EQ(zeros.mean_unit_bytes(), 1.0);  // floor: no division by zero
  for (const Candidate& c : zeros.sort()) EXPECT_DOUBLE_EQ(c.score, 0.0);
}

TEST(AnchorBaselines, OffsetsAreHandComputed) {
  EXPECT_EQ(uniform_offsets(40, 3), (std::vector<int>{0, 13, 26}));
  EXPECT_EQ(uniform_offsets(10, 4), (std::vector<int>{0, 2, 5, 7}));
  EXPECT_EQ(uniform_offsets(3, 5), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(uniform_offsets(0, 3).empty());
  EXPECT_TRUE(uniform_offsets(10, 0).empty());
  EXPECT_EQ(perframe_offsets(3), (std::vector<int>{0, 1, 2}));
  const std::vector<Unit> units = {unit(0, 1, UnitClass::key), unit(1, 1), unit(2, 1, UnitClass::key)};
  EXPECT_EQ(keyframe_offsets(units), (std::vector<int>{0, 2}));
}

SchedulerConfig fraction_config(double fraction) {
  SchedulerConfig c;
  c.fraction = fraction;
  c.selector.gop = 0;
  return c;
}

TEST(AnchorScheduler, FractionQuotaIsRoundedOverAllFramesOfTheEpoch) {
  for (const auto& [streams, expected] : std::vector<std::pair<int, int>>{{1, 1}, {2, 2}, {3, 2}, {4, 3}}) {
    // 10 units per stream at 7.5 %: round(0.75) = 1, round(1.5) = 2 (half away from zero), round(2.25) = 2,
    // round(3.0) = 3.
    Scheduler s(fraction_config(0.075));
    for (int k = 0; k < streams; ++k) {
      const int id = s.add_stream({std::string(1, static_cast<char>('a' + k)), 0});
      for (int i = 0; i < 10; ++i) s.push_unit(id, unit(i, 100));
    }
    const EpochResult r = s.run_epoch();
    EXPECT_EQ(r.frames, 10 * streams);
    EXPECT_EQ(r.quota, expected);
    EXPECT_EQ(static_cast<int>(r.anchors.size()), expected) << streams << " streams";
  }
}

TEST(AnchorScheduler, EpochsHaveAbsoluteDeadlines) {
  Scheduler s(fraction_config(0.075));
  for (int k = 0; k < 3; ++k) {
    const EpochResult r = s.run_epoch();
    EXPECT_EQ(r.index, k);
    EXPECT_DOUBLE_EQ(r.start_s, k * 40.0 / 60.0);
    EXPECT_DOUBLE_EQ(r.deadline_s, (k + 1) * 40.0 / 60.0);
    EXPECT_TRUE(r.anchors.empty());
    EXPECT_EQ(r.frames, 0);
  }
}

TEST(AnchorScheduler, AFlatStreamGetsEvenlySpacedAnchorsAndKeepsItsKeys) {
  // Two streams of 40 units, 10 % = 8 anchors. Stream a is flat (100 +- 5 bytes, a spread of 0.03): its share
  // of the anchors goes to uniform_offsets(40, k), a key unit replacing the nearest grid unit. Stream b has a spike
  // and is not flat: its anchors stay where its scores are.
  const auto run = [](double flat_cv, int key_at) {
    SchedulerConfig config = fraction_config(0.1);
    config.selector.gop = 0;
    config.selector.flat_cv = flat_cv;
    Scheduler s(config);
    const int a = s.add_stream({"a", 0});
    const int b = s.add_stream({"b", 0});
    for (int i = 0; i < 40; ++i) {
      s.push_unit(a, unit(i, 100 + (i * 7) % 11 - 5, i == key_at ? UnitClass::key : UnitClass::normal));
      s.push_unit(b, unit(i, i == 30 ? 5000 : 100));
    }
    std::vector<int64_t> on_a, on_b;
    for (const Anchor& x : s.run_epoch().anchors) (x.stream == a ? on_a : on_b).push_back(x.display_index);
    return std::make_pair(on_a, on_b);
  };
  const auto [flat_a, flat_b] = run(0.3, -1);
  ASSERT_FALSE(flat_a.empty());
  std::vector<int64_t> grid;
  for (int offset : uniform_offsets(40, static_cast<int>(flat_a.size()))) grid.push_back(offset);
  EXPECT_EQ(flat_a, grid);
  const auto [scored_a, scored_b] = run(0.0, -1);
  EXPECT_EQ(scored_a.size(), flat_a.size());  // the same share, placed by the scores
  EXPECT_NE(scored_a, flat_a);
  EXPECT_EQ(scored_b, flat_b);  // stream b is not flat either way
  const auto [keyed_a, keyed_b] = run(0.3, 12);
  EXPECT_TRUE(std::find(keyed_a.begin(), keyed_a.end(), 12) != keyed_a.end());
  EXPECT_EQ(keyed_a.size(), std::set<int64_t>(keyed_a.begin(), keyed_a.end()).size());
}

TEST(AnchorScheduler, MethodsFillTheSettingsLeftUnset) {
  SelectorConfig given;
  const SelectorConfig q = method_selector(Method::neuroscaler_q, given);
  EXPECT_EQ(q.estimator, Estimator::quantiser);
  EXPECT_TRUE(q.altref_at_display);
  EXPECT_EQ(q.horizon_past_epoch, NeuroscalerQDefaults::horizon_past_epoch);
  EXPECT_EQ(q.altref_min_boost, NeuroscalerQDefaults::altref_min_boost);
  EXPECT_EQ(q.flat_cv, NeuroscalerQDefaults::flat_cv);
  const SelectorConfig faithful = method_selector(Method::neuroscaler, given);
  EXPECT_EQ(faithful.estimator, Estimator::bytes);
  EXPECT_EQ(faithful.horizon_past_epoch, -1);
  EXPECT_EQ(faithful.altref_min_boost, 0.0);
  EXPECT_EQ(faithful.flat_cv, 0.0);
  given.horizon_past_epoch = -1;  // what a user sets is kept
  given.flat_cv = 0.0;
  const SelectorConfig q_reference_horizon = method_selector(Method::neuroscaler_q, given);
  EXPECT_EQ(q_reference_horizon.horizon_past_epoch, -1);
  EXPECT_EQ(q_reference_horizon.flat_cv, 0.0);
  EXPECT_EQ(q_reference_horizon.altref_min_boost, NeuroscalerQDefaults::altref_min_boost);
}

TEST(AnchorScheduler, StreamsWithoutAnchorsCarryTheirResidualIntoTheNextEpoch) {
  // Stream 0 has a spike and wins the only anchor of epoch 0; stream 1 gets none and must carry its
  // whole accumulation (5 x 10 bytes) into epoch 1.
  Scheduler s(fraction_config(0.1));
  const int a = s.add_stream({"a", 0});
  const int b = s.add_stream({"b", 0});
  for (int i = 0; i < 5; ++i) s.push_unit(a, unit(i, i == 2 ? 1000 : 10));
  for (int i = 0; i < 5; ++i) s.push_unit(b, unit(i, 10));
  const EpochResult r0 = s.run_epoch();
  ASSERT_EQ(r0.anchors.size(), 1u);  // round(0.1 * 10) = 1
  EXPECT_EQ(r0.anchors[0].stream, a);
  // Stream a: R = 10 20 1020 1030 1040 and mean 208: best gain is at c = 2 (3 * 1020 = 3060 vs 2 * 1030 = 2060).
  EXPECT_EQ(r0.anchors[0].display_index, 2);
  EXPECT_DOUBLE_EQ(s.selector(a).carry(), 20.0);
  EXPECT_DOUBLE_EQ(s.selector(b).carry(), 50.0);
  s.push_unit(b, unit(5, 10));
  EXPECT_EQ(s.selector(b).accumulated(), (std::vector<double>{60}));
}

TEST(AnchorScheduler, BudgetModeSkipsWhatDoesNotFitAndGoesOn) {
  // Stream a (10 units of 100 B, cost 10 ms): candidates at 4 (score 30) and 7 (score 9) (see
  // GreedyPicksOnFlatSequenceWithinEpoch). Stream b (5 units of 100 B, cost 3 ms): one candidate, c = 2,
  // gain (5 - 2) * 300 / 100 = 9. Order: a4 (30), a7 (9, stream a first), b2 (9). Budget 15 ms: a4 fits
  // (5 ms left), a7 does not (skipped), b2 fits (2 ms left).
  SchedulerConfig config = fraction_config(0);
  config.mode = Mode::budget;
  config.budget_ms = 15;
  Scheduler s(config);
  const int a = s.add_stream({"a", 10});
  const int b = s.add_stream({"b", 3});
  for (int i = 0; i < 10; ++i) s.push_unit(a, unit(i, 100));
  for (int i = 0; i < 5; ++i) s.push_unit(b, unit(i, 100));
  const EpochResult r = s.run_epoch();
  ASSERT_EQ(r.anchors.size(), 2u);
  EXPECT_EQ(r.anchors[0].stream, a);
  EXPECT_EQ(r.anchors[0].display_index, 4);
  EXPECT_DOUBLE_EQ(r.anchors[0].score, 30.0);
  EXPECT_EQ(r.anchors[1].stream, b);
  EXPECT_EQ(r.anchors[1].display_index, 2);
  EXPECT_DOUBLE_EQ(r.anchors[1].score, 9.0);
  EXPECT_EQ(r.skipped, 1);
  EXPECT_DOUBLE_EQ(r.used_ms, 13.0);
  EXPECT_DOUBLE_EQ(r.budget_ms, 15.0);
  EXPECT_EQ(r.quota, -1);
}

TEST(AnchorScheduler, NormalisationTreatsStreamsOfDifferentBitratesFairly) {
  // Stream b codes the same content at 20x the bytes; without normalisation it would take every anchor.
  const std::vector<uint64_t> pattern = {50, 80, 120, 60, 200, 90, 70, 65, 300, 55, 75, 85, 60, 400, 90, 70,
                                         80, 95, 60, 150, 70, 65, 90, 250, 80, 60, 75, 85, 95, 100, 60, 70,
                                         180, 90, 80, 70, 65, 60, 75, 90};
  SchedulerConfig config = fraction_config(0.075);
  config.selector.gop = 120;
  Scheduler s(config);
  const int a = s.add_stream({"low", 0});
  const int b = s.add_stream({"high", 0});
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (size_t i = 0; i < pattern.size(); ++i) {
      const int64_t d = epoch * 40 + static_cast<int64_t>(i);
      s.push_unit(a, unit(d, pattern[i]));
      s.push_unit(b, unit(d, pattern[i] * 20));
    }
    const EpochResult r = s.run_epoch();
    ASSERT_EQ(r.anchors.size(), 6u);  // round(0.075 * 80)
    int count_a = 0;
    for (const Anchor& x : r.anchors) count_a += x.stream == a ? 1 : 0;
    EXPECT_EQ(count_a, 3) << "epoch " << epoch;
    // Same relative pattern -> same display indices for both streams.
    std::vector<int64_t> da;
    std::vector<int64_t> db;
    for (const Anchor& x : r.anchors) (x.stream == a ? da : db).push_back(x.display_index);
    EXPECT_EQ(da, db);
  }
}

TEST(AnchorScheduler, StreamsJoinAndLeaveBetweenEpochs) {
  Scheduler s(fraction_config(0.2));
  const int a = s.add_stream({"a", 0});
  for (int i = 0; i < 10; ++i) s.push_unit(a, unit(i, 100));
  EpochResult r = s.run_epoch();
  EXPECT_EQ(r.anchors.size(), 2u);
  const int b = s.add_stream({"b", 0});
  EXPECT_NE(a, b);
  for (int i = 10; i < 20; ++i) s.push_unit(a, unit(i, 100));
  for (int i = 0; i < 10; ++i) s.push_unit(b, unit(i, 100));
  r = s.run_epoch();
  EXPECT_EQ(r.frames, 20);
  EXPECT_EQ(r.anchors.size(), 4u);
  std::set<int> seen;
  for (const Anchor& x : r.anchors) seen.insert(x.stream);
  EXPECT_EQ(seen, (std::set<int>{a, b}));
  for (int i = 20; i < 25; ++i) s.push_unit(a, unit(i, 100));  // dropped with the stream
  s.remove_stream(a);
  EXPECT_FALSE(s.has_stream(a));
  EXPECT_THROW(s.push_unit(a, unit(25, 1)), Error);
  EXPECT_THROW(s.remove_stream(a), Error);
  for (int i = 10; i < 20; ++i) s.push_unit(b, unit(i, 100));
  r = s.run_epoch();
  EXPECT_EQ(r.frames, 10);
  for (const Anchor& x : r.anchors) EXPECT_EQ(x.stream, b);
  EXPECT_EQ(s.add_stream({"c", 0}), 2);  // ids are never reused
}

TEST(AnchorScheduler, NeverDuplicatesAnchorsAndKeepsEveryKeyWhenTheQuotaAllows) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 30; ++trial) {
    SchedulerConfig config;
    config.method = static_cast<Method>(trial % 4);
    config.mode = trial % 3 == 0 ? Mode::budget : Mode::fraction;
    config.fraction = (trial % 5) * 0.25;
    config.budget_ms = 40;
    config.selector.gop = static_cast<int>(rng() % 60);
    Scheduler s(config);
    std::vector<int> ids;
    for (int k = 0; k < 6; ++k) ids.push_back(s.add_stream({"s", static_cast<double>(rng() % 7)}));
    std::vector<int64_t> next_display(ids.size(), 0);
    for (int epoch = 0; epoch < 4; ++epoch) {
      std::vector<std::set<int64_t>> units(ids.size());
      for (size_t k = 0; k < ids.size(); ++k) {
        const int n = static_cast<int>(rng() % 45);
        for (int i = 0; i < n; ++i) {
          const uint32_t r = rng() % 20;
          const UnitClass cls = r == 0 ? UnitClass::key : r < 4 ? UnitClass::altref : UnitClass::normal;
          units[k].insert(next_display[k]);
          s.push_unit(ids[k], unit(next_display[k]++, rng() % 5000, cls));
        }
      }
      const EpochResult r = s.run_epoch();
      std::set<std::pair<int, int64_t>> seen;
      for (const Anchor& x : r.anchors) {
        EXPECT_TRUE(seen.insert({x.stream, x.display_index}).second) << "duplicate anchor";
        EXPECT_TRUE(units[x.stream].count(x.display_index)) << "anchor outside the epoch";
      }
      if (config.mode == Mode::budget && config.method == Method::neuroscaler) {
        EXPECT_LE(r.used_ms, 40.0);
      }
      if (config.mode == Mode::fraction && config.method == Method::neuroscaler) {
        EXPECT_LE(static_cast<int64_t>(r.anchors.size()), r.quota);
      }
    }
  }
}

TEST(AnchorScheduler, EmptyEpochsAndStreamsWithOnlyHiddenFrames) {
  Scheduler s(fraction_config(1.0));
  const int a = s.add_stream({"a", 0});
  s.push(a, coded(0, 0, 500, media::FrameClass::altref, false));  // no shown frame yet: no unit
  EpochResult r = s.run_epoch();
  EXPECT_EQ(r.frames, 0);
  EXPECT_EQ(r.quota, 0);
  EXPECT_TRUE(r.anchors.empty());
  s.push(a, coded(1, 0, 20, media::FrameClass::normal, true));
  r = s.run_epoch();
  ASSERT_EQ(r.anchors.size(), 1u);
  EXPECT_EQ(r.anchors[0].cls, UnitClass::altref);
  EXPECT_EQ(r.anchors[0].decode_index, 1);
}

TEST(AnchorScheduler, BaselinesFollowTheirRules) {
  for (Method m : {Method::uniform, Method::perframe, Method::keyframe}) {
    SchedulerConfig config = fraction_config(0.1);
    config.method = m;
    Scheduler s(config);
    const int a = s.add_stream({"a", 0});
    for (int i = 0; i < 40; ++i) s.push_unit(a, unit(i, 100, i == 0 || i == 30 ? UnitClass::key : UnitClass::normal));
    const EpochResult r = s.run_epoch();
    std::vector<int64_t> d;
    for (const Anchor& x : r.anchors) d.push_back(x.display_index);
    if (m == Method::uniform) {
      EXPECT_EQ(d, (std::vector<int64_t>{0, 10, 20, 30}));
    }
    if (m == Method::perframe) {
      EXPECT_EQ(d.size(), 40u);
    }
    if (m == Method::keyframe) {
      EXPECT_EQ(d, (std::vector<int64_t>{0, 30}));
    }
  }
}

TEST(AnchorScheduler, RejectsBadConfigurations) {
  SchedulerConfig c;
  c.epoch_frames = 0;
  EXPECT_THROW(Scheduler{c}, Error);
  c = SchedulerConfig{};
  c.fraction = 1.5;
  EXPECT_THROW(Scheduler{c}, Error);
  c = SchedulerConfig{};
  c.selector.max_candidate_ratio = -0.1;
  EXPECT_THROW(Scheduler{c}, Error);
  Scheduler s(SchedulerConfig{});
  EXPECT_THROW(s.add_stream({"x", -1}), Error);
  EXPECT_THROW(method_from_name("best"), Error);
  EXPECT_EQ(method_from_name("uniform"), Method::uniform);
}

TEST(AnchorLatency, LoadsAndLooksUpByModelSizeAndBackend) {
  test::TempDir dir;
  const std::string path = dir.file("latency.json");
  std::ofstream(path) << R"({"entries": [{"model": "edsr", "width": 1280, "height": 720, "backend": "cuda", "ms": 1.5},
                                        {"model": "edsr", "width": 640, "height": 360, "backend": "cpu", "ms": 40}]})";
  const LatencyModel m = LatencyModel::load(path);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_DOUBLE_EQ(m.ms("edsr", 1280, 720, "cuda"), 1.5);
  EXPECT_DOUBLE_EQ(m.ms("edsr", 640, 360, "cpu"), 40.0);
  EXPECT_THROW(m.ms("edsr", 640, 360, "cuda"), Error);
  EXPECT_THROW(LatencyModel::load(dir.file("missing.json")), Error);
  std::ofstream(dir.file("bad.json")) << R"({"entries": [{"model": "edsr"}]})";
  EXPECT_THROW(LatencyModel::load(dir.file("bad.json")), Error);
}

void expect_same_plan(const Plan& a, const Plan& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.fraction, b.fraction);
  EXPECT_EQ(a.epoch_frames, b.epoch_frames);
  ASSERT_EQ(a.streams.size(), b.streams.size());
  for (size_t i = 0; i < a.streams.size(); ++i) {
    EXPECT_EQ(a.streams[i].name, b.streams[i].name);
    EXPECT_EQ(a.streams[i].frames, b.streams[i].frames);
    EXPECT_EQ(a.streams[i].width, b.streams[i].width);
  }
  ASSERT_EQ(a.epochs.size(), b.epochs.size());
  for (size_t e = 0; e < a.epochs.size(); ++e) {
    EXPECT_EQ(a.epochs[e].deadline_s, b.epochs[e].deadline_s);
    EXPECT_EQ(a.epochs[e].quota, b.epochs[e].quota);
    ASSERT_EQ(a.epochs[e].anchors.size(), b.epochs[e].anchors.size());
    for (size_t i = 0; i < a.epochs[e].anchors.size(); ++i) {
      const Anchor& x = a.epochs[e].anchors[i];
      const Anchor& y = b.epochs[e].anchors[i];
      EXPECT_EQ(x.stream, y.stream);
      EXPECT_EQ(x.display_index, y.display_index);
      EXPECT_EQ(x.decode_index, y.decode_index);
      EXPECT_EQ(x.cls, y.cls);
      EXPECT_EQ(x.score, y.score);  // exact: JSON keeps the shortest round-trip form
    }
  }
}

TEST(AnchorIntegration, SelectOnAGeneratedVp9StreamAndRoundTripThePlan) {
  test::TempDir dir;
  const std::string video = dir.file("lr.webm");
  test::write_synthetic_video(video, 160, 96, 100, media::EncoderSettings::streamer_vp9(160, 96));
  media::StreamInfo info;
  const std::vector<media::CodedFrame> frames = media::probe_file(video, &info);
  int64_t shown = 0;
  for (const auto& f : frames) shown += f.shown ? 1 : 0;
  ASSERT_EQ(shown, 100);

  SchedulerConfig config;  // defaults: neuroscaler, 7.5 %, 40-frame epochs
  const std::vector<StreamSpec> specs = {{video, 0}};
  const std::vector<std::vector<media::CodedFrame>> streams = {frames};
  Plan plan;
  plan.method = "neuroscaler";
  plan.mode = "fraction";
  plan.fraction = config.fraction;
  plan.streams.push_back({video, info.codec, info.width, info.height, shown, 0});
  plan.epochs = select_offline(config, specs, streams);
  ASSERT_EQ(plan.epochs.size(), 3u);  // 40 + 40 + 20 displayed frames
  EXPECT_EQ(plan.epochs[0].frames, 40);
  EXPECT_EQ(plan.epochs[2].frames, 20);
  EXPECT_EQ(plan.epochs[0].quota, 3);  // round(0.075 * 40)
  EXPECT_EQ(plan.epochs[2].quota, 2);  // round(1.5)
  ASSERT_FALSE(plan.epochs[0].anchors.empty());
  EXPECT_EQ(plan.epochs[0].anchors[0].cls, UnitClass::key);  // the first frame is a key frame
  EXPECT_EQ(plan.epochs[0].anchors[0].display_index, 0);
  for (const auto& e : plan.epochs) EXPECT_EQ(static_cast<int64_t>(e.anchors.size()), e.quota);

  const std::string path = dir.file("plan.json");
  write_plan(plan, path);
  expect_same_plan(plan, read_plan(path));

  // The command gives the same plan.
  const std::string cli_path = dir.file("cli_plan.json");
  const test::CliResult result = test::run_cli({"select", "--in", video, "--method", "neuroscaler", "--out", cli_path});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("select: neuroscaler"), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty());
  expect_same_plan(plan, read_plan(cli_path));
}

TEST(AnchorPlan, RejectsDamagedPlans) {
  EXPECT_THROW(plan_from_json("{"), Error);
  EXPECT_THROW(plan_from_json(R"({"format": "other", "version": 1})"), Error);
  Plan plan;
  plan.method = "uniform";
  plan.mode = "fraction";
  EpochResult e;
  e.anchors.push_back({3, 0, 0, UnitClass::normal, 0});  // stream 3 does not exist
  plan.epochs.push_back(e);
  try {
    plan_from_json(plan_to_json(plan), "p.json");
    FAIL() << "expected an error";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::corrupt);
    EXPECT_NE(std::string(err.what()).find("unknown stream 3"), std::string::npos) << err.what();
  }
  EXPECT_THROW(read_plan("/nonexistent/plan.json"), Error);

  // A number where an integer belongs, or one beyond its type, is a damaged plan, not a silent cast.
  plan.epochs.clear();
  plan.epoch_frames = 60;
  const std::string good = plan_to_json(plan);
  ASSERT_NO_THROW(plan_from_json(good));
  for (const char* bad : {"1e300", "60.5", "4294967356"}) {
    std::string text = good;
    const size_t at = text.find("\"epoch_frames\": 60");
    ASSERT_NE(at, std::string::npos) << text;
    text.replace(at, std::string("\"epoch_frames\": 60").size(), std::string("\"epoch_frames\": ") + bad);
    EXPECT_EQ(test::error_code_of([&] { plan_from_json(text); }), ErrorCode::corrupt) << bad;
  }
}

TEST(AnchorCli, ReportsMissingFilesAndBadOptions) {
  test::TempDir dir;
  auto r = test::run_cli({"select", "--in", dir.file("missing.webm"), "--out", dir.file("p.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.webm"), std::string::npos) << r.err;

  const std::string video = dir.file("v.webm");
  test::write_synthetic_video(video, 64, 64, 4, media::EncoderSettings::streamer_vp9(64, 64));
  r = test::run_cli({"select", "--in", video, "--method", "best", "--out", dir.file("p.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown selection method"), std::string::npos) << r.err;

  r = test::run_cli({"select", "--in", video, "--budget-ms", "10", "--out", dir.file("p.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--latency"), std::string::npos) << r.err;

  r = test::run_cli({"select", "--in", video, "--fraction", "0.1", "--budget-ms", "10", "--out", dir.file("p.json")});
  EXPECT_NE(r.exit_code, 0);  // the two quota options exclude each other

  r = test::run_cli({"select", "--in", video, "--fraction", "2", "--out", dir.file("p.json")});
  EXPECT_NE(r.exit_code, 0);

  // Budget mode with a latency file: every anchor costs 5 ms, 12 ms per epoch -> 2 anchors per epoch.
  const std::string latency = dir.file("lat.json");
  std::ofstream(latency)
      << R"({"entries": [{"model": "edsr", "width": 64, "height": 64, "backend": "cuda", "ms": 5}]})";
  r = test::run_cli({"select", "--in", video, "--budget-ms", "12", "--latency", latency, "--out", dir.file("b.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Plan plan = read_plan(dir.file("b.json"));
  EXPECT_EQ(plan.mode, "budget");
  ASSERT_EQ(plan.epochs.size(), 1u);
  EXPECT_EQ(plan.epochs[0].anchors.size(), 2u);  // 4 frames -> 1 candidate (20 %) + the key frame
  EXPECT_DOUBLE_EQ(plan.epochs[0].used_ms, 10.0);
}

}  // namespace
