// The soak: serve as a separate process, streams and hostile requests through its admin API, then the checks.
#include "ns/eval/soak.h"

#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/core/child_process.h"
#include "ns/core/error.h"
#include "ns/core/loopback.h"
#include "ns/eval/soak_impl.h"
#include "ns/hybrid/hybrid.h"

namespace ns::eval {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Stream kinds in turn: mostly good ones, each bad kind now and then.
constexpr double kMemoryJudgedFromSeconds = 60;

constexpr const char* kKinds[] = {"good", "corrupt", "good", "truncated", "good", "stalled", "good", "resolution_switch"};

// Admin requests, counted by answer status (0: none, e.g. refused connection).
class Requests {
 public:
  explicit Requests(int port) : port_(port) {}
  int send(const std::string& method, const std::string& path, const std::string& body = "") {
    httplib::Client client("127.0.0.1", port_);
    client.set_connection_timeout(5);
    client.set_read_timeout(10);
    httplib::Result result = method == "GET"      ? client.Get(path)
                             : method == "DELETE" ? client.Delete(path)
                                                  : client.Post(path, body, "application/json");
    const int status = result ? result->status : 0;
    std::lock_guard lock(mutex_);
    ++count_;
    ++by_status_[status];
    if (result && method == "GET" && path == "/stats" && status == 200) last_stats_ = result->body;
    return status;
  }
  json last_stats() {
    std::lock_guard lock(mutex_);
    return json::parse(last_stats_.empty() ? "{}" : last_stats_, nullptr, false);
  }
  void add_to(SoakReport& report) {
    std::lock_guard lock(mutex_);
    report.requests = count_;
    report.by_status = by_status_;
  }

 private:
  const int port_;
  std::mutex mutex_;
  int64_t count_ = 0;
  std::map<int, int64_t> by_status_;
  std::string last_stats_;
};

json stream_json(const std::string& name, const std::string& input, const std::string& model, const std::string& out) {
  return {{"name", name}, {"input", input}, {"model", model}, {"output", out}};
}

// Frames a hybrid output decodes to; -1 when it does not open.
int64_t decoded_frames(const std::string& path) {
  try {
    return hybrid::count_hybrid(path).frames;
  } catch (const std::exception&) {
    return -1;
  }
}

// The state, error and frames of every stream `stats` (serve's stats JSON) lists.
void record_states(const json& stats, std::vector<SoakStream>& streams) {
  if (!stats.is_object() || !stats.contains("streams") || !stats["streams"].is_array()) return;
  for (const json& j : stats["streams"]) {
    const std::string name = j.value("name", "");
    for (SoakStream& s : streams) {
      if (s.name != name) continue;
      s.state = j.value("state", "");
      s.error = j.value("error", "");
      s.frames = j.value("frames", int64_t{0});
    }
  }
}

// Slope of the least-squares line through the points (0 with fewer than two distinct x).
double least_squares_slope(const std::vector<std::pair<double, double>>& points) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = static_cast<double>(points.size());
  const double spread = n * sxx - sx * sx;
  return spread > 1e-12 ? (n * sxy - sx * sy) / spread : 0;
}

// What each kind must come to. Good: all of its frames, finished, a complete output (or, removed early, a playable
// one). Resolution switch: failed at the switch, every frame before it in a playable output. Other bad ones: ended on
// their own (failed with an error, or finished short with a playable output); never hanging.
bool meets_expectation(const SoakStream& s, const detail::SoakFixtures& fixtures) {
  if (s.removed) return s.state == "removed" && s.output_frames >= 0;
  if (s.kind == "good") {
    return s.state == "finished" && s.frames == fixtures.good_frames && s.output_frames == fixtures.good_frames;
  }
  if (s.kind == "resolution_switch") {
    return s.state == "failed" && s.frames == fixtures.frames_before_switch &&
           s.output_frames == fixtures.frames_before_switch;
  }
  if (s.state == "failed") return !s.error.empty();
  return s.state == "finished" && s.output_frames >= 0;
}

}  // namespace

SoakReport run_soak(const SoakOptions& o) {
  auto say = [&](const std::string& line) {
    if (o.progress) o.progress(line);
  };
  // Absolute: serve takes the relative paths of added streams from its config's folder, which is inside out.
  const std::filesystem::path out = std::filesystem::absolute(o.out_dir);
  std::filesystem::create_directories(out / "outputs");
  say("making fixtures in " + (out / "fixtures").string());
  const detail::SoakFixtures fixtures = detail::make_soak_fixtures(out / "fixtures");
  detail::StallingSource stalling(fixtures.stall_prefix);

  const json config = {{"method", "neuroscaler-q"}, {"fraction", 0.1},  {"backend", "auto"},
                       {"sr_threads", 1},            {"stall_timeout_s", 2}, {"streams", json::array()}};
  std::ofstream((out / "serve.json").string()) << config.dump(2) << "\n";
  const int port = core::free_loopback_port();
  core::RunningChild serve(o.program,
                           {"serve", "--config", (out / "serve.json").string(), "--admin",
                            "127.0.0.1:" + std::to_string(port), "--stats-every", "5"},
                           out / "serve-stats.json", out / "serve.log");
  Requests requests(port);
  const auto started = Clock::now();
  httplib::Client probe("127.0.0.1", port);
  while (!probe.Get("/stats")) {
    if (!serve.running() || Clock::now() - started > std::chrono::seconds(20)) {
      throw Error(ErrorCode::internal, "soak: serve did not answer on its admin port; see " + (out / "serve.log").string());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  SoakReport report;
  std::vector<SoakStream> streams;
  std::vector<std::pair<int64_t, Clock::time_point>> rss;  // samples (KiB, when)
  const auto end = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  auto next_add = started;
  auto next_tick = started;
  int added = 0, ticks = 0;
  while (Clock::now() < end && serve.running()) {
    const auto now = Clock::now();
    if (now >= next_add) {  // a new stream, the kinds in turn
      const std::string kind = kKinds[added % std::size(kKinds)];
      const std::string name = fmt::format("s{:03d}-{}", added++, kind);
      const std::string input = kind == "good"        ? fixtures.good
                                : kind == "corrupt"   ? fixtures.corrupt
                                : kind == "truncated" ? fixtures.truncated
                                : kind == "stalled"   ? stalling.url()
                                                      : fixtures.resolution_switch;
      const std::string output = (out / "outputs" / (name + ".mkv")).string();
      if (requests.send("POST", "/streams", stream_json(name, input, fixtures.model, output).dump()) == 201) {
        streams.push_back({.name = name, .kind = kind});
        if (kind != "good") ++report.faults["stream: " + kind];
      }
      next_add += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.add_every_s));
    }
    if (now >= next_tick) {  // every second: memory, the streams' states, hostile requests, now and then a removal
      rss.emplace_back(serve.rss_kib(), now);
      requests.send("GET", "/stats");
      record_states(requests.last_stats(), streams);
      requests.send("POST", "/streams", "{\"name\": \"broken\", \"input\": ");  // malformed JSON
      requests.send("POST", "/streams", std::string(1 << 20, 'x'));           // 1 MiB body
      requests.send("POST", "/streams", "{\"name\": \"no-input\"}");           // missing keys
      requests.send("GET", "/no/such/route");
      requests.send("DELETE", "/streams/never-added");
      report.faults["request: malformed, huge, incomplete, unknown route, unknown stream"] += 5;
      if (ticks % 3 == 0) {  // a burst of concurrent requests: the rate limit answers some with 429
        std::vector<std::thread> burst;
        for (int i = 0; i < o.burst_requests; ++i) burst.emplace_back([&] { requests.send("GET", "/stats"); });
        for (auto& t : burst) t.join();
        ++report.faults["request: burst of " + std::to_string(o.burst_requests) + " concurrent"];
      }
      if (ticks % 7 == 6) {  // remove the newest good stream that is still running
        const json stats = requests.last_stats();
        for (auto it = streams.rbegin(); it != streams.rend(); ++it) {
          if (it->kind != "good" || it->removed || !stats.contains("streams")) continue;
          const auto running = std::find_if(stats["streams"].begin(), stats["streams"].end(), [&](const json& s) {
            return s.value("name", "") == it->name && s.value("state", "") == "running";
          });
          if (running == stats["streams"].end()) continue;
          if (requests.send("DELETE", "/streams/" + it->name) == 204) it->removed = true;
          break;
        }
      }
      if (ticks % 10 == 0) {
        say(fmt::format("{:.0f} s: {} streams added, {} requests, serve RSS {} MiB",
                        std::chrono::duration<double>(now - started).count(), added, report.requests,
                        rss.back().first / 1024));
      }
      requests.add_to(report);
      ++ticks;
      next_tick += std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Let the last streams end (inputs are 3 s; a stall fails after 2 s), then stop serve the way operators do.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  if (serve.running()) rss.emplace_back(serve.rss_kib(), Clock::now());
  requests.send("GET", "/stats");
  requests.add_to(report);
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const bool alive = serve.running();
  report.serve_exit = serve.stop(SIGTERM);
  if (!alive) report.problems.push_back("serve ended on its own (crash?) before the stop; see serve.log");
  if (report.serve_exit != 0) {
    report.problems.push_back("serve exited with status " + std::to_string(report.serve_exit) + " after SIGTERM");
  }

  // Memory: flat after warm-up (the first third) within a quarter and 32 MiB; judged on runs of a minute or more
  // (shorter ones are all warm-up: allocator arenas, and a sanitizer's quarantine of freed memory, still filling).
  const auto warm_end = started + (end - started) / 3;
  std::vector<std::pair<double, double>> after_warm_up;  // (minutes, MiB)
  for (const auto& [kib, when] : rss) {
    if (when <= warm_end) {
      report.rss_warm_kib = kib;
    } else {
      report.rss_max_kib = std::max(report.rss_max_kib, kib);
      report.rss_end_kib = kib;
      after_warm_up.emplace_back(std::chrono::duration<double>(when - started).count() / 60, kib / 1024.0);
    }
  }
  report.rss_trend_mib_per_min = least_squares_slope(after_warm_up);
  report.memory_judged = o.seconds >= kMemoryJudgedFromSeconds;
  if (report.memory_judged && report.rss_warm_kib > 0 &&
      report.rss_max_kib > report.rss_warm_kib * 5 / 4 + 32 * 1024) {
    report.problems.push_back(fmt::format("serve's memory grew after warm-up: {} -> {} MiB (max)",
                                          report.rss_warm_kib / 1024, report.rss_max_kib / 1024));
  }

  // Every stream's end: from serve's final stats (its stdout), or for the streams it no longer lists (it keeps the
  // latest 64 ended ones) the last stats that did; and its output file.
  std::ifstream stats_file((out / "serve-stats.json").string());
  record_states(json::parse(stats_file, nullptr, false), streams);
  for (SoakStream& s : streams) {
    s.output_frames = decoded_frames((out / "outputs" / (s.name + ".mkv")).string());
    s.ok = meets_expectation(s, fixtures);
    if (!s.ok) {
      report.problems.push_back(fmt::format("{}: state {}, {} frames, output {} frames{}", s.name, s.state, s.frames,
                                            s.output_frames, s.error.empty() ? "" : ", error: " + s.error));
    }
  }
  report.streams = std::move(streams);
  return report;
}

std::string soak_markdown(const SoakReport& r) {
  std::string md = fmt::format("# Soak: {}\n\n", r.passed() ? "passed" : "FAILED");
  md += fmt::format("{:.0f} s; serve exit status after SIGTERM: {}; {} admin requests\n\n", r.seconds, r.serve_exit,
                    r.requests);
  md += "| answer | requests |\n|---|---|\n";
  for (const auto& [status, n] : r.by_status) md += fmt::format("| {} | {} |\n", status == 0 ? "none" : std::to_string(status), n);
  md += "\n| fault injected | count |\n|---|---|\n";
  for (const auto& [kind, n] : r.faults) md += fmt::format("| {} | {} |\n", kind, n);
  std::map<std::string, std::map<std::string, int>> ends;  // kind -> end -> streams
  for (const SoakStream& s : r.streams) ++ends[s.kind][s.removed ? "removed early" : s.state];
  md += "\n| stream kind | streams | how they ended | as expected |\n|---|---|---|---|\n";
  for (const auto& [kind, by_end] : ends) {
    int total = 0, ok = 0;
    std::string how;
    for (const auto& [end, n] : by_end) {
      total += n;
      how += (how.empty() ? "" : ", ") + fmt::format("{} {}", n, end);
    }
    for (const SoakStream& s : r.streams) ok += s.kind == kind && s.ok ? 1 : 0;
    md += fmt::format("| {} | {} | {} | {} |\n", kind, total, how, ok);
  }
  md += fmt::format("\nserve RSS: {} MiB after warm-up, {} MiB at most after it, {} MiB at the end; trend after "
                    "warm-up {:+.1f} MiB/min (least squares){}\n",
                    r.rss_warm_kib / 1024, r.rss_max_kib / 1024, r.rss_end_kib / 1024, r.rss_trend_mib_per_min,
                    r.memory_judged ? "" : " (not judged: a run under a minute is all warm-up)");
  std::map<std::string, std::string> errors;  // one example error per bad kind
  for (const SoakStream& s : r.streams) {
    if (!s.error.empty() && !errors.count(s.kind)) errors[s.kind] = s.error;
  }
  if (!errors.empty()) md += "\nErrors the bad streams reported (one per kind):\n\n";
  for (const auto& [kind, error] : errors) md += fmt::format("- {}: {}\n", kind, error);
  if (!r.problems.empty()) md += "\nProblems:\n\n";
  for (const std::string& p : r.problems) md += "- " + p + "\n";
  return md;
}

}  // namespace ns::eval
