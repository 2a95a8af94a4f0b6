// sr/cuda: CudaUpscaler behind the sr::Backend interface (planar fp32 in host memory, one frame per run),
// registered as "cuda" for Precision::fp16 when a CUDA device is present.
#include <memory>

#include "ns/sr/backends_impl.h"
#include "ns/sr/cuda/cuda_upscaler.h"

namespace ns::sr {

namespace {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const BackendOptions& options) : options_(options) {}

  std::string name() const override { return "cuda"; }

  bool supports(const ModelDesc& desc) const override {
    return options_.precision == Precision::fp16 && cuda_supports(desc);
  }

  void prepare(const Model& model, Shape max) override {
    upscaler_ = std::make_unique<CudaUpscaler>(
        model.desc, max.width, max.height, CudaUpscalerOptions{.device = options_.device, .planar_io = true});
    model_id_ = upscaler_->add_model(model);
  }

  void run(const PlanarView& in, const PlanarView& out) override {
    const float* input = in.data;
    float* output = out.data;
    upscaler_->run_planar({&input, 1}, {&model_id_, 1}, {&output, 1}, in.width, in.height);
  }

 private:
  BackendOptions options_;
  std::unique_ptr<CudaUpscaler> upscaler_;
  int model_id_ = 0;
};

}  // namespace

bool cuda_available(Precision precision) { return precision == Precision::fp16 && cuda_device_count() > 0; }

std::unique_ptr<Backend> create_cuda_backend(const BackendOptions& options) {
  return std::make_unique<CudaBackend>(options);
}

}  // namespace ns::sr
