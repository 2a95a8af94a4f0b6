// ns/core: BT.709 limited-range ("TV", studio swing) conversion between packed RGB and I420.
// RGB -> YUV averages each 2x2 block for chroma (odd edges replicate); YUV -> RGB up-samples chroma
// bilinearly with centred siting. Both round to nearest and clamp.
// Kernels: fixed-point versions checked against the double-precision *_ref functions (colour_ref.cpp)
// in tests/colour_test.cpp (|difference| <= 1).
// Thread-safety: free functions, reentrant. Errors: ns::Error mismatch when the sizes differ.
#pragma once

#include "ns/core/frame.h"

namespace ns::core {

// An empty `dst` (default-constructed) is allocated at the source size; otherwise the sizes must match.
// The same holds for i420_to_rgb and both *_ref functions.
void rgb_to_i420(const RgbImage& src, Frame& dst);
void i420_to_rgb(const Frame& src, RgbImage& dst);

void rgb_to_i420_ref(const RgbImage& src, Frame& dst);
void i420_to_rgb_ref(const Frame& src, RgbImage& dst);

}  // namespace ns::core
