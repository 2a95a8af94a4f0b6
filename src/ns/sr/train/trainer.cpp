// The training loop (reference §5.2): random LR/HR patch pairs, L1 loss, Adam; validation against bicubic;
// checkpoints (weights, optimiser state, step) that a later run resumes from.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"
#include "ns/sr/train/dataset_impl.h"
#include "ns/sr/train/torch_model_impl.h"
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
  if (o.resume && o.checkpoint_dir.empty()) {
    throw Error(ErrorCode::invalid_argument, "train: --resume needs --checkpoint-dir");
  }
}

// Checkpoint: model.safetensors, optimizer.pt, state.json (written last: a checkpoint is complete when it
// names the step). Each file goes to a temporary name first, then is renamed over the old one.
struct CheckpointFiles {
  explicit CheckpointFiles(const fs::path& dir)
      : model(dir / "model.safetensors"), optimizer(dir / "optimizer.pt"), state(dir / "state.json") {}
  fs::path model, optimizer, state;
};

void rename_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) {
    throw Error(ErrorCode::io, "train: cannot write checkpoint (" + ec.message() + "); check the disk",
                ErrorContext{.file = to.string()});
  }
}

void save_checkpoint(const fs::path& dir, Edsr& module, torch::optim::Adam& optimizer, int64_t step,
                     const TrainOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  const CheckpointFiles files(dir);
  save_model(to_model(module), files.model.string() + ".tmp");
  rename_into_place(files.model.string() + ".tmp", files.model);
  try {
    torch::save(optimizer, files.optimizer.string() + ".tmp");
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::io, "train: cannot write the optimiser state (" + std::string(e.what_without_backtrace()) +
                                   "); check the disk", ErrorContext{.file = files.optimizer.string()});
  }
  rename_into_place(files.optimizer.string() + ".tmp", files.optimizer);
  const nlohmann::json state = {{"step", step},
                                {"model", module->desc.name()},
                                {"seed", options.seed},
                                {"batch", options.batch},
                                {"patch", options.patch},
                                {"learning_rate", options.learning_rate}};
  {
    std::ofstream out(files.state.string() + ".tmp");
    out << state.dump(2) << '\n';
    if (!out.flush()) {
      throw Error(ErrorCode::io, "train: cannot write the checkpoint state; check the disk",
                  ErrorContext{.file = files.state.string()});
    }
  }
  rename_into_place(files.state.string() + ".tmp", files.state);
}

// Loads weights and optimiser state into `module` / `optimizer`; returns the step to continue from.
int64_t load_checkpoint(const fs::path& dir, Edsr& module, torch::optim::Adam& optimizer) {
  const CheckpointFiles files(dir);
  std::ifstream in(files.state);
  if (!in) {
    throw Error(ErrorCode::not_found, "train: nothing to resume (no state.json); start without --resume",
                ErrorContext{.file = dir.string()});
  }
  int64_t step = 0;
  std::string name;
  try {
    const nlohmann::json state = nlohmann::json::parse(in);
    step = state.at("step").get<int64_t>();
    name = state.at("model").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::corrupt, "train: checkpoint state is damaged (" + std::string(e.what()) + ")",
                ErrorContext{.file = files.state.string()});
  }
  if (name != module->desc.name()) {
    throw Error(ErrorCode::mismatch, "train: the checkpoint is for " + name + ", this training is for " +
                                         module->desc.name() + "; use another --checkpoint-dir",
                ErrorContext{.file = dir.string()});
  }
  load_weights(module, load_model(files.model.string()));
  try {
    torch::load(optimizer, files.optimizer.string());
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::corrupt, "train: cannot read the optimiser state (" +
                                        std::string(e.what_without_backtrace()) + ")",
                ErrorContext{.file = files.optimizer.string()});
  }
  return step;
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
  if (options.threads > 0) torch::set_num_threads(options.threads);
  torch::manual_seed(options.seed);

  const torch::Device device = resolve_device(options.device);
  Edsr module = make_module(model);
  module->to(device);
  module->train();
  torch::optim::Adam optimizer(module->parameters(), torch::optim::AdamOptions(options.learning_rate));

  TrainReport report;
  report.device = device.is_cuda() ? "cuda" : "cpu";
  int64_t step = 0;
  if (options.resume) step = load_checkpoint(options.checkpoint_dir, module, optimizer);
  report.first_step = step;
  // The baseline does not change during training: measure it once.
  const double bicubic = bicubic_psnr(set.validation);
  const auto validate_now = [&] { return Validation{model_psnr(module, set.validation, device), bicubic}; };
  report.initial = validate_now();

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

  try {
    while (step < options.steps && (options.minutes <= 0 || seconds_since(start) < 60 * options.minutes)) {
      fill_batch(set.train, set.scale, options.patch, options.batch, options.seed, step, lr.data(), hr.data());
      const torch::Tensor x =
          torch::from_blob(lr.data(), {options.batch, 3, options.patch, options.patch}, torch::kFloat32).to(device);
      const torch::Tensor y = torch::from_blob(hr.data(), {options.batch, 3, hp, hp}, torch::kFloat32).to(device);
      const torch::Tensor loss = torch::l1_loss(module->forward(x), y);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      ++step;
      loss_sum += loss.item<double>();
      ++loss_count;

      const bool validation_due = step % options.validate_every == 0;
      if (validation_due) p.validation = validate_now();
      if (validation_due || seconds_since(last_report) > 5 || (first_interval && loss_count == 10)) {
        emit(validation_due);
      }
      if (!options.checkpoint_dir.empty() && step % options.checkpoint_every == 0) {
        save_checkpoint(options.checkpoint_dir, module, optimizer, step, options);
      }
    }
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::internal, "train: libtorch failed at step " + std::to_string(step) + " (" +
                                         e.what_without_backtrace() + ")");
  }
  report.steps_done = step;
  report.seconds = seconds_since(start);
  report.steps_per_second = (step - report.first_step) / std::max(report.seconds, 1e-9);
  report.final = validate_now();
  p.validation = report.final;
  emit(true);
  if (!options.checkpoint_dir.empty()) save_checkpoint(options.checkpoint_dir, module, optimizer, step, options);
  model = to_model(module);
  return report;
}

}  // namespace ns::sr::train
