// neuroscaler-train: generic pre-training on photographs and content-aware fine-tuning on one stream
// (reference §5.2), on the oneDNN engine or libtorch. A program of its own so that `neuroscaler` does not load
// the training libraries (libtorch: seconds and 130 MB at every start); `neuroscaler train ...` runs it.
// Errors: one line on stderr, exit 1.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "../run_app.h"
#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/eval/sample.h"
#include "ns/sr/sr.h"
#include "ns/sr/train/stream_set.h"
#include "ns/sr/train/train.h"
#include "data_command.h"

namespace ns::app {

namespace {

struct TrainCommandOptions {
  // the model
  int blocks = 8;
  int channels = 32;
  int scale = 3;
  std::string init;  // start from this model (finetune: required)
  std::string start = "bilinear";  // pretrain without --init: "bilinear" or "random" weights
  std::string out;
  std::string storage = "f32";
  std::string report;
  // optimisation
  std::string engine = "auto";
  std::string precision = "auto";
  int batch = 16;
  int patch = 64;
  int64_t steps = 1000;
  double minutes = 0;
  double learning_rate = 1e-4;
  std::string schedule = "constant";
  uint64_t seed = 1;
  int detail_tries = 1;
  bool augment = false;
  bool keep_best = false;
  int patience = 0;
  int threads = 0;
  std::string device = "auto";
  int validate_every = 200;
  std::string checkpoint_dir;
  int checkpoint_every = 500;
  bool resume = false;
  // pretrain data
  std::string data_dir;
  std::vector<std::string> photos;
  bool include_sample_photos = false;
  int max_side = 1920;
  int validation_every = 8;
  int photo_validation_crop = 0;
  // finetune data
  std::string sample_dir;
  std::string codec = "vp9";
  std::string lr_video;
  std::string hr_video;
  double sample_fps = 0.5;
  int validation_frames = 4;
  int validation_crop = 0;
  int64_t max_frames = -1;
};

void add_common_options(CLI::App* cmd, TrainCommandOptions& o) {
  cmd->add_option("--out,-o", o.out, "trained model (.safetensors)")->required();
  cmd->add_option("--dtype", o.storage, "stored type of the trained model: f32 | f16 | bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--report", o.report, "also write the training report (JSON) to this file");
  cmd->add_option("--engine", o.engine,
                  "auto (torch when it has a CUDA device, else onednn), onednn (CPU, our own) or torch (libtorch)")
      ->check(CLI::IsMember({"auto", "onednn", "torch"}))
      ->capture_default_str();
  cmd->add_option("--precision", o.precision,
                  "onednn engine: fp32, bf16 (convolutions in bf16 on CPUs with avx512_bf16: faster) or auto\n"
                  "(bf16 where the CPU has it)")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--batch", o.batch, "patches per step")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--patch", o.patch, "LR patch edge in pixels (HR = scale x this)")->capture_default_str();
  cmd->add_option("--steps", o.steps, "optimiser steps in all (a resumed run continues to this count)")
      ->capture_default_str();
  cmd->add_option("--minutes", o.minutes, "stop after this many minutes even if steps remain (0: no bound)")
      ->capture_default_str();
  cmd->add_option("--learning-rate", o.learning_rate, "Adam learning rate")->capture_default_str();
  cmd->add_option("--schedule", o.schedule,
                  "learning rate: constant; cosine (down to 1 % at --steps); cosine-time (down to 1 % when --minutes "
                  "end, for time-budgeted runs)")
      ->check(CLI::IsMember({"constant", "cosine", "cosine-time"}))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of the patch draws")->capture_default_str();
  cmd->add_option("--detail-tries", o.detail_tries,
                  "draw this many positions per patch and keep the most detailed (1: uniform)")
      ->capture_default_str();
  cmd->add_flag("--augment", o.augment,
                "turn each patch by one of the 8 flips and quarter turns (the same for LR and HR), at random");
  cmd->add_flag("--keep-best", o.keep_best, "write the weights of the best validation, not the last");
  cmd->add_option("--patience", o.patience, "stop after this many validations without improvement (0: never)")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "training threads (0: all cores)")->capture_default_str();
  cmd->add_option("--device", o.device, "torch engine: auto (CUDA when this libtorch has it), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--validate-every", o.validate_every, "steps between validations")->capture_default_str();
  cmd->add_option("--checkpoint-dir", o.checkpoint_dir, "write checkpoints here (model, optimiser, step)");
  cmd->add_option("--checkpoint-every", o.checkpoint_every, "steps between checkpoints")->capture_default_str();
  cmd->add_flag("--resume", o.resume, "continue from the checkpoint in --checkpoint-dir");
}

std::string engine_description() {
#ifdef NS_WITH_TORCH
  return "engines: onednn, torch (libtorch " + sr::train::torch_version() +
         (sr::train::torch_has_cuda() ? ", CUDA)" : ", CPU)");
#else
  return "engine: onednn (built without libtorch)";
#endif
}

void print_progress(const sr::train::TrainProgress& p) {
  std::string line = fmt::format("step {}/{}, L1 loss {:.5f}, {:.0f} s", p.step, p.steps, p.loss, p.seconds);
  if (p.learning_rate > 0) line += fmt::format(", learning rate {:.2g}", p.learning_rate);
  if (p.validated) {
    line += fmt::format(", validation {:.2f} dB, bicubic {:.2f} dB, gain {:+.2f} dB", p.validation.psnr,
                        p.validation.bicubic_psnr, p.validation.gain());
  }
  if (p.steps_per_second > 0) line += fmt::format(", {:.2f} steps/s", p.steps_per_second);
  log::info("train", "{}", line);
}

// Creates the folders of the files training will write, so that a typo fails now and not after hours of training.
void prepare_output_folders(const TrainCommandOptions& o) {
  for (const std::string& file : {o.out, o.report}) {
    const std::filesystem::path folder = std::filesystem::path(file).parent_path();
    std::error_code ec;
    if (file.empty() || folder.empty()) continue;
    std::filesystem::create_directories(folder, ec);
    if (ec || !std::filesystem::is_directory(folder)) {
      throw Error(ErrorCode::io, "train: cannot create the folder for " + file + " (" + ec.message() +
                                     "); check the path and permissions", ErrorContext{.file = folder.string()});
    }
  }
}

void run_training(const TrainCommandOptions& o, sr::Model model, const sr::train::TrainingSet& set,
                  const std::string& data) {
  prepare_output_folders(o);
  sr::train::TrainOptions t;
  t.engine = o.engine;
  t.precision = o.precision;
  t.schedule = o.schedule;
  t.detail_tries = o.detail_tries;
  t.augment = o.augment;
  t.keep_best = o.keep_best;
  t.patience = o.patience;
  t.batch = o.batch;
  t.patch = o.patch;
  t.steps = o.steps;
  t.minutes = o.minutes;
  t.learning_rate = o.learning_rate;
  t.seed = o.seed;
  t.threads = o.threads;
  t.device = o.device;
  t.validate_every = o.validate_every;
  t.checkpoint_dir = o.checkpoint_dir;
  t.checkpoint_every = o.checkpoint_every;
  t.resume = o.resume;
  const sr::StorageType storage = sr::storage_type_from_name(o.storage);
  log::info("train", "{}: {} training and {} validation images ({}), {}", model.desc.name(), set.train.size(),
            set.validation.size(), data, engine_description());
  const sr::train::TrainReport r = sr::train::train(model, set, t, print_progress);
  sr::save_model(model, o.out, storage);
  const auto validation_json = [](const sr::train::Validation& v) {
    return nlohmann::json{{"psnr_db", v.psnr}, {"bicubic_psnr_db", v.bicubic_psnr}, {"gain_db", v.gain()}};
  };
  std::vector<std::string> held_out;
  for (const sr::train::ImagePair& p : set.validation) held_out.push_back(p.origin);
  const nlohmann::json report = {{"model", model.desc.name()},
                                 {"out", o.out},
                                 {"data", data},
                                 {"train_images", set.train.size()},
                                 {"validation_images", held_out},
                                 {"first_step", r.first_step},
                                 {"steps", r.steps_done},
                                 {"seconds", r.seconds},
                                 {"steps_per_second", r.steps_per_second},
                                 {"batch", o.batch},
                                 {"patch", o.patch},
                                 {"learning_rate", o.learning_rate},
                                 {"seed", o.seed},
                                 {"engine", r.engine},
                                 {"device", r.device},
                                 {"threads", o.threads},
                                 {"schedule", o.schedule},
                                 {"detail_tries", o.detail_tries},
                                 {"augment", o.augment},
                                 {"first_loss", r.first_loss},
                                 {"last_loss", r.last_loss},
                                 {"initial_validation", validation_json(r.initial)},
                                 {"final_validation", validation_json(r.final)},
                                 {"best_validation", validation_json(r.best)},
                                 {"best_step", r.best_step},
                                 {"kept", o.keep_best ? "best" : "last"},
                                 {"stopped_early", r.stopped_early}};
  std::printf("%s\n", report.dump(2).c_str());
  if (!o.report.empty()) {
    std::FILE* f = std::fopen(o.report.c_str(), "w");
    if (!f || std::fprintf(f, "%s\n", report.dump(2).c_str()) < 0 || std::fclose(f) != 0) {
      throw Error(ErrorCode::io, "train: cannot write the report; check the path and disk",
                  ErrorContext{.file = o.report});
    }
  }
}

sr::Model starting_model(const TrainCommandOptions& o) {
  if (!o.init.empty()) return sr::load_model(o.init);
  sr::ModelDesc desc;
  desc.blocks = o.blocks;
  desc.channels = o.channels;
  desc.scale = o.scale;
  sr::validate_desc(desc, "train");
  return o.start == "random" ? sr::random_model(desc, o.seed) : sr::train::bilinear_start_model(desc, o.seed);
}

void run_pretrain(const TrainCommandOptions& o) {
  sr::Model model = starting_model(o);
  if (!o.data_dir.empty()) {
    const sr::train::TrainingSet set = sr::train::load_stream_set(o.data_dir);
    run_training(o, std::move(model), set, "data set " + o.data_dir);
    return;
  }
  std::vector<std::string> photos;
  if (o.photos.empty()) {
    photos = sr::train::default_photos(!o.include_sample_photos);
  } else {
    for (const std::string& argument : o.photos) {
      for (std::string& p : eval::expand_photo_argument(argument)) photos.push_back(std::move(p));
    }
  }
  sr::train::PhotoSetOptions p;
  p.scale = model.desc.scale;
  p.max_side = o.max_side;
  p.validation_every = o.validation_every;
  p.validation_crop = o.photo_validation_crop;
  const sr::train::TrainingSet set = sr::train::photo_set(photos, p);
  run_training(o, std::move(model), set, std::to_string(photos.size()) + " photos");
}

void run_finetune(const TrainCommandOptions& o) {
  std::string lr = o.lr_video, hr = o.hr_video;
  if (!o.sample_dir.empty()) {
    const eval::SampleManifest m = eval::load_sample_manifest(o.sample_dir);
    lr = m.file_path("train", "lr_" + o.codec).string();
    hr = m.file_path("train", "hr").string();
  }
  if (lr.empty() || hr.empty()) {
    throw Error(ErrorCode::invalid_argument, "train finetune: give --sample DIR, or --lr-video and --hr-video");
  }
  sr::Model model = sr::load_model(o.init);
  sr::train::VideoSetOptions v;
  v.sample_fps = o.sample_fps;
  v.validation_frames = o.validation_frames;
  v.validation_crop = o.validation_crop;
  v.max_frames = o.max_frames;
  const sr::train::TrainingSet set = sr::train::video_set(lr, hr, model.desc.scale, v);
  run_training(o, std::move(model), set, lr + " against " + hr);
}


void register_train(CLI::App& app) {
  CLI::App* cmd = &app;

  auto pre = std::make_shared<TrainCommandOptions>();
  CLI::App* pre_cmd = cmd->add_subcommand(
      "pretrain", "Generic training on photographs: HR patches and their area down-scaled LR.\n"
                  "Default photos: Debian's wallpaper packages, minus those the built-in sample shows;\n"
                  "every 8th photo (sorted by path) is held out for validation.");
  pre_cmd->add_option("--data", pre->data_dir,
                      "train on this data set ('neuroscaler train data' builds it: LR through real encoders)\n"
                      "instead of --photos with clean LR");
  pre_cmd->add_option("--photos", pre->photos, "photo files or directories (default: the Debian wallpapers)");
  pre_cmd->add_flag("--include-sample-photos", pre->include_sample_photos,
                    "keep the photos the built-in sample is made of (default: left out)");
  pre_cmd->add_option("--max-side", pre->max_side, "scale larger photos down to this longest side first")
      ->capture_default_str();
  pre_cmd->add_option("--validation-every", pre->validation_every, "hold out every N-th photo for validation")
      ->capture_default_str();
  pre_cmd->add_option("--validation-crop", pre->photo_validation_crop, "LR centre crop of validation photos (0: whole)")
      ->capture_default_str();
  pre_cmd->add_option("--init", pre->init, "start from this model");
  pre_cmd->add_option("--start", pre->start,
                      "without --init: 'bilinear' (weights that up-scale bilinearly, plus random features) or\n"
                      "'random' (PyTorch's default initialisation, as the original)")
      ->check(CLI::IsMember({"bilinear", "random"}))
      ->capture_default_str();
  pre_cmd->add_option("--blocks", pre->blocks, "residual blocks (new model)")->capture_default_str();
  pre_cmd->add_option("--channels", pre->channels, "feature channels F (new model)")->capture_default_str();
  pre_cmd->add_option("--scale", pre->scale, "up-scaling factor 2, 3 or 4 (new model)")->capture_default_str();
  add_common_options(pre_cmd, *pre);
  pre_cmd->callback([pre] { run_pretrain(*pre); });

  auto fine = std::make_shared<TrainCommandOptions>();
  CLI::App* fine_cmd = cmd->add_subcommand(
      "finetune", "Content-aware training for one stream, from a generic model, on frames of the stream's\n"
                  "train segment: LR = the decoded encode, HR = the reference of the same frames.\n"
                  "Validation: frames halfway between the training samples.");
  fine_cmd->add_option("--model,--init", fine->init, "generic model to start from")->required();
  fine_cmd->add_option("--sample", fine->sample_dir, "built-in sample directory: use its train segment");
  fine_cmd->add_option("--codec", fine->codec, "with --sample: which LR encode (vp9 | h264)")
      ->check(CLI::IsMember({"vp9", "h264"}))
      ->capture_default_str();
  fine_cmd->add_option("--lr-video", fine->lr_video, "the stream's LR encode");
  fine_cmd->add_option("--hr-video", fine->hr_video, "its HR reference (exactly scale x the LR size)");
  fine_cmd->add_option("--sample-fps", fine->sample_fps, "training frames per second of video")
      ->capture_default_str();
  fine_cmd->add_option("--validation-frames", fine->validation_frames, "held-out validation frames")
      ->capture_default_str();
  fine_cmd->add_option("--validation-crop", fine->validation_crop, "LR centre crop of validation frames (0: whole)")
      ->capture_default_str();
  fine_cmd->add_option("--max-frames", fine->max_frames, "read at most this many frames")->capture_default_str();
  add_common_options(fine_cmd, *fine);
  fine_cmd->callback([fine] { run_finetune(*fine); });

  register_data_command(app);
}

}  // namespace
}  // namespace ns::app

int main(int argc, char** argv) {
  CLI::App app{"neuroscaler train: train EDSR models on oneDNN or libtorch (reference §5.2).\n"
               "Run 'neuroscaler train <pretrain|finetune|data> --help' for the options."};
  app.name("neuroscaler train");
  app.require_subcommand(1);
  ns::app::register_train(app);
  return ns::app::run_app(app, argc, argv, "neuroscaler train");
}
