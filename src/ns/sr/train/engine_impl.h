// ns/sr/train (internal): a training engine runs one optimiser step of EDSR on a batch: forward, L1 loss,
// backward, Adam. Two engines: "onednn" (our own forward and backward on oneDNN's convolution primitives, CPU)
// and "torch" (libtorch's autograd, CPU or CUDA; built with NS_WITH_TORCH). The training loop (trainer.cpp)
// draws the batches, validates and checkpoints; it is the same for both, so a run may be resumed on the other.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ns/sr/sr.h"
#include "ns/sr/train/train.h"

namespace ns::sr::train {

// Adam's state for one parameter tensor (PyTorch's names: exp_avg, exp_avg_sq), same size as the tensor.
struct AdamMoments {
  std::vector<float> exp_avg;
  std::vector<float> exp_avg_sq;
};

// What a checkpoint holds besides the weights: the step count and Adam's moments by tensor name.
struct OptimizerState {
  int64_t step = 0;  // Adam's step count (bias correction); the number of steps taken
  std::map<std::string, AdamMoments> moments;
};

class TrainEngine {
 public:
  virtual ~TrainEngine() = default;
  virtual std::string name() const = 0;    // "onednn" | "onednn-bf16" | "torch"
  virtual std::string device() const = 0;  // "cpu" | "cuda"
  // One Adam step on a batch as fill_batch draws it (N x 3 x patch x patch LR, N x 3 x (s patch)^2 HR, planar
  // floats in [0, 1]) at this learning rate; returns the batch's mean L1 loss (before the update).
  virtual double step(const float* lr, const float* hr, double learning_rate) = 0;
  // Gradients of the last step's loss by tensor name, each the size of its tensor.
  virtual std::map<std::string, std::vector<float>> gradients() const = 0;
  virtual Model model() const = 0;                                // the current weights
  virtual OptimizerState optimizer_state() const = 0;
  virtual void restore(const Model& model, const OptimizerState& state) = 0;  // resume
};

// The engine options.engine names ("auto": torch when it runs on a CUDA device, else onednn), for `model`
// and batches of options.batch x options.patch. Throws unsupported for "torch" without libtorch.
std::unique_ptr<TrainEngine> create_engine(const Model& model, const TrainOptions& options);
std::unique_ptr<TrainEngine> create_onednn_engine(const Model& model, const TrainOptions& options);
#ifdef NS_WITH_TORCH
std::unique_ptr<TrainEngine> create_torch_engine(const Model& model, const TrainOptions& options);
#endif

// Adam as PyTorch 1.13 computes it (no weight decay, not amsgrad), on one tensor; `step` counts from 1.
void adam_update(std::vector<float>& param, const std::vector<float>& grad, AdamMoments& moments, int64_t step,
                 double learning_rate);

}  // namespace ns::sr::train
