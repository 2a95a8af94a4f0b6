// Fuzz target for the admin API's request logic (ns/engine/admin.cpp) without a network or an engine: the bearer
// token check, the parse of a POST /streams body, and the JSON error answer a refused body gets (its message quotes
// parts of the body back). Input: [u16 length, token], [u16 length, Authorization header value], then the body.
#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "ns/core/error.h"
#include "ns/engine/admin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ns::fuzz::Input input(data, size);
  const auto token_bytes = input.take_sized();
  const auto authorization_bytes = input.take_sized();
  const auto body_bytes = input.rest();
  const std::string token(token_bytes.begin(), token_bytes.end());
  const std::string authorization(authorization_bytes.begin(), authorization_bytes.end());
  const std::string body(body_bytes.begin(), body_bytes.end());

  // Exactly "Bearer TOKEN" passes, and anything passes when there is no token.
  NS_ASSERT(ns::engine::admin_authorized(authorization, token) == (token.empty() || authorization == "Bearer " + token));

  try {
    ns::engine::parse_stream_config(body, "/base", "POST /streams");
  } catch (const ns::Error& e) {
    // The 400 answer must be JSON whatever bytes the message quotes: a client parses it.
    const nlohmann::json answer = nlohmann::json::parse(ns::engine::admin_error_body(e.what()));
    NS_ASSERT(answer.at("error").is_string());
  }
  return 0;
}
