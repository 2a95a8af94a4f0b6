// ns/media (internal): MSB-first bit reader for codec headers, with Exp-Golomb codes (H.264 ue/se).
// In: a byte range that outlives the reader. Out: unsigned fields of up to 32 bits.
// Reading past the end never touches memory outside the range: it yields zero bits and sets
// overrun(), which callers check once per syntax structure (cheaper than a branch that throws).
// Thread-safety: a plain value. Errors: none thrown; overrun() and invalid() report malformed input.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ns::media {

class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_bits_(size * 8) {}

  // The next `n` bits (0 <= n <= 32), most significant first.
  uint32_t bits(int n) {
    if (n == 0) return 0;
    if (pos_ + static_cast<size_t>(n) > size_bits_) {
      overrun_ = true;
      pos_ = size_bits_;
      return 0;
    }
    uint32_t value = 0;
    int left = n;
    while (left > 0) {
      const int bit_in_byte = static_cast<int>(pos_ & 7);
      const int avail = 8 - bit_in_byte;
      const int take = left < avail ? left : avail;
      const uint32_t byte = data_[pos_ >> 3];
      const uint32_t chunk = (byte >> (avail - take)) & ((1u << take) - 1u);
      // Two shifts so that take == 8 with a 32-bit value never shifts by the full width.
      value = (value << (take - 1) << 1) | chunk;
      pos_ += static_cast<size_t>(take);
      left -= take;
    }
    return value;
  }

  bool bit() {
    if (pos_ >= size_bits_) {
      overrun_ = true;
      return false;
    }
    const bool b = (data_[pos_ >> 3] >> (7 - (pos_ & 7))) & 1u;
    ++pos_;
    return b;
  }

  // VP9 su(n): n magnitude bits then a sign bit.
  int signed_bits(int n) {
    const int magnitude = static_cast<int>(bits(n));
    return bit() ? -magnitude : magnitude;
  }

  // H.264 ue(v): unsigned Exp-Golomb, up to 32 leading zeros' worth (values up to 2^32 - 2).
  uint32_t ue() {
    int zeros = 0;
    while (!bit()) {
      if (overrun_) return 0;
      if (++zeros > 31) {
        invalid_ = true;
        return 0;
      }
    }
    if (zeros == 0) return 0;
    const uint64_t value = (uint64_t{1} << zeros) - 1 + bits(zeros);
    return static_cast<uint32_t>(value);
  }

  // H.264 se(v): signed Exp-Golomb (1 -> 1, 2 -> -1, 3 -> 2, ...).
  int32_t se() {
    const uint32_t k = ue();
    const int64_t magnitude = (static_cast<int64_t>(k) + 1) / 2;
    return static_cast<int32_t>((k & 1u) ? magnitude : -magnitude);
  }

  void skip(size_t n) {
    if (pos_ + n > size_bits_) {
      overrun_ = true;
      pos_ = size_bits_;
    } else {
      pos_ += n;
    }
  }

  void align_to_byte() { skip((8 - (pos_ & 7)) & 7); }

  size_t position_bits() const { return pos_; }
  size_t position_bytes_rounded_up() const { return (pos_ + 7) / 8; }
  size_t bits_left() const { return size_bits_ - pos_; }
  bool overrun() const { return overrun_; }
  bool invalid() const { return invalid_; }  // an Exp-Golomb code longer than 32 bits

 private:
  const uint8_t* data_;
  size_t size_bits_;
  size_t pos_ = 0;
  bool overrun_ = false;
  bool invalid_ = false;
};

}  // namespace ns::media
