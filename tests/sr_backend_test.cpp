// ns/sr backends against sr/ref (the specification), checkasm style: one table of cases (model size, H x W
// including odd and 1x1, tile, precision) run on every registered backend that can run it. Fails on any
// NaN/Inf, on a write past the output (guard values), or on a difference above the case's tolerance.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/sr/batch.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns::sr {
namespace {

constexpr float kGuard = -12345.0f;
constexpr size_t kGuardCount = 64;

struct Case {
  int blocks;
  int channels;
  int scale;
  int width;
  int height;
  int tile;  // 0 = the backend's default
  Precision precision;
  double tolerance;  // max |backend - ref| / max(1, max |ref|)

  std::string name() const {
    char buf[96];
    std::snprintf(buf, sizeof buf, "edsr_b%d_f%d_s%d_%dx%d_t%d_%s", blocks, channels, scale, width, height, tile,
                  precision_name(precision));
    return buf;
  }
};

const Case kCases[] = {
    {1, 4, 3, 24, 17, 0, Precision::fp32, 1e-4},
    {2, 8, 3, 13, 9, 0, Precision::fp32, 1e-4},
    {2, 8, 3, 1, 1, 0, Precision::fp32, 1e-4},
    {1, 8, 2, 17, 11, 0, Precision::fp32, 1e-4},
    {8, 16, 3, 24, 17, 0, Precision::fp32, 1e-4},
    {8, 16, 3, 24, 17, 8, Precision::fp32, 1e-4},  // 3 x 3 tiles, window shifted at every border
    {2, 8, 3, 31, 23, 5, Precision::fp32, 1e-4},   // tiles smaller than the receptive radius
    {1, 4, 4, 11, 7, 0, Precision::fp32, 1e-4},    // x4 (two x2 upsampling stages): backends without it are skipped
    {2, 8, 4, 31, 23, 5, Precision::fp32, 1e-4},   // x4, tiled
    {2, 8, 2, 31, 23, 5, Precision::fp32, 1e-4},   // x2, tiled
    {8, 16, 3, 24, 17, 0, Precision::bf16, 1e-2},
    {2, 8, 3, 31, 23, 5, Precision::bf16, 1e-2},
};

ModelDesc desc_of(const Case& c) {
  ModelDesc d;
  d.blocks = c.blocks;
  d.channels = c.channels;
  d.scale = c.scale;
  return d;
}

std::vector<float> random_input(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> in(static_cast<size_t>(3) * width * height);
  for (float& v : in) v = static_cast<float>(rng() % 256) / 255.0f;
  return in;
}

// Runs `backend` and returns its output, checking guard values after the output and finiteness.
std::vector<float> run_checked(Backend& backend, const Model& model, const std::vector<float>& in, int w, int h) {
  const int s = model.desc.scale;
  const size_t n = static_cast<size_t>(3) * w * h * s * s;
  std::vector<float> out(n + kGuardCount, kGuard);
  std::vector<float> input = in;
  backend.run({input.data(), 3, w, h}, {out.data(), 3, w * s, h * s});
  backend.synchronize();
  for (size_t i = n; i < out.size(); ++i) EXPECT_EQ(out[i], kGuard) << backend.name() << " wrote past the output";
  EXPECT_EQ(input, in) << backend.name() << " modified its input";
  out.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(out[i])) {
      ADD_FAILURE() << backend.name() << ": non-finite output at " << i;
      break;
    }
  }
  return out;
}

double relative_max_diff(const std::vector<float>& a, const std::vector<float>& ref) {
  double diff = 0;
  double scale = 1;
  for (size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - ref[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(ref[i])));
  }
  return diff / scale;
}

TEST(SrBackend, RegistryListsRefLast) {
  const std::vector<std::string> names = backend_names();
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names.back(), "ref");
  EXPECT_EQ(create_backend("auto", ModelDesc{})->name(), "onednn");  // the default at fp32 (cuda is fp16 only)
}

TEST(SrBackend, EveryBackendMatchesRefOnEveryCase) {
  int compared = 0;
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name());
    const Model model = random_model(desc_of(c), 1000 + static_cast<uint64_t>(c.blocks * 31 + c.width));
    const std::vector<float> in = random_input(c.width, c.height, 7);
    std::unique_ptr<Backend> ref = create_backend("ref", model.desc);
    ref->prepare(model, {c.width, c.height});
    const std::vector<float> expected = run_checked(*ref, model, in, c.width, c.height);
    for (const BackendEntry& entry : backend_registry()) {
      if (entry.name == "ref" || !entry.available(c.precision)) continue;
      std::unique_ptr<Backend> backend = entry.create({.precision = c.precision, .threads = 1, .tile = c.tile});
      if (!backend->supports(model.desc)) continue;
      backend->prepare(model, {c.width, c.height});
      const std::vector<float> got = run_checked(*backend, model, in, c.width, c.height);
      const double diff = relative_max_diff(got, expected);
      EXPECT_LE(diff, c.tolerance) << entry.name << " " << c.name();
      ++compared;
    }
  }
  EXPECT_GT(compared, 0) << "no backend besides ref ran any case";
}

TEST(SrBackend, TiledOutputEqualsUntiled) {
  // 70 x 45 with 16-pixel tiles: 5 x 3 tiles, each window 56 wide (shifted at the borders).
  ModelDesc d;
  d.blocks = 8;
  d.channels = 16;
  const Model model = random_model(d, 77);
  const std::vector<float> in = random_input(70, 45, 3);
  for (const BackendEntry& entry : backend_registry()) {
    if (entry.name == "ref" || !entry.available(Precision::fp32)) continue;
    SCOPED_TRACE(entry.name);
    std::unique_ptr<Backend> whole = entry.create({.threads = 1, .tile = 512});
    std::unique_ptr<Backend> tiled = entry.create({.threads = 1, .tile = 16});
    whole->prepare(model, {70, 45});
    tiled->prepare(model, {70, 45});
    const std::vector<float> a = run_checked(*whole, model, in, 70, 45);
    const std::vector<float> b = run_checked(*tiled, model, in, 70, 45);
    EXPECT_LE(relative_max_diff(b, a), 1e-5);
  }
}

TEST(SrBackend, SmallerInputThanPreparedMatchesRef) {
  ModelDesc d;
  d.blocks = 2;
  d.channels = 8;
  const Model model = random_model(d, 5);
  const std::vector<float> in = random_input(9, 6, 4);
  std::unique_ptr<Backend> ref = create_backend("ref", d);
  ref->prepare(model, {20, 20});
  const std::vector<float> expected = run_checked(*ref, model, in, 9, 6);
  for (const BackendEntry& entry : backend_registry()) {
    if (entry.name == "ref" || !entry.available(Precision::fp32)) continue;
    std::unique_ptr<Backend> backend = entry.create({.threads = 1, .tile = 4});
    backend->prepare(model, {20, 20});
    EXPECT_LE(relative_max_diff(run_checked(*backend, model, in, 9, 6), expected), 1e-4) << entry.name;
  }
}

TEST(SrBackend, WholeModelOnARealFrameMatchesRef) {
  // EDSR_B8_F16_S3 with random weights on a synthetic I420 frame, through the frontend: the HR frames of
  // each backend and of ref differ by at most one code value (rounding ties) in a handful of samples.
  ModelDesc d;
  d.blocks = 8;
  d.channels = 16;
  Model model = random_model(d, 21);
  const core::Frame lr = test::synthetic_frame(40, 30, 5);
  core::Frame expected;
  Upscaler ref(model, 40, 30, {.backend = "ref"});
  ref.upscale(lr, expected);
  for (const BackendEntry& entry : backend_registry()) {
    if (entry.name == "ref" || !entry.available(Precision::fp32)) continue;
    Upscaler up(model, 40, 30, {.backend = entry.name, .backend_options = {.tile = 16}});
    core::Frame got;
    up.upscale(lr, got);
    ASSERT_TRUE(core::same_size(got, expected));
    int max_diff = 0;
    int64_t differing = 0;
    for (int p = 0; p < core::kPlaneCount; ++p)
      for (int y = 0; y < got.plane_height(p); ++y)
        for (int x = 0; x < got.plane_width(p); ++x) {
          const int diff = std::abs(got.row(p, y)[x] - expected.row(p, y)[x]);
          max_diff = std::max(max_diff, diff);
          differing += diff != 0;
        }
    EXPECT_LE(max_diff, 1) << entry.name;
    EXPECT_LE(differing, 120 * 90 * 3 / 200) << entry.name;  // under 0.5 % of the samples
  }
}

bool frames_equal(const core::Frame& a, const core::Frame& b) {
  if (!core::same_size(a, b)) return false;
  for (int p = 0; p < core::kPlaneCount; ++p)
    for (int y = 0; y < a.plane_height(p); ++y)
      if (!std::equal(a.row(p, y), a.row(p, y) + a.plane_width(p), b.row(p, y))) return false;
  return true;
}

TEST(SrBatch, FramesOfSeveralModelsAndSizesEqualOneUpscalerEach) {
  // Three streams' models (two architectures), frames of two sizes, in one call: each result is exactly what that
  // model's own Upscaler gives; pts and index are kept.
  const Model a = random_model({.blocks = 1, .channels = 4, .scale = 3}, 1);
  const Model b = random_model({.blocks = 1, .channels = 4, .scale = 3}, 2);
  const Model c = random_model({.blocks = 2, .channels = 8, .scale = 2}, 3);
  BatchUpscaler batch({.backend = "ref"}, 4);
  const int ia = batch.add_model(a, 24, 18, Precision::fp32);
  const int ib = batch.add_model(b, 24, 18, Precision::fp32);
  const int ic = batch.add_model(c, 16, 12, Precision::fp32);
  EXPECT_EQ(batch.backend_name(ia), "ref");
  std::vector<core::Frame> lr;
  lr.push_back(test::synthetic_frame(24, 18, 0));
  lr.push_back(test::synthetic_frame(24, 18, 1, 2));
  lr.push_back(test::synthetic_frame(16, 12, 2, 3));
  lr.push_back(test::synthetic_frame(20, 14, 3, 4));
  for (size_t i = 0; i < lr.size(); ++i) lr[i].pts = 100 + static_cast<int64_t>(i);
  std::vector<core::Frame> hr(lr.size());
  const std::vector<BatchUpscaler::Job> jobs = {
      {ia, &lr[0], &hr[0]}, {ib, &lr[1], &hr[1]}, {ic, &lr[2], &hr[2]}, {ia, &lr[3], &hr[3]}};
  batch.upscale(jobs);
  const Model* models[] = {&a, &b, &c, &a};
  for (size_t i = 0; i < jobs.size(); ++i) {
    SCOPED_TRACE(i);
    Upscaler own(*models[i], lr[i].width(), lr[i].height(), {.backend = "ref"});
    core::Frame expected;
    own.upscale(lr[i], expected);
    EXPECT_TRUE(frames_equal(hr[i], expected));
    EXPECT_EQ(hr[i].pts, lr[i].pts);
  }
}

TEST(SrBatch, RefusesUnknownModelsOversizedFramesAndWrongOutputs) {
  BatchUpscaler batch({.backend = "ref"}, 2);
  const int id = batch.add_model(random_model({.blocks = 1, .channels = 4, .scale = 3}, 1), 16, 12, Precision::fp32);
  const core::Frame small = test::synthetic_frame(16, 12, 0);
  const core::Frame big = test::synthetic_frame(32, 12, 0);
  core::Frame out, wrong(10, 10);
  auto code_of = [&](const BatchUpscaler::Job& job) -> std::optional<ErrorCode> {
    try {
      batch.upscale({&job, 1});
    } catch (const Error& e) {
      return e.code();
    }
    return std::nullopt;
  };
  EXPECT_EQ(code_of({id + 1, &small, &out}), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of({id, &big, &out}), ErrorCode::invalid_argument);
  EXPECT_EQ(code_of({id, &small, &wrong}), ErrorCode::mismatch);
  EXPECT_EQ(code_of({id, &small, &out}), std::nullopt);
  batch.remove_model(id);
  EXPECT_EQ(code_of({id, &small, &out}), ErrorCode::invalid_argument);
  EXPECT_THROW(BatchUpscaler({.backend = "ref"}, 0), Error);
}

TEST(SrBackend, ShippedModelsMatchRef) {
  // The trained models in models/ (real weight statistics, unlike random ones): every backend against ref.
  for (const char* file : {"edsr_b8_f16_s3_generic.safetensors", "edsr_b8_f32_s3_generic.safetensors"}) {
    const Model model = load_model(std::string(NS_SOURCE_DIR) + "/models/" + file);
    const std::vector<float> in = random_input(14, 10, 8);
    std::unique_ptr<Backend> ref = create_backend("ref", model.desc);
    ref->prepare(model, {14, 10});
    const std::vector<float> expected = run_checked(*ref, model, in, 14, 10);
    for (const BackendEntry& entry : backend_registry()) {
      if (entry.name == "ref" || !entry.available(Precision::fp32)) continue;
      std::unique_ptr<Backend> backend = entry.create({.threads = 1, .tile = 0});
      backend->prepare(model, {14, 10});
      EXPECT_LE(relative_max_diff(run_checked(*backend, model, in, 14, 10), expected), 1e-4)
          << entry.name << " " << file;
    }
  }
}

}  // namespace
}  // namespace ns::sr
