// Residual estimators of the anchor selector: coded bytes (reference §2.3) and coded bytes weighted by the
// quantiser step (ours); see anchor.h for the definitions and docs/anchors.md for the measurements.
#include <algorithm>
#include <array>
#include <cmath>

#include "ns/anchor/anchor.h"

namespace ns::anchor {

namespace {

constexpr double kVp9ReferenceStep = 32.0;   // VP9 AC step at base_q_idx 25
constexpr double kH264ReferenceStep = 16.0;  // H.264 QP 28

}  // namespace

const char* estimator_name(Estimator estimator) {
  switch (estimator) {
    case Estimator::bytes:
      return "bytes";
    case Estimator::quantiser:
      return "quantiser";
  }
  return "?";
}

namespace {

// VP9 8-bit AC quantiser step of base_q_idx: 4 at index 0, then about q + 7 up to index 96 (103), then growing
// 1.8 % per index up to ~1,800 at 255. Tabulated once (the selector weighs every coded frame of every stream).
double vp9_step(int q) {
  if (q <= 0) return 4.0;
  if (q <= 96) return q + 7.0;
  return 103.0 * std::exp(0.018 * (q - 96.0));
}

const std::array<double, 256>& vp9_steps() {
  static const std::array<double, 256> table = [] {
    std::array<double, 256> t{};
    for (int q = 0; q < 256; ++q) t[q] = vp9_step(q);
    return t;
  }();
  return table;
}

}  // namespace

double quantiser_step(const media::CodedFrame& frame) {
  if (frame.base_q_index < 0) return 0.0;
  if (frame.slice_type != 0) return 0.625 * std::exp2(frame.base_q_index / 6.0);  // H.264: doubles every 6 QP
  return vp9_steps()[std::min(frame.base_q_index, 255)];
}

double frame_weight(const media::CodedFrame& frame, Estimator estimator, double q_exponent) {
  const double bytes = frame.bytes;
  if (estimator == Estimator::bytes) return bytes;
  const double step = quantiser_step(frame);
  if (step <= 0) return bytes;
  const double reference = frame.slice_type != 0 ? kH264ReferenceStep : kVp9ReferenceStep;
  const double ratio = step / reference;
  return bytes * (q_exponent == 1.0 ? ratio : std::pow(ratio, q_exponent));
}

}  // namespace ns::anchor
