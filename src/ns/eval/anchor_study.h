// ns/eval: measuring anchor plans against the HR reference (`neuroscaler select --method oracle | --evaluate`,
// scripts/eval-anchors). Each LR stream is read with its HR reference; an anchor's HR image is the reference frame
// (ground truth) or an SR model's output, optionally cached on disk; every other frame is rebuilt by reuse.
// In: LR streams, their references, plans (ns/anchor). Out: the oracle's plans, PSNR after reuse per stream and plan.
// Errors: ns::Error mismatch (reference size or length), corrupt (a stream without frames), io (cache, gains file).
// Thread-safety: none; one call at a time per options.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ns/anchor/anchor.h"
#include "ns/media/probe.h"
#include "ns/reuse/reuse.h"

namespace ns::eval {

struct AnchorStudyOptions {
  std::vector<std::string> inputs;      // LR streams
  std::vector<std::string> references;  // one HR reference per input, scale x its size
  int scale = 3;
  int64_t max_frames = -1;              // only the first N displayed frames of every stream (-1: all)
  std::string anchor_model;             // SR model whose output is the anchor image; empty: the reference frame
  std::string anchor_cache;             // folder caching SR anchor images per stream and frame (raw I420); empty: none
  bool oracle_ground_truth = false;     // the oracle measures with ground-truth anchors even with anchor_model
  double anchor_weight = reuse::kSrAnchorWeight;  // reuse::ReuseSettings::anchor_weight of SR anchors (ground truth: 1)
  int epoch_frames = 40;                // the oracle's epochs (displayed frames)
  double q_exponent = 1.0;              // neuroscaler-q's, for the estimators' scores the oracle reports beside it
  std::string gains_path;               // oracle: every frame's single-anchor gain and scores (JSON); "{fraction}"
                                        // in it is replaced by each fraction
};

// The oracle over whole files (reference §3.6): epochs of epoch_frames displayed frames per stream, every frame
// tried as an anchor, one plan track per fraction (`config.method` oracle; `streams` are the probed coded frames).
// Logs the measurement's cost and the Spearman rank correlation of the cheap estimators with the measured gains.
std::vector<std::vector<anchor::EpochResult>> run_oracle(const AnchorStudyOptions& options,
                                                         const anchor::SchedulerConfig& config,
                                                         const std::vector<double>& fractions,
                                                         const std::vector<anchor::StreamSpec>& specs,
                                                         const std::vector<std::vector<media::CodedFrame>>& streams);

// PSNR after reuse of one stream rebuilt with one plan's anchors.
struct PlanQuality {
  std::string stream;
  std::string method;
  double fraction = 0;
  int64_t frames = 0;
  int64_t anchors = 0;
  double psnr = 0;    // Y, U, V pooled, mean over frames
  double psnr_y = 0;
  bool sr_anchors = false;  // false: ground-truth anchors
};

// Rebuilds every stream with the anchors of each plan, in one pass over the files; `on_stream` (optional) gets each
// stream's results as soon as they are known.
std::vector<PlanQuality> evaluate_plans(const AnchorStudyOptions& options, const std::vector<anchor::Plan>& plans,
                                        const std::function<void(const std::vector<PlanQuality>&)>& on_stream = {});

// `path` with "{fraction}" replaced by the fraction (%g), if it has one (plan and gains files per fraction).
std::string fraction_path(const std::string& path, double fraction);

}  // namespace ns::eval
