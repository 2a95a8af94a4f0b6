// ns/sr/train: training EDSR models (reference §5.2): generic pre-training on photographs and content-aware
// fine-tuning on one stream's train segment. Two engines: "onednn" (our own forward and backward on oneDNN, CPU,
// always built) and "torch" (libtorch, CPU or CUDA; only when built with libtorch: NS_WITH_TORCH).
// In: a TrainingSet (LR/HR image pairs, the LR being the HR scaled down or the decoded encode) and a Model to
// start from. Out: the trained Model (ns::sr weights, PyTorch names), checkpoints, a TrainReport.
// Thread-safety: one training per process (the engines' thread pools are global). Errors: ns::Error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ns/core/frame.h"
#include "ns/sr/sr.h"

namespace ns::sr::train {

// One training or validation image: the LR input and its HR target, exactly scale x the LR size.
struct ImagePair {
  core::RgbImage lr;
  core::RgbImage hr;
  std::string origin;  // "photo.jpg" or "video.mkv#120", for messages and the model card
};

struct TrainingSet {
  int scale = 3;
  std::vector<ImagePair> train;
  std::vector<ImagePair> validation;
};

// --- Generic set: photographs -------------------------------------------------------------------------

// The photographs in Debian's wallpaper packages (scripts/setup installs them: Lomiri's, mate-backgrounds' nature
// folder, Plasma's), found through dpkg's lists of each package's files in `dpkg_info`, so that other packages'
// images in the same folders stay out: the largest image of each wallpaper, sorted by path. Photos the built-in
// sample is rendered from are left out when `exclude_sample_photos`, so that a generic model's gain on the sample
// is not flattered by having seen it.
std::vector<std::string> default_photos(bool exclude_sample_photos = true,
                                        const std::filesystem::path& dpkg_info = "/var/lib/dpkg/info");

struct PhotoSetOptions {
  int scale = 3;
  int validation_every = 8;   // every N-th photo (sorted by path) is held out for validation; >= 2
  int max_side = 1920;        // photos larger than this (HR) are first scaled down (area) to fit: wallpapers
                              // are 2560-6000 px wide, far larger than the textures of video frames
  int validation_crop = 0;    // LR centre-crop size of each held-out photo for validation; 0 = whole photos
};

// HR = the photo (cropped to a multiple of scale), LR = HR scaled down by `scale` with the area filter (the
// down-scaling the built-in sample uses; the original trains on DIV2K's bicubic LR). Throws not_found for a
// missing photo, invalid_argument if there are too few photos for a train and a validation part.
TrainingSet photo_set(const std::vector<std::string>& photos, const PhotoSetOptions& options = {});

// --- Content-aware set: one stream ---------------------------------------------------------------------

struct VideoSetOptions {
  double sample_fps = 0.5;    // training frames per second of video (reference §5.2: ffmpeg fps=0.5)
  int validation_frames = 4;  // frames halfway between training samples, held out for validation
  int validation_crop = 0;    // LR centre-crop size for validation frames; 0 = whole frames
  int64_t max_frames = -1;    // read at most this many frames (-1: the whole video)
};

// LR = the decoded encode, HR = the reference of the same frames (HR must be exactly scale x LR: the
// sample's layout; else mismatch). Frames are matched by index; a length mismatch is an error.
TrainingSet video_set(const std::string& lr_video, const std::string& hr_video, int scale,
                      const VideoSetOptions& options = {});

// --- Starting point -----------------------------------------------------------------------------------

// EDSR weights with which the network computes bilinear up-scaling (the image carried through three channels,
// residual branches zero), the other features random from `seed`. Training from it reaches bicubic quality in
// a few steps instead of thousands (initial_model.cpp says how).
Model bilinear_start_model(const ModelDesc& desc, uint64_t seed);

// --- Training -----------------------------------------------------------------------------------------

struct TrainOptions {
  std::string engine = "auto"; // "onednn", "torch", or "auto": torch when it has a CUDA device, else onednn
  int batch = 16;              // the original uses 64 on a GPU
  int patch = 64;              // LR patch edge (HR patch = scale x patch)
  int64_t steps = 1000;        // total optimiser steps (a resumed run continues to this count)
  double minutes = 0;          // stop after this wall time even if steps remain (0 = no bound)
  double learning_rate = 1e-4; // Adam, PyTorch's default betas and eps; L1 loss (reference §5.2)
  std::string schedule = "constant";  // "cosine": down to 1 % of learning_rate at `steps`; "cosine-time": at the
                                      // end of `minutes` (this run's wall time) or at `steps`, whichever is first
  uint64_t seed = 1;           // batch i is drawn from (seed, i): a resumed run draws the same batches
  int detail_tries = 1;        // draw this many positions per patch and keep the most detailed (1: uniform)
  bool augment = false;        // turn each patch by one of the 8 flips and quarter turns, uniformly
  std::string precision = "fp32";  // onednn engine: "fp32", "bf16" (convolutions in bf16, CPUs with avx512_bf16)
                                   // or "auto" (bf16 where the CPU has it)
  int threads = 0;             // the engine's threads (OpenMP for onednn, intra-op for torch); 0 = all cores
  std::string device = "auto"; // torch engine: "auto" (CUDA when this libtorch has it), "cpu" or "cuda"
  bool keep_best = false;      // return the weights of the best validation instead of the last
  int patience = 0;            // stop after this many validations without a better PSNR (0: never)
  int validate_every = 200;    // steps between validations (and at the end)
  std::filesystem::path checkpoint_dir;  // empty = no checkpoints
  int checkpoint_every = 500;  // steps between checkpoints (and at the end)
  bool resume = false;         // continue from checkpoint_dir (model, optimiser state, step)
};

struct Validation {
  double psnr = 0;          // model output vs HR, RGB, x255, clamp, round, pooled over the set
  double bicubic_psnr = 0;  // bicubic up-scaling of the LR vs HR, same measure
  double gain() const { return psnr - bicubic_psnr; }
};

struct TrainProgress {
  int64_t step = 0;
  int64_t steps = 0;
  double loss = 0;           // mean L1 (0..1 scale) over the steps since the last report
  double learning_rate = 0;  // of the last step (the schedule's)
  double seconds = 0;        // wall time of this run (not counting earlier runs of a resumed training)
  double steps_per_second = 0;  // steps of this run / seconds
  bool validated = false;    // `validation` is fresh
  Validation validation;
};

struct TrainReport {
  int64_t first_step = 0;    // > 0 when resumed
  int64_t steps_done = 0;    // the step count reached
  double seconds = 0;        // wall time of this run
  double steps_per_second = 0;
  double first_loss = 0;     // mean L1 of the first reporting interval of this run
  double last_loss = 0;      // mean L1 of the last reporting interval
  Validation initial;        // before the first step of this run
  Validation final;          // after the last step
  Validation best;           // the best of initial, every validation and final
  int64_t best_step = 0;
  bool stopped_early = false;  // patience ran out
  std::string engine;        // "onednn", "onednn-bf16" or "torch"
  std::string device;        // "cpu" or "cuda"
};

using ProgressCallback = std::function<void(const TrainProgress&)>;

// Trains `model` in place on `set`. Validates before and after, and every validate_every steps; calls
// `progress` every few seconds and after each validation. Throws invalid_argument for bad options or images
// smaller than a patch, mismatch when the checkpoint to resume is for another model, io when a checkpoint
// cannot be written.
TrainReport train(Model& model, const TrainingSet& set, const TrainOptions& options,
                  const ProgressCallback& progress = {});

// Validation PSNR of `model` on `pairs` (ns::sr::Upscaler, the fastest backend here), next to bicubic.
Validation validate(const Model& model, const std::vector<ImagePair>& pairs);

#ifdef NS_WITH_TORCH
// --- libtorch as an inference backend (benchmarks and the module-equivalence test) -----------------------

// The EDSR libtorch module the trainer uses, as an ns::sr::Backend ("libtorch"): fp32 on CPU (or CUDA).
std::unique_ptr<Backend> create_torch_backend(const BackendOptions& options, const std::string& device = "auto");

// Whether the linked libtorch can use a CUDA device, and its version ("1.13.1").
bool torch_has_cuda();
std::string torch_version();
#endif

}  // namespace ns::sr::train
