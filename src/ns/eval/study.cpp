#include "ns/eval/study.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "ns/core/child_process.h"
#include "ns/core/error.h"
#include "ns/core/progress.h"
#include "ns/eval/sample.h"

namespace ns::eval {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keeps enhance's stage order

const MethodResult& StudyResult::method(const std::string& key) const {
  for (const MethodResult& m : methods) {
    if (m.key == key) return m;
  }
  throw Error(ErrorCode::internal, "study: no result for method " + key);
}

namespace {

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

Json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io, "study: a step wrote no summary", {.file = path.string()});
  try {
    return Json::parse(in);
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::corrupt, std::string("study: a step's summary is not JSON (") + e.what() + ")",
                {.file = path.string()});
  }
}

// Rows of a table with a header line, split on `separator`; a row is a map from column name to text.
std::vector<std::map<std::string, std::string>> read_table(const fs::path& path, char separator) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io, "study: a step wrote no table", {.file = path.string()});
  auto split = [separator](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream stream(line);
    std::string cell;
    while (std::getline(stream, cell, separator)) cells.push_back(cell);
    return cells;
  };
  std::string line;
  if (!std::getline(in, line)) throw Error(ErrorCode::corrupt, "study: a step wrote an empty table", {.file = path.string()});
  const std::vector<std::string> header = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> cells = split(line);
    if (cells.size() != header.size()) {
      throw Error(ErrorCode::corrupt, "study: a table row has " + std::to_string(cells.size()) + " cells, its header " +
                                          std::to_string(header.size()), {.file = path.string()});
    }
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

double cell_number(const std::map<std::string, std::string>& row, const std::string& column, const fs::path& file) {
  const auto it = row.find(column);
  if (it == row.end()) throw Error(ErrorCode::corrupt, "study: no column " + column, {.file = file.string()});
  return std::stod(it->second);
}

std::vector<double> psnr_column(const fs::path& csv) {
  std::vector<double> values;
  for (const auto& row : read_table(csv, ',')) values.push_back(cell_number(row, "psnr", csv));
  return values;
}

struct Step {
  std::string name;   // log file and report name
  std::string title;  // for the terminal
  std::vector<std::string> args;
  fs::path stdout_file = {};
};

// Runs the steps with a numbered header line each, and times them. Steps given together run at once (measurements
// that use about one core each, on a 2-core machine); their output goes to their logs only.
class StepRunner {
 public:
  StepRunner(fs::path program, fs::path logs, int total)
      : program_(std::move(program)), logs_(std::move(logs)), total_(total), relay_(core::Progress::terminal()) {}

  void run(const Step& step) { run_together({step}); }

  void run_together(const std::vector<Step>& steps) {
    std::vector<int> numbers;
    for (const Step& step : steps) {
      numbers.push_back(++index_);
      std::fprintf(stderr, "demo: [%d/%d] %s\n", index_, total_, step.title.c_str());
    }
    std::vector<std::exception_ptr> failures(steps.size());
    std::vector<double> seconds(steps.size());
    auto run_one = [&](size_t i) {
      const auto start = std::chrono::steady_clock::now();
      try {
        char prefix[8];
        std::snprintf(prefix, sizeof prefix, "%02d-", numbers[i]);
        core::run_child({.program = program_,
                         .args = steps[i].args,
                         .stdout_file = steps[i].stdout_file,
                         .log_file = logs_ / (prefix + steps[i].name + ".log"),
                         .relay = relay_ && steps.size() == 1});
      } catch (...) {
        failures[i] = std::current_exception();
      }
      seconds[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    {
      std::vector<std::jthread> threads;
      for (size_t i = 1; i < steps.size(); ++i) threads.emplace_back(run_one, i);
      run_one(0);
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      if (failures[i]) std::rethrow_exception(failures[i]);
      times_.push_back({steps[i].name, seconds[i]});
      std::fprintf(stderr, "demo: [%d/%d] %s: %.1f s\n", numbers[i], total_, steps[i].title.c_str(), seconds[i]);
    }
  }
  const std::vector<StepTime>& times() const { return times_; }

 private:
  fs::path program_;
  fs::path logs_;
  int total_;
  bool relay_;
  int index_ = 0;
  std::vector<StepTime> times_;
};

class Study {
 public:
  explicit Study(const StudyOptions& o)
      : o_(o), sample_(eval::load_sample_manifest(o.sample_dir)), runner_(o.program, o.out_dir / "logs", count_steps()) {
    result_.lr_test = sample_.file_path("test", "lr_vp9").string();
    result_.hr_test = sample_.file_path("test", "hr").string();
    result_.lr_width = sample_.lr_width;
    result_.lr_height = sample_.lr_height;
    result_.hr_width = sample_.hr_width;
    result_.hr_height = sample_.hr_height;
    result_.fps = sample_.fps;
    const int64_t segment = sample_.segment("test").frame_count;
    result_.test_frames = o.frames > 0 ? std::min(o.frames, segment) : segment;
    result_.curve_frames = o.curve_frames > 0 ? std::min(o.curve_frames, result_.test_frames) : result_.test_frames;
  }

  StudyResult run() {
    const auto start = std::chrono::steady_clock::now();
    result_.finetune_f16 = finetune(o_.generic_f16, "f16");
    result_.finetune_f32 = finetune(o_.generic_f32, "f32");
    interpolation();
    baselines();
    neuroscaler_enhance();
    if (o_.engine_bench) {  // timing: alone on the machine
      engine_throughput("perframe", "perframe", result_.finetune_f16.model, 1.0);
      engine_throughput("selective", "selective", result_.finetune_f32.model, o_.selective_fraction);
      engine_throughput("neuroscaler", "neuroscaler-q", result_.finetune_f32.model, o_.fraction);
    }
    // Two measurements of about one core each, at once: the viewer's rebuild and the selection study.
    runner_.run_together({neuroscaler_decode_step(), curve_step()});
    neuroscaler_result();
    curve_result();
    for (MethodResult& m : result_.methods) {
      const auto it = engine_.find(m.key);
      if (it == engine_.end()) continue;
      m.engine_measured = true;
      m.realtime_streams = it->second.realtime_streams;
      m.sr_stream_equivalents = it->second.sr_stream_equivalents;
    }
    result_.steps = runner_.times();
    result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result_;
  }

 private:
  static std::string percent(double fraction) { return number_text(100 * fraction) + " %"; }

  int count_steps() const {
    const int finetunes = trains() ? 2 : 0;
    // bilinear, bicubic; perframe and selective: enhance + quality; neuroscaler: enhance + decode; the engine's
    // throughput per method; the plans of three selection methods and their evaluation.
    return finetunes + 2 + 4 + 2 + (o_.engine_bench ? 3 : 0) + 3 + 1;
  }
  bool trains() const {
    std::error_code ec;
    return o_.finetune_minutes > 0 && fs::exists(o_.trainer, ec);
  }
  std::vector<std::string> frame_args() const {
    if (o_.frames <= 0) return {};
    return {"--frames", std::to_string(result_.test_frames)};
  }
  fs::path out(const std::string& name) const { return o_.out_dir / name; }

  FinetuneResult finetune(const std::string& generic, const std::string& tag) {
    FinetuneResult r;
    r.from = generic;
    r.model = generic;
    if (o_.finetune_minutes <= 0) {
      r.note = "fine-tuning skipped (--finetune-minutes 0): the generic model is used";
      return r;
    }
    if (!trains()) {
      r.note = "the trainer (neuroscaler-train) is not built: the generic model is used";
      std::fprintf(stderr, "demo: %s\n", r.note.c_str());
      return r;
    }
    const fs::path model = out("models") / ("content_aware_" + tag + ".safetensors");
    const fs::path report = out("models") / ("content_aware_" + tag + ".json");
    runner_.run({"finetune-" + tag,
                "fine-tuning " + fs::path(generic).filename().string() + " on the train segment (at most " +
                    number_text(o_.finetune_minutes) + " min)",
                {"train", "finetune", "--sample", o_.sample_dir.string(), "--model", generic, "--out", model.string(),
                 "--minutes", number_text(o_.finetune_minutes), "--steps", std::to_string(o_.finetune_steps),
                 "--batch", std::to_string(o_.finetune_batch), "--patch", std::to_string(o_.finetune_patch),
                 "--learning-rate", number_text(o_.finetune_learning_rate), "--schedule", "cosine-time",
                 "--sample-fps", number_text(o_.finetune_sample_fps), "--validation-crop", "160", "--report",
                 report.string()}});
    const Json j = read_json(report);
    r.model = model.string();
    r.trained = true;
    r.steps = j.at("steps").get<int64_t>();
    r.seconds = j.at("seconds").get<double>();
    r.validation_gain_before_db = j.at("initial_validation").at("gain_db").get<double>();
    r.validation_gain_after_db = j.at("final_validation").at("gain_db").get<double>();
    return r;
  }

  Step quality_step(const std::string& key, const std::string& title, const fs::path& test,
                    const std::string& upscale) const {
    std::vector<std::string> args = {"quality", "--reference", result_.hr_test, "--test", test.string(),
                                     "--csv", out("frames") / (key + ".csv"), "--json", out(key + "_quality.json")};
    if (!upscale.empty()) args.insert(args.end(), {"--upscale", upscale});
    const std::vector<std::string> frames = frame_args();
    args.insert(args.end(), frames.begin(), frames.end());
    return {key + "-quality", title, args};
  }

  MethodResult quality_result(const std::string& key, const std::string& label) const {
    const Json j = read_json(out(key + "_quality.json"));
    MethodResult m;
    m.key = key;
    m.label = label;
    m.psnr = j.at("mean_psnr").get<double>();
    m.ssim_y = j.at("mean_ssim_y").get<double>();
    m.frames = j.at("frames").get<int64_t>();
    m.video_seconds = static_cast<double>(m.frames) / result_.fps;
    m.psnr_per_frame = psnr_column(out("frames") / (key + ".csv"));
    return m;
  }

  void interpolation() {
    runner_.run_together({quality_step("bilinear", "bilinear up-scaling of the LR test segment", result_.lr_test, "bilinear"),
                          quality_step("bicubic", "bicubic up-scaling of the LR test segment", result_.lr_test, "bicubic")});
    for (const std::string filter : {"bilinear", "bicubic"}) {
      MethodResult m = quality_result(filter, filter + " up-scaling");
      m.delivered_kbps = sample_.file("test", "lr_vp9").measured_kbps;
      m.lr_kbps = m.delivered_kbps;
      result_.methods.push_back(std::move(m));
    }
  }

  // enhance's summary: anchors, bitrates and server time per stage.
  void add_enhance_summary(MethodResult& m, const fs::path& summary) const {
    const Json j = read_json(summary);
    m.model = j.at("model").get<std::string>();
    m.sr_precision = j.at("sr_precision").get<std::string>();
    m.anchors = j.at("anchors").get<int64_t>();
    m.delivered_kbps = j.at("delivered_kbps").get<double>();
    m.lr_kbps = j.at("lr_kbps").get<double>();
    m.anchor_kbps = j.at("anchor_kbps").get<double>();
    for (const auto& [stage, seconds] : j.at("stages_s").items()) m.server_stages_s.emplace_back(stage, seconds.get<double>());
    m.server_wall_s = j.at("wall_s").get<double>();
  }

  // The server-side baselines: each makes HR video and re-encodes it; then both are measured at once.
  void baselines() {
    struct Baseline {
      std::string method, label, model;
      double fraction;
    };
    const std::vector<Baseline> runs = {
        {"perframe", "per-frame SR (F=16)", result_.finetune_f16.model, 1.0},
        {"selective", "selective SR (F=32, " + percent(o_.selective_fraction) + " uniform anchors)",
         result_.finetune_f32.model, o_.selective_fraction}};
    std::vector<Step> measurements;
    for (const Baseline& b : runs) {
      const fs::path video = out(b.method + ".webm");
      std::vector<std::string> args = {"enhance", "--in", result_.lr_test, "--model", b.model, "--method", b.method,
                                       "--fraction", number_text(b.fraction), "--out", video.string(), "--json",
                                       out(b.method + ".json").string()};
      const std::vector<std::string> frames = frame_args();
      args.insert(args.end(), frames.begin(), frames.end());
      runner_.run({b.method, b.label + ": HR made on the server, re-encoded (VP9)", args});
      measurements.push_back(quality_step(b.method, b.label + ": quality against the reference", video, ""));
    }
    runner_.run_together(measurements);
    for (const Baseline& b : runs) {
      MethodResult m = quality_result(b.method, b.label);
      add_enhance_summary(m, out(b.method + ".json"));
      result_.methods.push_back(std::move(m));
    }
  }

  std::string neuroscaler_label() const { return "NeuroScaler (F=32, " + percent(o_.fraction) + " anchors)"; }

  void neuroscaler_enhance() {
    std::vector<std::string> args = {"enhance", "--in", result_.lr_test, "--model", result_.finetune_f32.model,
                                     "--method", "neuroscaler-q", "--fraction", number_text(o_.fraction),
                                     "--anchor-codec", o_.anchor_codec, "--out", out("neuroscaler.mkv").string(),
                                     "--json", out("neuroscaler.json").string()};
    const std::vector<std::string> frames = frame_args();
    args.insert(args.end(), frames.begin(), frames.end());
    runner_.run({"neuroscaler", neuroscaler_label() + ": anchors selected, super-resolved, coded; the hybrid stream",
                 args});
  }

  Step neuroscaler_decode_step() const {
    std::vector<std::string> decode = {"decode", "--in", out("neuroscaler.mkv").string(), "--reference",
                                       result_.hr_test, "--csv", (out("frames") / "neuroscaler.csv").string()};
    const std::vector<std::string> frames = frame_args();
    decode.insert(decode.end(), frames.begin(), frames.end());
    return {"neuroscaler-decode", neuroscaler_label() + ": the viewer rebuilds HR (reuse)", decode,
            out("neuroscaler_decode.tsv")};
  }

  void neuroscaler_result() {
    const fs::path table = out("neuroscaler_decode.tsv");
    const auto rows = read_table(table, '\t');
    if (rows.size() != 1) throw Error(ErrorCode::corrupt, "study: decode printed no summary row", {.file = table.string()});
    MethodResult m;
    m.key = "neuroscaler";
    m.label = neuroscaler_label();
    m.psnr = cell_number(rows[0], "psnr", table);
    m.ssim_y = cell_number(rows[0], "ssim_y", table);
    m.frames = static_cast<int64_t>(cell_number(rows[0], "frames", table));
    m.video_seconds = static_cast<double>(m.frames) / result_.fps;
    m.psnr_per_frame = psnr_column(out("frames") / "neuroscaler.csv");
    add_enhance_summary(m, out("neuroscaler.json"));
    result_.methods.push_back(std::move(m));
  }

  // The live engine replays the test segment as 1, 2, ... concurrent streams of one method (`bench-streams`).
  void engine_throughput(const std::string& key, const std::string& method, const std::string& model, double fraction) {
    const fs::path summary = out("streams_" + key + ".json");
    runner_.run({"streams-" + key, "streams in real time, live engine: " + method,
                {"bench-streams", "--method", method, "--sample", o_.sample_dir.string(), "--model", model,
                 "--fraction", number_text(fraction), "--seconds", number_text(o_.engine_seconds), "--max",
                 std::to_string(o_.engine_max_streams), "--json", summary.string()}});
    const Json j = read_json(summary);
    engine_[key] = {j.at("largest_realtime_streams").get<int>(),
                    j.at("sr_stream_equivalents").at("measured").get<double>()};
  }

  // PSNR after reuse from ground-truth anchors (the reference frames) at each fraction: the selection methods
  // compared on their own, without the SR model's error; the oracle measures every candidate.
  // Plans of the cheap selectors at every fraction; returns the step that evaluates them next to the oracle.
  Step curve_step() {
    std::string fractions;
    for (double f : o_.curve_fractions) fractions += (fractions.empty() ? "" : ",") + number_text(f);
    const std::vector<std::string> frames = {"--frames", std::to_string(result_.curve_frames)};
    const fs::path plans = out("plans");
    std::vector<std::string> compare;
    for (const std::string method : {"uniform", "neuroscaler", "neuroscaler-q"}) {
      std::vector<std::string> args = {"select", "--in", result_.lr_test, "--method", method, "--fractions", fractions,
                                       "--out", (plans / (method + "-{fraction}.json")).string()};
      args.insert(args.end(), frames.begin(), frames.end());
      runner_.run({"plan-" + method, "anchors by " + method + " at " + fractions, args});
      for (double f : o_.curve_fractions) compare.push_back((plans / (method + "-" + number_text(f) + ".json")).string());
    }
    std::vector<std::string> args = {"select", "--in", result_.lr_test, "--reference", result_.hr_test, "--evaluate"};
    if (o_.oracle) {
      args.insert(args.end(), {"--method", "oracle", "--fractions", fractions, "--out",
                               (plans / "oracle-{fraction}.json").string()});
    } else {
      // --evaluate needs a plan of its own: the first uniform plan, evaluated again (rows are de-duplicated below).
      args.insert(args.end(), {"--method", "uniform", "--fraction", number_text(o_.curve_fractions.front()), "--out",
                               (plans / "evaluated.json").string()});
    }
    args.insert(args.end(), frames.begin(), frames.end());
    args.emplace_back("--compare");
    args.insert(args.end(), compare.begin(), compare.end());
    return {"curve",
            std::string(o_.oracle ? "the oracle and " : "") + "reuse from ground-truth anchors, " +
                std::to_string(result_.curve_frames) + " frames",
            args, out("curve.tsv")};
  }

  void curve_result() {
    for (const auto& row : read_table(out("curve.tsv"), '\t')) {
      CurvePoint p{row.at("method"), cell_number(row, "fraction", out("curve.tsv")),
                   cell_number(row, "psnr", out("curve.tsv"))};
      const bool seen = std::any_of(result_.curve.begin(), result_.curve.end(), [&](const CurvePoint& q) {
        return q.method == p.method && std::abs(q.fraction - p.fraction) < 1e-9;
      });
      if (!seen) result_.curve.push_back(p);
    }
  }

  struct EngineResult {
    int realtime_streams = 0;
    double sr_stream_equivalents = 0;
  };

  const StudyOptions& o_;
  eval::SampleManifest sample_;
  std::map<std::string, EngineResult> engine_;  // by method key
  StepRunner runner_;
  StudyResult result_;
};

}  // namespace

StudyResult run_study(const StudyOptions& options) {
  if (options.program.empty()) {
    throw Error(ErrorCode::invalid_argument, "study: no program to run the steps with; set StudyOptions::program to "
                                             "the neuroscaler executable");
  }
  for (const char* sub : {"logs", "frames", "models", "plans"}) {
    std::error_code ec;
    fs::create_directories(options.out_dir / sub, ec);
    if (ec) {
      throw Error(ErrorCode::io, "cannot create the output folder (" + ec.message() + "); choose another --out",
                  {.file = (options.out_dir / sub).string()});
    }
  }
  return Study(options).run();
}

}  // namespace ns::eval
