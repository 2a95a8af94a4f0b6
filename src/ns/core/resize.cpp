// The fast resampler: separable, fixed point. For each axis, the taps of every output sample are
// computed once (double precision, like the reference) and quantised to 14-bit integers that sum to
// exactly 1 << 14. A horizontal pass filters source rows into 16-bit intermediates with 6 fractional
// bits, kept in a ring of as many rows as the vertical filter has taps (so each source row is filtered
// once and the working set stays in cache); the vertical pass accumulates in 32 bits, rounds and
// clamps. The vertical loop is a plain loop over x that the compiler vectorises; the horizontal one is
// a scalar gather (the larger share of the time). Plans are cached per thread (last 8 axis sizes).
// Agrees with resize_plane_ref within +-1 (tests/resize_test.cpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/resize.h"

namespace ns::core {

namespace {

constexpr int kWeightBits = 14;
constexpr int kWeightOne = 1 << kWeightBits;
constexpr int kMidBits = 6;                          // fractional bits of the intermediate rows
constexpr int kHorizontalShift = kWeightBits - kMidBits;  // 8
constexpr int kVerticalShift = kWeightBits + kMidBits;    // 20
// Range of the intermediate: bicubic overshoot keeps values within about [-32, 288] * 64, well inside int16.

// Taps of one axis: output sample i reads source samples first[i] .. first[i] + taps - 1 with the
// integer weights weights[i * taps .. i * taps + taps - 1] (sum exactly kWeightOne).
struct AxisPlan {
  int taps = 0;
  std::vector<int> first;
  std::vector<int16_t> weights;
};

double kernel_value(ResizeFilter filter, double t) {
  t = std::fabs(t);
  if (filter == ResizeFilter::bilinear) return t < 1.0 ? 1.0 - t : 0.0;
  // Keys cubic, a = -0.5.
  if (t < 1.0) return (1.5 * t - 2.5) * t * t + 1.0;
  if (t < 2.0) return ((-0.5 * t + 2.5) * t - 4.0) * t + 2.0;
  return 0.0;
}

AxisPlan plan_axis(int src_size, int dst_size, ResizeFilter filter) {
  const double scale = static_cast<double>(src_size) / dst_size;
  const double stretch = std::max(scale, 1.0);
  const double support = (filter == ResizeFilter::bicubic ? 2.0 : 1.0) * stretch;

  // First pass: the real-valued weights over clamped source indices, trimmed of zeros at both ends;
  // output `out` owns dense[begin[out] .. begin[out] + count[out]) and starts at source index lo[out].
  std::vector<double> dense;
  std::vector<size_t> begin(static_cast<size_t>(dst_size));
  std::vector<int> count(static_cast<size_t>(dst_size));
  std::vector<int> lo(static_cast<size_t>(dst_size));
  dense.reserve(static_cast<size_t>(dst_size) * static_cast<size_t>(2 * support + 3));
  int taps = 1;
  for (int out = 0; out < dst_size; ++out) {
    const size_t base = dense.size();
    int first = 0;
    if (filter == ResizeFilter::area) {
      const double left = out * scale;
      const double right = (out + 1) * scale;
      first = std::min(static_cast<int>(std::floor(left)), src_size - 1);
      const int end = std::min(static_cast<int>(std::ceil(right)), src_size);  // exclusive
      for (int i = first; i < end; ++i) {
        dense.push_back(std::max(0.0, std::min(right, i + 1.0) - std::max(left, static_cast<double>(i))));
      }
    } else {
      const double centre = (out + 0.5) * scale - 0.5;
      const int from = static_cast<int>(std::floor(centre - support));
      const int to = static_cast<int>(std::ceil(centre + support));
      first = std::clamp(from, 0, src_size - 1);
      const int last = std::clamp(to, 0, src_size - 1);
      dense.resize(base + static_cast<size_t>(last - first + 1), 0.0);
      for (int i = from; i <= to; ++i) {
        dense[base + static_cast<size_t>(std::clamp(i, 0, src_size - 1) - first)] +=
            kernel_value(filter, (i - centre) / stretch);
      }
    }
    size_t head = base;
    size_t tail = dense.size();
    while (head + 1 < tail && dense[head] == 0.0) ++head;
    while (tail > head + 1 && dense[tail - 1] == 0.0) --tail;
    begin[out] = head;
    count[out] = static_cast<int>(tail - head);
    lo[out] = first + static_cast<int>(head - base);
    taps = std::max(taps, count[out]);
  }
  NS_ASSERT(taps <= src_size);

  // Second pass: one tap count for all, normalise, quantise, make the sum exact.
  AxisPlan plan;
  plan.taps = taps;
  plan.first.resize(static_cast<size_t>(dst_size));
  plan.weights.assign(static_cast<size_t>(dst_size) * taps, 0);
  // The window [first, first + taps) must cover [lo, lo + count); among the valid starts take the one
  // nearest the previous output's, so that starts never go back (trimming can make lo go back, e.g. at
  // a bicubic output that falls exactly on a source sample) and the row ring never has to refilter.
  int previous = 0;
  for (int out = 0; out < dst_size; ++out) {
    const double* w = dense.data() + begin[out];
    const int first = std::min(std::max(previous, lo[out] + count[out] - taps), lo[out]);
    NS_ASSERT(first >= 0 && first + taps <= src_size);
    previous = first;
    const int offset = lo[out] - first;
    double total = 0.0;
    for (int k = 0; k < count[out]; ++k) total += w[k];
    NS_ASSERT(total > 0.0);
    int16_t* q = plan.weights.data() + static_cast<size_t>(out) * taps;
    int sum = 0;
    int largest = offset;
    for (int k = 0; k < count[out]; ++k) {
      const int value = static_cast<int>(std::lround(w[k] / total * kWeightOne));
      q[offset + k] = static_cast<int16_t>(value);
      sum += value;
      if (std::abs(value) > std::abs(q[largest])) largest = offset + k;
    }
    q[largest] = static_cast<int16_t>(q[largest] + (kWeightOne - sum));
    plan.first[out] = first;
  }
  return plan;
}

// Video resizes the same sizes frame after frame: keep the last few plans per thread.
std::shared_ptr<const AxisPlan> cached_plan(int src_size, int dst_size, ResizeFilter filter) {
  struct Entry {
    int src_size;
    int dst_size;
    ResizeFilter filter;
    std::shared_ptr<const AxisPlan> plan;
  };
  constexpr size_t kCacheSize = 8;
  thread_local std::vector<Entry> cache;  // most recently used first
  for (size_t i = 0; i < cache.size(); ++i) {
    if (cache[i].src_size == src_size && cache[i].dst_size == dst_size && cache[i].filter == filter) {
      std::rotate(cache.begin(), cache.begin() + static_cast<ptrdiff_t>(i), cache.begin() + static_cast<ptrdiff_t>(i) + 1);
      return cache.front().plan;
    }
  }
  auto plan = std::make_shared<const AxisPlan>(plan_axis(src_size, dst_size, filter));
  if (cache.size() == kCacheSize) cache.pop_back();
  cache.insert(cache.begin(), Entry{src_size, dst_size, filter, plan});
  return plan;
}

template <int Taps>
void filter_row_fixed(const uint8_t* __restrict src, const AxisPlan& plan, int16_t* __restrict out, int width) {
  const int* first = plan.first.data();
  const int16_t* weights = plan.weights.data();
  for (int x = 0; x < width; ++x) {
    const uint8_t* s = src + first[x];
    const int16_t* w = weights + x * Taps;
    int32_t sum = 0;
    for (int k = 0; k < Taps; ++k) sum += s[k] * w[k];
    out[x] = static_cast<int16_t>((sum + (1 << (kHorizontalShift - 1))) >> kHorizontalShift);
  }
}

void filter_row_any(const uint8_t* __restrict src, const AxisPlan& plan, int16_t* __restrict out, int width) {
  const int taps = plan.taps;
  const int* first = plan.first.data();
  const int16_t* weights = plan.weights.data();
  for (int x = 0; x < width; ++x) {
    const uint8_t* s = src + first[x];
    const int16_t* w = weights + static_cast<ptrdiff_t>(x) * taps;
    int32_t sum = 0;
    for (int k = 0; k < taps; ++k) sum += s[k] * w[k];
    out[x] = static_cast<int16_t>((sum + (1 << (kHorizontalShift - 1))) >> kHorizontalShift);
  }
}

using RowFilter = void (*)(const uint8_t*, const AxisPlan&, int16_t*, int);

RowFilter pick_row_filter(int taps) {
  switch (taps) {
    case 1: return filter_row_fixed<1>;
    case 2: return filter_row_fixed<2>;
    case 3: return filter_row_fixed<3>;
    case 4: return filter_row_fixed<4>;
    case 5: return filter_row_fixed<5>;
    case 6: return filter_row_fixed<6>;
    case 7: return filter_row_fixed<7>;
    case 8: return filter_row_fixed<8>;
    default: return filter_row_any;
  }
}

inline uint8_t round_clamp(int32_t acc) {
  const int32_t v = (acc + (1 << (kVerticalShift - 1))) >> kVerticalShift;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// dst[x] = clamp(round(sum_k rows[k][x] * weights[k] / 2^20)), one fused loop for a known tap count.
template <int Taps>
void filter_column_fixed(const int16_t* const* rows, const int16_t* weights, int32_t* /*acc*/, uint8_t* __restrict dst,
                         int width) {
  const int16_t* __restrict r[Taps];
  int16_t w[Taps];
  for (int k = 0; k < Taps; ++k) {
    r[k] = rows[k];
    w[k] = weights[k];
  }
  for (int x = 0; x < width; ++x) {
    int32_t sum = 0;
    for (int k = 0; k < Taps; ++k) sum += r[k][x] * w[k];
    dst[x] = round_clamp(sum);
  }
}

// Any tap count: accumulate tap by tap into a 32-bit row.
void filter_column_any(const int16_t* const* rows, const int16_t* weights, int taps, int32_t* __restrict acc,
                       uint8_t* __restrict dst, int width) {
  {
    const int16_t* __restrict r = rows[0];
    const int16_t w = weights[0];
    for (int x = 0; x < width; ++x) acc[x] = r[x] * w;
  }
  for (int k = 1; k < taps; ++k) {
    const int16_t* __restrict r = rows[k];
    const int16_t w = weights[k];
    for (int x = 0; x < width; ++x) acc[x] += r[x] * w;
  }
  for (int x = 0; x < width; ++x) dst[x] = round_clamp(acc[x]);
}

void filter_column(const int16_t* const* rows, const int16_t* weights, int taps, int32_t* acc, uint8_t* dst,
                   int width) {
  switch (taps) {
    case 1: return filter_column_fixed<1>(rows, weights, acc, dst, width);
    case 2: return filter_column_fixed<2>(rows, weights, acc, dst, width);
    case 3: return filter_column_fixed<3>(rows, weights, acc, dst, width);
    case 4: return filter_column_fixed<4>(rows, weights, acc, dst, width);
    case 5: return filter_column_fixed<5>(rows, weights, acc, dst, width);
    case 6: return filter_column_fixed<6>(rows, weights, acc, dst, width);
    default: return filter_column_any(rows, weights, taps, acc, dst, width);
  }
}

void check_sizes(int src_width, int src_height, int dst_width, int dst_height) {
  if (src_width <= 0 || src_height <= 0 || dst_width <= 0 || dst_height <= 0) {
    throw Error(ErrorCode::invalid_argument,
                "resize: empty plane (" + std::to_string(src_width) + "x" + std::to_string(src_height) + " -> " +
                    std::to_string(dst_width) + "x" + std::to_string(dst_height) +
                    "); both sizes must be at least 1x1");
  }
}

}  // namespace

const char* resize_filter_name(ResizeFilter filter) {
  switch (filter) {
    case ResizeFilter::area: return "area";
    case ResizeFilter::bilinear: return "bilinear";
    case ResizeFilter::bicubic: return "bicubic";
  }
  return "unknown";
}

ResizeFilter parse_resize_filter(const char* name) {
  const std::string text = name ? name : "";
  if (text == "area") return ResizeFilter::area;
  if (text == "bilinear") return ResizeFilter::bilinear;
  if (text == "bicubic") return ResizeFilter::bicubic;
  throw Error(ErrorCode::invalid_argument,
              "resize: unknown filter '" + text + "'; use area, bilinear or bicubic");
}

void resize_plane(const uint8_t* src, int src_stride, int src_width, int src_height, uint8_t* dst, int dst_stride,
                  int dst_width, int dst_height, ResizeFilter filter) {
  check_sizes(src_width, src_height, dst_width, dst_height);
  NS_ASSERT(src != nullptr && dst != nullptr);
  NS_ASSERT(src_stride >= src_width && dst_stride >= dst_width);

  if (src_width == dst_width && src_height == dst_height) {  // every filter is the identity at scale 1
    for (int y = 0; y < dst_height; ++y) {
      std::memcpy(dst + static_cast<ptrdiff_t>(y) * dst_stride, src + static_cast<ptrdiff_t>(y) * src_stride,
                  static_cast<size_t>(dst_width));
    }
    return;
  }

  const std::shared_ptr<const AxisPlan> column_plan = cached_plan(src_width, dst_width, filter);
  const std::shared_ptr<const AxisPlan> row_plan = cached_plan(src_height, dst_height, filter);
  const AxisPlan& columns = *column_plan;
  const AxisPlan& rows = *row_plan;
  const RowFilter filter_row = pick_row_filter(columns.taps);

  // Ring of horizontally filtered rows: source row r lives in slot r % taps, so any `taps` consecutive
  // rows are resident at once. Row pitch rounded up to 32 samples to keep each row aligned.
  const int taps = rows.taps;
  const size_t pitch = (static_cast<size_t>(dst_width) + 31) / 32 * 32;
  thread_local std::vector<int16_t> ring;
  thread_local std::vector<int32_t> acc;
  ring.resize(pitch * taps);
  acc.resize(pitch);
  std::vector<int> resident(static_cast<size_t>(taps), -1);
  std::vector<const int16_t*> inputs(static_cast<size_t>(taps));

  for (int y = 0; y < dst_height; ++y) {
    const int first = rows.first[y];
    for (int k = 0; k < taps; ++k) {
      const int r = first + k;
      const int slot = r % taps;
      int16_t* line = ring.data() + pitch * slot;
      if (resident[slot] != r) {
        filter_row(src + static_cast<ptrdiff_t>(r) * src_stride, columns, line, dst_width);
        resident[slot] = r;
      }
      inputs[k] = line;
    }
    filter_column(inputs.data(), rows.weights.data() + static_cast<size_t>(y) * taps, taps, acc.data(),
                  dst + static_cast<ptrdiff_t>(y) * dst_stride, dst_width);
  }
}

void resize(const Frame& src, Frame& dst, ResizeFilter filter) {
  if (src.empty() || dst.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "resize: empty frame (source " + std::to_string(src.width()) + "x" + std::to_string(src.height()) +
                    ", destination " + std::to_string(dst.width()) + "x" + std::to_string(dst.height()) +
                    "); allocate the destination at the target size first");
  }
  for (int p = 0; p < kPlaneCount; ++p) {
    resize_plane(src.data(p), src.stride(p), src.plane_width(p), src.plane_height(p), dst.data(p), dst.stride(p),
                 dst.plane_width(p), dst.plane_height(p), filter);
  }
  dst.pts = src.pts;
  dst.index = src.index;
}

Frame resized(const Frame& src, int width, int height, ResizeFilter filter) {
  Frame dst(width, height);
  resize(src, dst, filter);
  return dst;
}

RgbImage resized(const RgbImage& src, int width, int height, ResizeFilter filter) {
  NS_ASSERT(width > 0 && height > 0);
  const size_t src_plane = static_cast<size_t>(src.width) * src.height;
  const size_t dst_plane = static_cast<size_t>(width) * height;
  std::vector<uint8_t> in(src_plane), out(dst_plane);
  RgbImage dst(width, height);
  for (int c = 0; c < 3; ++c) {
    for (size_t i = 0; i < src_plane; ++i) in[i] = src.pixels[3 * i + c];
    resize_plane(in.data(), src.width, src.width, src.height, out.data(), width, width, height, filter);
    for (size_t i = 0; i < dst_plane; ++i) dst.pixels[3 * i + c] = out[i];
  }
  return dst;
}

}  // namespace ns::core
