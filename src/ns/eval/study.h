// ns/eval: the paper's comparison on one content (`neuroscaler demo` on the built-in sample, `neuroscaler eval` on the
// user's video): fine-tune content-aware models from the generic ones on the train segment, run per-frame SR,
// selective SR and NeuroScaler on the test segment, measure quality against the HR reference, bitrate and server
// time, and quality against anchor fraction for the selection methods. Each step is a subcommand of the neuroscaler
// program (StudyOptions::program) run as a child process (ns/core/child_process.h), with its log in OUT/logs; the
// results go to the report (study_report.h). Errors: ns::Error naming the failed step and its log.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace ns::eval {

struct StudyOptions {
  std::filesystem::path program;     // the neuroscaler program whose subcommands run the steps (required)
  std::filesystem::path trainer;     // neuroscaler-train: fine-tuning is skipped (the generic models used) if missing
  std::filesystem::path out_dir;     // outputs, logs, report
  std::filesystem::path sample_dir;  // train + test segments with manifest.json (`neuroscaler sample`)
  std::string generic_f16;           // generic models the content-aware ones start from
  std::string generic_f32;
  double finetune_minutes = 0.75;    // per model; 0 skips fine-tuning (the generic models are used)
  int finetune_steps = 100000;       // upper bound on steps (the minutes bound first on this CPU)
  // Fine-tuning settings measured best for a 45 s budget on this CPU (bench/results/train/finetune-settings.md):
  // small batches (more steps), a high rate decayed to the end of the time budget, many frames of the train segment.
  int finetune_batch = 4;
  int finetune_patch = 48;
  double finetune_learning_rate = 5e-4;  // cosine-time: down to 1 % at the end of finetune_minutes
  double finetune_sample_fps = 12;   // training frames per second of the train segment
  double fraction = 0.075;           // NeuroScaler's anchors
  double selective_fraction = 0.2;   // selective SR's uniform anchors
  std::vector<double> curve_fractions = {0.025, 0.05, 0.075, 0.1};
  int64_t curve_frames = 200;        // frames of the quality-vs-fraction study (0: the whole test segment)
  bool oracle = true;                // the oracle in that study (slow: every frame tried as an anchor)
  int64_t frames = 0;                // test frames (0: the whole test segment)
  std::string anchor_codec = "htj2k";
  bool engine_bench = true;          // streams in real time from the live engine (`bench-streams`), per method
  double engine_seconds = 4;         // replay per engine run
  int engine_max_streams = 4;
  std::string command_line;          // recorded in the report
  std::string title = "NeuroScaler on the built-in sample";
};

// One method's outcome on the test segment.
struct MethodResult {
  std::string key;    // "neuroscaler", "selective", "perframe", "bilinear", "bicubic"
  std::string label;  // for tables and plots
  std::string model;  // empty for the interpolation baselines
  std::string sr_precision;
  double psnr = 0;    // Y, U, V pooled (reference §7.6), mean over frames
  double ssim_y = 0;
  int64_t frames = 0;
  int64_t anchors = 0;   // frames super-resolved on the server
  double delivered_kbps = 0;
  double lr_kbps = 0;
  double anchor_kbps = 0;
  std::vector<std::pair<std::string, double>> server_stages_s;  // wall seconds per server stage, pipeline order
  double server_wall_s = 0;
  double video_seconds = 0;
  std::vector<double> psnr_per_frame;
  // The live engine on this machine (`bench-streams`): the largest number of concurrent streams in real time, and
  // the SR work it did in the one-stream run over the work one stream demands (stream-equivalents).
  bool engine_measured = false;
  int realtime_streams = 0;
  double sr_stream_equivalents = 0;
};

struct FinetuneResult {
  std::string model;      // path of the model the methods use
  std::string from;       // the generic model it started from
  bool trained = false;   // false: the generic model is used (why: `note`)
  std::string note;
  int64_t steps = 0;
  double seconds = 0;
  double validation_gain_before_db = 0;  // validation PSNR gain over bicubic on train-segment frames
  double validation_gain_after_db = 0;
};

struct CurvePoint {
  std::string method;  // uniform, neuroscaler, neuroscaler-q, oracle
  double fraction = 0;
  double psnr = 0;
};

struct StepTime {
  std::string name;
  double seconds = 0;
};

struct StudyResult {
  FinetuneResult finetune_f16;
  FinetuneResult finetune_f32;
  std::vector<MethodResult> methods;  // bilinear, bicubic, perframe, selective, neuroscaler
  std::vector<CurvePoint> curve;      // ground-truth anchors
  int64_t curve_frames = 0;
  std::vector<StepTime> steps;
  double wall_s = 0;
  // Sample facts for the report.
  int lr_width = 0, lr_height = 0, hr_width = 0, hr_height = 0;
  double fps = 0;
  int64_t test_frames = 0;
  std::string lr_test, hr_test;

  const MethodResult& method(const std::string& key) const;  // throws internal when absent
};

// Runs every step; progress on stderr. Throws ns::Error naming the failed step and its log.
StudyResult run_study(const StudyOptions& options);

}  // namespace ns::eval
