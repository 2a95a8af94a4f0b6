// Test support: a real nats-server (Debian's, installed by scripts/setup) with JetStream, started by the test on a
// free loopback port with its store in a temporary folder; stop() and start() again keep the port and the store, as
// an operator's restart would.
#pragma once

#include <memory>
#include <string>

#include "ns/core/child_process.h"
#include "support/fixtures.h"

namespace ns::test {

class NatsServer {
 public:
  // Starts it on `port` (0: a free one), requiring `token` from clients when given; ns::Error (and a test failure)
  // if it does not listen within 10 s.
  explicit NatsServer(int port = 0, std::string token = "");
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  void start();
  void stop();  // SIGTERM, then waits for the process
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

 private:
  TempDir dir_;
  int port_ = 0;
  std::string token_;
  std::unique_ptr<core::RunningChild> process_;
};

}  // namespace ns::test
