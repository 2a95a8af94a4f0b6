// The admin API's exposure and limits (ns/engine/admin.h), on loopback: a non-loopback address needs a token, a
// token is checked on every request, large bodies get 413, floods get 429. Routes end to end: serve_cli_test.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <string>

#include "ns/core/error.h"
#include "ns/engine/admin.h"
#include "ns/engine/engine.h"

namespace ns {
namespace {

engine::EngineConfig no_streams() {
  engine::EngineConfig config;
  config.backend = "ref";
  config.sr_threads = 1;
  return config;
}

TEST(AdminApi, LoopbackIsTheOnlyAddressWithoutAToken) {
  EXPECT_TRUE(engine::is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(engine::is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(engine::is_loopback_host("localhost"));
  EXPECT_TRUE(engine::is_loopback_host("::1"));
  EXPECT_FALSE(engine::is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(engine::is_loopback_host("10.0.0.5"));
  EXPECT_FALSE(engine::is_loopback_host("::"));
  engine::Engine engine(no_streams());
  try {
    engine::AdminServer server(engine, {.host = "0.0.0.0"});
    FAIL() << "0.0.0.0 without a token must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("token"), std::string::npos) << e.what();
  }
  engine.stop();
}

TEST(AdminApi, ATokenIsCheckedOnEveryRequest) {
  engine::Engine engine(no_streams());
  engine::AdminServer server(engine, {.token = "0123456789abcdef-secret"});
  httplib::Client client("127.0.0.1", server.port());
  const auto anonymous = client.Get("/stats");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Bearer");
  const auto wrong = client.Get("/stats", {{"Authorization", "Bearer 0123456789abcdef-secreT"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  const auto prefix = client.Get("/stats", {{"Authorization", "Bearer 0123456789abcdef"}});
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->status, 401);
  const auto right = client.Get("/stats", {{"Authorization", "Bearer 0123456789abcdef-secret"}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  const auto add = client.Post("/streams", "{}", "application/json");  // refused before the body is looked at
  ASSERT_TRUE(add);
  EXPECT_EQ(add->status, 401);
  server.stop();
  engine.stop();
}

TEST(AdminApi, LargeBodiesAndFloodsAreRefused) {
  engine::Engine engine(no_streams());
  engine::AdminServer server(engine, {.max_request_bytes = 1024, .max_requests_per_second = 5});
  httplib::Client client("127.0.0.1", server.port());
  const auto huge = client.Post("/streams", std::string(4096, ' '), "application/json");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  EXPECT_NE(huge->body.find("1024"), std::string::npos) << huge->body;
  int ok = 0, limited = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    const auto r = client.Get("/stats");
    ASSERT_TRUE(r);
    ok += r->status == 200;
    limited += r->status == 429;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(limited, 0);
  EXPECT_LE(ok, 5 + static_cast<int>(5 * seconds) + 1);  // a burst of 5, plus what refilled meanwhile
  server.stop();
  engine.stop();
}

}  // namespace
}  // namespace ns
