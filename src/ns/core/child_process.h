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

// A program running beside this one (a server under test, a worker): started at once with its stdout to
// `stdout_file` and stderr to `log_file` (empty: /dev/null); a program without '/' is looked up in PATH.
// Thread-safety: one thread at a time. Errors: ns::Error internal when it cannot start.
class RunningChild {
 public:
  RunningChild(const std::filesystem::path& program, const std::vector<std::string>& args,
               const std::filesystem::path& stdout_file = {}, const std::filesystem::path& log_file = {});
  ~RunningChild();  // SIGKILL when still running, then reaped
  RunningChild(const RunningChild&) = delete;
  RunningChild& operator=(const RunningChild&) = delete;

  int pid() const { return pid_; }
  bool running();  // false once it has exited (it is then reaped)
  // Sends `signal` (SIGTERM: a clean stop; SIGKILL: none) and waits: the exit status, or 128 + the signal that
  // ended it.
  int stop(int signal);
  int64_t rss_kib() const;  // resident memory now (/proc/PID/status VmRSS), 0 once gone

 private:
  int pid_ = -1;
  int status_ = -1;
};

}  // namespace ns::core
