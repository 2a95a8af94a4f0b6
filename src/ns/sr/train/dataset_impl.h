// ns/sr/train (internal): the parts of training that need no libtorch: RGB resizing and error, and drawing
// batches of random patches. Kept out of the libtorch translation units so they compile fast and are tested
// on their own.
#pragma once

#include <cstdint>
#include <vector>

#include "ns/core/frame.h"
#include "ns/core/resize.h"
#include "ns/sr/train/train.h"

namespace ns::sr::train {

// The top-left width x height part.
core::RgbImage crop_rgb(const core::RgbImage& src, int x, int y, int width, int height);
// Sum of squared differences over every sample (same sizes, NS_ASSERTed).
uint64_t rgb_sse(const core::RgbImage& a, const core::RgbImage& b);
// PSNR of bicubic up-scaling of each LR against its HR, pooled over `pairs` (the validation baseline).
double bicubic_psnr(const std::vector<ImagePair>& pairs);

// Draws batch `step` of random patches: image i uniformly, then a uniform LR position; lr gets
// batch x 3 x patch x patch and hr batch x 3 x (scale patch)^2 floats in [0, 1]. Deterministic in (seed, step).
void fill_batch(const std::vector<ImagePair>& pairs, int scale, int patch, int batch, uint64_t seed, int64_t step,
                float* lr, float* hr);

// Throws invalid_argument unless every pair is scale-consistent and at least `patch` LR pixels each way.
void check_pairs(const std::vector<ImagePair>& pairs, int scale, int patch, const char* what);

}  // namespace ns::sr::train
