// The plain reference resampler: every output pixel is evaluated directly as a normalised weighted sum
// of the source pixels under its footprint, in double precision. This is the specification that the
// fast fixed-point resampler in resize.cpp is tested against; keep it obvious rather than fast.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/resize.h"

namespace ns::core {

namespace {

struct Tap {
  int index;  // source index, already clamped into [0, size - 1] (edge replication)
  double weight;
};

double bilinear_kernel(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys (1981) cubic convolution with a = -0.5 (Catmull-Rom).
double bicubic_kernel(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
  return 0.0;
}

// The weights of output sample `out` along one axis of `src_size` -> `dst_size`, not yet normalised.
std::vector<Tap> axis_taps(int out, int src_size, int dst_size, ResizeFilter filter) {
  const double scale = static_cast<double>(src_size) / dst_size;
  std::vector<Tap> taps;
  if (filter == ResizeFilter::area) {
    // The output pixel covers the source interval [out * scale, (out + 1) * scale) in pixel-edge
    // coordinates; each source pixel [i, i + 1) weighs by the length it shares with it.
    const double begin = out * scale;
    const double end = (out + 1) * scale;
    for (int i = static_cast<int>(std::floor(begin)); i < end && i < src_size; ++i) {
      const double overlap = std::min(end, i + 1.0) - std::max(begin, static_cast<double>(i));
      if (overlap > 0) taps.push_back({i, overlap});
    }
    return taps;
  }
  const double support_unit = filter == ResizeFilter::bilinear ? 1.0 : 2.0;
  const double stretch = std::max(scale, 1.0);  // widen the kernel when down-scaling (anti-aliasing)
  const double centre = (out + 0.5) * scale - 0.5;
  const double support = support_unit * stretch;
  const int first = static_cast<int>(std::floor(centre - support));
  const int last = static_cast<int>(std::ceil(centre + support));
  for (int i = first; i <= last; ++i) {
    const double t = (i - centre) / stretch;
    const double w = filter == ResizeFilter::bilinear ? bilinear_kernel(t) : bicubic_kernel(t);
    if (w != 0.0) taps.push_back({std::clamp(i, 0, src_size - 1), w});
  }
  return taps;
}

}  // namespace

void resize_plane_ref(const uint8_t* src, int src_stride, int src_width, int src_height, uint8_t* dst,
                      int dst_stride, int dst_width, int dst_height, ResizeFilter filter) {
  if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0) {
    throw Error(ErrorCode::invalid_argument,
                "resize: empty plane (" + std::to_string(src_width) + "x" + std::to_string(src_height) + " -> " +
                    std::to_string(dst_width) + "x" + std::to_string(dst_height) +
                    "); both sizes must be at least 1x1");
  }
  NS_ASSERT(src != nullptr && dst != nullptr);
  NS_ASSERT(src_stride >= src_width && dst_stride >= dst_width);
  std::vector<std::vector<Tap>> columns(static_cast<size_t>(dst_width));
  for (int x = 0; x < dst_width; ++x) columns[x] = axis_taps(x, src_width, dst_width, filter);
  for (int y = 0; y < dst_height; ++y) {
    const std::vector<Tap> rows = axis_taps(y, src_height, dst_height, filter);
    uint8_t* out = dst + static_cast<ptrdiff_t>(y) * dst_stride;
    for (int x = 0; x < dst_width; ++x) {
      double sum = 0.0;
      double total = 0.0;
      for (const Tap& ty : rows) {
        const uint8_t* line = src + static_cast<ptrdiff_t>(ty.index) * src_stride;
        for (const Tap& tx : columns[x]) {
          const double w = ty.weight * tx.weight;
          sum += w * line[tx.index];
          total += w;
        }
      }
      NS_ASSERT(total > 0.0);
      out[x] = static_cast<uint8_t>(std::clamp(std::lround(sum / total), 0L, 255L));
    }
  }
}

}  // namespace ns::core
