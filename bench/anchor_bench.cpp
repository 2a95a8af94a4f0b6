// Anchor selection for many streams, one epoch (target < 5 ms for 1,000 streams of 40 frames, one core).
// Streams: 40 displayed frames per epoch with realistic coded-size patterns: key frames every 120 frames (phase
// staggered per stream, 10x a normal frame), a hidden alt-ref every 8-16 frames (3x), lognormal-ish noise, and
// bitrates spread over 10x between streams. Select: Scheduler::run_epoch alone; the reported time is the thread's
// CPU time for it (robust to other processes on a shared machine), its wall time is the counter wall_ms; frames
// are pushed outside the measured region. PushAndSelect: pushing the epoch's coded frames included (wall time),
// for neuroscaler and neuroscaler-q (whose quantiser weight is computed when a frame is pushed; frames carry a VP9
// base_q_idx of 40-200). Items = streams.
#include <benchmark/benchmark.h>

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ns/anchor/anchor.h"
#include "ns/media/probe.h"

namespace {

using namespace ns;

constexpr int kEpochFrames = 40;
constexpr int kEpochs = 6;  // pre-generated epochs per stream, replayed in a cycle

struct StreamFrames {
  std::vector<std::vector<media::CodedFrame>> epochs;  // coded frames (hidden included) of each epoch
};

std::vector<StreamFrames> make_streams(int count) {
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0.0, 0.35);
  std::vector<StreamFrames> streams(count);
  for (int s = 0; s < count; ++s) {
    const double base = 400.0 * std::pow(10.0, (rng() % 1000) / 1000.0);  // 400 .. 4000 bytes per frame
    const int key_phase = static_cast<int>(rng() % 120);
    int next_altref = static_cast<int>(8 + rng() % 9);
    int64_t decode = 0;
    streams[s].epochs.resize(kEpochs);
    for (int e = 0; e < kEpochs; ++e) {
      for (int i = 0; i < kEpochFrames; ++i) {
        const int64_t display = static_cast<int64_t>(e) * kEpochFrames + i;
        media::CodedFrame f;
        f.display_index = display;
        if (--next_altref == 0) {
          next_altref = static_cast<int>(8 + rng() % 9);
          f.decode_index = decode++;
          f.shown = false;
          f.cls = media::FrameClass::altref;
          f.bytes = static_cast<uint32_t>(3 * base * std::exp(noise(rng)));
          streams[s].epochs[e].push_back(f);
        }
        f.decode_index = decode++;
        f.shown = true;
        const bool key = (display + key_phase) % 120 == 0;
        f.cls = key ? media::FrameClass::key : media::FrameClass::normal;
        f.bytes = static_cast<uint32_t>((key ? 10 : 1) * base * std::exp(noise(rng)));
        f.base_q_index = static_cast<int>(40 + rng() % 161);
        streams[s].epochs[e].push_back(f);
      }
    }
  }
  return streams;
}

void push_epoch(anchor::Scheduler& scheduler, const std::vector<int>& ids, const std::vector<StreamFrames>& streams,
                int64_t epoch) {
  const int e = static_cast<int>(epoch % kEpochs);
  const int64_t shift = (epoch / kEpochs) * kEpochs * kEpochFrames;
  for (size_t s = 0; s < streams.size(); ++s) {
    for (media::CodedFrame f : streams[s].epochs[e]) {
      f.display_index += shift;
      scheduler.push(ids[s], f);
    }
  }
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

anchor::SchedulerConfig bench_config(int mode, anchor::Method method = anchor::Method::neuroscaler) {
  anchor::SchedulerConfig config;
  config.method = method;
  if (mode == 1) {
    config.mode = anchor::Mode::budget;
    config.budget_ms = 6600.0;  // 2.2 ms per anchor: 3,000 anchors = 7.5 % of 40,000 frames (e.g. 10 GPUs)
  }
  return config;
}

// state.range(0): streams; state.range(1): 0 fraction mode (7.5 %), 1 budget mode.
void BM_AnchorSelect(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const std::vector<StreamFrames> streams = make_streams(count);
  anchor::Scheduler scheduler(bench_config(static_cast<int>(state.range(1))));
  std::vector<int> ids;
  for (int s = 0; s < count; ++s) ids.push_back(scheduler.add_stream({"s", 2.2}));
  for (int64_t e = 0; e < 3; ++e) {  // warm-up: carries, windows, last key frames
    push_epoch(scheduler, ids, streams, e);
    scheduler.run_epoch();
  }
  int64_t epoch = 3;
  size_t anchors = 0;
  double wall = 0;
  for (auto _ : state) {
    push_epoch(scheduler, ids, streams, epoch++);
    const double cpu_start = thread_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    anchor::EpochResult r = scheduler.run_epoch();
    const auto stop = std::chrono::steady_clock::now();
    const double cpu_stop = thread_cpu_seconds();
    anchors += r.anchors.size();
    benchmark::DoNotOptimize(r);
    wall += std::chrono::duration<double>(stop - start).count();
    state.SetIterationTime(cpu_stop - cpu_start);
  }
  state.counters["wall_ms"] = 1e3 * wall / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * count);
  state.counters["anchors_per_epoch"] = static_cast<double>(anchors) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_AnchorSelect)
    ->ArgsProduct({{100, 1000}, {0, 1}})
    ->ArgNames({"streams", "budget"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// state.range(1): 0 neuroscaler, 1 neuroscaler-q.
void BM_AnchorPushAndSelect(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const std::vector<StreamFrames> streams = make_streams(count);
  anchor::Scheduler scheduler(
      bench_config(0, state.range(1) == 0 ? anchor::Method::neuroscaler : anchor::Method::neuroscaler_q));
  std::vector<int> ids;
  for (int s = 0; s < count; ++s) ids.push_back(scheduler.add_stream({"s", 2.2}));
  int64_t epoch = 0;
  for (auto _ : state) {
    push_epoch(scheduler, ids, streams, epoch++);
    anchor::EpochResult r = scheduler.run_epoch();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_AnchorPushAndSelect)
    ->ArgsProduct({{1000}, {0, 1}})
    ->ArgNames({"streams", "q"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
