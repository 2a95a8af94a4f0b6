#include "ns/core/error.h"

#include <cstdio>
#include <cstdlib>

namespace ns {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid argument";
    case ErrorCode::not_found: return "not found";
    case ErrorCode::io: return "i/o error";
    case ErrorCode::corrupt: return "corrupt data";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::mismatch: return "mismatch";
    case ErrorCode::internal: return "internal error";
  }
  return "error";
}

static std::string with_context(const std::string& message, const ErrorContext& context) {
  std::string prefix;
  auto add = [&prefix](const std::string& part) {
    prefix += part;
    prefix += ": ";
  };
  if (!context.stream.empty()) add(context.stream);
  if (!context.file.empty()) add(context.file);
  if (context.frame_index >= 0) add("frame " + std::to_string(context.frame_index));
  return prefix + message;
}

Error::Error(ErrorCode code, const std::string& message, const ErrorContext& context)
    : std::runtime_error(with_context(message, context)), code_(code), context_(context) {}

void assert_fail(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "neuroscaler: internal assertion failed: %s (%s:%d)\n", expression, file, line);
  std::abort();
}

}  // namespace ns
