// PSNR (pooled over Y, U, V as reference §7.6, and per plane) and SSIM on luma.
// SSIM: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5, weights normalised to sum 1),
// K1 = 0.01, K2 = 0.03, L = 255, averaged over every position where the window lies fully inside the
// image. An image narrower or shorter than 11 samples uses a window as wide (or tall) as the whole image
// on that axis (the Gaussian truncated to that length, centred, renormalised): one position along it.
// Implementation: four moments (x, y, x^2 + y^2, xy) are filtered separably in float, vertically then
// horizontally, a row at a time; samples are centred on 128 first so that the second moments stay small
// and single precision stays within about 1e-5 of a double-precision evaluation (the variances do not
// depend on the offset; the means get it back).
#include "ns/core/metrics.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ns/core/error.h"

namespace ns::core {

namespace {

std::string size_text(const Frame& f) { return std::to_string(f.width()) + "x" + std::to_string(f.height()); }

void check_same_size(const Frame& reference, const Frame& test, const char* what) {
  if (reference.empty() || test.empty()) {
    throw Error(ErrorCode::invalid_argument, std::string(what) + ": empty frame (reference " + size_text(reference) +
                                                 ", test " + size_text(test) + "); pass decoded frames");
  }
  if (!same_size(reference, test)) {
    throw Error(ErrorCode::mismatch, std::string(what) + ": frame sizes differ (reference " + size_text(reference) +
                                         ", test " + size_text(test) +
                                         "); resize the test frame to the reference size first");
  }
}

PlaneError plane_error_unchecked(const Frame& reference, const Frame& test, int plane) {
  PlaneError e;
  const int w = reference.plane_width(plane);
  const int h = reference.plane_height(plane);
  for (int y = 0; y < h; ++y) {
    const uint8_t* __restrict a = reference.row(plane, y);
    const uint8_t* __restrict b = test.row(plane, y);
    // A row of at most 16384 samples of at most 255^2 fits in 32 bits.
    uint32_t row_sum = 0;
    for (int x = 0; x < w; ++x) {
      const int d = a[x] - b[x];
      row_sum += static_cast<uint32_t>(d * d);
    }
    e.sse += row_sum;
  }
  e.samples = static_cast<uint64_t>(w) * h;
  return e;
}

// Normalised Gaussian of `size` taps (size <= 11), sigma 1.5, centred.
std::vector<float> gaussian_window(int size) {
  std::vector<double> w(static_cast<size_t>(size));
  const double centre = (size - 1) / 2.0;
  double total = 0.0;
  for (int i = 0; i < size; ++i) {
    const double d = i - centre;
    w[i] = std::exp(-d * d / (2.0 * 1.5 * 1.5));
    total += w[i];
  }
  std::vector<float> out(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i) out[i] = static_cast<float>(w[i] / total);
  return out;
}

}  // namespace

double psnr_from_sse(uint64_t sse, uint64_t samples) {
  if (samples == 0 || sse == 0) return kPsnrCapDb;
  const double psnr = 10.0 * std::log10(static_cast<double>(samples) * 255.0 * 255.0 / static_cast<double>(sse));
  return std::min(psnr, kPsnrCapDb);
}

PlaneError plane_error(const Frame& reference, const Frame& test, int plane) {
  check_same_size(reference, test, "plane_error");
  NS_ASSERT(plane >= 0 && plane < kPlaneCount);
  return plane_error_unchecked(reference, test, plane);
}

double psnr_pooled(const Frame& reference, const Frame& test) {
  check_same_size(reference, test, "psnr");
  uint64_t sse = 0;
  uint64_t samples = 0;
  for (int p = 0; p < kPlaneCount; ++p) {
    const PlaneError e = plane_error_unchecked(reference, test, p);
    sse += e.sse;
    samples += e.samples;
  }
  return psnr_from_sse(sse, samples);
}

namespace {

// The inner loops, as separate functions so that the no-alias promise holds and they vectorise
// without run-time overlap checks.
[[gnu::noinline]] void scale_row(float* __restrict out, const float* __restrict a, float w, int width) {
  for (int x = 0; x < width; ++x) out[x] = w * a[x];
}
[[gnu::noinline]] void add_pair(float* __restrict out, const float* __restrict a, const float* __restrict b, float w,
                                int width) {
  for (int x = 0; x < width; ++x) out[x] += w * (a[x] + b[x]);
}

// out[x] = sum_k g[k] * rows[k][x + shift * k] for a symmetric window g (g[k] == g[n - 1 - k]): the
// mirrored taps are added first, halving the multiplies. `shift` is 0 for the vertical pass (rows are
// different lines) and 1 for the horizontal pass (rows all point at the same line).
void filter_symmetric(const float* const* rows, int shift, const std::vector<float>& g, float* out, int width) {
  const int n = static_cast<int>(g.size());
  const int pairs = n / 2;
  if (n & 1) {
    scale_row(out, rows[pairs] + shift * pairs, g[pairs], width);
  } else {
    std::fill(out, out + width, 0.0f);
  }
  for (int k = 0; k < pairs; ++k) {
    add_pair(out, rows[k] + shift * k, rows[n - 1 - k] + shift * (n - 1 - k), g[k], width);
  }
}

}  // namespace

double ssim_y(const Frame& reference, const Frame& test) {
  check_same_size(reference, test, "ssim");
  const int w = reference.width();
  const int h = reference.height();
  const int win_w = std::min(11, w);
  const int win_h = std::min(11, h);
  const std::vector<float> gx = gaussian_window(win_w);
  const std::vector<float> gy = gaussian_window(win_h);
  const int out_w = w - win_w + 1;
  const int out_h = h - win_h + 1;
  constexpr float c1 = (0.01f * 255.0f) * (0.01f * 255.0f);
  constexpr float c2 = (0.03f * 255.0f) * (0.03f * 255.0f);

  // Four moments suffice: x, y, x^2 + y^2 (only the sum of the variances is used) and xy, of samples
  // centred on 128. Source rows are converted once into a ring of win_h rows (row r in slot r % win_h).
  constexpr int kMoments = 4;
  const size_t line = static_cast<size_t>(w);
  std::vector<float> ring(line * kMoments * win_h);
  auto load_row = [&](int r) {
    const uint8_t* __restrict a = reference.row(0, r);
    const uint8_t* __restrict b = test.row(0, r);
    float* __restrict base = ring.data() + line * kMoments * (r % win_h);
    float* __restrict mx = base;
    float* __restrict my = base + line;
    float* __restrict mss = base + 2 * line;
    float* __restrict mxy = base + 3 * line;
    for (int x = 0; x < w; ++x) {
      const float p = static_cast<float>(a[x] - 128);
      const float q = static_cast<float>(b[x] - 128);
      mx[x] = p;
      my[x] = q;
      mss[x] = p * p + q * q;
      mxy[x] = p * q;
    }
  };
  std::vector<float> vertical(line * kMoments);
  std::vector<float> horizontal(static_cast<size_t>(out_w) * kMoments);
  std::vector<float> row_ssim(static_cast<size_t>(out_w));
  std::vector<const float*> taps(static_cast<size_t>(std::max(win_w, win_h)));
  double total = 0.0;
  for (int r = 0; r < win_h - 1; ++r) load_row(r);
  for (int oy = 0; oy < out_h; ++oy) {
    load_row(oy + win_h - 1);  // replaces row oy - 1, which no output row needs any more
    for (int m = 0; m < kMoments; ++m) {
      for (int k = 0; k < win_h; ++k) taps[k] = ring.data() + line * (kMoments * ((oy + k) % win_h) + m);
      filter_symmetric(taps.data(), 0, gy, vertical.data() + line * m, w);
      for (int k = 0; k < win_w; ++k) taps[k] = vertical.data() + line * m;
      filter_symmetric(taps.data(), 1, gx, horizontal.data() + static_cast<size_t>(out_w) * m, out_w);
    }
    const float* __restrict mx = horizontal.data();
    const float* __restrict my = mx + out_w;
    const float* __restrict mss = my + out_w;
    const float* __restrict mxy = mss + out_w;
    float* __restrict out = row_ssim.data();
    for (int x = 0; x < out_w; ++x) {
      const float var_sum = mss[x] - (mx[x] * mx[x] + my[x] * my[x]);
      const float cov = mxy[x] - mx[x] * my[x];
      const float mu_x = mx[x] + 128.0f;
      const float mu_y = my[x] + 128.0f;
      out[x] = ((2.0f * mu_x * mu_y + c1) * (2.0f * cov + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_sum + c2));
    }
    double row_total = 0.0;
    for (int x = 0; x < out_w; ++x) row_total += out[x];
    total += row_total;
  }
  return total / (static_cast<double>(out_w) * out_h);
}

FrameQuality measure_quality(const Frame& reference, const Frame& test) {
  check_same_size(reference, test, "quality");
  FrameQuality q;
  PlaneError e[kPlaneCount];
  uint64_t sse = 0;
  uint64_t samples = 0;
  for (int p = 0; p < kPlaneCount; ++p) {
    e[p] = plane_error_unchecked(reference, test, p);
    sse += e[p].sse;
    samples += e[p].samples;
  }
  q.psnr = psnr_from_sse(sse, samples);
  q.psnr_y = psnr_from_sse(e[0].sse, e[0].samples);
  q.psnr_u = psnr_from_sse(e[1].sse, e[1].samples);
  q.psnr_v = psnr_from_sse(e[2].sse, e[2].samples);
  q.ssim_y = ssim_y(reference, test);
  return q;
}

}  // namespace ns::core
