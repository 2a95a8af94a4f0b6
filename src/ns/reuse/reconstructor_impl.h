// Private to ns/reuse: the state of a Reconstructor, shared by the frame driver (reconstructor.cpp) and the HR
// prediction (hr_prediction.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ns/core/error.h"
#include "ns/motion/motion.h"
#include "ns/reuse/dsp_impl.h"
#include "ns/reuse/reuse.h"

namespace ns::reuse {

constexpr int kRing = 4;  // horizontally up-scaled residual rows kept per plane
constexpr int kSlots = 3;  // HR frames: latest anchor, previous output, current output

struct Reconstructor::Impl {
  ReuseSettings settings;
  int lw = 0, lh = 0, hw = 0, hh = 0;
  motion::Estimator estimator;
  Dsp dsp;
  motion::InterpolateFn interpolate = nullptr;
  motion::Reference lr_cur, lr_prev, lr_anchor;
  // hr_projection: for each HR reference, the LR image its down-scale is meant to have. For an anchor that is its
  // actual area down-scale, so the anchor's LR deviation (what the SR model changed in the LR band, e.g. removed
  // coding noise) moves along with the content instead of being undone; a reused frame inherits the deviation of
  // its references (motion-compensated); an up-scaled frame has none (its LR frame).
  core::Frame down_frame;
  motion::Reference down_cur, down_prev, down_anchor;
  std::array<core::Frame, kSlots> hr;
  int prev_slot = -1;
  int anchor_slot = -1;
  // The previous frame descends from an anchor (no bicubic restart since): only then is an anchor blended into it.
  bool chain_from_anchor = false;
  int chain_age = 0;  // frames since the latest anchor
  std::vector<int> block_weight;  // blend_anchor: the anchor's weight per block (of 256)
  motion::Residual residual;       // the residual that is up-scaled and added
  motion::Residual residual_down;  // hr_projection: LR - prediction from the down-scaled HR references
  AxisTable h_table[core::kPlaneCount];
  AxisTable v_table[core::kPlaneCount];
  // Per thread: an LR row of int16 (back-projection) and the ring of horizontally up-scaled residual rows.
  struct ThreadScratch {
    std::vector<int16_t> lr_row;
    std::vector<int16_t> ring;
    std::array<int, kRing> ring_tag{};
  };
  std::vector<ThreadScratch> scratch;
  std::vector<uint8_t> obmc_falling[core::kPlaneCount];  // per plane: left/top weights across a block-sized region
  FrameStats stats;

  Impl(const ReuseSettings& s, int w, int h, const motion::MotionSettings& ms)
      : settings(s), lw(w), lh(h), hw(w * s.scale), hh(h * s.scale), estimator(ms, w, h) {}

  FrameKind predict(const core::Frame& lr, core::Frame& out, std::span<const motion::MotionVector> candidates,
                    double& start);
  void blend_anchor(const core::Frame& anchor, core::Frame& out);
  void take_anchor_lr_band(const core::Frame& anchor, core::Frame& out);
  void reconstruct(core::Frame& out, const motion::MotionField& field, const core::Frame* const* hr_refs);
  void add_residual(core::Frame& out, int threads);  // out += the up-scaled residual, row by row
  void predict_rect(int plane, const core::Frame& ref, motion::MotionVector mv, int x0, int y0, int w, int h,
                    uint8_t* dst, ptrdiff_t dst_stride, int compute_w = 0) const;
  void predict_overlapped(int plane, const motion::MotionField& field, const core::Frame* const* hr_refs,
                          core::Frame& out, int j_begin, int j_end) const;
  void upscale_intra_block(int plane, int x0, int y0, int w, int h, uint8_t* dst, ptrdiff_t dst_stride) const;
  const int16_t* ring_row(ThreadScratch& ts, int plane, int lr_row, int width) const;
  void project_residual(const core::Frame& prediction, int plane, int y_begin, int y_end, ThreadScratch& ts);
  int threads() const { return settings.threads; }
  void downscale(const core::Frame& hr_frame, core::Frame& lr_frame) const;
  void downscale_row(uint8_t* dst, const core::Frame& image, int plane, int lr_row, int width) const;
  void project_row(int16_t* dst, const uint8_t* lr, const core::Frame& image, int plane, int lr_row, int width) const;
  void finish(const core::Frame& lr, const core::Frame& out, FrameKind kind);
  bool projecting() const { return settings.residual_source == ResidualSource::hr_projection; }
  int free_slot() const {
    for (int i = 0; i < kSlots; ++i) {
      if (i != prev_slot && i != anchor_slot) return i;
    }
    NS_ASSERT(false);
    return 0;
  }
};

}  // namespace ns::reuse
