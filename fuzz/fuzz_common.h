// fuzz: what every libFuzzer target shares. A target defines LLVMFuzzerTestOneInput; for it an input is fine when
// the code under test returns or throws ns::Error (the input's fault, said clearly). Anything else is a finding:
// a sanitizer report, an abort (NS_ASSERT), another exception escaping, a leak, a huge allocation or a hang.
// fuzz_common.cpp also defines LLVMFuzzerInitialize: logs off (FFmpeg's too, routed through ns::log), so that
// warnings about damaged inputs do not slow the run down or bury libFuzzer's report.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ns::fuzz {

// Cuts one input into fields, front to back; past the end every take gives 0 or an empty span, so a target
// never needs to check sizes. Lengths are 16-bit: mutations of a length byte move the cut a little, not away.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return size_ == 0; }
  uint8_t take_byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  // A 16-bit little-endian length, then that many bytes (fewer when the input ends first).
  std::span<const uint8_t> take_sized() {
    const size_t low = take_byte();
    return take(low | size_t{take_byte()} << 8);
  }
  std::span<const uint8_t> take(size_t count) {
    count = std::min(count, size_);
    const std::span<const uint8_t> out(data_, count);
    data_ += count;
    size_ -= count;
    return out;
  }
  std::span<const uint8_t> rest() { return take(size_); }

 private:
  const uint8_t* data_;
  size_t size_;
};

// Writes the input to this process's temp file (RAM-backed /dev/shm when there is one) and returns its path, for
// readers that take a path. `extension` (".mkv", ".y4m"), the same at every call, ends the name: FFmpeg's format
// probe gives it a little weight.
std::string write_temp_file(const uint8_t* data, size_t size, const std::string& extension);

}  // namespace ns::fuzz
