// EDSR as a libtorch module, its weights to and from ns::sr::Model, and libtorch as a Backend.
#include <algorithm>
#include <cstring>
#include <string>

#include "ns/core/error.h"
#include "ns/sr/train/torch_model_impl.h"
#include "ns/sr/train/train.h"

namespace ns::sr::train {

namespace {

torch::nn::Conv2d conv3x3(int in, int out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(true));
}

}  // namespace

ResBlockImpl::ResBlockImpl(int channels) {
  body = register_module("body", torch::nn::Sequential(conv3x3(channels, channels), torch::nn::ReLU(),
                                                       conv3x3(channels, channels)));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x) { return x + body->forward(x); }

UpsamplerImpl::UpsamplerImpl(int channels, int scale) {
  torch::nn::Sequential stages;
  const int factor = scale == 4 ? 2 : scale;
  for (int stage = 0; stage < (scale == 4 ? 2 : 1); ++stage) {
    stages->push_back(conv3x3(channels, factor * factor * channels));
    stages->push_back(torch::nn::PixelShuffle(factor));
    stages->push_back(torch::nn::ReLU());
  }
  body = register_module("body", stages);
}

torch::Tensor UpsamplerImpl::forward(const torch::Tensor& x) { return body->forward(x); }

EdsrImpl::EdsrImpl(const ModelDesc& d) : desc(d) {
  validate_desc(desc);
  head = register_module("head", torch::nn::Sequential(conv3x3(3, desc.channels)));
  torch::nn::Sequential blocks;
  for (int i = 0; i < desc.blocks; ++i) blocks->push_back(ResBlock(desc.channels));
  blocks->push_back(conv3x3(desc.channels, desc.channels));
  body = register_module("body", blocks);
  tail = register_module("tail", torch::nn::Sequential(Upsampler(desc.channels, desc.scale), conv3x3(desc.channels, 3)));
}

torch::Tensor EdsrImpl::forward(const torch::Tensor& x) {
  const torch::Tensor h = head->forward(x);
  return tail->forward(body->forward(h) + h);
}

void load_weights(Edsr& module, const Model& model) {
  validate_model(model);
  if (!(model.desc == module->desc)) {
    throw Error(ErrorCode::mismatch, "train: weights of " + model.desc.name() + " given to a " +
                                         module->desc.name() + " module; use a model of the same shape");
  }
  torch::NoGradGuard no_grad;
  auto params = module->named_parameters(/*recurse=*/true);
  if (params.size() != model.tensors.size()) {
    throw Error(ErrorCode::internal, "train: the libtorch module has " + std::to_string(params.size()) +
                                         " parameters, the model " + std::to_string(model.tensors.size()));
  }
  for (auto& item : params) {
    const auto found = model.tensors.find(item.key());
    if (found == model.tensors.end()) {
      throw Error(ErrorCode::internal, "train: libtorch parameter " + item.key() + " has no tensor in the model");
    }
    const Tensor& t = found->second;
    torch::Tensor& p = item.value();
    if (p.sizes().vec() != t.shape) {
      throw Error(ErrorCode::internal, "train: libtorch parameter " + item.key() + " has another shape");
    }
    const torch::Tensor host = torch::from_blob(const_cast<float*>(t.data.data()), p.sizes(), torch::kFloat32);
    p.copy_(host);
  }
}

Edsr make_module(const Model& model) {
  Edsr module(model.desc);
  load_weights(module, model);
  return module;
}

Model to_model(Edsr& module) {
  Model model;
  model.desc = module->desc;
  torch::NoGradGuard no_grad;
  for (const auto& item : module->named_parameters(/*recurse=*/true)) {
    const torch::Tensor host = item.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    Tensor t;
    t.shape = host.sizes().vec();
    t.data.assign(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
    model.tensors.emplace(item.key(), std::move(t));
  }
  validate_model(model, "trained model");
  return model;
}

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name == "auto") {
    if (torch::cuda::is_available()) return torch::kCUDA;
    if (name == "auto") return torch::kCPU;
    throw Error(ErrorCode::unsupported, "train: --device cuda, but this libtorch (" + torch_version() +
                                            ") has no CUDA device; use --device cpu or a CUDA build of libtorch");
  }
  throw Error(ErrorCode::invalid_argument, "train: unknown device '" + name + "'; use auto, cpu or cuda");
}

torch::Tensor rgb_to_tensor(const core::RgbImage& image) {
  std::vector<float> planar(static_cast<size_t>(3) * image.width * image.height);
  rgb_to_planar(image, planar.data());
  return torch::from_blob(planar.data(), {1, 3, image.height, image.width}, torch::kFloat32).clone();
}

bool torch_has_cuda() { return torch::cuda::is_available(); }

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

// ---------------------------------------------------------------------------------------------------------
// libtorch as an inference backend
// ---------------------------------------------------------------------------------------------------------

namespace {

class TorchBackend final : public Backend {
 public:
  TorchBackend(const BackendOptions& options, torch::Device device) : options_(options), device_(device) {}
  std::string name() const override { return "libtorch"; }
  bool supports(const ModelDesc&) const override { return options_.precision == Precision::fp32; }
  void prepare(const Model& model, Shape) override {
    if (options_.threads > 0) torch::set_num_threads(options_.threads);
    module_ = make_module(model);
    module_->to(device_);
    module_->eval();
  }
  void run(const PlanarView& in, const PlanarView& out) override {
    torch::NoGradGuard no_grad;
    const torch::Tensor x = torch::from_blob(in.data, {1, 3, in.height, in.width}, torch::kFloat32).to(device_);
    const torch::Tensor y = module_->forward(x).to(torch::kCPU).contiguous();
    std::memcpy(out.data, y.data_ptr<float>(), sizeof(float) * y.numel());
  }

 private:
  BackendOptions options_;
  torch::Device device_;
  Edsr module_{nullptr};
};

}  // namespace

std::unique_ptr<Backend> create_torch_backend(const BackendOptions& options, const std::string& device) {
  return std::make_unique<TorchBackend>(options, resolve_device(device));
}

}  // namespace ns::sr::train
