// Fuzz target for the live engine's config parser (ns/engine/config.cpp): the first byte picks the entry point,
// parse_config (the whole config file) or parse_stream_config (one stream, as POST /streams gives it); the rest is
// the JSON text. A config that parses must also pass validate(), which both promise to have run.
#include "fuzz_common.h"
#include "ns/core/error.h"
#include "ns/engine/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ns::fuzz::Input input(data, size);
  const bool whole_file = input.take_byte() & 1;
  const auto text = input.rest();
  const std::string json(text.begin(), text.end());
  try {
    if (whole_file) {
      ns::engine::validate(ns::engine::parse_config(json, "/base", "fuzz.json"));
    } else {
      ns::engine::validate(ns::engine::parse_stream_config(json, "/base", "fuzz stream"));
    }
  } catch (const ns::Error&) {
  }
  return 0;
}
