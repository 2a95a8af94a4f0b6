// Inside the engine: a cpp-httplib server bound and listening on its own thread (the admin API, a worker's metrics).
// Thread-safety: call from one thread; stop the server (server.stop()) and join the thread to end it.
// Errors: ns::Error io when host:port cannot be bound.
#pragma once

#include <httplib.h>

#include <string>
#include <thread>

namespace ns::engine::detail {

// Binds `server` to host:port (0: any free port), runs it on `thread` and returns the bound port once it listens.
// `who` names the server in the error and the log line; `option` is the one that sets the address (the error's
// advice).
int listen_http(httplib::Server& server, const std::string& host, int port, std::thread& thread, const std::string& who,
                const std::string& option);

}  // namespace ns::engine::detail
