// ns/core: 8-bit I420 frames with 64-byte aligned planes, and packed 8-bit RGB images.
// In: sizes (any width/height >= 1; chroma is ceil(w/2) x ceil(h/2)). Out: owned, move-only buffers.
// Planes: 0 = Y, 1 = U (Cb), 2 = V (Cr); rows are padded to a multiple of 64 bytes (stride).
// Thread-safety: a Frame is a plain value; share read-only, or give each thread its own.
// Errors: ns::Error (invalid_argument) on non-positive sizes; clone() copies pixels, moves are cheap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ns::core {

inline constexpr int kPlaneCount = 3;
inline constexpr int kFrameAlignment = 64;

class Frame {
 public:
  Frame() = default;  // empty: width() == 0
  Frame(int width, int height);
  Frame(Frame&&) noexcept = default;
  Frame& operator=(Frame&&) noexcept = default;
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;

  Frame clone() const;  // deep copy, same size, timestamp and index

  bool empty() const { return width_ == 0; }
  int width() const { return width_; }
  int height() const { return height_; }
  int plane_width(int plane) const { return plane == 0 ? width_ : (width_ + 1) / 2; }
  int plane_height(int plane) const { return plane == 0 ? height_ : (height_ + 1) / 2; }
  int stride(int plane) const { return strides_[plane]; }
  uint8_t* data(int plane) { return planes_[plane]; }
  const uint8_t* data(int plane) const { return planes_[plane]; }
  uint8_t* row(int plane, int y) { return planes_[plane] + static_cast<ptrdiff_t>(y) * strides_[plane]; }
  const uint8_t* row(int plane, int y) const {
    return planes_[plane] + static_cast<ptrdiff_t>(y) * strides_[plane];
  }

  void fill(uint8_t y, uint8_t u, uint8_t v);  // every sample of each plane

  // Presentation timestamp in the source's time base (or the frame index when there is none),
  // and the display index counted from the first frame of the source.
  int64_t pts = 0;
  int64_t index = 0;

 private:
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  int width_ = 0;
  int height_ = 0;
  int strides_[kPlaneCount] = {0, 0, 0};
  uint8_t* planes_[kPlaneCount] = {nullptr, nullptr, nullptr};
  std::unique_ptr<uint8_t, AlignedFree> buffer_;
};

// Packed 8-bit RGB (R, G, B per pixel, rows of width * 3 bytes without padding).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;

  RgbImage() = default;
  RgbImage(int w, int h);
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * 3; }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * 3; }
};

bool same_size(const Frame& a, const Frame& b);

}  // namespace ns::core
