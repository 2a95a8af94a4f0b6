#include "ns/core/frame.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "ns/core/error.h"

namespace ns::core {

static int align_up(int value, int alignment) { return (value + alignment - 1) / alignment * alignment; }

void Frame::AlignedFree::operator()(uint8_t* p) const { std::free(p); }

Frame::Frame(int width, int height) : width_(width), height_(height) {
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    throw Error(ErrorCode::invalid_argument,
                "frame size " + std::to_string(width) + "x" + std::to_string(height) +
                    " is out of range; sizes must be between 1 and 16384");
  }
  size_t offsets[kPlaneCount];
  size_t total = 0;
  for (int p = 0; p < kPlaneCount; ++p) {
    strides_[p] = align_up(plane_width(p), kFrameAlignment);
    offsets[p] = total;
    total += static_cast<size_t>(strides_[p]) * plane_height(p);
  }
  auto* raw = static_cast<uint8_t*>(std::aligned_alloc(kFrameAlignment, total));
  if (!raw) throw std::bad_alloc();
  buffer_.reset(raw);
  for (int p = 0; p < kPlaneCount; ++p) planes_[p] = raw + offsets[p];
}

Frame Frame::clone() const {
  if (empty()) return Frame();
  Frame copy(width_, height_);
  for (int p = 0; p < kPlaneCount; ++p) {
    std::memcpy(copy.planes_[p], planes_[p], static_cast<size_t>(strides_[p]) * plane_height(p));
  }
  copy.pts = pts;
  copy.index = index;
  return copy;
}

void Frame::fill(uint8_t y, uint8_t u, uint8_t v) {
  const uint8_t values[kPlaneCount] = {y, u, v};
  for (int p = 0; p < kPlaneCount; ++p) {
    std::memset(planes_[p], values[p], static_cast<size_t>(strides_[p]) * plane_height(p));
  }
}

RgbImage::RgbImage(int w, int h) : width(w), height(h) {
  if (w <= 0 || h <= 0) {
    throw Error(ErrorCode::invalid_argument,
                "image size " + std::to_string(w) + "x" + std::to_string(h) + " must be positive");
  }
  pixels.resize(static_cast<size_t>(w) * h * 3);
}

bool same_size(const Frame& a, const Frame& b) { return a.width() == b.width() && a.height() == b.height(); }

}  // namespace ns::core
