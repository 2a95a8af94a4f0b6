// neuroscaler soak: the engine's soak under faults (ns/eval/soak.h): serve with its admin API on loopback, streams
// good and bad added and removed, hostile requests; then the checks. Report: Markdown on stdout and in OUT/report.md;
// exit status 1 when a check failed.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "ns/core/atomic_file.h"
#include "ns/core/child_process.h"
#include "ns/core/error.h"
#include "ns/eval/soak.h"

namespace ns::app {

void register_soak(CLI::App& app) {
  auto o = std::make_shared<eval::SoakOptions>();
  o->out_dir = "out/soak";
  CLI::App* cmd = app.add_subcommand(
      "soak",
      "The live engine under faults for a bounded time (loopback only): starts `neuroscaler serve` with its admin\n"
      "API, adds streams through it (good ones, and corrupt, truncated, stalling and resolution-switching ones),\n"
      "removes some, sends malformed, huge, unknown and bursts of concurrent requests, samples serve's memory;\n"
      "then stops it with SIGTERM and checks: no crash, a clean exit, every good output complete and playable,\n"
      "every bad stream ended on its own, memory flat after warm-up. Report on stdout and in OUT/report.md.");
  cmd->add_option("--seconds", o->seconds, "how long streams come and go")
      ->check(CLI::Range(5.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--out", o->out_dir, "fixtures, outputs, serve's log and the report")->capture_default_str();
  cmd->add_option("--add-every", o->add_every_s, "seconds between new streams")
      ->check(CLI::Range(0.1, 60.0))
      ->capture_default_str();
  cmd->add_option("--burst", o->burst_requests, "concurrent requests per burst")
      ->check(CLI::Range(1, 512))
      ->capture_default_str();
  cmd->callback([o] {
    eval::SoakOptions options = *o;
    options.program = core::self_executable();
    options.progress = [](const std::string& line) { std::fprintf(stderr, "soak: %s\n", line.c_str()); };
    const eval::SoakReport report = eval::run_soak(options);
    const std::string md = eval::soak_markdown(report);
    core::write_text_atomically((options.out_dir / "report.md").string(), md, "soak");
    std::printf("%s", md.c_str());
    if (!report.passed()) throw Error(ErrorCode::internal, "soak: a check failed (see the report's problems)");
  });
}

}  // namespace ns::app
