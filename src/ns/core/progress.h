// ns/core: progress of long jobs ("encode vp9: 120/900 frames, 45.1 fps, ETA 17 s") on stderr.
// In: a label, the total work units (or 0 if unknown) and updates of the units done.
// Out: a single rewritten line, at most 4 times a second, only when stderr is a terminal or NS_PROGRESS=1 (else
// silent).
// Thread-safety: one Progress per job; update() from one thread at a time.
// Errors: none.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ns::core {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "frames");
  ~Progress();  // finishes the line if it was shown
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(int64_t done);
  void finish();  // prints the final line (when shown) and stops updating
  double elapsed_seconds() const;

  static bool terminal();  // NS_PROGRESS=1, or stderr is a terminal and NS_PROGRESS is not "0"

 private:
  void draw(bool final_line);
  std::string label_;
  std::string unit_;
  int64_t total_;
  int64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace ns::core
