// ns/sr/train (internal): EDSR as a libtorch module whose parameter names are the PyTorch module's
// (data/dnn/model/edsr.py; listed in ns/sr/sr.h model_tensors), so weights move between it and ns::sr::Model
// by name. Only the translation units that need libtorch include this header (it is slow to compile).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "ns/sr/sr.h"
#include "ns/sr/train/train.h"

namespace ns::sr::train {

// x + conv(relu(conv(x))): "body.{i}.body.{0,2}".
struct ResBlockImpl : torch::nn::Module {
  explicit ResBlockImpl(int channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential body;
};
TORCH_MODULE(ResBlock);

// conv F -> s^2 F, PixelShuffle(s), ReLU, once for x2 and x3, twice (s = 2) for x4: "tail.0.body.{0,3}".
struct UpsamplerImpl : torch::nn::Module {
  UpsamplerImpl(int channels, int scale);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential body;
};
TORCH_MODULE(Upsampler);

struct EdsrImpl : torch::nn::Module {
  explicit EdsrImpl(const ModelDesc& desc);
  torch::Tensor forward(const torch::Tensor& x);  // N x 3 x H x W in [0, 1] -> N x 3 x sH x sW
  ModelDesc desc;
  torch::nn::Sequential head, body, tail;
};
TORCH_MODULE(Edsr);

// Builds the module for `model.desc` with its weights (checked by name and shape: mismatch).
Edsr make_module(const Model& model);
// Copies `model`'s weights into an existing module of the same description.
void load_weights(Edsr& module, const Model& model);
// The module's weights as an ns::sr::Model (on the host, fp32).
Model to_model(Edsr& module);

// "auto" -> CUDA when available, else CPU; "cuda" without CUDA -> unsupported.
torch::Device resolve_device(const std::string& name);

// Packed 8-bit RGB <-> 1 x 3 x H x W float in [0, 1] (host tensors).
torch::Tensor rgb_to_tensor(const core::RgbImage& image);

}  // namespace ns::sr::train
