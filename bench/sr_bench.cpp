// SR inference: EDSR_B8_F{16,32}_S3 on cpu/onednn at 640x360 and 1280x720 LR input (fp32, and bf16 where
// the CPU has native bf16), plus onednn vs ref at a small size (ref is the plain-loop specification and
// far too slow for whole frames), and libtorch's forward of the same network (the trainer's module; built when
// libtorch is found) for the oneDNN/libtorch ratio. Times backend run() only: planar float in and out.
// Counters: fps and GMAC/s (MACs per LR pixel from reference §5.1). Threads: oneDNN's default (all cores).
// Run: bench/run.sh sr 'Sr'   (repetitions give median and spread; 720p F32 takes seconds per frame)
#include <benchmark/benchmark.h>

#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "ns/sr/sr.h"
#ifdef NS_WITH_TORCH
#include "ns/sr/train/train.h"
#endif

namespace {

using ns::sr::Precision;

// MACs per LR pixel: 9 * (3F + (2B + 1)F^2 + 9F^2 + 9 * 3F) for x3.
double macs_per_pixel(int blocks, int f) {
  return 9.0 * (3.0 * f + (2.0 * blocks + 1) * f * f + 9.0 * f * f + 9.0 * 3.0 * f);
}

using BackendFactory =
    std::function<std::unique_ptr<ns::sr::Backend>(const ns::sr::ModelDesc&, const ns::sr::BackendOptions&)>;

BackendFactory registry_backend(const char* name) {
  return [name](const ns::sr::ModelDesc& desc, const ns::sr::BackendOptions& options) {
    return ns::sr::create_backend(name, desc, options);
  };
}

void run_sr(benchmark::State& state, const BackendFactory& factory, int f, int w, int h, Precision precision,
            int tile) {
  ns::sr::ModelDesc desc;
  desc.blocks = 8;
  desc.channels = f;
  desc.scale = 3;
  const ns::sr::Model model = ns::sr::random_model(desc, 1);
  std::unique_ptr<ns::sr::Backend> backend;
  try {
    backend = factory(desc, {.precision = precision, .threads = 0, .tile = tile});
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  backend->prepare(model, {w, h});
  std::vector<float> in(static_cast<size_t>(3) * w * h);
  std::mt19937 rng(3);
  for (float& v : in) v = static_cast<float>(rng() % 256) / 255.0f;
  std::vector<float> out(in.size() * 9);
  for (auto _ : state) {
    backend->run({in.data(), 3, w, h}, {out.data(), 3, w * 3, h * 3});
    backend->synchronize();
    benchmark::DoNotOptimize(out.data());
  }
  const double frames = static_cast<double>(state.iterations());
  state.counters["fps"] = benchmark::Counter(frames, benchmark::Counter::kIsRate);
  state.counters["GMAC/s"] =
      benchmark::Counter(frames * macs_per_pixel(8, f) * w * h / 1e9, benchmark::Counter::kIsRate);
}

// Args: F, LR width, LR height, precision (0 fp32, 1 bf16), tile (0 = default).
void BM_SrOnednn(benchmark::State& state) {
  run_sr(state, registry_backend("onednn"), static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
         static_cast<int>(state.range(2)), state.range(3) ? Precision::bf16 : Precision::fp32,
         static_cast<int>(state.range(4)));
}
BENCHMARK(BM_SrOnednn)
    ->ArgNames({"F", "w", "h", "bf16", "tile"})
    ->Args({16, 640, 360, 0, 0})
    ->Args({16, 1280, 720, 0, 0})
    ->Args({32, 640, 360, 0, 0})
    ->Args({32, 1280, 720, 0, 0})
    ->Args({16, 640, 360, 1, 0})
    ->Args({16, 1280, 720, 1, 0})
    ->Args({32, 640, 360, 1, 0})
    ->Args({32, 1280, 720, 1, 0})
    ->Args({32, 1280, 720, 0, 128})
    ->Args({32, 1280, 720, 0, 512})
    ->Args({16, 96, 54, 0, 0})
    ->Args({32, 96, 54, 0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Args: F, LR width, LR height.
void BM_SrRef(benchmark::State& state) {
  run_sr(state, registry_backend("ref"), static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
         static_cast<int>(state.range(2)), Precision::fp32, 0);
}
BENCHMARK(BM_SrRef)
    ->ArgNames({"F", "w", "h"})
    ->Args({16, 96, 54})
    ->Args({32, 96, 54})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

#ifdef NS_WITH_TORCH
// Args: F, LR width, LR height. fp32 on the CPU, one thread per core as oneDNN's default (libtorch's own
// default counts physical cores only).
void BM_SrLibtorch(benchmark::State& state) {
  const BackendFactory torch = [](const ns::sr::ModelDesc&, const ns::sr::BackendOptions& options) {
    ns::sr::BackendOptions o = options;
    if (o.threads == 0) o.threads = static_cast<int>(std::thread::hardware_concurrency());
    return ns::sr::train::create_torch_backend(o, "cpu");
  };
  run_sr(state, torch, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
         static_cast<int>(state.range(2)), Precision::fp32, 0);
}
BENCHMARK(BM_SrLibtorch)
    ->ArgNames({"F", "w", "h"})
    ->Args({16, 640, 360})
    ->Args({16, 1280, 720})
    ->Args({32, 640, 360})
    ->Args({32, 1280, 720})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
#endif

}  // namespace
