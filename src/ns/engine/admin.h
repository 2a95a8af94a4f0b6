// ns/engine: the HTTP admin API of a running engine (cpp-httplib), for operators and monitoring.
// In: an Engine and AdminOptions. Out: GET /stats (JSON), GET /metrics (Prometheus text), POST /streams (a stream as
// JSON, the config file's keys) to add one, DELETE /streams/NAME to remove one.
// Exposure: loopback by default; any other address needs a bearer token (every request then carries
// "Authorization: Bearer TOKEN", else 401). Request bodies over max_request_bytes get 413; requests beyond
// max_requests_per_second (all clients together, bursts of one second's worth) get 429 with Retry-After.
// Thread-safety: the server answers on its own threads; stop() and the destructor may be called from any thread.
// Errors: ns::Error io when the address cannot be bound, invalid_argument for a non-loopback address without a
// token; request errors are answered 4xx with a JSON message.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "ns/engine/engine.h"

namespace ns::engine {

struct AdminOptions {
  std::string host = "127.0.0.1";
  int port = 0;                         // 0: any free port
  std::string base_dir;                 // where relative paths of added streams are taken from (the config's folder)
  std::string token;                    // bearer token; required unless host is a loopback address
  size_t max_request_bytes = 64 * 1024;  // a stream's JSON is a few hundred bytes
  double max_requests_per_second = 50;   // monitoring polls a few times a second; 0: no limit
};

// Whether `host` only accepts connections from this machine (127.0.0.0/8, ::1, localhost).
bool is_loopback_host(const std::string& host);

// The request checks apart from the network (the server's handlers call them; fuzz/admin_request_fuzz.cpp feeds
// them arbitrary bytes). admin_authorized: whether a request whose Authorization header is `authorization` may pass
// (always when `token` is empty, else only with "Bearer TOKEN"; the time taken says nothing about the token's bytes).
// admin_error_body: the JSON body of an error answer, {"error": MESSAGE}.
bool admin_authorized(const std::string& authorization, const std::string& token);
std::string admin_error_body(const std::string& message);

class AdminServer {
 public:
  AdminServer(Engine& engine, const AdminOptions& options);
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  int port() const;  // the bound port (the chosen one when 0 was asked)
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::engine
