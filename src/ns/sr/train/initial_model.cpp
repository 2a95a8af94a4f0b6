// A starting point for training that already up-scales: EDSR weights with which the network computes
// bilinear up-scaling, plus random features that do not yet reach the output.
//
// Why: the original pre-trains for 100,000 steps of 64 patches on a GPU (reference §5.2); from PyTorch's random
// initialisation a CPU budget of a few thousand small steps does not even reach bicubic quality. The network
// (unchanged) can carry the image itself: the input is non-negative, so it passes the ReLUs untouched.
//   head.0: channels 0-2 copy R, G, B; the other channels keep their random weights.
//   body: the second conv of every block and the closing conv are zero, so the body adds nothing yet.
//   tail.0 (per stage, factor f): sub-pixel (i, j) of channel c = bilinear mix of c's 3x3 neighbourhood at
//     offset ((i + 0.5) / f - 0.5, (j + 0.5) / f - 0.5); nothing from the random channels.
//   tail.1: output c = channel c; random channels weigh zero.
// Gradients reach every weight after the first step, as with zero-initialised residual branches.
#include <algorithm>
#include <cmath>
#include <string>

#include "ns/sr/train/train.h"

namespace ns::sr::train {

namespace {

// Weight of tap k (0, 1, 2 for -1, 0, +1) in bilinear interpolation at `offset` in (-0.5, 0.5) LR pixels.
float bilinear_tap(double offset, int k) {
  if (k == 0) return static_cast<float>(std::max(0.0, -offset));
  if (k == 1) return static_cast<float>(1 - std::abs(offset));
  return static_cast<float>(std::max(0.0, offset));
}

void fill(Tensor& t, float value) { std::fill(t.data.begin(), t.data.end(), value); }

// Weight [out, in, 3, 3] at (o, i, ky, kx).
float& at(Tensor& t, int64_t o, int64_t i, int ky, int kx) {
  return t.data[((o * t.shape[1] + i) * 3 + ky) * 3 + kx];
}

void set_upsampling_stage(Model& model, const std::string& conv, int factor) {
  Tensor& w = model.tensors.at(conv + ".weight");
  Tensor& b = model.tensors.at(conv + ".bias");
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < factor; ++i) {
      for (int j = 0; j < factor; ++j) {
        const int64_t o = c * factor * factor + i * factor + j;  // PixelShuffle's channel order
        for (int64_t in = 0; in < w.shape[1]; ++in) {
          for (int ky = 0; ky < 3; ++ky) {
            for (int kx = 0; kx < 3; ++kx) at(w, o, in, ky, kx) = 0;
          }
        }
        for (int ky = 0; ky < 3; ++ky) {
          for (int kx = 0; kx < 3; ++kx) {
            at(w, o, c, ky, kx) = bilinear_tap((i + 0.5) / factor - 0.5, ky) * bilinear_tap((j + 0.5) / factor - 0.5, kx);
          }
        }
        b.data[o] = 0;
      }
    }
  }
}

}  // namespace

Model bilinear_start_model(const ModelDesc& desc, uint64_t seed) {
  Model model = random_model(desc, seed);
  Tensor& head = model.tensors.at("head.0.weight");
  for (int c = 0; c < 3; ++c) {
    for (int64_t in = 0; in < 3; ++in) {
      for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx) at(head, c, in, ky, kx) = (in == c && ky == 1 && kx == 1) ? 1.0f : 0.0f;
      }
    }
    model.tensors.at("head.0.bias").data[c] = 0;
  }
  for (int i = 0; i < desc.blocks; ++i) {
    fill(model.tensors.at("body." + std::to_string(i) + ".body.2.weight"), 0);
    fill(model.tensors.at("body." + std::to_string(i) + ".body.2.bias"), 0);
  }
  fill(model.tensors.at("body." + std::to_string(desc.blocks) + ".weight"), 0);
  fill(model.tensors.at("body." + std::to_string(desc.blocks) + ".bias"), 0);
  if (desc.scale == 4) {
    set_upsampling_stage(model, "tail.0.body.0", 2);
    set_upsampling_stage(model, "tail.0.body.3", 2);
  } else {
    set_upsampling_stage(model, "tail.0.body.0", desc.scale);
  }
  Tensor& last = model.tensors.at("tail.1.weight");
  fill(last, 0);
  fill(model.tensors.at("tail.1.bias"), 0);
  for (int c = 0; c < 3; ++c) at(last, c, c, 1, 1) = 1;
  return model;
}

}  // namespace ns::sr::train
