// Starting a cpp-httplib server on its own thread.
#include <sys/socket.h>

#include <chrono>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/http_impl.h"

namespace ns::engine::detail {

namespace {
constexpr int kListenBacklog = 256;  // connections waiting to be accepted (Linux caps it at net.core.somaxconn)
}  // namespace

int listen_http(httplib::Server& server, const std::string& host, int port, std::thread& thread, const std::string& who,
                const std::string& option) {
  // Debian's cpp-httplib 0.11 is a compiled library that listens with a backlog of 5: a burst of connections beyond
  // that is refused. Its socket-options hook sees the listening socket, so the backlog is raised after binding (a
  // second listen() on a listening socket sets its backlog).
  int listening = -1;
  server.set_socket_options([&listening](socket_t socket) {
    httplib::default_socket_options(socket);
    listening = socket;
  });
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    throw Error(ErrorCode::io, who + ": cannot listen on " + host + ":" + std::to_string(port) +
                                   " (address in use or not local); pick another " + option + " address");
  }
  if (listening >= 0 && ::listen(listening, kListenBacklog) != 0) {
    log::warn(who, "cannot raise the listen backlog to {}; bursts of connections may be refused", kListenBacklog);
  }
  thread = std::thread([&server] { server.listen_after_bind(); });
  // cpp-httplib 0.11 has no "ready" signal and its stop() does nothing before listening began: wait for that here,
  // once, so that stop() always ends the thread.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server.is_running() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  log::info(who, "listening on http://{}:{}", host, bound);
  return bound;
}

}  // namespace ns::engine::detail
