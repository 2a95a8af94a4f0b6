// neuroscaler demo: the paper's comparison on the built-in sample, made if missing (the README's main command).
// neuroscaler eval: the same on the user's own HR video. Both run the study (study.h) and write its report.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "commands.h"
#include "ns/core/child_process.h"
#include "ns/core/error.h"
#include "ns/eval/sample.h"
#include "ns/eval/study.h"
#include "ns/eval/study_report.h"

namespace ns::app {

namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  eval::StudyOptions study;
  int hr = 1080;
  std::string models;  // folder of the generic models; empty: models/ here or in the source tree
  double train_seconds = 5;  // the sample's (demo: when it makes one) or the user's video's segments (eval)
  double test_seconds = 8;
  std::string reference;     // eval only
};

// models/ in the working folder, else the source tree's (the program is built in build/apps/neuroscaler/).
fs::path find_models(const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  for (const fs::path& dir : {fs::path("models"), core::self_executable().parent_path() / "../../../models"}) {
    if (fs::exists(dir / "edsr_b8_f32_s3_generic.safetensors", ec)) return dir.lexically_normal();
  }
  throw Error(ErrorCode::not_found,
              "demo: the generic models (models/edsr_b8_f{16,32}_s3_generic.safetensors) are not here; run from the "
              "source tree or pass --models DIR");
}

void resolve_models(DemoOptions& o) {
  const fs::path dir = find_models(o.models);
  if (o.study.generic_f16.empty()) o.study.generic_f16 = (dir / "edsr_b8_f16_s3_generic.safetensors").string();
  if (o.study.generic_f32.empty()) o.study.generic_f32 = (dir / "edsr_b8_f32_s3_generic.safetensors").string();
  for (const std::string& model : {o.study.generic_f16, o.study.generic_f32}) {
    std::error_code ec;
    if (!fs::exists(model, ec)) {
      throw Error(ErrorCode::not_found, "demo: the model is missing; pass --models DIR or the model's path",
                  {.file = model});
    }
  }
}

void run_and_report(eval::StudyOptions study) {
  study.program = "/proc/self/exe";  // this program, even if its file is rebuilt during the study
  study.trainer = trainer_program();
  const eval::StudyResult result = eval::run_study(study);
  const std::string summary = eval::write_study_report(study, result);
  std::printf("\n%s\nReport: %s (and report.json, plots/) — %.0f s in all\n", summary.c_str(),
              (study.out_dir / "report.md").c_str(), result.wall_s);
}

void run_demo(DemoOptions o, const std::string& command_line) {
  resolve_models(o);
  eval::StudyOptions& s = o.study;
  s.command_line = command_line;
  if (s.sample_dir.empty()) s.sample_dir = s.out_dir / ("sample-" + std::to_string(o.hr));
  std::error_code ec;
  if (!fs::exists(s.sample_dir / "manifest.json", ec)) {
    fs::create_directories(s.out_dir / "logs", ec);
    std::fprintf(stderr, "demo: making the built-in sample in %s (about a minute)\n", s.sample_dir.c_str());
    core::run_child({.program = "/proc/self/exe",
                     .args = {"sample", "--out", s.sample_dir.string(), "--hr", std::to_string(o.hr), "--train-seconds",
                        std::to_string(o.train_seconds), "--test-seconds", std::to_string(o.test_seconds)},
               .log_file = s.out_dir / "logs" / "00-sample.log",
               .relay = true});
  }
  run_and_report(s);
}

void run_eval(DemoOptions o, const std::string& command_line) {
  resolve_models(o);
  eval::StudyOptions& s = o.study;
  s.command_line = command_line;
  s.title = "NeuroScaler on " + fs::path(o.reference).filename().string();
  s.sample_dir = s.out_dir / "content";
  std::fprintf(stderr, "eval: splitting %s into train and test segments, LR made like a streamer's\n",
               o.reference.c_str());
  eval::make_sample_from_video({.out_dir = s.sample_dir,
                                .reference = o.reference,
                                .train_seconds = o.train_seconds,
                                .test_seconds = o.test_seconds,
                                .command_line = command_line});
  run_and_report(s);
}

// This process's command line (recorded in the report), the program named as users type it.
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string text, arg;
  bool first = true;
  while (std::getline(in, arg, '\0')) {
    text += first ? "neuroscaler" : " " + arg;
    first = false;
  }
  return text;
}

// The train and test segment lengths: of the sample the demo makes, or cut from the user's video (eval).
void add_segment_options(CLI::App* cmd, DemoOptions& o, const std::string& train_help, const std::string& test_help) {
  cmd->add_option("--train-seconds", o.train_seconds, train_help)->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--test-seconds", o.test_seconds, test_help)->check(CLI::PositiveNumber)->capture_default_str();
}

// Options the two commands share: the study's knobs.
void add_study_options(CLI::App* cmd, DemoOptions& o) {
  eval::StudyOptions& s = o.study;
  cmd->add_option("--models", o.models, "folder of the generic models (default: models/ of the source tree)");
  cmd->add_option("--generic-f16", s.generic_f16, "generic F=16 model (default: MODELS/edsr_b8_f16_s3_generic)");
  cmd->add_option("--generic-f32", s.generic_f32, "generic F=32 model (default: MODELS/edsr_b8_f32_s3_generic)");
  cmd->add_option("--finetune-minutes", s.finetune_minutes,
                  "fine-tuning time per model (content-aware F=16 and F=32); 0 uses the generic models")
      ->check(CLI::Range(0.0, 600.0))
      ->capture_default_str();
  cmd->add_option("--finetune-steps", s.finetune_steps, "at most this many steps per model")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--finetune-batch", s.finetune_batch, "patches per step")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--finetune-patch", s.finetune_patch, "LR patch edge")->check(CLI::Range(8, 256))->capture_default_str();
  cmd->add_option("--finetune-learning-rate", s.finetune_learning_rate,
                  "starting learning rate, decayed (cosine) to 1 % at the end of --finetune-minutes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--fraction", s.fraction, "NeuroScaler's anchors per frame")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str();
  cmd->add_option("--selective-fraction", s.selective_fraction, "selective SR's uniform anchors per frame")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str();
  cmd->add_option("--anchor-codec", s.anchor_codec, "NeuroScaler's anchor images: htj2k | j2k | jpeg")
      ->check(CLI::IsMember({"htj2k", "j2k", "jpeg"}))
      ->capture_default_str();
  cmd->add_option("--frames", s.frames, "use only the first N test frames (default: all)")->check(CLI::PositiveNumber);
  cmd->add_option("--curve-frames", s.curve_frames,
                  "test frames of the quality-vs-fraction study (the oracle costs ~0.3 s per frame here; 0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--curve-fractions", s.curve_fractions, "anchor fractions of that study")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str();
  cmd->add_flag("!--no-oracle", s.oracle, "leave the oracle out of that study");
  cmd->add_flag("!--no-engine", s.engine_bench,
                "skip the live engine's throughput runs (the report then estimates streams in real time)");
  cmd->add_option("--engine-seconds", s.engine_seconds, "replay per engine run")
      ->check(CLI::Range(0.5, 600.0))
      ->capture_default_str();
  cmd->add_option("--engine-max-streams", s.engine_max_streams, "most concurrent streams the engine tries")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
}

}  // namespace

void register_demo(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  o->study.out_dir = "out/demo";
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "The paper's comparison on the built-in sample (made if missing): fine-tune content-aware F=16 and F=32\n"
      "models from the generic ones on the train segment (time-bounded), then on the test segment per-frame SR\n"
      "(F=16), selective SR (F=32, 20 % uniform anchors) and NeuroScaler (F=32, 7.5 % anchors), against bilinear and\n"
      "bicubic: PSNR, SSIM, delivered bitrate, server time per stage, streams in real time (the live engine), and quality\n"
      "against anchor fraction for uniform, NeuroScaler's estimator, ours and the oracle. Writes OUT/report.md,\n"
      "report.json and plots/*.svg, and prints the summary table. The sample it makes is 5 s train + 8 s test;\n"
      "about 9 minutes on a 2-core machine.");
  cmd->add_option("--out,-o", o->study.out_dir, "output folder")->capture_default_str();
  cmd->add_option("--hr", o->hr, "HR height of the sample: 1080 (LR 640x360) or 2160 (LR 1280x720)")
      ->check(CLI::IsMember({1080, 2160}))
      ->capture_default_str();
  cmd->add_option("--sample", o->study.sample_dir, "use this sample (`neuroscaler sample --out DIR`) instead of OUT/sample-HR");
  add_segment_options(cmd, *o, "segments of the sample the demo makes: train (first)",
                      "... and test (the scene cut is at 60 % of it)");
  add_study_options(cmd, *o);
  cmd->callback([o] { run_demo(*o, command_line()); });

  auto e = std::make_shared<DemoOptions>();
  e->study.out_dir = "out/eval";
  CLI::App* eval_cmd = app.add_subcommand(
      "eval",
      "The demo's comparison on your own content: from an HR video FFmpeg reads, the LR stream is made like a\n"
      "streamer's (HR / 3, VP9 realtime), the first --train-seconds train the content-aware models, the next\n"
      "--test-seconds are the test segment; then as `neuroscaler demo` (OUT/report.md, report.json, plots/).");
  eval_cmd->add_option("--reference,-r", e->reference, "HR video (any input FFmpeg reads)")->required();
  eval_cmd->add_option("--out,-o", e->study.out_dir, "output folder")->capture_default_str();
  e->test_seconds = 10;
  add_segment_options(eval_cmd, *e, "train segment (first)", "test segment (next; at most)");
  add_study_options(eval_cmd, *e);
  eval_cmd->callback([e] { run_eval(*e, command_line()); });
}

}  // namespace ns::app
