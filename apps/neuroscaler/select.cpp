// neuroscaler select: choose anchor frames for one or more streams, epoch by epoch, with our variant of the
// NeuroScaler selector (default), the faithful one, a baseline or the oracle, and write the plan as JSON; a
// summary on stderr. With --evaluate, the plan's anchors (and those of --compare plans) rebuild each stream by
// reuse and the PSNR against the HR reference is printed (TSV on stdout). The oracle can also write each frame's
// measured gains (--gains). The oracle and the evaluation are ns/eval/anchor_study.h.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "ns/anchor/anchor.h"
#include "ns/core/error.h"
#include "ns/eval/anchor_study.h"
#include "ns/media/probe.h"

namespace ns::app {

namespace {

struct SelectOptions {
  std::vector<std::string> inputs;
  std::string method = "neuroscaler-q";  // ours: +0.2 to +0.5 dB over neuroscaler (docs/anchors.md)
  double fraction = 0.075;
  double budget_ms = -1;
  std::string latency_path;
  std::string model = "edsr";
  std::string backend = "cuda";
  int epoch_frames = 40;
  double fps = 60;
  int gop = 120;
  double q_exponent = 1.0;
  // Not given: the method's default (anchor::method_selector).
  std::optional<int> horizon_past_epoch;
  std::optional<double> altref_min_boost;
  std::optional<double> flat_cv;
  std::string out;
  // Oracle and evaluation.
  std::vector<std::string> references;
  std::string anchor_model;
  std::string anchor_cache;
  bool oracle_ground_truth = false;
  double anchor_weight = reuse::kSrAnchorWeight;
  bool evaluate = false;
  std::string gains_path;
  std::vector<double> fractions;
  std::vector<std::string> compare;
  int scale = 3;
  int64_t max_frames = -1;
};

// What the oracle and --evaluate read (ns/eval/anchor_study.h).
eval::AnchorStudyOptions study_options(const SelectOptions& o) {
  return {.inputs = o.inputs,
          .references = o.references,
          .scale = o.scale,
          .max_frames = o.max_frames,
          .anchor_model = o.anchor_model,
          .anchor_cache = o.anchor_cache,
          .oracle_ground_truth = o.oracle_ground_truth,
          .anchor_weight = o.anchor_weight,
          .epoch_frames = o.epoch_frames,
          .q_exponent = o.q_exponent,
          .gains_path = o.gains_path};
}

// PSNR after reuse per stream and plan, as TSV on stdout, each stream's lines as soon as they are known.
void print_quality(const SelectOptions& o, const std::vector<anchor::Plan>& plans) {
  std::printf("stream\tmethod\tfraction\tframes\tanchors\tpsnr\tpsnr_y\tanchors_from\n");
  eval::evaluate_plans(study_options(o), plans, [](const std::vector<eval::PlanQuality>& stream) {
    for (const eval::PlanQuality& q : stream) {
      std::printf("%s\t%s\t%.4f\t%" PRId64 "\t%" PRId64 "\t%.4f\t%.4f\t%s\n", q.stream.c_str(), q.method.c_str(),
                  q.fraction, q.frames, q.anchors, q.psnr, q.psnr_y, q.sr_anchors ? "sr" : "ground-truth");
    }
    std::fflush(stdout);
  });
}

void run_select(const SelectOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  anchor::SchedulerConfig config;
  config.method = anchor::method_from_name(o.method);
  config.epoch_frames = o.epoch_frames;
  config.fps = o.fps;
  config.selector.gop = o.gop;
  config.selector.horizon_past_epoch = o.horizon_past_epoch;
  config.selector.q_exponent = o.q_exponent;
  config.selector.altref_min_boost = o.altref_min_boost;
  config.selector.flat_cv = o.flat_cv;
  const bool budget = o.budget_ms >= 0;
  if (budget && o.latency_path.empty()) {
    throw Error(ErrorCode::invalid_argument, "select: --budget-ms needs --latency FILE (GPU ms per anchor)");
  }
  const bool oracle = config.method == anchor::Method::oracle;
  if ((oracle || o.evaluate) && o.references.size() != o.inputs.size()) {
    throw Error(ErrorCode::invalid_argument,
                std::string("select: ") + (oracle ? "--method oracle" : "--evaluate") + " needs one --reference HR "
                "video per --in (" + std::to_string(o.inputs.size()) + " input(s), " +
                    std::to_string(o.references.size()) +
                    " reference(s)); give the HR video each stream was made from");
  }
  if (!o.gains_path.empty() && !oracle) {
    throw Error(ErrorCode::invalid_argument, "select: --gains is written by the oracle; add --method oracle");
  }
  if (!o.compare.empty() && !o.evaluate) {
    throw Error(ErrorCode::invalid_argument, "select: --compare plans are evaluated with --evaluate; add it");
  }
  const std::vector<double> fractions = o.fractions.empty() ? std::vector<double>{o.fraction} : o.fractions;
  if (fractions.size() > 1 && o.out.find("{fraction}") == std::string::npos) {
    throw Error(ErrorCode::invalid_argument,
                "select: several --fractions need \"{fraction}\" in --out (e.g. plan-{fraction}.json)");
  }
  config.mode = budget ? anchor::Mode::budget : anchor::Mode::fraction;
  config.budget_ms = budget ? o.budget_ms : 0.0;
  anchor::LatencyModel latency;
  if (!o.latency_path.empty()) latency = anchor::LatencyModel::load(o.latency_path);

  std::vector<std::vector<media::CodedFrame>> streams;
  std::vector<anchor::StreamSpec> specs;
  std::vector<anchor::PlanStream> plan_streams;
  for (const std::string& input : o.inputs) {
    media::StreamInfo info;
    streams.push_back(media::probe_file(input, &info));
    if (o.max_frames > 0) {  // keep the coded frames of the first max_frames displayed frames
      auto& frames = streams.back();
      size_t keep = 0;
      while (keep < frames.size() && frames[keep].display_index < o.max_frames) ++keep;
      frames.resize(keep);
    }
    anchor::PlanStream ps;
    ps.name = input;
    ps.codec = info.codec;
    ps.width = info.width;
    ps.height = info.height;
    for (const auto& f : streams.back()) ps.frames += f.shown ? 1 : 0;
    if (!o.latency_path.empty()) ps.anchor_ms = latency.ms(o.model, info.width, info.height, o.backend);
    specs.push_back({input, ps.anchor_ms});
    plan_streams.push_back(std::move(ps));
  }

  std::vector<std::vector<anchor::EpochResult>> results;
  if (oracle) {
    results = eval::run_oracle(study_options(o), config, budget ? std::vector<double>{0.0} : fractions, specs, streams);
  } else {
    for (double f : budget ? std::vector<double>{0.0} : fractions) {
      config.fraction = f;
      results.push_back(anchor::select_offline(config, specs, streams));
    }
  }
  std::vector<anchor::Plan> plans;
  for (size_t t = 0; t < results.size(); ++t) {
    anchor::Plan plan;
    plan.method = anchor::method_name(config.method);
    plan.mode = budget ? "budget" : "fraction";
    plan.fraction = budget ? 0.0 : fractions[t];
    plan.budget_ms = config.budget_ms;
    plan.epoch_frames = config.epoch_frames;
    plan.fps = config.fps;
    plan.streams = plan_streams;
    plan.epochs = std::move(results[t]);
    const std::string path = eval::fraction_path(o.out, plan.fraction);
    anchor::write_plan(plan, path);

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
    std::fprintf(stderr, "; %s written after %.1f ms\n", path.c_str(), seconds * 1e3);
    plans.push_back(std::move(plan));
  }
  if (!o.evaluate) return;
  for (const std::string& path : o.compare) {
    anchor::Plan plan = anchor::read_plan(path);
    if (plan.streams.size() != o.inputs.size()) {
      throw Error(ErrorCode::mismatch, "select: the plan " + path + " has " + std::to_string(plan.streams.size()) +
                                           " stream(s), --in gives " + std::to_string(o.inputs.size()) +
                                           "; compare plans made for the same inputs");
    }
    plans.push_back(std::move(plan));
  }
  print_quality(o, plans);
}

}  // namespace

void register_select(CLI::App& app) {
  auto options = std::make_shared<SelectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "select",
      "Choose anchor frames (the frames to super-resolve) for one or more VP9 / H.264 streams, epoch by\n"
      "epoch, and write the plan as JSON. Streams are probed (frame class and coded bytes) without decoding.\n"
      "Methods: neuroscaler-q (default, ours: NeuroScaler's gain with bytes weighted by the quantiser step and\n"
      "counted to the end of the epoch; a hidden alt-ref's priority on the frame that later displays it, if the\n"
      "alt-ref is quantised 2x finer than its neighbours; even spacing where frame sizes are flat;\n"
      "docs/anchors.md), neuroscaler (the faithful selector, reference §3: accumulated coded bytes; an\n"
      "alt-ref's priority on the shown frame of its superframe), uniform (evenly spaced), perframe (every\n"
      "frame), keyframe (key frames only), oracle (evaluation only: measured reuse quality against\n"
      "--reference, every frame of every epoch tried as an anchor; slow). Anchors are displayed frames; a\n"
      "hidden frame's bytes count with the shown frame of its superframe.\n"
      "Quota: --fraction F (anchors = round(F x frames of the epoch, all streams)), or --budget-ms B with\n"
      "--latency FILE (GPU ms per epoch; each anchor costs the file's ms for --model, the stream's size and\n"
      "--backend; anchors that do not fit are skipped). Latency JSON:\n"
      "  {\"entries\": [{\"model\": \"edsr\", \"width\": 1280, \"height\": 720, \"backend\": \"cuda\", \"ms\": 1.9}]}\n"
      "Anchor images (oracle, --evaluate): the reference frames (ground truth), or --anchor-model's SR output.\n"
      "--evaluate rebuilds each stream from the plan's anchors by reuse and prints its PSNR (TSV on stdout).");
  cmd->add_option("--in", options->inputs, "input streams (files or URLs)")->required()->expected(1, -1);
  cmd->add_option("--method", options->method, "neuroscaler, neuroscaler-q, uniform, perframe, keyframe or oracle")
      ->capture_default_str();
  auto* fraction = cmd->add_option("--fraction", options->fraction, "fraction of frames made anchors (0..1)")
                       ->capture_default_str()
                       ->check(CLI::Range(0.0, 1.0));
  auto* budget = cmd->add_option("--budget-ms", options->budget_ms, "GPU milliseconds per epoch (budget mode)")
                     ->check(CLI::NonNegativeNumber);
  auto* fractions = cmd->add_option("--fractions", options->fractions,
                                    "several fractions, one plan each (--out and --gains need \"{fraction}\"); "
                                    "the oracle runs them in one pass")
                        ->delimiter(',')
                        ->check(CLI::Range(0.0, 1.0));
  fraction->excludes(budget);
  fractions->excludes(budget);
  fractions->excludes(fraction);
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
  cmd->add_option("--horizon-past-epoch", options->horizon_past_epoch,
                  "frames past the epoch's end an anchor's gain counts (-1: up to the next expected key frame; "
                  "default: neuroscaler-q 0, neuroscaler -1)")
      ->check(CLI::Range(-1, 100000));
  cmd->add_option("--q-exponent", options->q_exponent,
                  "neuroscaler-q: weight = bytes x (quantiser step / reference step)^E")
      ->capture_default_str()
      ->check(CLI::Range(-4.0, 4.0));
  cmd->add_option("--altref-min-boost", options->altref_min_boost,
                  "an alt-ref is picked first only if quantised this much finer than the recent frames (0: always; "
                  "default: neuroscaler-q 2, neuroscaler 0)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--flat-cv", options->flat_cv,
                  "an epoch whose frame weights vary less than this (stddev / mean) gets evenly spaced anchors "
                  "(0: never; default: neuroscaler-q 0.3, neuroscaler 0)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--reference", options->references, "HR reference video per --in (oracle, --evaluate)")
      ->expected(1, -1);
  cmd->add_option("--anchor-model", options->anchor_model,
                  "SR model (.safetensors) whose output is the anchor image (oracle, --evaluate); default: the "
                  "reference frame (ground truth)");
  cmd->add_option("--anchor-cache", options->anchor_cache,
                  "folder caching SR anchor images per stream and frame (raw I420); reuse it only with the same "
                  "inputs and model");
  cmd->add_flag("--oracle-ground-truth", options->oracle_ground_truth,
                "the oracle measures with ground-truth anchors even with --anchor-model (which --evaluate uses)");
  add_anchor_weight_option(cmd, options->anchor_weight, "; in --evaluate; ground-truth anchors always replace")
      ->capture_default_str();
  cmd->add_flag("--evaluate", options->evaluate, "rebuild the streams from the plan and print the PSNR after reuse");
  cmd->add_option("--compare", options->compare, "with --evaluate: also evaluate these plan files (same inputs)")
      ->expected(1, -1);
  cmd->add_option("--gains", options->gains_path,
                  "oracle: write every frame's measured single-anchor gain and the estimators' scores (JSON)");
  cmd->add_option("--scale", options->scale, "HR / LR size ratio (oracle, --evaluate)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4));
  cmd->add_option("--frames", options->max_frames, "use only the first N displayed frames of every stream")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", options->out, "plan JSON to write")->required();
  cmd->callback([options]() { run_select(*options); });
}

}  // namespace ns::app
