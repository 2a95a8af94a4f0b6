// ns/core: running a program (usually neuroscaler's own subcommands) as a child process, for jobs that chain others
// (the study behind demo and eval): each step gets a fresh process (memory returned when it ends, a crash stays in
// its step) and a log file.
// Errors: ns::Error naming the command, its exit status and the log's last line. Thread-safety: run_child may be
// called from several threads at once (each with its own log).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ns::core {

// The running program's file (/proc/self/exe resolved).
std::filesystem::path self_executable();

struct ChildStep {
  std::filesystem::path program;      // e.g. "/proc/self/exe": this program, even if its file is rebuilt meanwhile
  std::vector<std::string> args;      // arguments after the program name
  std::filesystem::path stdout_file;  // empty: the child's stdout is discarded
  std::filesystem::path log_file;     // the child's stderr, whole (created; required)
  bool relay = false;                 // also copy the child's stderr (progress lines included) to ours
};

// Runs `program args...` and waits. Throws ns::Error when it cannot start, is killed by a signal or exits
// with a non-zero status; the message names the step, the exit status and the log file's last line.
void run_child(const ChildStep& step);

}  // namespace ns::core
