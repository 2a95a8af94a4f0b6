// ns/core: the fixed-point BT.709 limited-range coefficients (16 fractional bits) of core::colour, shared
// with the GPU conversion so that both round identically.
// In: nothing. Out: constexpr int32 constants. Users: core/colour.cpp, sr/cuda/colour.cu; checked in
// tests/colour_test.cpp and tests/sr_cuda_test.cpp. Thread-safety: constants only. Errors: none.
#pragma once

#include <cstdint>

namespace ns::core::colour_fixed {

constexpr int kBits = 16;
constexpr int32_t fixed(double v) { return static_cast<int32_t>(v * (1 << kBits) + (v < 0 ? -0.5 : 0.5)); }

constexpr double kKr = 0.2126;
constexpr double kKg = 0.7152;
constexpr double kKb = 0.0722;
constexpr double kLumaScale = 219.0 / 255.0;
constexpr double kCbScale = 224.0 / (1.8556 * 255.0);
constexpr double kCrScale = 224.0 / (1.5748 * 255.0);

// RGB -> Y (scaled luma).
constexpr int32_t kYr = fixed(kKr * kLumaScale);
constexpr int32_t kYg = fixed(kKg * kLumaScale);
constexpr int32_t kYb = fixed(kKb * kLumaScale);
// RGB -> Cb, Cr: (B - Y') and (R - Y') expanded over R, G, B.
constexpr int32_t kCbR = fixed(-kKr * kCbScale);
constexpr int32_t kCbG = fixed(-kKg * kCbScale);
constexpr int32_t kCbB = fixed((1.0 - kKb) * kCbScale);
constexpr int32_t kCrR = fixed((1.0 - kKr) * kCrScale);
constexpr int32_t kCrG = fixed(-kKg * kCrScale);
constexpr int32_t kCrB = fixed(-kKb * kCrScale);
// Y, Cb, Cr -> RGB.
constexpr int32_t kInvY = fixed(255.0 / 219.0);
constexpr int32_t kInvRCr = fixed(1.5748 * 255.0 / 224.0);
constexpr int32_t kInvGCb = fixed(kKb * 1.8556 / kKg * 255.0 / 224.0);
constexpr int32_t kInvGCr = fixed(kKr * 1.5748 / kKg * 255.0 / 224.0);
constexpr int32_t kInvBCb = fixed(1.8556 * 255.0 / 224.0);

}  // namespace ns::core::colour_fixed
