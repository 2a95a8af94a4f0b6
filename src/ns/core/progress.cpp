#include "ns/core/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ns::core {

bool Progress::terminal() {
  const char* forced = std::getenv("NS_PROGRESS");
  if (forced && !std::strcmp(forced, "0")) return false;
  if (forced && !std::strcmp(forced, "1")) return true;  // a parent process relays our stderr to its terminal
  return isatty(STDERR_FILENO) != 0;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(terminal()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void Progress::draw(bool final_line) {
  const double seconds = elapsed_seconds();
  const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
  char eta[32] = "";
  if (!final_line && total_ > 0 && rate > 0 && done_ < total_) {
    std::snprintf(eta, sizeof eta, ", ETA %.0f s", static_cast<double>(total_ - done_) / rate);
  }
  char totals[32] = "";
  if (total_ > 0) std::snprintf(totals, sizeof totals, "/%lld", static_cast<long long>(total_));
  std::fprintf(stderr, "\r\033[K%s: %lld%s %s, %.1f %s/s%s%s", label_.c_str(), static_cast<long long>(done_), totals,
               unit_.c_str(), rate, unit_.c_str(), final_line ? ", done" : "", eta);
  if (final_line) std::fprintf(stderr, " in %.1f s\n", seconds);
  std::fflush(stderr);
}

}  // namespace ns::core
