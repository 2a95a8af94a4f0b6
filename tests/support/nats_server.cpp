// Starts and stops Debian's nats-server for the remote SR tests.
#include "support/nats_server.h"

#include "ns/core/loopback.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace ns::test {

namespace {

bool accepts_connections(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return ok;
}

}  // namespace

NatsServer::NatsServer(int port, std::string token)
    : port_(port > 0 ? port : core::free_loopback_port()), token_(std::move(token)) {
  start();
}

void NatsServer::start() {
  const std::string log = dir_.file("nats-server.log");
  std::vector<std::string> args = {"-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd", dir_.file("store")};
  if (!token_.empty()) args.insert(args.end(), {"--auth", token_});
  process_ = std::make_unique<core::RunningChild>("nats-server", args, std::filesystem::path(), log);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!accepts_connections(port_)) {
    if (std::chrono::steady_clock::now() > give_up) {
      ADD_FAILURE() << "nats-server did not listen on port " << port_ << ":\n" << read_text_file(log);
      throw Error(ErrorCode::io, "nats-server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void NatsServer::stop() {
  if (process_) process_->stop(SIGTERM);
  process_.reset();
}

}  // namespace ns::test
