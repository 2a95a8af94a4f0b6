// Programs beside the test, by posix_spawn.
#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "ns/core/error.h"

extern char** environ;

namespace ns::test {

ChildProcess::ChildProcess(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  const int status = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (status != 0) {
    pid_ = -1;
    throw Error(ErrorCode::not_found, "cannot start " + args[0] + "; run scripts/setup");
  }
}

ChildProcess::~ChildProcess() { stop(); }

void ChildProcess::stop() const { end(SIGTERM); }
void ChildProcess::kill_now() const { end(SIGKILL); }

void ChildProcess::end(int signal) const {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace ns::test
