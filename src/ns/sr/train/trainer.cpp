// The training loop (reference §5.2), the same for every engine: random LR/HR patch pairs, L1 loss, Adam with an
// optional cosine schedule; validation against bicubic (on ns::sr's own inference); checkpoints (weights,
// optimiser state, step) that a later run resumes from, on either engine; early stopping on validation.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/core/atomic_file.h"
#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/sr/train/dataset_impl.h"
#include "ns/sr/train/engine_impl.h"
#include "ns/sr/train/train.h"

namespace ns::sr::train {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void check_options(const TrainOptions& o) {
  if (o.batch < 1 || o.patch < 4 || o.steps < 0 || o.minutes < 0 || !(o.learning_rate > 0) ||
      o.validate_every < 1 || o.checkpoint_every < 1 || o.threads < 0) {
    throw Error(ErrorCode::invalid_argument, "train: options out of range (batch >= 1, patch >= 4, steps >= 0, "
                                             "minutes >= 0, learning rate > 0, intervals >= 1, threads >= 0)");
  }
  if (o.schedule != "constant" && o.schedule != "cosine" && o.schedule != "cosine-time") {
    throw Error(ErrorCode::invalid_argument, "train: unknown learning-rate schedule '" + o.schedule +
                                                 "'; use constant, cosine or cosine-time");
  }
  if (o.schedule == "cosine-time" && o.minutes <= 0) {
    throw Error(ErrorCode::invalid_argument, "train: --schedule cosine-time decays over --minutes; give --minutes");
  }
  if (o.patience < 0 || o.detail_tries < 1) {
    throw Error(ErrorCode::invalid_argument, "train: --patience must be >= 0 and --detail-tries >= 1");
  }
  if (o.resume && o.checkpoint_dir.empty()) {
    throw Error(ErrorCode::invalid_argument, "train: --resume needs --checkpoint-dir");
  }
}

// Checkpoint: model.safetensors, Adam's moments as exp_avg.safetensors and exp_avg_sq.safetensors (tensors of
// the model's names and shapes), state.json (written last: a checkpoint is complete when it names the step). Each
// file goes to a temporary name first, then is renamed over the old one. Both engines read and write it.
struct CheckpointFiles {
  explicit CheckpointFiles(const fs::path& dir)
      : model(dir / "model.safetensors"),
        exp_avg(dir / "exp_avg.safetensors"),
        exp_avg_sq(dir / "exp_avg_sq.safetensors"),
        state(dir / "state.json") {}
  fs::path model, exp_avg, exp_avg_sq, state;
};

void save_atomically(const Model& model, const fs::path& path) {
  save_model(model, core::temporary_path(path).string());
  core::rename_into_place(core::temporary_path(path), path, "train");
}

// The moments as models of the trained model's shape, so that they are stored (and checked) like weights.
Model moments_as_model(const Model& like, const OptimizerState& state, bool second) {
  Model out;
  out.desc = like.desc;
  for (const auto& [name, tensor] : like.tensors) {
    const AdamMoments& m = state.moments.at(name);
    out.tensors[name] = Tensor{tensor.shape, second ? m.exp_avg_sq : m.exp_avg};
  }
  return out;
}

void save_checkpoint(const fs::path& dir, const TrainEngine& engine, int64_t step, const TrainOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const CheckpointFiles files(dir);
  const Model model = engine.model();
  const OptimizerState state = engine.optimizer_state();
  save_atomically(model, files.model);
  save_atomically(moments_as_model(model, state, false), files.exp_avg);
  save_atomically(moments_as_model(model, state, true), files.exp_avg_sq);
  const nlohmann::json json = {{"step", step},
                               {"adam_step", state.step},
                               {"model", model.desc.name()},
                               {"engine", engine.name()},
                               {"seed", options.seed},
                               {"batch", options.batch},
                               {"patch", options.patch},
                               {"learning_rate", options.learning_rate}};
  core::write_text_atomically(files.state, json.dump(2) + '\n', "train");
}

// Restores weights and optimiser state into `engine`; returns the step to continue from.
int64_t load_checkpoint(const fs::path& dir, const ModelDesc& desc, TrainEngine& engine) {
  const CheckpointFiles files(dir);
  std::ifstream in(files.state);
  if (!in) {
    throw Error(ErrorCode::not_found, "train: nothing to resume (no state.json); start without --resume",
                ErrorContext{.file = dir.string()});
  }
  int64_t step = 0;
  OptimizerState state;
  std::string name;
  try {
    const nlohmann::json json = nlohmann::json::parse(in);
    step = json.at("step").get<int64_t>();
    state.step = json.at("adam_step").get<int64_t>();
    name = json.at("model").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::corrupt, "train: checkpoint state is damaged (" + std::string(e.what()) + ")",
                ErrorContext{.file = files.state.string()});
  }
  if (name != desc.name()) {
    throw Error(ErrorCode::mismatch, "train: the checkpoint is for " + name + ", this training is for " +
                                         desc.name() + "; use another --checkpoint-dir",
                ErrorContext{.file = dir.string()});
  }
  const Model model = load_model(files.model.string());
  const Model exp_avg = load_model(files.exp_avg.string());
  const Model exp_avg_sq = load_model(files.exp_avg_sq.string());
  if (!(model.desc == desc) || !(exp_avg.desc == desc) || !(exp_avg_sq.desc == desc)) {
    throw Error(ErrorCode::mismatch, "train: the checkpoint's files are not all for " + desc.name(),
                ErrorContext{.file = dir.string()});
  }
  for (const auto& [tensor_name, tensor] : model.tensors) {
    state.moments[tensor_name] = {exp_avg.tensor(tensor_name).data, exp_avg_sq.tensor(tensor_name).data};
  }
  engine.restore(model, state);
  return step;
}

// cosine: from the learning rate down to 1 % of it at the last step; cosine-time: at the end of this run's
// --minutes, or at the last step if that comes sooner (a time-budgeted run, e.g. the demo's fine-tuning).
double scheduled_learning_rate(const TrainOptions& o, int64_t step, double seconds) {
  if (o.schedule == "constant" || o.steps <= 0) return o.learning_rate;
  double progress = std::min(1.0, static_cast<double>(step) / static_cast<double>(o.steps));
  if (o.schedule == "cosine-time") progress = std::max(progress, std::min(1.0, seconds / (60 * o.minutes)));
  return o.learning_rate * (0.01 + 0.99 * 0.5 * (1 + std::cos(3.14159265358979323846 * progress)));
}

}  // namespace

TrainReport train(Model& model, const TrainingSet& set, const TrainOptions& options, const ProgressCallback& progress) {
  check_options(options);
  validate_model(model);
  if (set.scale != model.desc.scale) {
    throw Error(ErrorCode::mismatch, "train: the data is for x" + std::to_string(set.scale) + ", the model " +
                                         model.desc.name() + " for x" + std::to_string(model.desc.scale));
  }
  if (set.train.empty() || set.validation.empty()) {
    throw Error(ErrorCode::invalid_argument, "train: need training and validation images (" +
                                                 std::to_string(set.train.size()) + " and " +
                                                 std::to_string(set.validation.size()) + " given)");
  }
  check_pairs(set.train, set.scale, options.patch, "training");
  check_pairs(set.validation, set.scale, 1, "validation");

  const std::unique_ptr<TrainEngine> engine = create_engine(model, options);
  TrainReport report;
  report.engine = engine->name();
  report.device = engine->device();
  int64_t step = 0;
  if (options.resume) step = load_checkpoint(options.checkpoint_dir, model.desc, *engine);
  report.first_step = step;
  // The baseline does not change during training: measure it once.
  const double bicubic = bicubic_psnr(set.validation);
  const auto validate_now = [&] { return Validation{model_psnr(engine->model(), set.validation), bicubic}; };
  report.initial = validate_now();
  report.best = report.initial;
  report.best_step = step;
  Model best = options.keep_best ? engine->model() : Model{};
  int stale_validations = 0;

  const int hp = options.patch * set.scale;
  std::vector<float> lr(static_cast<size_t>(options.batch) * 3 * options.patch * options.patch);
  std::vector<float> hr(static_cast<size_t>(options.batch) * 3 * hp * hp);
  const auto start = Clock::now();
  auto last_report = start;
  const auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  double loss_sum = 0;
  int64_t loss_count = 0;
  bool first_interval = true;
  TrainProgress p;
  p.steps = options.steps;

  const auto emit = [&](bool validated) {
    p.step = step;
    p.seconds = seconds_since(start);
    p.steps_per_second = (step - report.first_step) / std::max(p.seconds, 1e-9);
    if (loss_count) p.loss = loss_sum / loss_count;  // else: no step since the last report, keep its loss
    p.validated = validated;
    if (loss_count) {
      if (first_interval) report.first_loss = p.loss;
      first_interval = false;
      report.last_loss = p.loss;
    }
    loss_sum = 0, loss_count = 0;
    last_report = Clock::now();
    if (progress) progress(p);
  };
  p.validation = report.initial;
  emit(true);

  while (step < options.steps && (options.minutes <= 0 || seconds_since(start) < 60 * options.minutes)) {
    fill_batch(set.train, set.scale, options.patch, options.batch, options.seed, step, lr.data(), hr.data(),
               {.detail_tries = options.detail_tries, .augment = options.augment});
    p.learning_rate = scheduled_learning_rate(options, step, seconds_since(start));
    const double loss = engine->step(lr.data(), hr.data(), p.learning_rate);
    if (!std::isfinite(loss)) {
      throw Error(ErrorCode::corrupt, "train: the loss is " + std::to_string(loss) + " at step " +
                                          std::to_string(step) + "; training diverged: lower --learning-rate or "
                                          "resume from an earlier checkpoint");
    }
    ++step;
    loss_sum += loss;
    ++loss_count;

    const bool validation_due = step % options.validate_every == 0;
    if (validation_due) {
      p.validation = validate_now();
      if (p.validation.psnr > report.best.psnr) {
        report.best = p.validation;
        report.best_step = step;
        stale_validations = 0;
        if (options.keep_best) best = engine->model();
      } else {
        ++stale_validations;
      }
    }
    if (validation_due || seconds_since(last_report) > 5 || (first_interval && loss_count == 10)) {
      emit(validation_due);
    }
    if (!options.checkpoint_dir.empty() && step % options.checkpoint_every == 0) {
      save_checkpoint(options.checkpoint_dir, *engine, step, options);
    }
    if (options.patience > 0 && stale_validations >= options.patience) {
      report.stopped_early = true;
      break;
    }
  }
  report.steps_done = step;
  report.seconds = seconds_since(start);
  report.steps_per_second = (step - report.first_step) / std::max(report.seconds, 1e-9);
  report.final = validate_now();
  if (report.final.psnr > report.best.psnr) {
    report.best = report.final;
    report.best_step = step;
    if (options.keep_best) best = engine->model();
  }
  p.validation = report.final;
  emit(true);
  if (!options.checkpoint_dir.empty()) save_checkpoint(options.checkpoint_dir, *engine, step, options);
  model = options.keep_best ? std::move(best) : engine->model();
  return report;
}

std::unique_ptr<TrainEngine> create_engine(const Model& model, const TrainOptions& options) {
  if (options.engine == "onednn") return create_onednn_engine(model, options);
#ifdef NS_WITH_TORCH
  if (options.engine == "torch") return create_torch_engine(model, options);
  if (options.engine == "auto" && options.device != "cpu" && torch_has_cuda()) return create_torch_engine(model, options);
#else
  if (options.engine == "torch") {
    throw Error(ErrorCode::unsupported, "train: --engine torch, but this build has no libtorch; use --engine onednn "
                                        "or build with libtorch-dev (scripts/setup) installed");
  }
#endif
  if (options.device == "cuda") {
    throw Error(ErrorCode::unsupported, "train: --device cuda needs the torch engine with a CUDA build of libtorch; "
                                        "use --device cpu");
  }
  if (options.engine != "auto") {
    throw Error(ErrorCode::invalid_argument, "train: unknown engine '" + options.engine + "'; use auto, onednn or torch");
  }
  return create_onednn_engine(model, options);
}

double model_psnr(const Model& model, const std::vector<ImagePair>& pairs) {
  int max_w = 1, max_h = 1;
  for (const ImagePair& p : pairs) max_w = std::max(max_w, p.lr.width), max_h = std::max(max_h, p.lr.height);
  Upscaler upscaler(model, max_w, max_h);
  uint64_t sse = 0, samples = 0;
  core::RgbImage out;
  for (const ImagePair& p : pairs) {
    try {
      upscaler.upscale(p.lr, out);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      throw Error(ErrorCode::corrupt, "train: the model produces NaN on " + p.origin +
                                          "; training diverged: lower --learning-rate or resume from a checkpoint");
    }
    sse += rgb_sse(out, p.hr);
    samples += p.hr.pixels.size();
  }
  return core::psnr_from_sse(sse, samples);
}

Validation validate(const Model& model, const std::vector<ImagePair>& pairs) {
  check_pairs(pairs, model.desc.scale, 1, "validation");
  return {model_psnr(model, pairs), bicubic_psnr(pairs)};
}

}  // namespace ns::sr::train
