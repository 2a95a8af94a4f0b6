// ns/core: the one exception type for failures of input or environment, and NS_ASSERT for invariants.
// In: a code, a message and optional context (stream, file, frame index). Out: what() as one readable line.
// Shape of messages: "<where>: <what happened> (<detail>); <what to do>" (STYLE.md, Errors).
// Thread-safety: Error is a value type; NS_ASSERT may be used anywhere.
// Errors: thrown by every module for bad input, missing files, unsupported formats; caught in main and the engine.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace ns {

enum class ErrorCode {
  invalid_argument,  // the caller passed something unusable (sizes, options)
  not_found,         // a file or stream does not exist
  io,                // reading or writing failed (disk full, permission, network)
  corrupt,           // the data is damaged or truncated
  unsupported,       // valid data we cannot handle (codec, pixel format)
  mismatch,          // two inputs that must agree do not (sizes, lengths, model shapes)
  internal,          // a library we call failed unexpectedly
};

const char* error_code_name(ErrorCode code);

// Where a failure happened; empty fields are left out of the message.
struct ErrorContext {
  std::string stream;
  std::string file;
  int64_t frame_index = -1;
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, const ErrorContext& context = {});
  ErrorCode code() const { return code_; }
  const ErrorContext& context() const { return context_; }

 private:
  ErrorCode code_;
  ErrorContext context_;
};

[[noreturn]] void assert_fail(const char* expression, const char* file, int line);

}  // namespace ns

// Broken invariants (bugs, not bad input): abort with the expression, file and line.
#define NS_ASSERT(x) ((x) ? static_cast<void>(0) : ::ns::assert_fail(#x, __FILE__, __LINE__))
