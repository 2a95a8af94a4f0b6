// ns/sr: EDSR super-resolution models (reference §5.1), safetensors weights, and the backends that run them.
// In: a Model (desc + fp32 tensors, PyTorch names) and LR images. Out: HR images, scale x the LR size.
// Backends by priority: cuda (fp16, when built), cpu/onednn, ref (plain loops, the specification); checked
// against ref in tests/sr_backend_test.cpp and sr_cuda_test.cpp, timed in bench/. Upscaler is the I420 frontend.
// Thread-safety: Model is a value; a Backend or Upscaler is used by one thread at a time. Errors: ns::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ns/core/frame.h"

namespace ns::sr {

// ---------------------------------------------------------------------------------------------------------
// Model description and weights
// ---------------------------------------------------------------------------------------------------------

// EDSR_B{blocks}_F{channels}_S{scale}: 3x3 convolutions with bias, no residual scaling (reference §5.1).
struct ModelDesc {
  std::string arch = "edsr";
  int blocks = 8;
  int channels = 32;
  int scale = 3;  // 2, 3 or 4

  std::string name() const;  // "EDSR_B8_F32_S3"
  bool operator==(const ModelDesc&) const = default;
};

// Throws invalid_argument when the description cannot be built (arch, blocks 1..256, channels 1..1024,
// scale 2, 3 or 4); `where` starts the message.
void validate_desc(const ModelDesc& desc, const std::string& where = "model");

// One parameter tensor as the PyTorch module names it. EDSR (data/dnn/model/edsr.py), in module order:
//   head.0.{weight,bias}                 conv 3 -> F
//   body.{i}.body.0.{weight,bias}        block i, first conv F -> F (then ReLU), i < blocks
//   body.{i}.body.2.{weight,bias}        block i, second conv F -> F (then + block input)
//   body.{blocks}.{weight,bias}          conv F -> F (then + head output)
//   tail.0.body.0.{weight,bias}          x3: conv F -> 9F, PixelShuffle(3), ReLU
//   tail.0.body.{0,3}.{weight,bias}      x2 (one stage) / x4 (two stages): conv F -> 4F, PixelShuffle(2), ReLU
//   tail.1.{weight,bias}                 conv F -> 3
// Weights are [out, in, 3, 3] (OIHW), biases [out].
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t elements() const;
};
std::vector<TensorSpec> model_tensors(const ModelDesc& desc);
int64_t parameter_count(const ModelDesc& desc);  // 61,203 for EDSR_B8_F16_S3, 242,211 for F32
// How far (in LR pixels) one output pixel depends on the input: a tile with this halo on every side
// that is not the image border gives exactly the whole-image result in its interior.
int receptive_radius(const ModelDesc& desc);

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};

struct Model {
  ModelDesc desc;
  std::map<std::string, Tensor> tensors;  // exactly model_tensors(desc), each of its shape

  const Tensor& tensor(const std::string& name) const;  // NS_ASSERTs that it exists
};

// Throws mismatch when a tensor is missing, extra, or of the wrong shape or size.
void validate_model(const Model& model, const std::string& where = "model");

// PyTorch's default Conv2d initialisation (uniform in +-1/sqrt(fan_in), weights and biases) from a seed:
// deterministic on every platform. For tests and benchmarks before a trained model exists.
Model random_model(const ModelDesc& desc, uint64_t seed);

// ---------------------------------------------------------------------------------------------------------
// safetensors: 8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}},
// "__metadata__" {arch, blocks, channels, scale} (strings), then the tensor bytes.
// Loading accepts F32, F16 and BF16 tensors (converted to fp32); a file without metadata (plain PyTorch
// save_file) has its description inferred from the tensor shapes. Errors name the file and the tensor:
// corrupt (damaged header, offsets out of range or overlapping, truncated data), unsupported (dtype,
// arch), mismatch (metadata vs tensors, missing / extra / misshapen tensors), not_found, io.
// ---------------------------------------------------------------------------------------------------------

enum class StorageType { f32, f16, bf16 };
StorageType storage_type_from_name(const std::string& name);  // "f32" | "f16" | "bf16"; else invalid_argument

Model load_model(const std::string& path);
Model parse_model(const uint8_t* data, size_t size, const std::string& where);
void save_model(const Model& model, const std::string& path, StorageType type = StorageType::f32);
std::vector<uint8_t> serialize_model(const Model& model, StorageType type = StorageType::f32);
// SHA-256 of serialize_model(model) as 64 hex digits: the model's identity on other machines (remote SR's bucket).
std::string model_hash(const Model& model);

// ---------------------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------------------

struct Shape {
  int width = 0;
  int height = 0;
};

// Planar float RGB, channel-major (C x H x W, no padding): what the network sees, values in [0, 1].
struct PlanarView {
  float* data = nullptr;
  int channels = 3;
  int width = 0;
  int height = 0;
};

enum class Precision { fp32, bf16, fp16 };  // fp16: the cuda backend
const char* precision_name(Precision p);
// "fp32" | "bf16" | "fp16", or "auto": the fastest precision at which `backend` ("auto": the backend "auto" would
// pick) runs models like `desc` here: fp16 on a GPU, bf16 where the CPU has avx512_bf16 (0.004 dB from fp32 on the
// sample), else fp32. Throws invalid_argument for other names.
Precision parse_precision(const std::string& name, const std::string& backend, const ModelDesc& desc);

struct BackendOptions {
  Precision precision = Precision::fp32;
  int threads = 0;  // 0 = the library's default (all cores); cpu/onednn sets its OpenMP team size
  int tile = 0;     // LR tile edge in pixels for tiled backends; 0 = the backend's default
  int device = 0;   // GPU index for GPU backends (cuda)
};

// One way of running a model. The frontend (Upscaler) validates; backends trust their arguments.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Whether this backend, with the options it was created with, can run models like `desc`.
  virtual bool supports(const ModelDesc& desc) const = 0;
  // Uploads / reorders the weights and allocates every buffer for inputs up to `max` (LR size).
  virtual void prepare(const Model& model, Shape max) = 0;
  // in: 3 x h x w with h, w <= the prepared max; out: 3 x (scale h) x (scale w). Output is the raw
  // network output (not clamped). Allocation-free for the prepared size.
  virtual void run(const PlanarView& in, const PlanarView& out) = 0;
  virtual void synchronize() {}  // CPU backends finish inside run()
};

struct BackendEntry {
  std::string name;  // "onednn", "ref"
  int priority;      // higher first; ref is always last
  bool (*available)(Precision precision);
  std::unique_ptr<Backend> (*create)(const BackendOptions& options);
};

// Compiled-in backends, highest priority first ("ref" last).
const std::vector<BackendEntry>& backend_registry();
std::vector<std::string> backend_names();
// "auto" picks the first registered backend that is available for the precision and supports `desc`.
// Throws invalid_argument for an unknown name, unsupported when it cannot run `desc` at that precision.
std::unique_ptr<Backend> create_backend(const std::string& name, const ModelDesc& desc,
                                        const BackendOptions& options = {});

// ---------------------------------------------------------------------------------------------------------
// Frontend: I420 or packed RGB in, the same out. RGB/255 -> network -> x255, clamp [0, 255], round half
// to even (reference §5.5); colour conversion is core::colour (BT.709 limited range).
// ---------------------------------------------------------------------------------------------------------

struct UpscalerOptions {
  std::string backend = "auto";
  BackendOptions backend_options;
};

class Upscaler {
 public:
  // Validates the model and prepares the backend for LR frames up to max_width x max_height.
  Upscaler(Model model, int max_width, int max_height, const UpscalerOptions& options = {});
  ~Upscaler();
  Upscaler(const Upscaler&) = delete;
  Upscaler& operator=(const Upscaler&) = delete;

  const ModelDesc& desc() const { return model_.desc; }
  std::string backend_name() const;

  // `hr` is allocated at scale x the LR size when empty, else must already have that size (mismatch).
  // pts and index are copied. Throws invalid_argument when lr exceeds the prepared size, corrupt when the
  // network produces NaN (a damaged model).
  void upscale(const core::Frame& lr, core::Frame& hr);
  void upscale(const core::RgbImage& lr, core::RgbImage& hr);

 private:
  Model model_;
  Shape max_;
  std::unique_ptr<Backend> backend_;
  core::RgbImage rgb_lr_;
  core::RgbImage rgb_hr_;
  std::vector<float> in_;
  std::vector<float> out_;
};

// Packed 8-bit RGB <-> planar float helpers used by the frontend (exposed for tests and benchmarks).
void rgb_to_planar(const core::RgbImage& src, float* dst);        // dst: 3 x h x w, value / 255
// value x 255, clamp, round half to even; returns false if any value is NaN (dst is then unspecified).
bool planar_to_rgb(const float* src, int width, int height, core::RgbImage& dst);

}  // namespace ns::sr
