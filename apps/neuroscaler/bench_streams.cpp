// neuroscaler bench-streams: the live engine's throughput (reference §8.10): the sample's VP9 test segment replayed in
// real time as 1, 2, 3, ... concurrent streams of one method, each run judged by the real-time criteria, the largest
// N that holds them reported; also the SR capacity in stream-equivalents, defined when even one stream is too many.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/core/machine_info.h"
#include "ns/core/error.h"
#include "ns/engine/engine.h"
#include "ns/media/reader.h"

namespace ns::app {

namespace {

// The criteria's tolerances (docs/engine.md): decode at 98 % of the frame rate, 99 % of the SR frames on time, HR
// encoding (baselines) at 98 % of the frame rate, anchor coding (NeuroScaler) busy less than all of the time.
constexpr double kRateShare = 0.98;
constexpr double kOnTimeShare = 0.99;

struct BenchOptions {
  std::string method = "neuroscaler";
  int max_streams = 8;
  int hr = 1080;
  double seconds = 5;
  double fraction = 0;  // 0: 0.075 (NeuroScaler methods), 0.2 (selective)
  std::string model;    // empty: the shipped generic model for the method
  std::string sample;   // empty: out/sample (1080) or out/sample-2160
  std::string in;       // a VP9 file instead of the sample's test segment
  std::string backend = "auto";
  int sr_threads = 0;
  int sr_batch = 0;
  engine::NatsConfig nats;  // url set: SR on `neuroscaler sr-worker` processes started beside the bench
  std::string json;
};

struct Run {
  int streams = 0;
  double wall_s = 0;    // engine start (preparing the models included) to every output finalised
  double replay_s = 0;  // the source's time replayed: frames / frame rate
  double stream_s = 0;  // the wall time the slowest stream took for its frames (longer than replay_s when it lagged)
  engine::EngineStats stats;
  // The criteria, each over every stream (the worst stream decides).
  double decode_fps_min = 0, input_fps = 0;
  double on_time_min = 1;  // share of SR frames delivered by their deadline
  int64_t selected = 0, on_time = 0, sr_done = 0;
  double sr_p50 = 0, sr_p95 = 0;
  double anchor_p50 = 0, anchor_p95 = 0;  // selection to written into the output, worst stream
  // The encoders' load, above 1 when they cannot keep up: baselines: frame rate / HR frames encoded per second of the
  // slowest stream; NeuroScaler: the anchor coders' busy share.
  double encode_load = 0;
  bool decode_ok = false, on_time_ok = false, encode_ok = false, failed = false;
  bool realtime() const { return decode_ok && on_time_ok && encode_ok && !failed; }
};

std::string default_model(const std::string& method) {
  return method == "perframe" ? "models/edsr_b8_f16_s3_generic.safetensors"
                              : "models/edsr_b8_f32_s3_generic.safetensors";
}

std::string input_file(const BenchOptions& o) {
  if (!o.in.empty()) {
    if (!std::filesystem::exists(o.in)) throw Error(ErrorCode::not_found, "bench-streams: no such input", {.file = o.in});
    return o.in;
  }
  const std::string dir = !o.sample.empty() ? o.sample : o.hr == 2160 ? "out/sample-2160" : "out/sample";
  const std::string path = (std::filesystem::path(dir) / "lr_vp9_test.webm").string();
  if (!std::filesystem::exists(path)) {
    throw Error(ErrorCode::not_found,
                "bench-streams: the sample's VP9 test segment is missing; make it with `neuroscaler sample --out " + dir +
                    (o.hr == 2160 ? " --hr 2160" : "") + "` or pass --sample DIR or --in FILE",
                {.file = path});
  }
  return path;
}

// A temporary folder for the outputs, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "neuroscaler-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      throw Error(ErrorCode::io, "bench-streams: cannot create a temporary folder; check TMPDIR and free space");
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// N streams of the input through one engine, `seconds` of it each (or all of a shorter input), then a drain. Each
// stream starts reading once its upscaler is prepared, so the replay time is all real time.
Run run_streams(const BenchOptions& o, const std::string& input, const std::string& model, int n, double input_fps) {
  ScratchDir scratch;
  engine::EngineConfig config;
  config.method = o.method;
  if (o.method != "selective" && o.fraction > 0) config.fraction = o.fraction;
  config.backend = o.backend;
  config.sr_threads = o.sr_threads;
  config.sr_batch = o.sr_batch;
  config.nats = o.nats;
  const bool baseline = engine::is_baseline_method(o.method);
  for (int i = 0; i < n; ++i) {
    const std::string name = "s" + std::to_string(i);
    config.streams.push_back(engine::StreamConfig{.name = name,
                                                  .input = input,
                                                  .model = model,
                                                  .output = scratch.file(name + (baseline ? ".webm" : ".mkv")),
                                                  .method = o.method,
                                                  .fraction = o.method == "selective" ? o.fraction : 0.0,
                                                  .frames = static_cast<int64_t>(o.seconds * input_fps + 0.5)});
  }
  Run run;
  run.streams = n;
  const auto start = std::chrono::steady_clock::now();
  engine::Engine engine(config);
  engine.wait();
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.stats = engine.stats();

  run.decode_fps_min = 1e9;
  bool hr_encoding_keeps_up = true;
  for (const engine::StreamStats& s : run.stats.streams) {
    run.replay_s = std::max(run.replay_s, static_cast<double>(s.frames) / input_fps);
    if (s.decode_fps > 0) run.stream_s = std::max(run.stream_s, static_cast<double>(s.frames) / s.decode_fps);
  }
  for (const engine::StreamStats& s : run.stats.streams) {
    run.failed = run.failed || s.state == engine::StreamState::failed;
    run.input_fps = std::max(run.input_fps, s.input_fps);
    run.decode_fps_min = std::min(run.decode_fps_min, s.decode_fps);
    const int64_t on_time = s.anchors_written - s.anchors_late;
    run.selected += s.anchors_selected;
    run.on_time += on_time;
    run.sr_done += s.sr_ms.count;
    if (s.anchors_selected > 0) {
      run.on_time_min =
          std::min(run.on_time_min, static_cast<double>(on_time) / static_cast<double>(s.anchors_selected));
    }
    run.sr_p50 = std::max(run.sr_p50, s.sr_ms.p50);
    run.sr_p95 = std::max(run.sr_p95, s.sr_ms.p95);
    run.anchor_p50 = std::max(run.anchor_p50, s.anchor_ms.p50);
    run.anchor_p95 = std::max(run.anchor_p95, s.anchor_ms.p95);
    // NeuroScaler: coding time x anchors coded / replayed time, all streams on encode_workers coders.
    if (baseline) {
      hr_encoding_keeps_up = hr_encoding_keeps_up && s.output_fps >= kRateShare * s.input_fps;
      if (s.output_fps > 0) run.encode_load = std::max(run.encode_load, s.input_fps / s.output_fps);
    } else if (run.replay_s > 0) {
      run.encode_load += s.encode_ms.p50 * static_cast<double>(s.anchors_written) / 1000.0 / run.replay_s /
                         config.encode_workers;
    }
  }
  if (run.stats.streams.empty()) run.decode_fps_min = 0;
  run.decode_ok = run.decode_fps_min >= kRateShare * run.input_fps;
  run.on_time_ok = run.on_time_min >= kOnTimeShare;
  run.encode_ok = baseline ? hr_encoding_keeps_up : run.encode_load < 1.0;
  return run;
}

nlohmann::ordered_json run_json(const Run& r) {
  nlohmann::ordered_json j;
  j["streams"] = r.streams;
  j["realtime"] = r.realtime();
  j["wall_s"] = r.wall_s;
  j["replay_s"] = r.replay_s;
  j["stream_s"] = r.stream_s;
  j["criteria"] = {{"decode", r.decode_ok}, {"on_time", r.on_time_ok}, {"encode", r.encode_ok}, {"failed", r.failed}};
  j["decode_fps_min"] = r.decode_fps_min;
  j["input_fps"] = r.input_fps;
  j["on_time_percent_min"] = 100.0 * r.on_time_min;
  j["sr_frames_selected"] = r.selected;
  j["sr_frames_on_time"] = r.on_time;
  j["sr_frames_done"] = r.sr_done;
  j["sr_ms_p50"] = r.sr_p50;
  j["sr_ms_p95"] = r.sr_p95;
  j["anchor_ms_p50"] = r.anchor_p50;
  j["anchor_ms_p95"] = r.anchor_p95;
  j["encode_load"] = r.encode_load;
  j["engine_stats"] = nlohmann::ordered_json::parse(engine::stats_json(r.stats));
  return j;
}

void run_bench(const BenchOptions& options) {
  BenchOptions o = options;
  if (o.fraction <= 0) o.fraction = o.method == "selective" ? engine::kSelectiveFraction : 0.075;
  const std::string input = input_file(o);
  const std::string model = o.model.empty() ? default_model(o.method) : o.model;
  if (!std::filesystem::exists(model)) {
    throw Error(ErrorCode::not_found, "bench-streams: no model; run from the repository root or pass --model FILE",
                {.file = model});
  }
  const media::StreamInfo info = media::Demuxer(input).info();
  const double input_fps = info.frame_rate.num > 0 ? info.frame_rate.value() : 60.0;
  const std::string load_before = core::load_average();
  std::vector<Run> runs;
  int largest = 0;
  for (int n = 1; n <= o.max_streams; ++n) {
    std::fprintf(stderr, "bench-streams: %s, %d stream(s) for %g s ...\n", o.method.c_str(), n, o.seconds);
    runs.push_back(run_streams(o, input, model, n, input_fps));
    const Run& r = runs.back();
    std::fprintf(stderr,
                 "bench-streams: %s N=%d: %s; on time %.1f %% (worst stream), SR p50 %.0f ms p95 %.0f ms, anchor "
                 "p50 %.0f ms p95 %.0f ms, decode %.1f fps (slowest) of %.0f, encode load %.2f\n",
                 o.method.c_str(), n, r.realtime() ? "real time" : "NOT real time", 100.0 * r.on_time_min, r.sr_p50,
                 r.sr_p95, r.anchor_p50, r.anchor_p95, r.decode_fps_min, r.input_fps, r.encode_load);
    if (!r.realtime()) break;
    largest = n;
  }
  // SR capacity in stream-equivalents, from the N = 1 run: SR work done per second of wall time (frames super-resolved
  // over the time the stream took) over the SR work one stream demands per second (frames selected for SR over the
  // time they span in the source); at most about 1 when SR keeps up, so a lower bound then. And from SR time alone:
  // frames one worker could super-resolve back to back in the replayed time (replay / SR p50) over those demanded.
  const Run& first = runs.front();
  const double demanded = static_cast<double>(std::max<int64_t>(first.selected, 1));
  const double equivalents =
      first.stream_s > 0 ? (static_cast<double>(first.sr_done) / first.stream_s) / (demanded / first.replay_s) : 0.0;
  const double equivalents_from_sr_time = first.sr_p50 > 0 ? first.replay_s * 1000.0 / first.sr_p50 / demanded : 0.0;

  std::printf("bench-streams: %s, %s, %s, %.3g %% SR frames, %g s per run; load average %s before, %s after\n",
              o.method.c_str(), input.c_str(), model.c_str(), 100.0 * (o.method == "perframe" ? 1.0 : o.fraction),
              o.seconds, load_before.c_str(), core::load_average().c_str());
  std::printf("%3s  %-8s  %9s  %9s  %9s  %13s  %13s  %10s  %11s\n", "N", "realtime", "on-time %", "SR p50 ms",
              "SR p95 ms", "anchor p50 ms", "anchor p95 ms", "decode fps", "encode load");
  for (const Run& r : runs) {
    std::printf("%3d  %-8s  %9.1f  %9.0f  %9.0f  %13.0f  %13.0f  %10.1f  %11.2f\n", r.streams,
                r.realtime() ? "yes" : "no", 100.0 * r.on_time_min, r.sr_p50, r.sr_p95, r.anchor_p50, r.anchor_p95,
                r.decode_fps_min, r.encode_load);
  }
  std::printf("largest N in real time: %d\n", largest);
  std::printf("SR capacity (N=1), stream-equivalents: %.3f measured (SR'd per s / demanded per s), %.3f from SR time "
              "(replay / SR p50 / demanded)\n",
              equivalents, equivalents_from_sr_time);
  if (o.json.empty()) return;
  nlohmann::ordered_json j;
  j["format"] = "neuroscaler-bench-streams";
  j["version"] = 1;
  j["machine"] = {{"cpu", core::cpu_model()},
                  {"cores", std::thread::hardware_concurrency()},
                  {"memory_gib", core::memory_gib()},
                  {"load_average_before", load_before},
                  {"load_average_after", core::load_average()},
                  {"date", core::utc_now()}};
  std::string command = "neuroscaler bench-streams --method " + o.method + " --max " + std::to_string(o.max_streams) +
                        " --seconds " + std::to_string(o.seconds) + " --fraction " + std::to_string(o.fraction) +
                        " --model " + model + " --in " + input + " --backend " + o.backend +
                        (o.nats.enabled() ? " --nats " + o.nats.url : "");
  j["command"] = command;
  j["method"] = o.method;
  j["input"] = input;
  j["model"] = model;
  j["fraction"] = o.method == "perframe" ? 1.0 : o.fraction;
  j["seconds"] = o.seconds;
  j["criteria"] = {{"decode_fps_share", kRateShare},
                   {"on_time_share", kOnTimeShare},
                   {"encode", engine::is_baseline_method(o.method) ? "HR frames encoded per s >= 0.98 x frame rate"
                                                                   : "anchor coding busy share < 1 per encoder"}};
  j["runs"] = nlohmann::ordered_json::array();
  for (const Run& r : runs) j["runs"].push_back(run_json(r));
  j["largest_realtime_streams"] = largest;
  j["sr_stream_equivalents"] = {{"measured", equivalents},
                                {"from_sr_time", equivalents_from_sr_time},
                                {"sr_frames_done", first.sr_done},
                                {"sr_frames_demanded", first.selected},
                                {"replay_s", first.replay_s}};
  std::ofstream file(o.json);
  file << j.dump(2) << "\n";
  if (!file) throw Error(ErrorCode::io, "bench-streams: cannot write " + o.json + "; check the folder and free space");
}

}  // namespace

void register_bench_streams(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench-streams",
      "The live engine's throughput (reference §8.10): the sample's VP9 test segment replayed in real time as\n"
      "1, 2, 3, ... concurrent streams of one method, each run judged by the real-time criteria (docs/engine.md);\n"
      "prints the largest N in real time and the SR capacity in stream-equivalents. Progress on stderr.");
  cmd->add_option("--method", o->method, "neuroscaler-q | neuroscaler | uniform | keyframe | perframe | selective")
      ->check(CLI::IsMember({"neuroscaler-q", "neuroscaler", "uniform", "keyframe", "perframe", "selective"}))
      ->capture_default_str();
  cmd->add_option("--max", o->max_streams, "most concurrent streams to try")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--hr", o->hr, "sample: 1080 (out/sample, 360p LR) or 2160 (out/sample-2160, 720p LR)")
      ->check(CLI::IsMember({1080, 2160}))
      ->capture_default_str();
  cmd->add_option("--seconds", o->seconds, "replay per run")->check(CLI::Range(0.5, 3600.0))->capture_default_str();
  cmd->add_option("--fraction", o->fraction, "SR frames per frame (default 0.075; selective 0.2)")
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--model", o->model,
                  "SR model (default models/edsr_b8_f32_s3_generic.safetensors; perframe: the f16 one)");
  cmd->add_option("--sample", o->sample, "sample folder (neuroscaler sample --out DIR)");
  cmd->add_option("--in", o->in, "replay this VP9 file instead of the sample's test segment");
  add_backend_option(cmd, o->backend);
  cmd->add_option("--sr-threads", o->sr_threads, "SR inference threads (default: the backend's choice)");
  cmd->add_option("--sr-batch", o->sr_batch,
                  "anchors of any streams per SR call at most (default: the backend's, 8 on a GPU, 1 on CPU)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--nats", o->nats.url,
                  "super-resolve on `neuroscaler sr-worker` processes through this NATS server (docs/scale-out.md); "
                  "start the workers first; --backend, --sr-threads and --sr-batch are then theirs");
  add_nats_options(cmd, o->nats);
  cmd->add_option("--json", o->json, "write the machine, command, per-N results and the verdict as JSON");
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace ns::app
