// Film grain (SampleContent::grain) and low light (low_light) on rendered rows. The noise is a hash of (seed,
// frame, pixel) rather than a random stream, so frames are deterministic by seed and any split of a frame into
// row bands (render threads) gives the same pixels.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "ns/eval/sample.h"
#include "ns/eval/scene_impl.h"

namespace ns::eval {

namespace {

// Film grain, in RGB levels (0..255): the same value on the three channels (luma), strongest in the mid-tones,
// in grains about two pixels wide; plus weaker independent noise per channel (chroma).
constexpr float kGrainLuma = 5.0f;    // standard deviation at mid-grey; 0.55 of it at black and white
constexpr float kGrainChroma = 1.5f;  // standard deviation per channel
// Low light: about 3.6 stops under-exposed, the darkest values crushed to black, then sensor noise, independent
// per channel (so mostly colour noise), of variance read^2 + shot * level.
constexpr double kLowLightGain = 0.08;  // on linear light
constexpr double kLowLightBlack = 0.02;
constexpr float kReadNoise = 3.0f;
constexpr float kShotNoise = 0.3f;

uint64_t mix64(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t frame_key(uint32_t seed, int64_t index) {
  return mix64(mix64(seed + 0x9e3779b97f4a7c15ull) + static_cast<uint64_t>(index));
}

// One hash per pixel and plane (0: luma grain, 1: per-channel noise).
uint64_t pixel_hash(uint64_t key, int x, int y, uint64_t plane) {
  return mix64(key ^ (plane << 60 | static_cast<uint64_t>(y) << 30 | static_cast<uint64_t>(x)));
}

// Unit variance, near Gaussian: the sum of four 16-bit uniforms, centred.
float unit_gauss(uint64_t h) {
  const uint64_t sum = (h & 0xffff) + (h >> 16 & 0xffff) + (h >> 32 & 0xffff) + (h >> 48);
  return (static_cast<float>(sum) / 65536.0f - 2.0f) * 1.7320508f;
}

// Three independent values of unit variance (triangular: each the sum of two 10-bit uniforms).
std::array<float, 3> unit_triple(uint64_t h) {
  std::array<float, 3> v{};
  for (int c = 0; c < 3; ++c) {
    const uint64_t u = (h >> (20 * c) & 0x3ff) + (h >> (20 * c + 10) & 0x3ff);
    v[static_cast<size_t>(c)] = (static_cast<float>(u) / 1024.0f - 1.0f) * 2.4494897f;
  }
  return v;
}

uint8_t to_level(float v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0l, 255l)); }

void add_grain(uint64_t key, core::RgbImage& out, int y0, int y1) {
  const int w = out.width;
  std::vector<float> row(static_cast<size_t>(w) + 1);
  std::vector<float> below(static_cast<size_t>(w) + 1);
  const auto fill = [&](std::vector<float>& n, int y) {
    for (int x = 0; x <= w; ++x) n[static_cast<size_t>(x)] = unit_gauss(pixel_hash(key, x, y, 0));
  };
  fill(row, y0);
  for (int y = y0; y < y1; ++y) {
    fill(below, y + 1);
    uint8_t* p = out.row(y);
    for (int x = 0; x < w; ++x, p += 3) {
      const auto i = static_cast<size_t>(x);
      const float grain = (row[i] + row[i + 1] + below[i] + below[i + 1]) * 0.5f;  // 2x2 sum: unit variance
      const float luma = (0.2126f * p[0] + 0.7152f * p[1] + 0.0722f * p[2]) / 255.0f;
      const float strength = kGrainLuma * (0.55f + 1.8f * luma * (1 - luma));
      const std::array<float, 3> chroma = unit_triple(pixel_hash(key, x, y, 1));
      for (int c = 0; c < 3; ++c) {
        p[c] = to_level(p[c] + grain * strength + chroma[static_cast<size_t>(c)] * kGrainChroma);
      }
    }
    row.swap(below);
  }
}

struct LowLightCurve {
  std::array<float, 256> level{};  // output level for each input level
  std::array<float, 256> noise{};  // noise standard deviation at each output level
};

const LowLightCurve& low_light_curve() {
  static const LowLightCurve curve = [] {
    LowLightCurve c;
    for (int i = 0; i < 256; ++i) {
      const double linear = std::pow(i / 255.0, 2.2) * kLowLightGain;
      const double shown = std::max(0.0, (std::pow(linear, 1 / 2.2) - kLowLightBlack) / (1 - kLowLightBlack));
      c.level[static_cast<size_t>(i)] = static_cast<float>(255 * shown);
      c.noise[static_cast<size_t>(i)] = std::sqrt(kReadNoise * kReadNoise + kShotNoise * static_cast<float>(i));
    }
    return c;
  }();
  return curve;
}

void add_low_light(uint64_t key, core::RgbImage& out, int y0, int y1) {
  const LowLightCurve& curve = low_light_curve();
  for (int y = y0; y < y1; ++y) {
    uint8_t* p = out.row(y);
    for (int x = 0; x < out.width; ++x, p += 3) {
      const std::array<float, 3> n = unit_triple(pixel_hash(key, x, y, 1));
      for (int c = 0; c < 3; ++c) {
        const float level = curve.level[p[c]];
        p[c] = to_level(level + n[static_cast<size_t>(c)] * curve.noise[static_cast<size_t>(level)]);
      }
    }
  }
}

}  // namespace

void detail::apply_content_effect(const SampleScene::Impl& s, int64_t index, core::RgbImage& out, int y0, int y1) {
  switch (s.options.content) {
    case SampleContent::grain:
      return add_grain(frame_key(s.options.seed, index), out, y0, y1);
    case SampleContent::low_light:
      return add_low_light(frame_key(s.options.seed, index), out, y0, y1);
    case SampleContent::sample:
    case SampleContent::pan:
    case SampleContent::zoom:
    case SampleContent::still:
    case SampleContent::fast:
      return;
  }
}

}  // namespace ns::eval
