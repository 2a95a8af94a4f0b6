// EDSR model description: tensor names and shapes as the PyTorch module (reference §5.1), random init.
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "ns/core/error.h"
#include "ns/sr/sr.h"

namespace ns::sr {

std::string ModelDesc::name() const {
  if (arch == "edsr") return fmt::format("EDSR_B{}_F{}_S{}", blocks, channels, scale);
  return fmt::format("{}_B{}_F{}_S{}", arch, blocks, channels, scale);
}

void validate_desc(const ModelDesc& desc, const std::string& where) {
  if (desc.arch != "edsr") {
    throw Error(ErrorCode::unsupported,
                fmt::format("{}: unknown architecture '{}'; only 'edsr' (reference §5.1) is implemented", where,
                            desc.arch));
  }
  if (desc.blocks < 1 || desc.blocks > 256 || desc.channels < 1 || desc.channels > 1024 ||
      (desc.scale != 2 && desc.scale != 3 && desc.scale != 4)) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("{}: cannot build {} (blocks {}, channels {}, scale {}); use blocks 1..256, "
                            "channels 1..1024 and scale 2, 3 or 4",
                            where, desc.name(), desc.blocks, desc.channels, desc.scale));
  }
}

int64_t TensorSpec::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

void add_conv(std::vector<TensorSpec>& out, const std::string& prefix, int64_t in, int64_t outc) {
  out.push_back({prefix + ".weight", {outc, in, 3, 3}});
  out.push_back({prefix + ".bias", {outc}});
}

int upsample_stages(int scale) { return scale == 4 ? 2 : 1; }

}  // namespace

std::vector<TensorSpec> model_tensors(const ModelDesc& desc) {
  validate_desc(desc);
  const int64_t f = desc.channels;
  std::vector<TensorSpec> out;
  add_conv(out, "head.0", 3, f);
  for (int i = 0; i < desc.blocks; ++i) {
    add_conv(out, fmt::format("body.{}.body.0", i), f, f);
    add_conv(out, fmt::format("body.{}.body.2", i), f, f);
  }
  add_conv(out, fmt::format("body.{}", desc.blocks), f, f);
  if (desc.scale == 3) {
    add_conv(out, "tail.0.body.0", f, 9 * f);
  } else {
    for (int s = 0; s < upsample_stages(desc.scale); ++s) add_conv(out, fmt::format("tail.0.body.{}", 3 * s), f, 4 * f);
  }
  add_conv(out, "tail.1", f, 3);
  return out;
}

int64_t parameter_count(const ModelDesc& desc) {
  int64_t n = 0;
  for (const TensorSpec& t : model_tensors(desc)) n += t.elements();
  return n;
}

int receptive_radius(const ModelDesc& desc) {
  // Every 3x3 convolution widens the dependency by one pixel of its own grid, which is at most one LR
  // pixel: head, 2 per block, body end, each upsampling conv, tail conv.
  return 1 + 2 * desc.blocks + 1 + upsample_stages(desc.scale) + 1;
}

const Tensor& Model::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  NS_ASSERT(it != tensors.end());
  return it->second;
}

void validate_model(const Model& model, const std::string& where) {
  validate_desc(model.desc, where);
  const std::vector<TensorSpec> specs = model_tensors(model.desc);
  for (const TensorSpec& spec : specs) {
    auto it = model.tensors.find(spec.name);
    if (it == model.tensors.end()) {
      throw Error(ErrorCode::mismatch, fmt::format("{}: tensor '{}' is missing ({} needs {} tensors); the weights do "
                                                   "not belong to this architecture",
                                                   where, spec.name, model.desc.name(), specs.size()));
    }
    if (it->second.shape != spec.shape || static_cast<int64_t>(it->second.data.size()) != spec.elements()) {
      throw Error(ErrorCode::mismatch,
                  fmt::format("{}: tensor '{}' has shape [{}] with {} values, {} needs [{}]; the weights belong to "
                              "another model size",
                              where, spec.name, fmt::join(it->second.shape, ", "), it->second.data.size(),
                              model.desc.name(), fmt::join(spec.shape, ", ")));
    }
  }
  if (model.tensors.size() != specs.size()) {
    for (const auto& [name, tensor] : model.tensors) {
      bool known = false;
      for (const TensorSpec& spec : specs) known = known || spec.name == name;
      if (!known) {
        throw Error(ErrorCode::mismatch, fmt::format("{}: unexpected tensor '{}' for {}; the weights belong to "
                                                     "another architecture",
                                                     where, name, model.desc.name()));
      }
    }
  }
}

Model random_model(const ModelDesc& desc, uint64_t seed) {
  Model model;
  model.desc = desc;
  std::mt19937_64 rng(seed);
  for (const TensorSpec& spec : model_tensors(desc)) {
    // fan_in of the conv this tensor belongs to: in_channels * 3 * 3 (bias shares its weight's bound).
    const bool is_weight = spec.shape.size() == 4;
    Tensor t;
    t.shape = spec.shape;
    t.data.resize(static_cast<size_t>(spec.elements()));
    int64_t fan_in = 0;
    if (is_weight) {
      fan_in = spec.shape[1] * 9;
    } else {
      const std::string weight_name = spec.name.substr(0, spec.name.size() - 4) + "weight";
      fan_in = model.tensors.at(weight_name).shape[1] * 9;
    }
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    for (float& v : t.data) {
      // 53 random bits -> [0, 1): identical on every standard library (no distribution objects).
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      v = static_cast<float>((2.0 * u - 1.0) * bound);
    }
    model.tensors.emplace(spec.name, std::move(t));
  }
  return model;
}

const char* precision_name(Precision p) {
  return p == Precision::bf16 ? "bf16" : (p == Precision::fp16 ? "fp16" : "fp32");
}

Precision parse_precision(const std::string& name, const std::string& backend, const ModelDesc& desc) {
  for (const Precision p : {Precision::fp32, Precision::bf16, Precision::fp16}) {
    if (name == precision_name(p)) return p;
  }
  if (name != "auto") {
    throw Error(ErrorCode::invalid_argument, "unknown precision '" + name + "'; use auto, fp32, bf16 or fp16");
  }
  for (const BackendEntry& entry : backend_registry()) {  // highest priority first, as "auto" picks backends
    if (backend != "auto" && entry.name != backend) continue;
    for (const Precision p : {Precision::fp16, Precision::bf16, Precision::fp32}) {
      if (entry.available(p) && entry.create({.precision = p})->supports(desc)) return p;
    }
  }
  return Precision::fp32;
}

}  // namespace ns::sr
