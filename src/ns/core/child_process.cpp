#include "ns/core/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "ns/core/error.h"

extern char** environ;

namespace ns::core {

namespace fs = std::filesystem;

namespace {

// The last non-empty line of a log (progress redraws stripped): what a failed step said last.
std::string last_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    const size_t cr = line.find_last_of('\r');
    if (cr != std::string::npos) line = line.substr(cr + 1);
    if (!line.empty()) last = line;
  }
  return last;
}

std::string command_text(const std::string& name, const std::vector<std::string>& args) {
  std::string text = name;
  for (const std::string& a : args) text += " " + a;
  return text;
}

class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

fs::path self_executable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(ErrorCode::internal, "cannot find this program's path (/proc/self/exe: " + ec.message() + ")");
  return self;
}

void run_child(const ChildStep& step) {
  const fs::path& program = step.program;
  // The name the child sees as argv[0]: the running program's for /proc/self/exe.
  const std::string name = program == "/proc/self/exe" ? self_executable().filename().string() : program.filename().string();
  const std::string command = command_text(name, step.args);
  std::FILE* log = std::fopen(step.log_file.c_str(), "w");
  if (!log) {
    throw Error(ErrorCode::io, "cannot create the log file (" + std::string(std::strerror(errno)) + ")",
                {.file = step.log_file.string()});
  }
  std::fprintf(log, "$ %s\n", command.c_str());
  std::fflush(log);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::fclose(log);
    throw Error(ErrorCode::io, "cannot create a pipe (" + std::string(std::strerror(errno)) + ")");
  }
  FileActions actions;
  posix_spawn_file_actions_adddup2(actions.get(), pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(actions.get(), STDOUT_FILENO,
                                   step.stdout_file.empty() ? "/dev/null" : step.stdout_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_strings = {name};
  argv_strings.insert(argv_strings.end(), step.args.begin(), step.args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, program.c_str(), actions.get(), nullptr, argv.data(), environ);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    std::fclose(log);
    throw Error(ErrorCode::internal, "cannot run " + program.string() + " (" + std::strerror(spawned) + ")");
  }
  // Copy the child's stderr until it closes it (it exits): to the log, and to ours when relaying.
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::fwrite(buffer, 1, static_cast<size_t>(n), log);
    std::fflush(log);
    if (step.relay) std::fwrite(buffer, 1, static_cast<size_t>(n), stderr);
  }
  ::close(pipe_fds[0]);
  const bool log_failed = std::ferror(log) != 0;
  std::fclose(log);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(ErrorCode::internal, "waiting for `" + command + "` failed");
  }
  if (WIFSIGNALED(status)) {
    throw Error(ErrorCode::internal, "`" + command + "` was killed by signal " + std::to_string(WTERMSIG(status)) +
                                         "; see " + step.log_file.string());
  }
  if (WEXITSTATUS(status) != 0) {
    const std::string said = last_line(step.log_file);
    throw Error(ErrorCode::internal, "`" + command + "` failed (exit status " + std::to_string(WEXITSTATUS(status)) +
                                         ")" + (said.empty() ? "" : ": " + said) + "; log: " +
                                         step.log_file.string());
  }
  if (log_failed) {
    throw Error(ErrorCode::io, "writing the log failed; check free space", {.file = step.log_file.string()});
  }
}

RunningChild::RunningChild(const fs::path& program, const std::vector<std::string>& args, const fs::path& stdout_file,
                           const fs::path& log_file) {
  FileActions actions;
  posix_spawn_file_actions_addopen(actions.get(), STDOUT_FILENO, stdout_file.empty() ? "/dev/null" : stdout_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(actions.get(), STDERR_FILENO, log_file.empty() ? "/dev/null" : log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_strings = {program.filename().string()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const bool search = !program.string().empty() && program.string().find('/') == std::string::npos;
  const int spawned = search ? ::posix_spawnp(&pid_, program.c_str(), actions.get(), nullptr, argv.data(), environ)
                             : ::posix_spawn(&pid_, program.c_str(), actions.get(), nullptr, argv.data(), environ);
  if (spawned != 0) {
    pid_ = -1;
    throw Error(ErrorCode::internal, "cannot run " + program.string() + " (" + std::strerror(spawned) + ")");
  }
}

RunningChild::~RunningChild() {
  if (pid_ > 0) stop(SIGKILL);
}

bool RunningChild::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  status_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  pid_ = -1;
  return false;
}

int RunningChild::stop(int signal) {
  if (pid_ > 0) {
    ::kill(pid_, signal);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    pid_ = -1;
  }
  return status_;
}

int64_t RunningChild::rss_kib() const {
  if (pid_ <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

}  // namespace ns::core
