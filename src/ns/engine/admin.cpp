// The admin API: cpp-httplib's server on its own thread, each route a call into the engine.
#include "ns/engine/admin.h"


#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/http_impl.h"

namespace ns::engine {

namespace {

constexpr const char* kLogger = "engine.admin";

// Invalid UTF-8 (a refused body's bytes quoted back in an error message) becomes U+FFFD instead of making dump()
// throw, which would answer 500 instead of the 400 that says what is wrong (found by fuzz/admin_request_fuzz.cpp).
std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void answer_error(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(admin_error_body(message), "application/json");
}

// Compares every byte whatever the first difference, so that the time of a refusal says nothing about the token's
// bytes (only whether the length is right).
bool same_secret(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char difference = 0;
  for (size_t i = 0; i < given.size(); ++i) difference |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return difference == 0;
}

// A token bucket shared by all clients: `rate` requests per second, bursts of one second's worth.
class RateLimit {
 public:
  explicit RateLimit(double rate) : rate_(rate), burst_(std::max(rate, 1.0)), tokens_(burst_) {}
  bool admit() {
    if (rate_ <= 0) return true;
    const std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  double rate_;
  double burst_;
  std::mutex mutex_;
  double tokens_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

bool admin_authorized(const std::string& authorization, const std::string& token) {
  return token.empty() || same_secret(authorization, "Bearer " + token);
}

std::string admin_error_body(const std::string& message) { return "{\"error\": " + quoted(message) + "}\n"; }

struct AdminServer::Impl {
  explicit Impl(double rate) : limit(rate) {}
  httplib::Server server;
  RateLimit limit;
  std::thread thread;
  int port = 0;
};

AdminServer::AdminServer(Engine& engine, const AdminOptions& options)
    : impl_(std::make_unique<Impl>(options.max_requests_per_second)) {
  const std::string& host = options.host;
  const int port = options.port;
  const std::string base_dir = options.base_dir;
  if (options.token.empty() && !is_loopback_host(host)) {
    throw Error(ErrorCode::invalid_argument,
                "admin: " + host + " would open the admin API (adding streams reads files on this machine) beyond "
                "this machine without a token; give one (serve --admin-token-file FILE) or listen on 127.0.0.1");
  }
  httplib::Server& server = impl_->server;
  server.set_payload_max_length(options.max_request_bytes);
  server.set_pre_routing_handler([this, token = options.token](const httplib::Request& request,
                                                               httplib::Response& response) {
    if (!impl_->limit.admit()) {
      response.set_header("Retry-After", "1");
      answer_error(response, 429, "too many requests to the admin API; retry in a second");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!admin_authorized(request.get_header_value("Authorization"), token)) {
      response.set_header("WWW-Authenticate", "Bearer");
      answer_error(response, 401, "the admin API needs \"Authorization: Bearer TOKEN\" (the serve --admin-token-file)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
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
  server.set_error_handler([limit = options.max_request_bytes](const httplib::Request& request,
                                                                 httplib::Response& response) {
    if (!response.body.empty()) return;
    if (response.status == 413) {
      answer_error(response, 413, "request body over " + std::to_string(limit) + " bytes");
    } else if (response.status == 404 || response.status == 405) {
      answer_error(response, response.status,
                   request.method + " " + request.path + ": not found; use GET /stats, GET /metrics, POST /streams or "
                                                         "DELETE /streams/NAME");
    } else {
      answer_error(response, response.status, "bad request");
    }
  });
  impl_->port = detail::listen_http(server, host, port, impl_->thread, "admin", "--admin");
}

AdminServer::~AdminServer() { stop(); }

int AdminServer::port() const { return impl_->port; }

void AdminServer::stop() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ns::engine
