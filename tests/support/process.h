// Test support: a program running beside the test (a server, a worker), ended by SIGTERM or SIGKILL.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ns::test {

class ChildProcess {
 public:
  // Starts args[0] (looked up in PATH) with its output to `log` (empty: inherited). ns::Error not_found when it
  // cannot start.
  explicit ChildProcess(const std::vector<std::string>& args, const std::string& log = "");
  ~ChildProcess();  // stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void stop() const;      // SIGTERM, then waits for it
  void kill_now() const;  // SIGKILL (no chance to clean up), then waits for it

 private:
  void end(int signal) const;
  mutable pid_t pid_ = -1;
};

}  // namespace ns::test
