// ns/sr/train (internal): the parts of training that need no libtorch: RGB crops and error (the bicubic
// baseline), and drawing batches of random patches. Kept out of the libtorch translation units so they compile
// fast and are tested on their own.
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
// The centre crop x crop (LR) of a pair, clipped to the image; crop 0 keeps the whole image.
void centre_crop(ImagePair& pair, int crop, int scale);
// PSNR of bicubic up-scaling of each LR against its HR, pooled over `pairs` (the validation baseline).
double bicubic_psnr(const std::vector<ImagePair>& pairs);
// The same for one LR image against its HR (any sizes: `lr` is up-scaled to the size of `hr`).
double bicubic_psnr(const core::RgbImage& lr, const core::RgbImage& hr);

// How fill_batch draws a patch.
struct PatchSampling {
  int detail_tries = 1;  // uniform LR positions drawn; the one with the most detail (sum of absolute neighbour
                         // differences of the HR patch) is kept
  bool augment = false;  // then one of the 8 flips and quarter turns, the same for LR and HR, uniformly
};

// Draws batch `step` of random patches: image i uniformly, then a position and orientation as `sampling` says;
// lr gets batch x 3 x patch x patch and hr batch x 3 x (scale patch)^2 floats in [0, 1]. Deterministic in
// (seed, step).
void fill_batch(const std::vector<ImagePair>& pairs, int scale, int patch, int batch, uint64_t seed, int64_t step,
                float* lr, float* hr, const PatchSampling& sampling = {});

// PSNR of `model`'s output (x255, clamped, rounded: ns::sr::Upscaler) on `pairs`, pooled; corrupt on NaN.
double model_psnr(const Model& model, const std::vector<ImagePair>& pairs);

// Throws invalid_argument unless every pair is scale-consistent and at least `patch` LR pixels each way.
void check_pairs(const std::vector<ImagePair>& pairs, int scale, int patch, const char* what);

}  // namespace ns::sr::train
