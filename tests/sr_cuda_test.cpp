// sr/cuda against the CPU: the network against sr/ref (relative error <= 1e-2 in fp16) on random and shipped
// models, odd sizes, batches mixing two models (CudaUpscaler and the engine's BatchUpscaler), tensor-core and direct kernels, with and without CUDA graphs;
// the colour kernels bit-exact against core::colour. Tests that need a GPU skip without one; the registry
// and the constructor are checked everywhere.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/sr/batch.h"
#include "ns/sr/cuda/check_impl.h"
#include "ns/sr/cuda/cuda_upscaler.h"
#include "ns/sr/cuda/kernels_impl.h"
#include "ns/sr/sr.h"

namespace ns::sr {
namespace {

constexpr double kTolerance = 1e-2;  // max |cuda - ref| / max(1, max |ref|), fp16 activations
constexpr float kGuard = -12345.0f;
constexpr size_t kGuardCount = 64;

// The shipped models; NS_MODELS_DIR overrides the source tree's when the test runs on another machine.
std::string model_path(const std::string& file) {
  const char* dir = std::getenv("NS_MODELS_DIR");
  return (dir ? std::string(dir) : std::string(NS_SOURCE_DIR) + "/models") + "/" + file;
}

ModelDesc edsr(int blocks, int channels, int scale) {
  ModelDesc d;
  d.blocks = blocks;
  d.channels = channels;
  d.scale = scale;
  return d;
}

std::vector<float> random_planar(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(static_cast<size_t>(3) * width * height);
  for (float& x : v) x = static_cast<float>(rng() % 256) / 255.0f;
  return v;
}

core::Frame random_i420(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  core::Frame f(width, height);
  for (int p = 0; p < core::kPlaneCount; ++p)
    for (int y = 0; y < f.plane_height(p); ++y)
      for (int x = 0; x < f.plane_width(p); ++x) f.row(p, y)[x] = static_cast<uint8_t>(rng());
  return f;
}

// The GPU's I420 output against the CPU's for one frame. A CPU emulation of the fp16 data flow gave RGB max 1,
// mean 0.05 on the shipped F=16 model: margin for the colour conversion and the GPU's summation order.
void expect_close_to_cpu(const core::Frame& got, const core::Frame& expected, size_t frame) {
  int max_diff = 0;
  double sum = 0;
  int64_t count = 0;
  for (int p = 0; p < core::kPlaneCount; ++p)
    for (int y = 0; y < expected.plane_height(p); ++y)
      for (int x = 0; x < expected.plane_width(p); ++x) {
        const int d = std::abs(got.row(p, y)[x] - expected.row(p, y)[x]);
        max_diff = std::max(max_diff, d);
        sum += d;
        ++count;
      }
  EXPECT_LE(max_diff, 2) << "frame " << frame;
  EXPECT_LE(sum / static_cast<double>(count), 0.2) << "frame " << frame;
}

std::vector<float> run_ref(const Model& model, const std::vector<float>& in, int width, int height) {
  std::unique_ptr<Backend> ref = create_backend("ref", model.desc);
  ref->prepare(model, {width, height});
  const int s = model.desc.scale;
  std::vector<float> out(static_cast<size_t>(3) * width * height * s * s);
  std::vector<float> input = in;
  ref->run({input.data(), 3, width, height}, {out.data(), 3, width * s, height * s});
  return out;
}

double relative_max_diff(const std::vector<float>& got, const std::vector<float>& ref) {
  double diff = 0;
  double scale = 1;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, static_cast<double>(std::fabs(got[i] - ref[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(ref[i])));
  }
  return diff / scale;
}

// Runs a batch through run_planar; each output has guard values after it that must survive.
std::vector<std::vector<float>> run_cuda(CudaUpscaler& up, const std::vector<std::vector<float>>& inputs,
                                         const std::vector<int>& ids, int width, int height) {
  const int s = up.desc().scale;
  const size_t n = static_cast<size_t>(3) * width * height * s * s;
  std::vector<std::vector<float>> outputs(inputs.size(), std::vector<float>(n + kGuardCount, kGuard));
  std::vector<const float*> in;
  std::vector<float*> out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    in.push_back(inputs[i].data());
    out.push_back(outputs[i].data());
  }
  up.run_planar(in, ids, out, width, height);
  for (std::vector<float>& o : outputs) {
    for (size_t i = n; i < o.size(); ++i) EXPECT_EQ(o[i], kGuard) << "wrote past the output";
    o.resize(n);
  }
  return outputs;
}

TEST(SrCuda, RegistryListsCudaAvailableOnlyWithADeviceAndFp16) {
  const std::vector<BackendEntry>& registry = backend_registry();
  auto it = std::find_if(registry.begin(), registry.end(), [](const BackendEntry& e) { return e.name == "cuda"; });
  ASSERT_NE(it, registry.end());
  EXPECT_EQ(registry.back().name, "ref");
  EXPECT_FALSE(it->available(Precision::fp32));
  EXPECT_FALSE(it->available(Precision::bf16));
  EXPECT_EQ(it->available(Precision::fp16), cuda_device_count() > 0);
}

TEST(SrCuda, SupportsChannelsInSixteensUpToSixtyFour) {
  EXPECT_TRUE(cuda_supports(edsr(8, 16, 3)));
  EXPECT_TRUE(cuda_supports(edsr(8, 32, 3)));
  EXPECT_TRUE(cuda_supports(edsr(1, 64, 4)));
  EXPECT_FALSE(cuda_supports(edsr(8, 24, 3)));
  EXPECT_FALSE(cuda_supports(edsr(8, 80, 2)));
}

TEST(SrCuda, MissingDeviceIsAnErrorThatNamesTheDevice) {
  try {
    CudaUpscaler up(edsr(1, 16, 3), 8, 8, {.device = cuda_device_count()});
    FAIL() << "device " << cuda_device_count() << " does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("device " + std::to_string(cuda_device_count()) + " is not present"),
              std::string::npos)
        << e.what();
  }
}

class SrCudaDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device";
  }
};

struct Case {
  int blocks, channels, scale, width, height;
};

TEST_F(SrCudaDevice, MatchesRefOnRandomModelsWithEveryKernelPath) {
  const Case cases[] = {
      {1, 16, 3, 24, 17}, {2, 32, 3, 13, 9},  {2, 16, 2, 17, 11}, {1, 16, 4, 11, 7},
      {1, 16, 3, 1, 1},   {8, 32, 3, 70, 45}, {2, 64, 3, 33, 10},
  };
  for (const Case& c : cases) {
    const Model model = random_model(edsr(c.blocks, c.channels, c.scale), 100 + c.width);
    const std::vector<float> in = random_planar(c.width, c.height, 7);
    const std::vector<float> expected = run_ref(model, in, c.width, c.height);
    for (const bool reference : {false, true})
      for (const bool graphs : {false, true}) {
        SCOPED_TRACE(model.desc.name() + " " + std::to_string(c.width) + "x" + std::to_string(c.height) +
                     (reference ? " direct" : " tensor-core") + (graphs ? " graph" : ""));
        CudaUpscaler up(model.desc, c.width, c.height,
                        {.use_graphs = graphs, .reference_kernels = reference, .planar_io = true});
        const int id = up.add_model(model);
        for (int repeat = 0; repeat < 2; ++repeat) {  // the second run replays the captured graph
          const std::vector<std::vector<float>> got = run_cuda(up, {in}, {id}, c.width, c.height);
          EXPECT_LE(relative_max_diff(got[0], expected), kTolerance);
        }
      }
  }
}

TEST_F(SrCudaDevice, SmallerInputThanPreparedMatchesRef) {
  const Model model = random_model(edsr(2, 16, 3), 5);
  const std::vector<float> in = random_planar(9, 6, 4);
  CudaUpscaler up(model.desc, 40, 30, {.planar_io = true});
  const int id = up.add_model(model);
  EXPECT_LE(relative_max_diff(run_cuda(up, {in}, {id}, 9, 6)[0], run_ref(model, in, 9, 6)), kTolerance);
}

TEST_F(SrCudaDevice, ShippedModelMatchesRef) {
  const Model model = load_model(model_path("edsr_b8_f32_s3_generic.safetensors"));
  for (const auto& [w, h] : {std::pair{37, 23}, std::pair{64, 8}}) {
    const std::vector<float> in = random_planar(w, h, 8);
    CudaUpscaler up(model.desc, w, h, {.planar_io = true});
    const int id = up.add_model(model);
    EXPECT_LE(relative_max_diff(run_cuda(up, {in}, {id}, w, h)[0], run_ref(model, in, w, h)), kTolerance)
        << w << "x" << h;
  }
}

TEST_F(SrCudaDevice, BatchOfTwoModelsMatchesRefPerFrame) {
  const ModelDesc d = edsr(4, 32, 3);
  const Model models[2] = {random_model(d, 11), random_model(d, 12)};
  const int w = 35;
  const int h = 19;
  std::vector<std::vector<float>> inputs;
  for (uint32_t i = 0; i < 4; ++i) inputs.push_back(random_planar(w, h, 20 + i));
  const std::vector<int> which = {0, 1, 1, 0};
  CudaUpscaler up(d, w, h, {.max_batch = 4, .planar_io = true});
  const int ids[2] = {up.add_model(models[0]), up.add_model(models[1])};
  const std::vector<int> batch_ids = {ids[0], ids[1], ids[1], ids[0]};
  for (int repeat = 0; repeat < 2; ++repeat) {
    const std::vector<std::vector<float>> got = run_cuda(up, inputs, batch_ids, w, h);
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Model& m = models[which[i]];
      EXPECT_LE(relative_max_diff(got[i], run_ref(m, inputs[i], w, h)), kTolerance) << "frame " << i;
    }
  }
  // The first model's results must not depend on the second being loaded or the batch size.
  up.remove_model(ids[1]);
  const std::vector<std::vector<float>> single = run_cuda(up, {inputs[0]}, {ids[0]}, w, h);
  EXPECT_LE(relative_max_diff(single[0], run_ref(models[0], inputs[0], w, h)), kTolerance);
  EXPECT_THROW(run_cuda(up, {inputs[1]}, {ids[1]}, w, h), Error);
}

TEST_F(SrCudaDevice, I420InputConversionIsBitExactWithCoreColour) {
  for (const auto& [w, h] : {std::pair{1, 1}, std::pair{2, 2}, std::pair{17, 9}, std::pair{64, 36}}) {
    const core::Frame lr = random_i420(w, h, 3);
    core::RgbImage rgb;
    core::i420_to_rgb(lr, rgb);
    std::vector<uint8_t> packed(cuda::i420_bytes(w, h));
    uint8_t* dst = packed.data();
    for (int p = 0; p < core::kPlaneCount; ++p)
      for (int y = 0; y < lr.plane_height(p); ++y, dst += lr.plane_width(p))
        std::copy_n(lr.row(p, y), lr.plane_width(p), dst);
    const size_t values = static_cast<size_t>(w) * h * cuda::kInputChannels;
    cuda::DeviceBuffer device_in(packed.size());
    cuda::DeviceBuffer device_out(values * sizeof(__half));
    NS_CUDA_CHECK(cudaMemcpy(device_in.as<void>(), packed.data(), packed.size(), cudaMemcpyHostToDevice));
    NS_CUDA_CHECK(cuda::i420_to_input(device_in.as<uint8_t>(), 1, w, h, device_out.as<__half>(), nullptr));
    std::vector<__half> got(values);
    NS_CUDA_CHECK(cudaMemcpy(got.data(), device_out.as<void>(), values * sizeof(__half), cudaMemcpyDeviceToHost));
    int mismatches = 0;
    for (size_t px = 0; px < static_cast<size_t>(w) * h; ++px)
      for (int c = 0; c < cuda::kInputChannels; ++c) {
        const float expected = c < 3 ? __half2float(__float2half_rn(rgb.pixels[px * 3 + c] / 255.0f)) : 0.0f;
        mismatches += __half2float(got[px * cuda::kInputChannels + c]) != expected;
      }
    EXPECT_EQ(mismatches, 0) << w << "x" << h;
  }
}

TEST_F(SrCudaDevice, OutputConversionIsBitExactWithCoreColourAndReportsNaN) {
  for (const auto& [w, h] : {std::pair{1, 1}, std::pair{3, 3}, std::pair{51, 27}, std::pair{96, 54}}) {
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> value(-0.2f, 1.2f);
    std::vector<float> planar(static_cast<size_t>(3) * w * h);
    for (float& v : planar) v = value(rng);
    planar[0] = 0.5f / 255.0f;  // a rounding tie: half to even gives 0
    core::RgbImage rgb;
    ASSERT_TRUE(planar_to_rgb(planar.data(), w, h, rgb));
    core::Frame expected;
    core::rgb_to_i420(rgb, expected);

    const size_t bytes = cuda::i420_bytes(w, h);
    cuda::DeviceBuffer device_in(planar.size() * sizeof(float));
    cuda::DeviceBuffer device_out(bytes);
    cuda::DeviceBuffer flag(sizeof(int));
    NS_CUDA_CHECK(cudaMemcpy(device_in.as<void>(), planar.data(), planar.size() * sizeof(float),
                             cudaMemcpyHostToDevice));
    NS_CUDA_CHECK(cudaMemset(flag.as<void>(), 0, sizeof(int)));
    NS_CUDA_CHECK(cuda::output_to_i420(device_in.as<float>(), 1, w, h, device_out.as<uint8_t>(), flag.as<int>(),
                                       nullptr));
    std::vector<uint8_t> got(bytes);
    int nan = -1;
    NS_CUDA_CHECK(cudaMemcpy(got.data(), device_out.as<void>(), bytes, cudaMemcpyDeviceToHost));
    NS_CUDA_CHECK(cudaMemcpy(&nan, flag.as<void>(), sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT_EQ(nan, 0);
    const uint8_t* src = got.data();
    int mismatches = 0;
    for (int p = 0; p < core::kPlaneCount; ++p)
      for (int y = 0; y < expected.plane_height(p); ++y, src += expected.plane_width(p))
        for (int x = 0; x < expected.plane_width(p); ++x) mismatches += src[x] != expected.row(p, y)[x];
    EXPECT_EQ(mismatches, 0) << w << "x" << h;

    planar[planar.size() / 2] = std::numeric_limits<float>::quiet_NaN();
    NS_CUDA_CHECK(cudaMemcpy(device_in.as<void>(), planar.data(), planar.size() * sizeof(float),
                             cudaMemcpyHostToDevice));
    NS_CUDA_CHECK(cuda::output_to_i420(device_in.as<float>(), 1, w, h, device_out.as<uint8_t>(), flag.as<int>(),
                                       nullptr));
    NS_CUDA_CHECK(cudaMemcpy(&nan, flag.as<void>(), sizeof(int), cudaMemcpyDeviceToHost));
    EXPECT_EQ(nan, 1);
  }
}

// I420 end to end against the CPU frontend with sr/ref: equal up to the fp16 network's rounding.
TEST_F(SrCudaDevice, I420BatchMatchesTheCpuUpscaler) {
  const Model model = load_model(model_path("edsr_b8_f16_s3_generic.safetensors"));
  const int w = 41;
  const int h = 23;
  std::vector<core::Frame> lr;
  for (uint32_t i = 0; i < 3; ++i) {
    lr.push_back(random_i420(w, h, 40 + i));
    lr.back().pts = 1000 + i;
    lr.back().index = i;
  }
  CudaUpscaler up(model.desc, w, h, {.max_batch = 3});
  const int id = up.add_model(model);
  std::vector<core::Frame> hr(3);
  const std::vector<const core::Frame*> in = {&lr[0], &lr[1], &lr[2]};
  const std::vector<core::Frame*> out = {&hr[0], &hr[1], &hr[2]};
  up.upscale(in, std::vector<int>{id, id, id}, out);
  Upscaler cpu(model, w, h, {.backend = "ref"});
  for (size_t i = 0; i < lr.size(); ++i) {
    core::Frame expected;
    cpu.upscale(lr[i], expected);
    ASSERT_TRUE(core::same_size(hr[i], expected));
    EXPECT_EQ(hr[i].pts, lr[i].pts);
    EXPECT_EQ(hr[i].index, lr[i].index);
    expect_close_to_cpu(hr[i], expected, i);
  }
}

TEST_F(SrCudaDevice, BatchUpscalerMixesStreamsModelsInOneCall) {
  // The engine's SR worker: two streams' models resident at once, their frames interleaved in one batch.
  const Model generic = load_model(model_path("edsr_b8_f16_s3_generic.safetensors"));
  const Model other = random_model(generic.desc, 77);
  const int w = 33;
  const int h = 19;
  BatchUpscaler batch({.backend = "cuda", .backend_options = {.precision = Precision::fp16}}, 4);
  const int ids[2] = {batch.add_model(generic, w, h, Precision::fp16), batch.add_model(other, w, h, Precision::fp16)};
  EXPECT_EQ(batch.backend_name(ids[0]), "cuda");
  std::vector<core::Frame> lr, hr(5);
  std::vector<BatchUpscaler::Job> jobs;
  for (uint32_t i = 0; i < 5; ++i) lr.push_back(random_i420(w, h, 60 + i));
  for (size_t i = 0; i < 5; ++i) jobs.push_back({ids[i % 2], &lr[i], &hr[i]});
  batch.upscale(jobs);  // 5 frames, batches of at most 4
  const Model* models[2] = {&generic, &other};
  for (size_t i = 0; i < 5; ++i) {
    Upscaler cpu(*models[i % 2], w, h, {.backend = "ref"});
    core::Frame expected;
    cpu.upscale(lr[i], expected);
    ASSERT_TRUE(core::same_size(hr[i], expected));
    expect_close_to_cpu(hr[i], expected, i);
  }
}

TEST_F(SrCudaDevice, UpscalerSelectsCudaByNameAtFp16) {
  const Model model = random_model(edsr(2, 16, 3), 31);
  core::RgbImage lr(19, 13);
  std::mt19937 rng(2);
  for (uint8_t& v : lr.pixels) v = static_cast<uint8_t>(rng());
  Upscaler gpu(model, 19, 13, {.backend = "cuda", .backend_options = {.precision = Precision::fp16}});
  Upscaler cpu(model, 19, 13, {.backend = "ref"});
  EXPECT_EQ(gpu.backend_name(), "cuda");
  core::RgbImage got;
  core::RgbImage expected;
  gpu.upscale(lr, got);
  cpu.upscale(lr, expected);
  ASSERT_EQ(got.pixels.size(), expected.pixels.size());
  int max_diff = 0;
  for (size_t i = 0; i < got.pixels.size(); ++i)
    max_diff = std::max(max_diff, std::abs(got.pixels[i] - expected.pixels[i]));
  EXPECT_LE(max_diff, 2);
}

}  // namespace
}  // namespace ns::sr
