// ns/reuse: HR frames from HR anchors and the LR stream (NEMO cache decoding, reference §1.3, §7), codec-agnostic.
// In: LR I420 frames in display order, with the HR anchor (scale x LR) of those that are anchors. Out: HR frames.
// Kernels: reuse::Dsp (dsp_c.cpp; AVX2 in dsp_avx2.cpp) and motion::interpolate_kernel; tests/check_dsp_test.cpp.
// Thread-safety: one Reconstructor per stream, not shared (settings.threads splits one push()). Motion: ns/motion.
// Errors: ns::Error invalid_argument (settings, empty frames), mismatch (frame sizes); never fails on content.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "ns/core/frame.h"
#include "ns/motion/motion.h"

namespace ns::reuse {

// How the LR residual and intra blocks are up-scaled. block_bilinear is reference §7.4 exactly: each block is
// interpolated on its own, never reading a neighbour. frame_bilinear uses the same 5-bit kernel over the whole
// plane, so block edges blend. block_bilinear with lr_prediction (below) is the faithful NEMO mode. With
// hr_projection the two measured within 0.3 dB of each other, either way round depending on the content
// (tests/reuse_test.cpp, bench content); frame_bilinear is the default as it leaves no block grid.
enum class ResidualUpscale { block_bilinear, frame_bilinear };
const char* residual_upscale_name(ResidualUpscale mode);
ResidualUpscale parse_residual_upscale(const char* name);  // "block" | "frame"; throws invalid_argument otherwise

// Where the LR residual comes from. lr_prediction is NEMO's (reference §7.2): the LR frame minus its LR
// motion-compensated prediction; the LR interpolation error lands on a good HR prediction and an error of the HR
// frame is never seen again, so errors add up frame after frame (open loop). hr_projection (back-projection): the
// LR frame minus the area down-scale of the HR prediction, minus the motion-compensated LR deviation of the
// reference (for an anchor: LR minus its own down-scale, i.e. what the SR model changed in the LR band, which is
// kept rather than undone), so every HR frame down-scales back to its LR frame plus the anchor's deviation
// (closed loop). A static scene still reproduces its anchor exactly in both modes. hr_projection is the
// default: +13 dB over lr_prediction on the translation test, +5 to +7 dB on the bench content.
enum class ResidualSource { lr_prediction, hr_projection };
const char* residual_source_name(ResidualSource source);
ResidualSource parse_residual_source(const char* name);  // "lr" | "hr"; throws invalid_argument otherwise

struct ReuseSettings {
  int scale = 3;          // integer, 1 .. 4 (HR = scale x LR)
  int block_size = 8;     // LR luma block of the motion search: 8 or 16
  int search_range = 64;  // LR pixels each way
  ResidualUpscale residual_upscale = ResidualUpscale::frame_bilinear;
  ResidualSource residual_source = ResidualSource::hr_projection;
  // Overlapped-block motion compensation: each sample blends the HR predictions of its 2 x 2 nearest blocks under
  // triangular windows, which removes block edges where vectors or references differ. Measured +0.7 to +1.4 dB on
  // the bench content (pan + moving object), the same on uniform motion, at no measurable extra time (regions
  // whose four blocks agree are predicted once). Off: one vector per block (reference §7.3).
  bool obmc = true;
  bool anchor_reference = true;  // also search the latest anchor, not only the previous frame
  // Preference for the anchor reference, in SAD units per sample subtracted from its cost: where both match
  // about equally well the anchor gives a sharper result (one interpolation instead of a chain of them).
  int anchor_preference = 1;
  // An anchor's share of its frame, in (0, 1]: 1 replaces the frame with the anchor (reference §7), right for
  // anchors that are the truth. Below 1 (kSrAnchorWeight for SR anchors) the anchor is blended into the frame's own
  // reuse prediction (the earlier anchors carried along by motion), so that each SR anchor refines what the chain
  // holds (its errors average out) instead of resetting it. The blend takes the LR band (what the area down-scale
  // keeps) from the anchor and mixes the two above it; the share is where the chain is trustworthy and rises to the
  // anchor whole on blocks where the chain lost detail, when the previous anchor is long past, where the chain
  // holds no anchor (the stream's start, after a scene cut), at a scene cut and on blocks predicted as intra.
  double anchor_weight = 1.0;
  // A scene cut is up-scaled (bicubic) as a whole: a frame with at least this fraction of intra blocks, or whose
  // summed best SAD is at least scene_cut_sad_ratio times its summed intra SAD (SAD against each block's mean;
  // about 0.1 on ordinary frames, 0.8 to 1 when the content changed but the search found look-alike patches).
  double scene_cut_intra_fraction = 0.5;
  double scene_cut_sad_ratio = 0.5;
  int cpu_level = -1;  // -1: motion::host_cpu_level(); 0 forces the C kernels
  // false: no motion search of our own, only the candidates given to push() (the decoder's vectors) against the
  // previous frame, the zero vector, and for the anchor the vectors accumulated along the chain
  // (motion::MotionSettings::search).
  bool motion_search = true;
  // Threads for one push() (the caller's plus threads - 1 started per frame): the motion search and the HR build
  // split by rows; the output is bit-identical for every thread count.
  int threads = 1;
};

// The share of an SR anchor (ReuseSettings::anchor_weight) that the apps, the engine and the study use unless told
// otherwise. Measured with generic SR anchors on the 14 content/codec pairs of the selection set at 7.5 %, against
// replacing: VP9 +0.13 dB on average, H.264 +0.01 dB; more anchors help on 12 of 14 (replacing: 8)
// (README, "SR anchors blended into the chain").
inline constexpr double kSrAnchorWeight = 0.25;

enum class FrameKind {
  anchor,    // the HR anchor itself
  reused,    // motion-compensated from the previous frame and/or the latest anchor, plus the residual
  upscaled,  // bicubic up-scale of the LR frame: no reference yet (first frames) or a scene cut
};
const char* frame_kind_name(FrameKind kind);

struct FrameStats {
  int64_t index = 0;
  FrameKind kind = FrameKind::upscaled;
  bool scene_cut = false;
  int blocks = 0;
  int intra_blocks = 0;
  int previous_blocks = 0;  // predicted from the previous frame
  int anchor_blocks = 0;    // predicted from the latest anchor
  // CPU time of the calling thread (comparable on a loaded machine): the LR motion search and LR residuals, and
  // building the HR frame (prediction, residual, add; or the up-scale or anchor copy).
  double motion_ms = 0;
  double reconstruct_ms = 0;
};

// Streaming reconstruction. Frames are pushed in display order; memory stays bounded: the previous LR/HR frame,
// the latest anchor LR/HR and one output. A frame without an anchor before any anchor arrived is up-scaled
// (bicubic) and the reference chain starts there; so does a scene cut. An anchor restarts the chain.
class Reconstructor {
 public:
  Reconstructor(const ReuseSettings& settings, int lr_width, int lr_height);
  ~Reconstructor();
  Reconstructor(Reconstructor&&) noexcept;
  Reconstructor& operator=(Reconstructor&&) noexcept;

  // Returns the HR frame for `lr` (pts and index copied from it), valid until the next push() or reset().
  // hr_anchor: the HR image of this frame when it is an anchor (copied; the caller keeps ownership), else null.
  // candidates: extra motion-search candidates against the previous frame, one per LR block in raster order
  // (motion::block_candidates() turns the decoder's vectors into them), or empty; a wrong count is a mismatch.
  const core::Frame& push(const core::Frame& lr, const core::Frame* hr_anchor = nullptr,
                          std::span<const motion::MotionVector> candidates = {});
  const FrameStats& last_stats() const;

  void reset();  // forget every reference (after a seek); the next frame starts a new chain

  const ReuseSettings& settings() const;
  int lr_width() const;
  int lr_height() const;
  int hr_width() const;
  int hr_height() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::reuse
