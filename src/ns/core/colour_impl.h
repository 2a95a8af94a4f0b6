// ns/core internal: argument checks shared by the fixed-point colour conversions and their references.
#pragma once

#include "ns/core/frame.h"

namespace ns::core {

// Allocates an empty destination at the source size; throws mismatch when a given one differs.
void prepare_i420_destination(const RgbImage& src, Frame& dst);
// Also throws invalid_argument for an empty source frame.
void prepare_rgb_destination(const Frame& src, RgbImage& dst);

}  // namespace ns::core
