// Running this program's own subcommands as child processes, for the commands that chain others (demo, eval):
// each step gets a fresh process (memory returned when it ends, a crash stays in its step) and a log file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ns::app {

// The running program (/proc/self/exe).
std::filesystem::path self_executable();
// The trainer program (neuroscaler-train, built next to this one); it may be missing.
std::filesystem::path trainer_program();

struct ChildStep {
  std::vector<std::string> args;      // arguments after the program name
  std::filesystem::path stdout_file;  // empty: the child's stdout is discarded
  std::filesystem::path log_file;     // the child's stderr, whole (created; required)
  bool relay = false;                 // also copy the child's stderr (progress lines included) to ours
};

// Runs `self_executable() args...` and waits. Throws ns::Error when it cannot start, is killed by a signal or exits
// with a non-zero status; the message names the step, the exit status and the log file's last line.
void run_child(const ChildStep& step);

}  // namespace ns::app
