// ns/sr batching: one SR worker serving many streams. Each stream's model is prepared once (add_model) and stays
// resident, so switching from one stream's weights to another's rebuilds nothing; upscale() takes the LR frames of
// several streams at once. On the cuda backend the frames of one architecture and size go through the network as one
// batch (CudaUpscaler, per-frame weights); CPU backends run them one after another on each model's own prepared backend
// (oneDNN already spreads one frame over every core, so batching there would only add latency).
// Thread-safety: one thread at a time. Errors: ns::Error (as Upscaler; invalid_argument for an unknown model id).
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ns/core/frame.h"
#include "ns/sr/sr.h"

namespace ns::sr {

// Frames per network call worth batching on `backend` ("auto" included) on this machine: 8 on a GPU, else 1.
int default_max_batch(const std::string& backend);

class BatchUpscaler {
 public:
  // options.backend and backend_options.threads / device apply to every model; the precision is given per model.
  // max_batch: frames per network call at most on batching backends (>= 1).
  BatchUpscaler(const UpscalerOptions& options, int max_batch);
  ~BatchUpscaler();
  BatchUpscaler(const BatchUpscaler&) = delete;
  BatchUpscaler& operator=(const BatchUpscaler&) = delete;

  // Prepares `model` at `precision` for LR frames up to max_width x max_height; returns the id that selects it.
  int add_model(const Model& model, int max_width, int max_height, Precision precision);
  void remove_model(int id);
  std::string backend_name(int id) const;

  struct Job {
    int model = 0;                  // an id from add_model
    const core::Frame* lr = nullptr;
    core::Frame* hr = nullptr;      // allocated when empty, else must be scale x the LR size
  };
  // Every job's hr = SR of its lr by its model. Validates every job before running any.
  void upscale(std::span<const Job> jobs);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::sr
