// ns/engine: the HTTP admin API of a running engine (cpp-httplib), for operators and monitoring.
// In: an Engine, a host and a port (0: any free port). Out: GET /stats (JSON), GET /metrics (Prometheus text),
// POST /streams (a stream as JSON, the config file's keys) to add one, DELETE /streams/NAME to remove one.
// Thread-safety: the server answers on its own threads; stop() and the destructor may be called from any thread.
// Errors: ns::Error io when the address cannot be bound; request errors are answered 400 / 404 with a message.
#pragma once

#include <memory>
#include <string>

#include "ns/engine/engine.h"

namespace ns::engine {

class AdminServer {
 public:
  // base_dir: where relative paths of added streams are taken from (the config file's folder).
  AdminServer(Engine& engine, const std::string& host, int port, const std::string& base_dir);
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
