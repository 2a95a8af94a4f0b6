// SR frontend: the backend registry, argument validation, and I420 <-> RGB <-> planar float conversion.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/sr/backends_impl.h"

namespace ns::sr {

const std::vector<BackendEntry>& backend_registry() {
  static const std::vector<BackendEntry> entries = {
#ifdef NS_WITH_CUDA
      {"cuda", 200, &cuda_available, &create_cuda_backend},  // fp16 only, so fp32 / bf16 requests skip it
#endif
      {"onednn", 100, &onednn_available, &create_onednn_backend},
      {"ref", 0, &ref_available, &create_ref_backend},  // the specification: always last
  };
  return entries;
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const BackendEntry& e : backend_registry()) names.push_back(e.name);
  return names;
}

std::unique_ptr<Backend> create_backend(const std::string& name, const ModelDesc& desc, const BackendOptions& options) {
  validate_desc(desc);
  bool known = name == "auto";
  for (const BackendEntry& e : backend_registry()) {
    if (name != "auto" && name != e.name) continue;
    known = true;
    if (!e.available(options.precision)) continue;
    std::unique_ptr<Backend> backend = e.create(options);
    if (backend->supports(desc)) return backend;
  }
  if (!known) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("sr: unknown backend '{}'; use auto or one of: {}", name, fmt::join(backend_names(), ", ")));
  }
  throw Error(ErrorCode::unsupported,
              fmt::format("sr: backend '{}' cannot run {} at {} on this machine; try another backend or --precision "
                          "fp32",
                          name, desc.name(), precision_name(options.precision)));
}

void rgb_to_planar(const core::RgbImage& src, float* dst) {
  const size_t plane = static_cast<size_t>(src.width) * src.height;
  for (int y = 0; y < src.height; ++y) {
    const uint8_t* row = src.row(y);
    const size_t base = static_cast<size_t>(y) * src.width;
    for (int x = 0; x < src.width; ++x)
      for (int c = 0; c < 3; ++c) dst[c * plane + base + x] = static_cast<float>(row[x * 3 + c]) / 255.0f;
  }
}

bool planar_to_rgb(const float* src, int width, int height, core::RgbImage& dst) {
  if (dst.width != width || dst.height != height) dst = core::RgbImage(width, height);
  const size_t plane = static_cast<size_t>(width) * height;
  bool finite = true;
  for (int y = 0; y < height; ++y) {
    uint8_t* row = dst.row(y);
    const size_t base = static_cast<size_t>(y) * width;
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = src[c * plane + base + x] * 255.0f;
        if (std::isnan(v)) finite = false;
        // Clamp, then round half to even (std::nearbyint in the default mode), as torch.round.
        row[x * 3 + c] = static_cast<uint8_t>(std::nearbyint(std::clamp(v, 0.0f, 255.0f)));
      }
  }
  return finite;
}

Upscaler::Upscaler(Model model, int max_width, int max_height, const UpscalerOptions& options)
    : model_(std::move(model)), max_{max_width, max_height} {
  validate_model(model_);
  if (max_width < 1 || max_height < 1) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("sr: maximum input size {}x{} is empty; give the LR frame size", max_width, max_height));
  }
  backend_ = create_backend(options.backend, model_.desc, options.backend_options);
  backend_->prepare(model_, max_);
  const size_t lr = static_cast<size_t>(max_width) * max_height;
  in_.resize(lr * 3);
  out_.resize(lr * 3 * model_.desc.scale * model_.desc.scale);
}

Upscaler::~Upscaler() = default;

std::string Upscaler::backend_name() const { return backend_->name(); }

void Upscaler::upscale(const core::RgbImage& lr, core::RgbImage& hr) {
  if (lr.width < 1 || lr.height < 1 || lr.width > max_.width || lr.height > max_.height) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("sr: input {}x{} is outside the prepared 1x1..{}x{}; create the Upscaler for the largest "
                            "frame size",
                            lr.width, lr.height, max_.width, max_.height));
  }
  const int s = model_.desc.scale;
  rgb_to_planar(lr, in_.data());
  backend_->run({in_.data(), 3, lr.width, lr.height}, {out_.data(), 3, lr.width * s, lr.height * s});
  backend_->synchronize();
  if (!planar_to_rgb(out_.data(), lr.width * s, lr.height * s, hr)) {
    throw Error(ErrorCode::corrupt, fmt::format("sr: {} produced NaN on backend {}; the model weights are damaged, "
                                                "re-export or retrain the model",
                                                model_.desc.name(), backend_->name()));
  }
}

void Upscaler::upscale(const core::Frame& lr, core::Frame& hr) {
  const int s = model_.desc.scale;
  if (lr.empty()) throw Error(ErrorCode::invalid_argument, "sr: the input frame is empty; pass a decoded frame");
  if (!hr.empty() && (hr.width() != lr.width() * s || hr.height() != lr.height() * s)) {
    throw Error(ErrorCode::mismatch, fmt::format("sr: output frame is {}x{}, x{} of {}x{} needs {}x{}; pass an empty "
                                                 "frame or one of the right size",
                                                 hr.width(), hr.height(), s, lr.width(), lr.height(), lr.width() * s,
                                                 lr.height() * s));
  }
  if (rgb_lr_.width != lr.width() || rgb_lr_.height != lr.height()) rgb_lr_ = core::RgbImage(lr.width(), lr.height());
  core::i420_to_rgb(lr, rgb_lr_);
  upscale(rgb_lr_, rgb_hr_);
  if (hr.empty()) hr = core::Frame(lr.width() * s, lr.height() * s);
  core::rgb_to_i420(rgb_hr_, hr);
  hr.pts = lr.pts;
  hr.index = lr.index;
}

}  // namespace ns::sr
