// ns/core: resize 8-bit planes and I420 frames: area (box average), bilinear and bicubic (Keys a = -0.5),
// any scale factor up or down; pixel centres aligned ((x + 0.5) * src / dst - 0.5), edges replicated.
// In: source and destination planes (pointers, strides, sizes). Out: the destination, fully written.
// Kernels: separable fixed-point resampler (resize.cpp) checked against the plain double-precision
// reference resize_plane_ref (resize_ref.cpp) in tests/resize_test.cpp; downscaling widens the bilinear
// and bicubic kernels by the scale factor (anti-aliased, like PIL).
// Thread-safety: free functions, reentrant. Errors: ns::Error invalid_argument on empty sizes.
#pragma once

#include <cstdint>

#include "ns/core/frame.h"

namespace ns::core {

enum class ResizeFilter { area, bilinear, bicubic };

const char* resize_filter_name(ResizeFilter filter);
ResizeFilter parse_resize_filter(const char* name);  // "area" | "bilinear" | "bicubic"; throws otherwise

void resize_plane(const uint8_t* src, int src_stride, int src_width, int src_height, uint8_t* dst, int dst_stride,
                  int dst_width, int dst_height, ResizeFilter filter);

// The plain reference: direct per-pixel evaluation in double precision. Slow; for tests and as the spec.
void resize_plane_ref(const uint8_t* src, int src_stride, int src_width, int src_height, uint8_t* dst,
                      int dst_stride, int dst_width, int dst_height, ResizeFilter filter);

// Resizes all three planes of `src` into `dst` (which gives the target size); copies pts and index.
void resize(const Frame& src, Frame& dst, ResizeFilter filter);
Frame resized(const Frame& src, int width, int height, ResizeFilter filter);
// Packed RGB: each channel resized as a plane with resize_plane.
RgbImage resized(const RgbImage& src, int width, int height, ResizeFilter filter);

}  // namespace ns::core
