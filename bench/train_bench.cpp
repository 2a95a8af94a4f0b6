// Training steps of EDSR_B8_F{16,32}_S3: the oneDNN engine (fp32, and bf16 where the CPU has it) against libtorch's
// (fp32; when built with it), batch 8 of 48x48 LR patches (144x144 HR), on the CPU, 1 and 2 threads. One step =
// forward, L1 loss, backward, Adam.
// The batch is drawn once (random content); only engine->step() is timed. Counter: steps/s.
// Run: bench/run.sh train 'TrainStep'   (the onednn/torch ratio is read from the same run)
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "ns/sr/backends_impl.h"
#include "ns/sr/sr.h"
#include "ns/sr/train/engine_impl.h"

namespace {

// Args: engine (0 onednn fp32, 1 torch fp32, 2 onednn bf16), F, threads.
void BM_TrainStep(benchmark::State& state) {
  const bool torch = state.range(0) == 1;
  const bool bf16 = state.range(0) == 2;
  if (bf16 && !ns::sr::onednn_available(ns::sr::Precision::bf16)) {
    state.SkipWithError("this CPU has no native bf16");
    return;
  }
  ns::sr::ModelDesc desc;
  desc.channels = static_cast<int>(state.range(1));
  ns::sr::train::TrainOptions options;
  options.batch = 8;
  options.patch = 48;
  options.threads = static_cast<int>(state.range(2));
  options.device = "cpu";
  options.precision = bf16 ? "bf16" : "fp32";
  const ns::sr::Model model = ns::sr::random_model(desc, 1);
  std::unique_ptr<ns::sr::train::TrainEngine> engine;
#ifdef NS_WITH_TORCH
  if (torch) engine = ns::sr::train::create_torch_engine(model, options);
#endif
  if (!engine) {
    if (torch) {
      state.SkipWithError("built without libtorch");
      return;
    }
    engine = ns::sr::train::create_onednn_engine(model, options);
  }
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> lr(static_cast<size_t>(8) * 3 * 48 * 48), hr(lr.size() * 9);
  for (float& v : lr) v = u(rng);
  for (float& v : hr) v = u(rng);
  engine->step(lr.data(), hr.data(), 1e-4);  // warm-up: first-touch of buffers, JIT
  for (auto _ : state) benchmark::DoNotOptimize(engine->step(lr.data(), hr.data(), 1e-4));
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TrainStep)
    ->ArgNames({"engine", "F", "threads"})
    ->ArgsProduct({{0, 1, 2}, {16, 32}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
