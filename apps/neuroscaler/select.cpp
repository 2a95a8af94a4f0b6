// neuroscaler select: choose anchor frames for one or more streams, epoch by epoch, with the NeuroScaler
// selector or a baseline, and write the plan as JSON; a summary on stderr.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "ns/anchor/anchor.h"
#include "ns/core/error.h"
#include "ns/media/probe.h"

namespace ns::app {

namespace {

struct SelectOptions {
  std::vector<std::string> inputs;
  std::string method = "neuroscaler";
  double fraction = 0.075;
  double budget_ms = -1;
  std::string latency_path;
  std::string model = "edsr";
  std::string backend = "cuda";
  int epoch_frames = 40;
  double fps = 60;
  int gop = 120;
  std::string out;
};

void run_select(const SelectOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  anchor::SchedulerConfig config;
  config.method = anchor::method_from_name(o.method);
  config.epoch_frames = o.epoch_frames;
  config.fps = o.fps;
  config.selector.gop = o.gop;
  const bool budget = o.budget_ms >= 0;
  if (budget && o.latency_path.empty()) {
    throw Error(ErrorCode::invalid_argument, "select: --budget-ms needs --latency FILE (GPU ms per anchor)");
  }
  config.mode = budget ? anchor::Mode::budget : anchor::Mode::fraction;
  config.fraction = o.fraction;
  config.budget_ms = budget ? o.budget_ms : 0.0;
  anchor::LatencyModel latency;
  if (!o.latency_path.empty()) latency = anchor::LatencyModel::load(o.latency_path);

  anchor::Plan plan;
  plan.method = anchor::method_name(config.method);
  plan.mode = budget ? "budget" : "fraction";
  plan.fraction = budget ? 0.0 : config.fraction;
  plan.budget_ms = config.budget_ms;
  plan.epoch_frames = config.epoch_frames;
  plan.fps = config.fps;

  std::vector<std::vector<media::CodedFrame>> streams;
  std::vector<anchor::StreamSpec> specs;
  for (const std::string& input : o.inputs) {
    media::StreamInfo info;
    streams.push_back(media::probe_file(input, &info));
    anchor::PlanStream ps;
    ps.name = input;
    ps.codec = info.codec;
    ps.width = info.width;
    ps.height = info.height;
    for (const auto& f : streams.back()) ps.frames += f.shown ? 1 : 0;
    if (!o.latency_path.empty()) ps.anchor_ms = latency.ms(o.model, info.width, info.height, o.backend);
    specs.push_back({input, ps.anchor_ms});
    plan.streams.push_back(std::move(ps));
  }
  plan.epochs = anchor::select_offline(config, specs, streams);
  anchor::write_plan(plan, o.out);

  int64_t frames = 0;
  int64_t anchors = 0;
  int64_t skipped = 0;
  double used = 0;
  for (const auto& e : plan.epochs) {
    frames += e.frames;
    anchors += static_cast<int64_t>(e.anchors.size());
    skipped += e.skipped;
    used += e.used_ms;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "select: %s, %zu stream(s), %zu epochs, %" PRId64 " frames, %" PRId64 " anchors (%.2f %%)",
               plan.method.c_str(), plan.streams.size(), plan.epochs.size(), frames, anchors,
               frames > 0 ? 100.0 * static_cast<double>(anchors) / static_cast<double>(frames) : 0.0);
  if (budget) std::fprintf(stderr, ", %.1f GPU ms used, %" PRId64 " skipped", used, skipped);
  std::fprintf(stderr, "; %s written in %.1f ms\n", o.out.c_str(), seconds * 1e3);
}

}  // namespace

void register_select(CLI::App& app) {
  auto options = std::make_shared<SelectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "select",
      "Choose anchor frames (the frames to super-resolve) for one or more VP9 / H.264 streams, epoch by\n"
      "epoch, and write the plan as JSON. Streams are probed (frame class and coded bytes) without decoding.\n"
      "Methods: neuroscaler (accumulated-residual gain, reference §3), uniform (evenly spaced), perframe\n"
      "(every frame), keyframe (key frames only). Anchors are displayed frames; a hidden alt-ref's bytes and\n"
      "priority go to the shown frame of its superframe.\n"
      "Quota: --fraction F (anchors = round(F x frames of the epoch, all streams)), or --budget-ms B with\n"
      "--latency FILE (GPU ms per epoch; each anchor costs the file's ms for --model, the stream's size and\n"
      "--backend; anchors that do not fit are skipped). Latency JSON:\n"
      "  {\"entries\": [{\"model\": \"edsr\", \"width\": 1280, \"height\": 720, \"backend\": \"cuda\", \"ms\": 1.9}]}");
  cmd->add_option("--in", options->inputs, "input streams (files or URLs)")->required()->expected(1, -1);
  cmd->add_option("--method", options->method, "neuroscaler, uniform, perframe or keyframe")
      ->capture_default_str();
  auto* fraction = cmd->add_option("--fraction", options->fraction, "fraction of frames made anchors (0..1)")
                       ->capture_default_str()
                       ->check(CLI::Range(0.0, 1.0));
  auto* budget = cmd->add_option("--budget-ms", options->budget_ms, "GPU milliseconds per epoch (budget mode)")
                     ->check(CLI::NonNegativeNumber);
  fraction->excludes(budget);
  cmd->add_option("--latency", options->latency_path, "latency JSON: GPU ms per anchor by model, size, backend");
  cmd->add_option("--model", options->model, "model name looked up in the latency file")->capture_default_str();
  cmd->add_option("--backend", options->backend, "backend name looked up in the latency file")
      ->capture_default_str();
  cmd->add_option("--epoch-frames", options->epoch_frames, "epoch length in frames")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--fps", options->fps, "frame rate of the epoch clock")->capture_default_str()->check(
      CLI::PositiveNumber);
  cmd->add_option("--gop", options->gop, "expected key-frame interval (selection horizon; 0: end of epoch)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", options->out, "plan JSON to write")->required();
  cmd->callback([options]() { run_select(*options); });
}

}  // namespace ns::app
