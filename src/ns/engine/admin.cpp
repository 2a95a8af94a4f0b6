// The admin API: cpp-httplib's server on its own thread, each route a call into the engine.
#include "ns/engine/admin.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"
#include "ns/core/log.h"

namespace ns::engine {

namespace {

constexpr const char* kLogger = "engine.admin";

std::string quoted(const std::string& text) { return nlohmann::json(text).dump(); }

void answer_error(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content("{\"error\": " + quoted(message) + "}\n", "application/json");
}

}  // namespace

struct AdminServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

AdminServer::AdminServer(Engine& engine, const std::string& host, int port, const std::string& base_dir)
    : impl_(std::make_unique<Impl>()) {
  httplib::Server& server = impl_->server;
  server.Get("/stats", [&engine](const httplib::Request&, httplib::Response& response) {
    response.set_content(stats_json(engine.stats()) + "\n", "application/json");
  });
  server.Get("/metrics", [&engine](const httplib::Request&, httplib::Response& response) {
    response.set_content(stats_prometheus(engine.stats()), "text/plain; version=0.0.4");
  });
  server.Post("/streams", [&engine, base_dir](const httplib::Request& request, httplib::Response& response) {
    try {
      const StreamConfig stream = parse_stream_config(request.body, base_dir, "POST /streams");
      engine.add_stream(stream);
      log::info(kLogger, "stream {} added: {}", stream.name, stream.input);
      response.status = 201;
      response.set_content("{\"added\": " + quoted(stream.name) + "}\n", "application/json");
    } catch (const Error& e) {
      answer_error(response, 400, e.what());
    }
  });
  server.Delete(R"(/streams/([^/]+))", [&engine](const httplib::Request& request, httplib::Response& response) {
    const std::string name = request.matches[1];
    if (!engine.remove_stream(name)) {
      answer_error(response, 404, "no running stream named \"" + name + "\"");
      return;
    }
    response.status = 204;
  });
  server.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (response.body.empty()) {
      answer_error(response, response.status,
                   request.method + " " + request.path + ": not found; use GET /stats, GET /metrics, POST /streams or "
                                                         "DELETE /streams/NAME");
    }
  });
  impl_->port = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (impl_->port <= 0) {
    throw Error(ErrorCode::io, "admin: cannot listen on " + host + ":" + std::to_string(port) +
                                   " (address in use or not local); pick another --admin address");
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // cpp-httplib 0.11 has no "ready" signal and its stop() does nothing before listening began: wait for that here,
  // once, so that stop() always ends the thread.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server.is_running() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  log::info(kLogger, "listening on http://{}:{}", host, impl_->port);
}

AdminServer::~AdminServer() { stop(); }

int AdminServer::port() const { return impl_->port; }

void AdminServer::stop() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ns::engine
