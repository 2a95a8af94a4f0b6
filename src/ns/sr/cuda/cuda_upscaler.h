// ns/sr/cuda: EDSR on NVIDIA GPUs, fp16 NHWC, 3x3 convolutions as implicit GEMM on tensor cores.
// In: a ModelDesc, models of that architecture (one per stream, uploaded once), batches of LR I420 frames
// or planar fp32 RGB. Out: HR I420 frames, or the raw network output (what sr::Backend::run returns).
// Kernels: conv3x3.cu, colour.cu; checked against sr/ref and core::colour in tests/sr_cuda_test.cpp,
// timed in bench/gpu/. Thread-safety: one thread at a time per CudaUpscaler. Errors: ns::Error.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "ns/core/frame.h"
#include "ns/sr/sr.h"

namespace ns::sr {

// Number of CUDA devices; 0 when there is none or no usable driver (never throws).
int cuda_device_count();
// Whether CudaUpscaler can run `desc`: EDSR, channels a multiple of 16 up to 64, scale 2, 3 or 4.
bool cuda_supports(const ModelDesc& desc);

struct CudaUpscalerOptions {
  int device = 0;             // CUDA device index (--device)
  int max_batch = 1;          // frames per call at most
  bool use_graphs = true;     // replay the forward pass of each (batch, size) as a captured CUDA graph
  bool reference_kernels = false;  // plain direct convolutions instead of tensor cores (tests, debugging)
  bool planar_io = false;     // also allocate the pinned host staging that run_planar needs
};

// Every buffer is allocated in the constructor for max_batch frames of up to max_width x max_height
// (device: about 2 B x (16 + 3F) per LR pixel plus 2 B x F + 4 B x 3 per HR pixel, per frame); calls of
// that size then allocate nothing. Each call runs on one CUDA stream with pinned staging and returns when
// the results are in host memory.
class CudaUpscaler {
 public:
  CudaUpscaler(const ModelDesc& desc, int max_width, int max_height, const CudaUpscalerOptions& options = {});
  ~CudaUpscaler();
  CudaUpscaler(const CudaUpscaler&) = delete;
  CudaUpscaler& operator=(const CudaUpscaler&) = delete;

  const ModelDesc& desc() const;
  std::string device_name() const;

  // Uploads a model's weights (fp16) once; returns the id that selects it per frame. Throws mismatch
  // when its description differs from the upscaler's.
  int add_model(const Model& model);
  void remove_model(int id);

  // hr[i] = SR of lr[i] by model model_ids[i]; all lr frames of one size. Each hr frame is allocated at
  // scale x that size when empty, else must have it; pts and index are copied. Throws corrupt on NaN.
  void upscale(std::span<const core::Frame* const> lr, std::span<const int> model_ids,
               std::span<core::Frame* const> hr);
  // in[i]: 3 x height x width planar fp32 in host memory; out[i]: the raw network output, 3 x (scale
  // height) x (scale width). Needs options.planar_io.
  void run_planar(std::span<const float* const> in, std::span<const int> model_ids, std::span<float* const> out,
                  int width, int height);
  // The GPU work of upscale() (colour conversions and network) on whatever the device input buffer
  // holds, without host copies: for timing the network alone in benchmarks.
  void run_resident(std::span<const int> model_ids, int width, int height);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::sr
