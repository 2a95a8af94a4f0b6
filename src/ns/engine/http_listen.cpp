// Starting a cpp-httplib server on its own thread.
#include <chrono>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/http_impl.h"

namespace ns::engine::detail {

int listen_http(httplib::Server& server, const std::string& host, int port, std::thread& thread, const std::string& who,
                const std::string& option) {
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    throw Error(ErrorCode::io, who + ": cannot listen on " + host + ":" + std::to_string(port) +
                                   " (address in use or not local); pick another " + option + " address");
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
