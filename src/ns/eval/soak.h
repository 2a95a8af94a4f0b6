// ns/eval: the engine's soak under faults (issue 18; `neuroscaler soak`): a real `neuroscaler serve` process with its
// admin API on loopback, fed for a bounded time with streams added and removed through the API, some of them bad
// (corrupt, truncated, a live source that stalls, a resolution switch mid-way), while hostile requests (malformed,
// huge, unknown, concurrent bursts) hit the API; its resident memory is sampled every second. Afterwards it checks that
// serve survived and stopped cleanly, that every good stream's output is complete and playable, that every bad one
// ended without harming the others (failed with an error, or cut short with a playable output), and that memory was
// flat after warm-up.
// In: SoakOptions. Out: SoakReport (and its Markdown). Thread-safety: run_soak may run once per out_dir at a time.
// Errors: ns::Error when the fixtures cannot be made or serve cannot start; what serve does wrong is in the report.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ns::eval {

struct SoakOptions {
  std::filesystem::path program;  // the neuroscaler program (runs `serve`)
  std::filesystem::path out_dir;  // fixtures, outputs, serve's log and stats
  double seconds = 180;           // of streams coming and going; then serve is stopped (SIGTERM) and checked
  double add_every_s = 1.5;       // a new stream this often (kinds in turn: see soak.cpp)
  int burst_requests = 100;       // concurrent GET /stats of one burst (beyond the admin API's 50 per second)
  std::function<void(const std::string&)> progress;  // a line every few seconds (may be empty)
};

struct SoakStream {
  std::string name;
  std::string kind;             // good, corrupt, truncated, stalled, resolution_switch
  bool removed = false;         // removed through the API before its input ended
  std::string state;            // serve's final state: finished, failed, removed
  std::string error;
  int64_t frames = 0;           // LR frames serve decoded
  int64_t output_frames = -1;   // frames the output decodes to (-1: it does not open)
  bool ok = false;              // met the expectation of its kind
};

struct SoakReport {
  double seconds = 0;
  int serve_exit = -1;             // serve's exit status after SIGTERM (0: drained and finalised every output)
  int64_t requests = 0;            // admin requests sent, by answer status (0: no answer)
  std::map<int, int64_t> by_status;
  std::map<std::string, int64_t> faults;  // bad streams and hostile requests, by kind
  std::vector<SoakStream> streams;
  int64_t rss_warm_kib = 0;        // serve's RSS at the end of warm-up (the first third)
  int64_t rss_max_kib = 0;         // the largest sample after warm-up
  int64_t rss_end_kib = 0;         // the last sample before the stop
  double rss_trend_mib_per_min = 0;  // least-squares slope of the samples after warm-up
  bool memory_judged = false;      // runs of a minute or more: flat within a quarter and 32 MiB after warm-up
  std::vector<std::string> problems;  // empty: passed
  bool passed() const { return problems.empty(); }
};

SoakReport run_soak(const SoakOptions& options);
std::string soak_markdown(const SoakReport& report);

}  // namespace ns::eval
