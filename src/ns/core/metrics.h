// ns/core: quality metrics between a reference and a test I420 frame of the same size.
// PSNR pooled over Y, U and V exactly as reference §7.6: 10*log10(samples * 255^2 / SSE) with SSE and
// sample counts summed over the three planes, capped at 100 dB; also per plane. SSIM on Y: Gaussian
// 11x11 window, sigma 1.5, K1 = 0.01, K2 = 0.03, over the valid region (Wang et al. 2004).
// Thread-safety: free functions, reentrant.
// Errors: ns::Error mismatch when the sizes differ (never a silent misalignment).
#pragma once

#include <cstdint>

#include "ns/core/frame.h"

namespace ns::core {

inline constexpr double kPsnrCapDb = 100.0;

struct PlaneError {
  uint64_t sse = 0;
  uint64_t samples = 0;
};

struct FrameQuality {
  double psnr = 0;  // pooled over Y, U, V
  double psnr_y = 0;
  double psnr_u = 0;
  double psnr_v = 0;
  double ssim_y = 0;
};

double psnr_from_sse(uint64_t sse, uint64_t samples);  // capped at kPsnrCapDb; 0 samples -> cap
PlaneError plane_error(const Frame& reference, const Frame& test, int plane);
double psnr_pooled(const Frame& reference, const Frame& test);
// Mean SSIM over the positions where the window lies inside the image; an image smaller than 11 on an
// axis uses a window as long as the image on that axis (the Gaussian truncated and renormalised).
// Computed in single precision: within about 1e-5 of a double-precision evaluation.
double ssim_y(const Frame& reference, const Frame& test);
FrameQuality measure_quality(const Frame& reference, const Frame& test);

}  // namespace ns::core
