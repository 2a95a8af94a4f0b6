// bench/gpu: frames per second of the cuda SR backend, EDSR 8 x {16, 32}, 1280x720 -> 3840x2160, batch 1 and 8.
// Two numbers per case: "network" = the GPU work of one call on device-resident frames (I420 -> RGB, the
// network, RGB -> I420; what PyTorch's numbers also leave out: host copies), and "end_to_end" = host I420
// in to host I420 out (pinned staging, copies included). Batches alternate two models (per-stream weights).
// Each case: warm-up calls (graph capture included), then `reps` repetitions of `calls` timed calls; prints
// the median and the spread, and writes JSON when --json is given.
// Usage: ns_gpu_bench [--json FILE] [--device N] [--reps R] [--frames N (per repetition)] [--channels F]
//        [--batch B] (the last two: only that case, e.g. for a profiler)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/core/error.h"
#include "ns/sr/cuda/cuda_upscaler.h"

namespace {

struct Result {
  std::string model;
  int batch = 0;
  std::string mode;
  std::vector<double> fps;  // one per repetition
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

ns::core::Frame noise_frame(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  ns::core::Frame f(w, h);
  for (int p = 0; p < ns::core::kPlaneCount; ++p)
    for (int y = 0; y < f.plane_height(p); ++y)
      for (int x = 0; x < f.plane_width(p); ++x) f.row(p, y)[x] = static_cast<uint8_t>(rng());
  return f;
}

template <typename Call>
std::vector<double> time_fps(Call call, int batch, int calls, int reps) {
  for (int i = 0; i < 3; ++i) call();  // warm-up: graph capture, clocks
  std::vector<double> fps;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) call();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fps.push_back(calls * batch / seconds);
  }
  return fps;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  int device = 0;
  int reps = 5;
  int frames = 32;
  int only_channels = 0;
  int only_batch = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--json") json_path = argv[i + 1];
    else if (arg == "--device") device = std::atoi(argv[i + 1]);
    else if (arg == "--reps") reps = std::atoi(argv[i + 1]);
    else if (arg == "--frames") frames = std::atoi(argv[i + 1]);
    else if (arg == "--channels") only_channels = std::atoi(argv[i + 1]);
    else if (arg == "--batch") only_batch = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "ns_gpu_bench: unknown option %s; see the usage at the top of bench/gpu/gpu_bench.cpp\n",
                   argv[i]);
      return 1;
    }
  }
  try {
    constexpr int kWidth = 1280;
    constexpr int kHeight = 720;
    std::vector<Result> results;
    std::string device_name;
    for (const int channels : {16, 32}) {
      if (only_channels != 0 && channels != only_channels) continue;
      ns::sr::ModelDesc desc;
      desc.blocks = 8;
      desc.channels = channels;
      desc.scale = 3;
      for (const int batch : {1, 8}) {
        if (only_batch != 0 && batch != only_batch) continue;
        ns::sr::CudaUpscaler up(desc, kWidth, kHeight, {.device = device, .max_batch = batch});
        device_name = up.device_name();
        const int ids[2] = {up.add_model(ns::sr::random_model(desc, 1)), up.add_model(ns::sr::random_model(desc, 2))};
        std::vector<int> batch_ids;
        std::vector<ns::core::Frame> lr;
        std::vector<ns::core::Frame> hr(static_cast<size_t>(batch));
        std::vector<const ns::core::Frame*> in;
        std::vector<ns::core::Frame*> out;
        for (int i = 0; i < batch; ++i) {
          batch_ids.push_back(ids[i % 2]);
          lr.push_back(noise_frame(kWidth, kHeight, static_cast<uint32_t>(i)));
        }
        for (int i = 0; i < batch; ++i) {
          in.push_back(&lr[static_cast<size_t>(i)]);
          out.push_back(&hr[static_cast<size_t>(i)]);
        }
        const int calls = std::max(1, frames / batch);
        up.upscale(in, batch_ids, out);  // fills the device input with real frames for run_resident
        results.push_back({desc.name(), batch, "network",
                           time_fps([&] { up.run_resident(batch_ids, kWidth, kHeight); }, batch, calls, reps)});
        results.push_back(
            {desc.name(), batch, "end_to_end", time_fps([&] { up.upscale(in, batch_ids, out); }, batch, calls, reps)});
      }
    }
    nlohmann::json runs = nlohmann::json::array();
    std::printf("%-16s %5s %-10s %10s %10s %10s\n", "model", "batch", "mode", "fps median", "min", "max");
    for (const Result& r : results) {
      const auto [lo, hi] = std::minmax_element(r.fps.begin(), r.fps.end());
      std::printf("%-16s %5d %-10s %10.1f %10.1f %10.1f\n", r.model.c_str(), r.batch, r.mode.c_str(), median(r.fps),
                  *lo, *hi);
      runs.push_back({{"implementation", "ns-cuda"}, {"model", r.model}, {"batch", r.batch}, {"mode", r.mode},
                      {"fps_median", median(r.fps)}, {"fps_runs", r.fps}});
    }
    if (!json_path.empty()) {
      std::ofstream(json_path) << nlohmann::json{{"device", device_name},
                                                 {"input", "1280x720 I420 -> 3840x2160"},
                                                 {"runs", runs}}
                                      .dump(2)
                               << "\n";
    }
  } catch (const ns::Error& e) {
    std::fprintf(stderr, "ns_gpu_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
