// The oneDNN training engine: its gradients against finite differences of the reference network's loss, and
// (with libtorch) its steps against libtorch's autograd and Adam, and checkpoints moving between the engines.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ns/core/colour.h"
#include "ns/core/resize.h"
#include "ns/sr/backends_impl.h"
#include "ns/sr/sr.h"
#include "ns/sr/train/dataset_impl.h"
#include "ns/sr/train/engine_impl.h"
#include "ns/sr/train/train.h"
#include "support/fixtures.h"

namespace ns {
namespace {

sr::ModelDesc tiny_desc(int scale) {
  sr::ModelDesc desc;
  desc.blocks = 2;
  desc.channels = 8;
  desc.scale = scale;
  return desc;
}

// A batch of smooth random content in [0, 1]: N x 3 x p x p and N x 3 x sp x sp.
struct Batch {
  std::vector<float> lr, hr;
};

Batch random_batch(int n, int patch, int scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  Batch b;
  b.lr.resize(static_cast<size_t>(n) * 3 * patch * patch);
  b.hr.resize(static_cast<size_t>(n) * 3 * patch * patch * scale * scale);
  for (float& v : b.lr) v = u(rng);
  for (float& v : b.hr) v = u(rng);
  return b;
}

sr::train::TrainOptions engine_options(int batch, int patch) {
  sr::train::TrainOptions o;
  o.batch = batch;
  o.patch = patch;
  o.threads = 1;
  o.device = "cpu";
  o.learning_rate = 1e-3;
  return o;
}

// Mean |network(lr) - hr| over the batch, on the reference backend (plain loops), in double.
double reference_loss(const sr::Model& model, const Batch& b, int n, int patch) {
  auto ref = sr::create_backend("ref", model.desc);
  const int s = model.desc.scale, hp = s * patch;
  ref->prepare(model, {patch, patch});
  std::vector<float> out(static_cast<size_t>(3) * hp * hp);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<float> in(b.lr.begin() + static_cast<ptrdiff_t>(i) * 3 * patch * patch,
                          b.lr.begin() + static_cast<ptrdiff_t>(i + 1) * 3 * patch * patch);
    ref->run({in.data(), 3, patch, patch}, {out.data(), 3, hp, hp});
    const float* target = b.hr.data() + static_cast<size_t>(i) * out.size();
    for (size_t k = 0; k < out.size(); ++k) sum += std::abs(static_cast<double>(out[k]) - target[k]);
  }
  return sum / (static_cast<double>(n) * out.size());
}

TEST(TrainEngine, OnednnLossAndGradientsMatchTheReferenceNetwork) {
  for (int scale : {2, 3, 4}) {
    const int n = 2, patch = 8;
    const sr::Model model = sr::random_model(tiny_desc(scale), 3);
    const Batch batch = random_batch(n, patch, scale, 7);
    auto engine = sr::train::create_onednn_engine(model, engine_options(n, patch));
    const double loss = engine->step(batch.lr.data(), batch.hr.data(), 1e-3);
    EXPECT_NEAR(loss, reference_loss(model, batch, n, patch), 1e-6) << "scale " << scale;
    const auto gradients = engine->gradients();
    // Central differences on a few entries of every tensor (the largest-gradient entry and two others).
    for (const auto& [name, tensor] : model.tensors) {
      const std::vector<float>& g = gradients.at(name);
      ASSERT_EQ(g.size(), tensor.data.size()) << name;
      const size_t largest = static_cast<size_t>(std::max_element(g.begin(), g.end(), [](float a, float b) {
                                                   return std::abs(a) < std::abs(b);
                                                 }) - g.begin());
      for (size_t index : {largest, g.size() / 3, g.size() - 1}) {
        const float h = 1e-3f;
        sr::Model plus = model, minus = model;
        plus.tensors.at(name).data[index] += h;
        minus.tensors.at(name).data[index] -= h;
        const double numeric = (reference_loss(plus, batch, n, patch) - reference_loss(minus, batch, n, patch)) / (2 * h);
        EXPECT_NEAR(g[index], numeric, 2e-4 + 0.03 * std::abs(numeric))
            << name << "[" << index << "], scale " << scale;
      }
    }
  }
}

// bf16 convolutions: the loss to bf16 precision, every tensor's gradient within a few % (relative L2) of fp32's.
TEST(TrainEngine, Bf16GradientsFollowFp32) {
  if (!sr::onednn_available(sr::Precision::bf16)) GTEST_SKIP() << "this CPU has no native bf16";
  const int n = 2, patch = 12, scale = 3;
  const sr::Model model = sr::random_model(tiny_desc(scale), 4);
  const Batch batch = random_batch(n, patch, scale, 8);
  sr::train::TrainOptions options = engine_options(n, patch);
  auto fp32 = sr::train::create_onednn_engine(model, options);
  options.precision = "bf16";
  auto bf16 = sr::train::create_onednn_engine(model, options);
  const double a = fp32->step(batch.lr.data(), batch.hr.data(), 1e-3);
  const double b = bf16->step(batch.lr.data(), batch.hr.data(), 1e-3);
  EXPECT_NEAR(a, b, 0.01 * a);
  const auto ga = fp32->gradients(), gb = bf16->gradients();
  for (const auto& [name, g] : ga) {
    double diff = 0, norm = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      diff += std::pow(static_cast<double>(g[i]) - gb.at(name)[i], 2);
      norm += std::pow(static_cast<double>(g[i]), 2);
    }
    EXPECT_LE(std::sqrt(diff), 0.05 * std::sqrt(norm)) << name;
  }
}

// The plain loops (shuffle, masks, adds, loss) are split over the OpenMP team: a team of 3 on a batch of 3 gives the
// one-thread step (only the summation order of the loss and the weight gradients may differ), at both shuffle depths.
TEST(TrainEngine, OnednnThreadTeamsAgree) {
  for (int scale : {3, 4}) {
    const int n = 3, patch = 10;
    const sr::Model model = sr::random_model(tiny_desc(scale), 5);
    const Batch batch = random_batch(n, patch, scale, 9);
    sr::train::TrainOptions options = engine_options(n, patch);
    auto one = sr::train::create_onednn_engine(model, options);
    options.threads = 3;
    auto team = sr::train::create_onednn_engine(model, options);
    EXPECT_NEAR(one->step(batch.lr.data(), batch.hr.data(), 1e-3), team->step(batch.lr.data(), batch.hr.data(), 1e-3),
                1e-9);
    const auto ga = one->gradients(), gb = team->gradients();
    for (const auto& [name, g] : ga) {
      for (size_t i = 0; i < g.size(); ++i) {
        ASSERT_NEAR(g[i], gb.at(name)[i], 1e-6 + 1e-4 * std::abs(g[i])) << name << "[" << i << "], scale " << scale;
      }
    }
  }
}

TEST(TrainEngine, AdamMatchesItsDefinition) {
  // Two steps by hand: m = 0.9 m + 0.1 g, v = 0.999 v + 0.001 g^2, p -= lr / (1 - 0.9^t) m / (sqrt(v / (1 -
  // 0.999^t)) + 1e-8).
  std::vector<float> p = {1.0f, -2.0f}, g = {0.5f, -0.25f};
  sr::train::AdamMoments m{{0, 0}, {0, 0}};
  sr::train::adam_update(p, g, m, 1, 0.1);
  EXPECT_NEAR(p[0], 1.0 - 0.1, 1e-6);  // first step: lr x sign(g)
  EXPECT_NEAR(p[1], -2.0 + 0.1, 1e-6);
  sr::train::adam_update(p, g, m, 2, 0.1);
  const double m2 = 0.9 * 0.05 + 0.1 * 0.5, v2 = 0.999 * 0.00025 + 0.001 * 0.25;
  const double expected = 0.9 - 0.1 / (1 - 0.81) * m2 / (std::sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
  EXPECT_NEAR(p[0], expected, 1e-6);
}

#ifdef NS_WITH_TORCH
float max_abs(const std::vector<float>& v) {
  float worst = 0;
  for (float x : v) worst = std::max(worst, std::abs(x));
  return worst;
}

float max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

// Same weights, same batches: loss, gradients and updated weights of three steps agree with libtorch's.
TEST(TrainEngine, OnednnStepsEqualLibtorchSteps) {
  for (int scale : {2, 3, 4}) {
    const int n = 3, patch = 10;
    const sr::Model model = sr::random_model(tiny_desc(scale), 5);
    const sr::train::TrainOptions options = engine_options(n, patch);
    auto onednn = sr::train::create_onednn_engine(model, options);
    auto torch = sr::train::create_torch_engine(model, options);
    for (int step = 0; step < 3; ++step) {
      const Batch batch = random_batch(n, patch, scale, 20 + step);
      const double a = onednn->step(batch.lr.data(), batch.hr.data(), 1e-3);
      const double b = torch->step(batch.lr.data(), batch.hr.data(), 1e-3);
      EXPECT_NEAR(a, b, 1e-6 * b) << "scale " << scale << ", step " << step;
      const auto ga = onednn->gradients(), gb = torch->gradients();
      for (const auto& [name, g] : gb) {
        EXPECT_LE(max_abs_difference(ga.at(name), g), 1e-5f * std::max(1.0f, max_abs(g)))
            << name << ", scale " << scale << ", step " << step;
      }
      const sr::Model wa = onednn->model(), wb = torch->model();
      for (const auto& [name, t] : wb.tensors) {
        // Adam divides by sqrt(v): where a gradient is ~1e-8 the two sums' rounding can move one update by up to
        // lr; everywhere else the weights agree to float precision.
        const std::vector<float>& x = wa.tensor(name).data;
        size_t far = 0;
        for (size_t i = 0; i < x.size(); ++i) far += std::abs(x[i] - t.data[i]) > 1e-6f;
        EXPECT_LE(far, 2 + x.size() / 200) << name << ", scale " << scale << ", step " << step;
        EXPECT_LE(max_abs_difference(x, t.data), 2e-3f * (step + 1)) << name;
      }
    }
  }
}

// A checkpoint written by one engine is resumed by the other and training goes on as it would have.
TEST(TrainEngine, CheckpointsMoveBetweenEngines) {
  test::TempDir dir;
  sr::train::TrainingSet set;
  set.scale = 3;
  for (uint32_t seed = 1; seed <= 2; ++seed) {
    sr::train::ImagePair pair;
    core::i420_to_rgb(test::synthetic_frame(60, 60, 0, seed), pair.hr);
    pair.lr = core::resized(pair.hr, 20, 20, core::ResizeFilter::area);
    pair.origin = "synthetic" + std::to_string(seed);
    (seed == 1 ? set.train : set.validation).push_back(pair);
  }
  sr::train::TrainOptions options = engine_options(2, 8);
  options.validate_every = 1000;
  options.engine = "torch";
  sr::Model straight = sr::random_model(tiny_desc(3), 2);
  options.steps = 6;
  sr::train::train(straight, set, options);

  sr::Model resumed = sr::random_model(tiny_desc(3), 2);
  options.steps = 3;
  options.checkpoint_dir = dir.path() / "ckpt";
  sr::train::train(resumed, set, options);
  options.engine = "onednn";
  options.steps = 6;
  options.resume = true;
  const sr::train::TrainReport report = sr::train::train(resumed, set, options);
  EXPECT_EQ(report.first_step, 3);
  EXPECT_EQ(report.engine, "onednn");
  for (const auto& [name, tensor] : straight.tensors) {
    EXPECT_LE(max_abs_difference(tensor.data, resumed.tensor(name).data), 1e-4f) << name;
  }
}
#endif

}  // namespace
}  // namespace ns
