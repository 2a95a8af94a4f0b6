// The sample's content kinds (issue 20's selection set): the default renders exactly what it did before the kinds
// existed; pan, zoom and static move the camera as they say, fast moves more and cuts often, grain and low light
// change the sample's pixels by the expected amounts; the kind is in the manifest and unknown names are refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/eval/sample.h"
#include "support/fixtures.h"

namespace ns {
namespace {

namespace fs = std::filesystem;
using eval::SampleContent;

// Tiny scene: 192x108 (LR 64x36), 0.5 s train + 1 s test.
eval::SampleOptions tiny_options(SampleContent content, int fps = 0) {
  eval::SampleOptions o = test::tiny_sample_options();
  o.content = content;
  o.fps = fps;
  o.train_seconds = 0.5;
  o.test_seconds = 1;
  return o;
}

uint64_t frame_hash(const core::Frame& f) {  // FNV-1a over the three planes, row by row
  uint64_t h = 1469598103934665603ull;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < f.plane_height(p); ++y) {
      const uint8_t* row = f.row(p, y);
      for (int x = 0; x < f.plane_width(p); ++x) h = (h ^ row[x]) * 1099511628211ull;
    }
  }
  return h;
}

struct Stats {
  double mean = 0;
  double stddev = 0;
};
// Of plane p of a - b (or of a alone when b is null).
Stats plane_stats(const core::Frame& a, const core::Frame* b, int p) {
  double sum = 0;
  double sum2 = 0;
  const double n = static_cast<double>(a.plane_width(p)) * a.plane_height(p);
  for (int y = 0; y < a.plane_height(p); ++y) {
    for (int x = 0; x < a.plane_width(p); ++x) {
      const double v = a.row(p, y)[x] - (b ? b->row(p, y)[x] : 0);
      sum += v;
      sum2 += v * v;
    }
  }
  const double mean = sum / n;
  return {mean, std::sqrt(std::max(0.0, sum2 / n - mean * mean))};
}

// Mean travel per frame within shots, in output pixels: `add` adds one step's distances and how many it measured.
using AddTravel = std::function<void(const eval::SampleFrameState&, const eval::SampleFrameState&, double&, int&)>;
double mean_travel(const eval::SampleScene& scene, const AddTravel& add) {
  double travelled = 0;
  int steps = 0;
  for (int64_t i = 1; i < scene.frame_count(); ++i) {
    const eval::SampleFrameState a = eval::describe_sample_frame(scene, i - 1);
    const eval::SampleFrameState b = eval::describe_sample_frame(scene, i);
    if (a.shot == b.shot) add(a, b, travelled, steps);
  }
  return travelled / steps;
}

double mean_camera_speed(const eval::SampleScene& scene) {
  return mean_travel(scene, [](const auto& a, const auto& b, double& travelled, int& steps) {
    travelled += std::hypot(b.camera_x - a.camera_x, b.camera_y - a.camera_y) / b.zoom;
    ++steps;
  });
}

// Of the cut-outs' centres.
double mean_object_speed(const eval::SampleScene& scene) {
  return mean_travel(scene, [](const auto& a, const auto& b, double& travelled, int& steps) {
    for (size_t j = 0; j < a.objects.size(); ++j) {
      travelled += std::hypot(b.objects[j].centre_x - a.objects[j].centre_x,
                              b.objects[j].centre_y - a.objects[j].centre_y);
      ++steps;
    }
  });
}

TEST(SampleContent, DefaultRendersExactlyAsBeforeTheKinds) {
  // Hashes of the tiny sample's frames rendered by the code before SampleContent existed (same photos, seed 1).
  const std::vector<std::pair<int64_t, uint64_t>> expected = {
      {0, 0xdb51f113b695f21aull},  {17, 0x0b1235b8a108dd47ull}, {45, 0xac275a3398f281fbull},
      {65, 0x7a7ea6494fef63baull}, {66, 0x183493ca319c0ef1ull}, {89, 0xfac70acf06a509d4ull},
  };
  const eval::SampleScene scene(tiny_options(SampleContent::sample));
  EXPECT_EQ(scene.fps(), 60);
  for (const auto& [index, hash] : expected) {
    EXPECT_EQ(frame_hash(eval::render_sample_frame(scene, index)), hash) << "frame " << index;
  }
}

TEST(SampleContent, NamesRoundTrip) {
  std::vector<std::string> names;
  for (const SampleContent c : eval::sample_contents()) {
    names.emplace_back(eval::sample_content_name(c));
    EXPECT_EQ(eval::parse_sample_content(names.back()), c) << names.back();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"sample", "pan", "zoom", "static", "fast", "grain", "low-light"}));
}

TEST(SampleContent, UnknownNameIsRefusedWithTheKinds) {
  const Error e = test::error_of([] { eval::parse_sample_content("sparkle"); });
  EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
  const std::string what = e.what();
  EXPECT_NE(what.find("'sparkle'"), std::string::npos) << what;
  EXPECT_NE(what.find("static"), std::string::npos) << what;
  EXPECT_NE(what.find("low-light"), std::string::npos) << what;
}

TEST(SampleContent, NativeRateUnlessFpsIsGiven) {
  EXPECT_EQ(eval::sample_content_fps(SampleContent::grain), 24);
  EXPECT_EQ(eval::sample_content_fps(SampleContent::low_light), 30);
  const eval::SampleScene grain(tiny_options(SampleContent::grain));
  EXPECT_EQ(grain.fps(), 24);
  EXPECT_EQ(grain.frame_count(), 12 + 24);
  const eval::SampleScene low(tiny_options(SampleContent::low_light));
  EXPECT_EQ(low.fps(), 30);
  const eval::SampleScene pan(tiny_options(SampleContent::pan));
  EXPECT_EQ(pan.fps(), 60);
  const eval::SampleScene grain60(tiny_options(SampleContent::grain, 60));
  EXPECT_EQ(grain60.fps(), 60);
  EXPECT_EQ(grain60.content(), SampleContent::grain);
}

TEST(SampleContentPan, SameStepEveryFrameNoCutOutsNoCut) {
  const eval::SampleScene scene(tiny_options(SampleContent::pan));
  EXPECT_EQ(scene.shots().size(), 1u);
  EXPECT_EQ(scene.scene_cut_frame(), -1);
  const eval::SampleFrameState first = eval::describe_sample_frame(scene, 0);
  const eval::SampleFrameState second = eval::describe_sample_frame(scene, 1);
  const double dx = second.camera_x - first.camera_x;
  const double dy = second.camera_y - first.camera_y;
  // 120 to 180 output pixels per second at 1080p: 0.2 to 0.3 pixels per frame at 108 lines and 60 fps.
  const double step = std::hypot(dx, dy) / first.zoom;
  EXPECT_GT(step, 0.19);
  EXPECT_LT(step, 0.31);
  EXPECT_GT(std::abs(dx), 2 * std::abs(dy));  // mostly sideways
  for (int64_t i = 1; i < scene.frame_count(); ++i) {
    const eval::SampleFrameState a = eval::describe_sample_frame(scene, i - 1);
    const eval::SampleFrameState b = eval::describe_sample_frame(scene, i);
    ASSERT_NEAR(b.camera_x - a.camera_x, dx, 1e-9) << i;
    ASSERT_NEAR(b.camera_y - a.camera_y, dy, 1e-9) << i;
    ASSERT_EQ(b.zoom, first.zoom) << i;
    ASSERT_TRUE(b.objects.empty()) << i;
  }
  EXPECT_NE(frame_hash(eval::render_sample_frame(scene, 0)), frame_hash(eval::render_sample_frame(scene, 60)));
}

TEST(SampleContentZoom, SameRatioEveryFrameInThenOut) {
  eval::SampleOptions o = tiny_options(SampleContent::zoom);
  o.train_seconds = 1;
  o.test_seconds = 6;  // 5 s in, then out
  const eval::SampleScene scene(o);
  EXPECT_EQ(scene.shots().size(), 1u);
  EXPECT_EQ(scene.scene_cut_frame(), -1);
  const double ratio = eval::describe_sample_frame(scene, 1).zoom / eval::describe_sample_frame(scene, 0).zoom;
  EXPECT_LT(ratio, 0.999);  // zooming in: fewer photo pixels per output pixel
  for (int64_t i = 1; i < 5 * 60; ++i) {
    const eval::SampleFrameState a = eval::describe_sample_frame(scene, i - 1);
    const eval::SampleFrameState b = eval::describe_sample_frame(scene, i);
    ASSERT_NEAR(b.zoom / a.zoom, ratio, 1e-9) << i;
    ASSERT_TRUE(b.objects.empty()) << i;
  }
  // 2x or more over the 5 s (the photos are 3x the output), then back out.
  EXPECT_GT(eval::describe_sample_frame(scene, 0).zoom / eval::describe_sample_frame(scene, 300).zoom, 2.0);
  EXPECT_GT(eval::describe_sample_frame(scene, 400).zoom, eval::describe_sample_frame(scene, 300).zoom);
}

TEST(SampleContentZoom, NoJumpsBetweenPhotoSizes) {
  // The view goes from one prepared size of the photo to the next three times in 5 s; blending the two nearest
  // keeps every frame-to-frame change close to its neighbours' (switching without blending: 1.9 times here).
  eval::SampleOptions o = tiny_options(SampleContent::zoom);
  o.train_seconds = 1;
  o.test_seconds = 4;
  const eval::SampleScene scene(o);
  std::vector<double> changes;
  core::Frame previous = eval::render_sample_frame(scene, 0);
  for (int64_t i = 1; i < scene.frame_count(); ++i) {
    core::Frame frame = eval::render_sample_frame(scene, i);
    changes.push_back(plane_stats(frame, &previous, 0).stddev);
    previous = std::move(frame);
  }
  for (size_t i = 1; i + 1 < changes.size(); ++i) {
    ASSERT_GT(changes[i], 0.5) << "frame " << i + 1;
    ASSERT_LT(changes[i], 1.3 * std::max(changes[i - 1], changes[i + 1]))
        << "frame " << i + 1 << ": " << changes[i - 1] << ", " << changes[i] << ", " << changes[i + 1];
  }
}

TEST(SampleContentStatic, CameraStillSmallCutOutsMoveSlowly) {
  const eval::SampleScene scene(tiny_options(SampleContent::still));
  EXPECT_EQ(scene.shots().size(), 1u);
  const eval::SampleFrameState first = eval::describe_sample_frame(scene, 0);
  ASSERT_EQ(first.objects.size(), 2u);
  for (int64_t i = 1; i < scene.frame_count(); ++i) {
    const eval::SampleFrameState s = eval::describe_sample_frame(scene, i);
    ASSERT_EQ(s.camera_x, first.camera_x) << i;
    ASSERT_EQ(s.camera_y, first.camera_y) << i;
    ASSERT_EQ(s.zoom, first.zoom) << i;
  }
  const eval::SampleScene sample(tiny_options(SampleContent::sample));
  const double speed = mean_object_speed(scene);
  EXPECT_GT(speed, 0.0);
  EXPECT_LT(speed, 0.3 * mean_object_speed(sample));
  const eval::SampleObjectState& disc = first.objects[0];
  const eval::SampleObjectState sample_disc = eval::describe_sample_frame(sample, 0).objects[0];
  EXPECT_LT(disc.box_x1 - disc.box_x0, 0.7 * (sample_disc.box_x1 - sample_disc.box_x0));
  // Only what the cut-outs (and shadows) cover changes.
  const eval::SampleFrameState later = eval::describe_sample_frame(scene, 80);
  const core::RgbImage a = eval::render_sample_rgb(scene, 0);
  const core::RgbImage b = eval::render_sample_rgb(scene, 80);
  int changed = 0;
  for (int y = 0; y < a.height; ++y) {
    for (int x = 0; x < a.width; ++x) {
      if (std::equal(a.row(y) + 3 * x, a.row(y) + 3 * x + 3, b.row(y) + 3 * x)) continue;
      ++changed;
      bool covered = false;
      for (const auto* state : {&first, &later}) {
        for (const eval::SampleObjectState& o : state->objects) {
          covered = covered || (x >= o.box_x0 && x < o.box_x1 && y >= o.box_y0 && y < o.box_y1);
        }
      }
      ASSERT_TRUE(covered) << x << "," << y;
    }
  }
  EXPECT_GT(changed, 20);
}

TEST(SampleContentFast, MovesMuchMoreAndCutsEveryFewSeconds) {
  eval::SampleOptions o = tiny_options(SampleContent::fast);
  o.train_seconds = 1;
  o.test_seconds = 9;
  const eval::SampleScene fast(o);
  o.content = SampleContent::sample;
  const eval::SampleScene sample(o);
  const std::vector<eval::SampleShot>& shots = fast.shots();
  ASSERT_GE(shots.size(), 4u);  // 10 s in shots of 2 to 3 s (the last up to 4)
  EXPECT_EQ(fast.scene_cut_frame(), shots[1].first_frame);
  for (size_t k = 0; k < shots.size(); ++k) {
    EXPECT_GE(shots[k].frame_count, 2 * 60) << k;
    EXPECT_LE(shots[k].frame_count, (k + 1 < shots.size() ? 3 : 4) * 60) << k;
    EXPECT_EQ(shots[k].objects.size(), 2u) << k;
    if (k > 0) {
      EXPECT_NE(shots[k].background, shots[k - 1].background) << k;
    }
  }
  const double camera = mean_camera_speed(fast);
  const double sample_camera = mean_camera_speed(sample);
  EXPECT_GT(camera, 3 * sample_camera) << camera << " against " << sample_camera;
  const double objects = mean_object_speed(fast);
  const double sample_objects = mean_object_speed(sample);
  EXPECT_GT(objects, 2 * sample_objects) << objects << " against " << sample_objects;
}

TEST(SampleContentGrain, SampleScenesPlusGrainOfTheExpectedStrength) {
  const eval::SampleScene grain(tiny_options(SampleContent::grain, 60));
  const eval::SampleScene sample(tiny_options(SampleContent::sample, 60));
  EXPECT_EQ(grain.scene_cut_frame(), sample.scene_cut_frame());
  for (const int64_t i : {3, 70}) {
    const core::Frame noisy = eval::render_sample_frame(grain, i);
    const core::Frame clean = eval::render_sample_frame(sample, i);
    // 5 RGB levels at mid-grey (0.55 of it at black and white) on luma: about 3 to 5 levels of Y.
    const Stats y = plane_stats(noisy, &clean, 0);
    EXPECT_NEAR(y.mean, 0, 0.4) << i;
    EXPECT_GT(y.stddev, 2.5) << i;
    EXPECT_LT(y.stddev, 5.5) << i;
    for (const int p : {1, 2}) {  // chroma: weaker, and averaged over 2x2 pixels
      const Stats c = plane_stats(noisy, &clean, p);
      EXPECT_NEAR(c.mean, 0, 0.3) << i;
      EXPECT_GT(c.stddev, 0.2) << i;
      EXPECT_LT(c.stddev, 0.4 * y.stddev) << i;
    }
  }
}

TEST(SampleContentGrain, DeterministicBySeedAndNewEveryFrame) {
  eval::SampleOptions o = tiny_options(SampleContent::grain);
  o.camera_motion = false;
  o.object_motion = false;
  const eval::SampleScene scene(o);
  const eval::SampleScene again(o);
  EXPECT_EQ(frame_hash(eval::render_sample_frame(scene, 5)), frame_hash(eval::render_sample_frame(again, 5)));
  // A still picture, but the grain changes from frame to frame.
  const core::Frame next = eval::render_sample_frame(scene, 6);
  EXPECT_GT(plane_stats(eval::render_sample_frame(scene, 5), &next, 0).stddev, 3.0);
}

TEST(SampleContentLowLight, FarDarkerWithNoise) {
  const eval::SampleScene low(tiny_options(SampleContent::low_light, 60));
  const eval::SampleScene sample(tiny_options(SampleContent::sample, 60));
  for (const int64_t i : {3, 70}) {
    // Mean luma above black (16 in limited range): 0.2 to 0.3 of the sample's.
    const double dark = plane_stats(eval::render_sample_frame(low, i), nullptr, 0).mean - 16;
    const double normal = plane_stats(eval::render_sample_frame(sample, i), nullptr, 0).mean - 16;
    EXPECT_LT(dark, 0.4 * normal) << i;
    EXPECT_GT(dark, 0.1 * normal) << i;  // dark, not black
  }
  eval::SampleOptions o = tiny_options(SampleContent::low_light);
  o.camera_motion = false;
  o.object_motion = false;
  const eval::SampleScene still(o);
  const core::Frame a = eval::render_sample_frame(still, 5);
  const core::Frame b = eval::render_sample_frame(still, 6);
  EXPECT_GT(plane_stats(a, &b, 0).stddev, 2.5);  // sensor noise, new every frame
  EXPECT_GT(plane_stats(a, &b, 2).stddev, 1.2);  // and in colour
}

TEST(SampleContentManifest, RecordsTheKind) {
  test::TempDir dir;
  eval::SampleOptions o = tiny_options(SampleContent::pan);
  o.train_seconds = 0.2;
  o.test_seconds = 0.5;
  o.out_dir = dir.path() / "pan";
  const eval::SampleManifest made = eval::make_sample(o);
  EXPECT_EQ(made.content, SampleContent::pan);
  EXPECT_EQ(made.scene_cut_frame, -1);
  EXPECT_EQ(made.shots.size(), 1u);
  EXPECT_NE(made.command_line.find("--content pan"), std::string::npos) << made.command_line;
  EXPECT_EQ(eval::load_sample_manifest(o.out_dir).content, SampleContent::pan);

  const fs::path path = o.out_dir / "manifest.json";
  nlohmann::json j;
  std::ifstream(path) >> j;
  EXPECT_EQ(j.at("content"), "pan");
  const auto rewrite = [&](const nlohmann::json& doc) { std::ofstream(path) << doc.dump(2); };
  j.erase("content");  // as written before the kinds existed
  rewrite(j);
  EXPECT_EQ(eval::load_sample_manifest(o.out_dir).content, SampleContent::sample);
  j["content"] = "video";
  rewrite(j);
  EXPECT_FALSE(eval::load_sample_manifest(o.out_dir).content.has_value());
  j["content"] = "sparkle";
  rewrite(j);
  const Error e = test::error_of([&] { eval::load_sample_manifest(o.out_dir); });
  EXPECT_EQ(e.code(), ErrorCode::corrupt);
  EXPECT_NE(std::string(e.what()).find("sparkle"), std::string::npos) << e.what();
}

TEST(SampleContentCli, UnknownKindIsRefused) {
  test::TempDir dir;
  const test::CliResult r = test::run_cli({"sample", "--out", dir.file("s"), "--content", "sparkle"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'sparkle'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("low-light"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "s"));
}

TEST(SampleContentCli, HelpListsTheKinds) {
  const test::CliResult r = test::run_cli({"sample", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* name : {"--content", "pan", "zoom", "static", "fast", "grain", "low-light"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name << "\n" << r.out;
  }
}

}  // namespace
}  // namespace ns
