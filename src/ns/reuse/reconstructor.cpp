// Frame-level driver of ns/reuse: keeps the reference chain (previous and latest anchor, LR and HR), runs the
// motion search on the LR frame, builds the HR prediction (hr_prediction.cpp: intra blocks up-scaled, inter blocks
// motion-compensated at vector x scale, overlapped or one vector per block), derives the LR residual
// (back-projection or the LR prediction's) and adds it up-scaled row by row (reference §7.2 steps 2 and 4), or falls
// back to bicubic.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/resize.h"
#include "ns/motion/motion.h"
#include "ns/reuse/reconstructor_impl.h"

namespace ns::reuse {
namespace {

std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

// CPU time of the calling thread, in milliseconds.
double thread_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}
double ms_since(double start) { return thread_ms() - start; }

// dst = (anchor * weight + dst * (256 - weight)) / 256, rounded; once per anchor, so plain C (vectorised by the
// compiler) rather than a Dsp kernel.
void blend_row(uint8_t* dst, const uint8_t* anchor, int weight, int width) {
  for (int x = 0; x < width; ++x) {
    dst[x] = static_cast<uint8_t>((anchor[x] * weight + dst[x] * (256 - weight) + 128) >> 8);
  }
}

}  // namespace

const char* residual_upscale_name(ResidualUpscale mode) {
  return mode == ResidualUpscale::block_bilinear ? "block" : "frame";
}

ResidualUpscale parse_residual_upscale(const char* name) {
  const std::string_view n = name ? name : "";
  if (n == "block") return ResidualUpscale::block_bilinear;
  if (n == "frame") return ResidualUpscale::frame_bilinear;
  throw Error(ErrorCode::invalid_argument,
              "residual up-scaling '" + std::string(n) + "' is unknown; use 'block' (reference §7.4) or 'frame'");
}

const char* residual_source_name(ResidualSource source) {
  return source == ResidualSource::lr_prediction ? "lr" : "hr";
}

ResidualSource parse_residual_source(const char* name) {
  const std::string_view n = name ? name : "";
  if (n == "lr") return ResidualSource::lr_prediction;
  if (n == "hr") return ResidualSource::hr_projection;
  throw Error(ErrorCode::invalid_argument, "residual source '" + std::string(n) +
                                               "' is unknown; use 'lr' (reference §7.2) or 'hr' (back-projection)");
}

const char* frame_kind_name(FrameKind kind) {
  switch (kind) {
    case FrameKind::anchor:
      return "anchor";
    case FrameKind::reused:
      return "reused";
    case FrameKind::upscaled:
      return "upscaled";
  }
  return "?";
}

const int16_t* Reconstructor::Impl::ring_row(ThreadScratch& ts, int plane, int lr_row, int width) const {
  const int slot = lr_row % kRing;
  int16_t* row = ts.ring.data() + static_cast<size_t>(slot) * hw;
  if (ts.ring_tag[slot] != lr_row) {
    dsp.upscale_row(row, residual.row(plane, lr_row), h_table[plane].view(), width);
    ts.ring_tag[slot] = lr_row;
  }
  return row;
}

// Boxes cut by odd chroma sizes (the HR chroma plane is one sample short) average the samples that exist.
static int partial_box_mean(const core::Frame& hr, int plane, int x, int y, int s) {
  const int rows = std::min(s, hr.plane_height(plane) - y * s);
  const int cols = std::min(s, hr.plane_width(plane) - x * s);
  int sum = 0;
  for (int j = 0; j < rows; ++j) {
    const uint8_t* src = hr.row(plane, y * s + j) + x * s;
    for (int i = 0; i < cols; ++i) sum += src[i];
  }
  const int count = rows * cols;
  return (sum + count / 2) / count;
}

// dst = lr - the area down-scale of LR row y of `image` (plane p), `width` samples.
void Reconstructor::Impl::project_row(int16_t* dst, const uint8_t* lr, const core::Frame& image, int p, int y,
                                      int width) const {
  const int s = settings.scale;
  const int full_w = std::min(width, image.plane_width(p) / s);
  int x = 0;
  if ((y + 1) * s <= image.plane_height(p)) {
    dsp.project_row(dst, lr, image.row(p, y * s), image.stride(p), s, full_w);
    x = full_w;
  }
  for (; x < width; ++x) dst[x] = static_cast<int16_t>(lr[x] - partial_box_mean(image, p, x, y, s));
}

// Rows [y_begin, y_end) of one plane.
void Reconstructor::Impl::project_residual(const core::Frame& prediction, int p, int y_begin, int y_end,
                                           ThreadScratch& ts) {
  // With D the intended down-scale of a reference and delta = LR - D its deviation, the residual is
  //   LR - MC(delta_ref) - down(prediction) = residual - residual_down + (LR - down(prediction)),
  // as residual = LR - MC(LR_ref) and residual_down = LR - MC(D_ref); this frame's D is LR - MC(delta_ref).
  // For an anchor whose down-scale is its LR frame this is plain back-projection.
  int16_t* scratch_row = ts.lr_row.data();
  const int lpw = residual.plane_width(p);
  for (int y = y_begin; y < y_end; ++y) {
    int16_t* res = residual.row(p, y);
    const int16_t* res_down = residual_down.row(p, y);
    const uint8_t* lr = lr_cur.origin(p) + y * lr_cur.stride(p);
    uint8_t* down = down_frame.row(p, y);
    project_row(scratch_row, lr, prediction, p, y, lpw);
    for (int i = 0; i < lpw; ++i) {
      const int carried = res[i] - res_down[i];  // -MC(delta_ref)
      down[i] = static_cast<uint8_t>(std::clamp(lr[i] + carried, 0, 255));
      res[i] = static_cast<int16_t>(carried + scratch_row[i]);
    }
  }
}

// dst = the area down-scale of LR row y of `image` (plane p), `width` samples.
void Reconstructor::Impl::downscale_row(uint8_t* dst, const core::Frame& image, int p, int y, int width) const {
  const int s = settings.scale;
  const int full_w = std::min(width, image.plane_width(p) / s);
  int x = 0;
  if ((y + 1) * s <= image.plane_height(p)) {
    dsp.downscale_row(dst, image.row(p, y * s), image.stride(p), s, full_w);
    x = full_w;
  }
  for (; x < width; ++x) dst[x] = static_cast<uint8_t>(partial_box_mean(image, p, x, y, s));
}

void Reconstructor::Impl::downscale(const core::Frame& hr_frame, core::Frame& lr_frame) const {
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < lr_frame.plane_height(p); ++y) {
      downscale_row(lr_frame.row(p, y), hr_frame, p, y, lr_frame.plane_width(p));
    }
  }
}

// The frame just built becomes the previous reference (and the anchor reference when it is one).
void Reconstructor::Impl::finish(const core::Frame& lr, const core::Frame& out, FrameKind kind) {
  const int border = estimator.border();
  const bool anchor = kind == FrameKind::anchor;
  if (anchor) lr_anchor.assign(lr, border);
  std::swap(lr_prev, lr_cur);
  if (!projecting()) return;
  if (anchor) {
    downscale(out, down_frame);
    down_anchor.assign(down_frame, border);
  }
  // reused: project_residual filled down_frame; up-scaled: no deviation, the LR frame itself.
  down_cur.assign(kind == FrameKind::upscaled ? lr : down_frame, border);
  std::swap(down_prev, down_cur);
}

void Reconstructor::Impl::reconstruct(core::Frame& out, const motion::MotionField& field,
                                      const core::Frame* const* hr_refs) {
  const int s = settings.scale;
  const int T = std::min(threads(), field.blocks_y);
  // Each step splits rows among the threads (every row is computed the same way by whichever thread takes it, so
  // the frame does not depend on the thread count); the next step reads rows another thread wrote.
  // 1. Prediction: HR motion compensation of inter blocks, bilinear up-scale of intra blocks. Thread t takes the
  // block rows and OBMC region rows (centred on the top edge of block row j) of its band.
  motion::run_threads(T, [&](int t) {
    const int row_begin = field.blocks_y * t / T, row_end = field.blocks_y * (t + 1) / T;
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int lbs = p == 0 ? field.block_size : field.block_size / 2;  // LR block in this plane
      const int hbs = lbs * s;
      const int hpw = out.plane_width(p);
      const int hph = out.plane_height(p);
      for (int by = row_begin; by < row_end && by * hbs < hph; ++by) {
        const int y0 = by * hbs;
        const int h = std::min(hbs, hph - y0);
        for (int bx = 0; bx < field.blocks_x && bx * hbs < hpw;) {
          const int x0 = bx * hbs;
          const motion::BlockMotion& b = field.at(bx, by);
          // A run of neighbours with the same reference and vector is predicted in one call.
          int run = 1;
          while (!b.intra() && !settings.obmc && bx + run < field.blocks_x &&
                 (run + 1) * hbs <= motion::kMaxInterpolateSize && field.at(bx + run, by).ref == b.ref &&
                 field.at(bx + run, by).mv == b.mv) {
            ++run;
          }
          const int w = std::min(run * hbs, hpw - x0);
          uint8_t* dst = out.row(p, y0) + x0;
          if (b.intra()) {
            upscale_intra_block(p, x0, y0, w, h, dst, out.stride(p));
          } else if (!settings.obmc) {
            predict_rect(p, *hr_refs[b.ref], b.mv, x0, y0, w, h, dst, out.stride(p));
          }
          bx += run;
        }
      }
      if (settings.obmc) predict_overlapped(p, field, hr_refs, out, row_begin, t + 1 == T ? row_end + 1 : row_end);
    }
  });
  // 2. Residual: back-projection, or the LR prediction's residual with zero on intra blocks.
  if (projecting()) {
    motion::run_threads(T, [&](int t) {
      for (int p = 0; p < core::kPlaneCount; ++p) {
        const int lph = residual.plane_height(p);
        project_residual(out, p, lph * t / T, lph * (t + 1) / T, scratch[t]);
      }
    });
  } else {
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int lbs = p == 0 ? field.block_size : field.block_size / 2;
      for (int by = 0; by < field.blocks_y; ++by) {
        for (int bx = 0; bx < field.blocks_x; ++bx) {
          if (!field.at(bx, by).intra()) continue;
          const int x0 = bx * lbs, y0 = by * lbs;
          const int w = std::min(lbs, residual.plane_width(p) - x0);
          const int h = std::min(lbs, residual.plane_height(p) - y0);
          for (int y = 0; y < h; ++y) std::fill_n(residual.row(p, y0 + y) + x0, w, int16_t{0});
        }
      }
    }
  }
  // 3. Add the up-scaled residual row by row.
  add_residual(out, T);
}

void Reconstructor::Impl::add_residual(core::Frame& out, int T) {
  motion::run_threads(T, [&](int t) {
    ThreadScratch& ts = scratch[t];
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const AxisTable& vt = v_table[p];
      const int hpw = out.plane_width(p), hph = out.plane_height(p);
      ts.ring_tag.fill(-1);
      for (int y = hph * t / T; y < hph * (t + 1) / T; ++y) {
        const int16_t* top = ring_row(ts, p, vt.left(y), hpw);
        const int16_t* bottom = ring_row(ts, p, vt.right(y), hpw);
        dsp.add_rows(out.row(p, y), top, bottom, vt.weight(y), hpw);
      }
    }
  });
}

Reconstructor::Reconstructor(const ReuseSettings& settings, int lr_width, int lr_height) {
  auto invalid = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "reuse: " + what); };
  if (settings.scale < 1 || settings.scale > 4) {
    invalid("scale " + std::to_string(settings.scale) + " is not supported; use an integer from 1 to 4");
  }
  if (lr_width <= 0 || lr_height <= 0) {
    invalid("LR frame size " + size_text(lr_width, lr_height) + " is empty; sizes must be >= 1");
  }
  if (settings.threads < 1 || settings.threads > 64) {
    invalid("threads " + std::to_string(settings.threads) + " is out of range; use 1 .. 64");
  }
  if (!(settings.anchor_weight > 0.0 && settings.anchor_weight <= 1.0)) {
    invalid("anchor weight " + std::to_string(settings.anchor_weight) + " is out of range; use a value in (0, 1]");
  }
  if (!(settings.scene_cut_intra_fraction >= 0.0) || !(settings.scene_cut_sad_ratio >= 0.0)) {
    invalid("scene-cut intra fraction and SAD ratio must be >= 0 (values above 1 disable each test)");
  }
  motion::MotionSettings ms;
  ms.block_size = settings.block_size;
  ms.search_range = settings.search_range;
  ms.cpu_level = settings.cpu_level;
  ms.search = settings.motion_search;
  ms.threads = settings.threads;
  impl_ = std::make_unique<Impl>(settings, lr_width, lr_height, ms);  // the estimator validates its part
  Impl& m = *impl_;
  const int level = settings.cpu_level < 0 ? motion::host_cpu_level() : settings.cpu_level;
  init_dsp(m.dsp, level);
  m.interpolate = motion::interpolate_kernel(level);
  for (auto& f : m.hr) f = core::Frame(m.hw, m.hh);
  const bool block_mode = settings.residual_upscale == ResidualUpscale::block_bilinear;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const int lbs = p == 0 ? settings.block_size : settings.block_size / 2;
    const int lpw = p == 0 ? lr_width : (lr_width + 1) / 2;
    const int lph = p == 0 ? lr_height : (lr_height + 1) / 2;
    m.h_table[p].build(lpw, settings.scale, m.hr[0].plane_width(p), block_mode ? lbs : 0);
    m.v_table[p].build(lph, settings.scale, m.hr[0].plane_height(p), block_mode ? lbs : 0);
  }
  m.scratch.resize(static_cast<size_t>(settings.threads));
  for (Impl::ThreadScratch& ts : m.scratch) {
    ts.lr_row.resize(static_cast<size_t>(lr_width));
    ts.ring.resize(static_cast<size_t>(kRing) * m.hw);
  }
  for (int p = 0; p < core::kPlaneCount; ++p) {
    // Across a region centred on a block corner, the right/bottom block's triangular window rises as
    // (u + 0.5) / hbs: 6-bit, kept in [1, 63] as the blend kernel requires; the left/top block has the rest.
    const int hbs = (p == 0 ? settings.block_size : settings.block_size / 2) * settings.scale;
    m.obmc_falling[p].resize(hbs);
    for (int u = 0; u < hbs; ++u) {
      m.obmc_falling[p][u] = static_cast<uint8_t>(64 - std::clamp((128 * u + 64 + hbs) / (2 * hbs), 1, 63));
    }
  }

  if (m.projecting()) m.down_frame = core::Frame(lr_width, lr_height);
}

Reconstructor::~Reconstructor() = default;
Reconstructor::Reconstructor(Reconstructor&&) noexcept = default;
Reconstructor& Reconstructor::operator=(Reconstructor&&) noexcept = default;

const ReuseSettings& Reconstructor::settings() const { return impl_->settings; }
int Reconstructor::lr_width() const { return impl_->lw; }
int Reconstructor::lr_height() const { return impl_->lh; }
int Reconstructor::hr_width() const { return impl_->hw; }
int Reconstructor::hr_height() const { return impl_->hh; }
const FrameStats& Reconstructor::last_stats() const { return impl_->stats; }

void Reconstructor::reset() {
  impl_->prev_slot = -1;
  impl_->anchor_slot = -1;
  impl_->chain_from_anchor = false;
  impl_->chain_age = 0;
  impl_->estimator.reset();
}

const core::Frame& Reconstructor::push(const core::Frame& lr, const core::Frame* hr_anchor,
                                       std::span<const motion::MotionVector> candidates) {
  Impl& m = *impl_;
  const ErrorContext where{.frame_index = lr.index};
  if (lr.empty()) {
    throw Error(ErrorCode::invalid_argument, "reuse: the LR frame is empty; push decoded frames", where);
  }
  if (lr.width() != m.lw || lr.height() != m.lh) {
    throw Error(ErrorCode::mismatch,
                "reuse: LR frame is " + size_text(lr.width(), lr.height()) + " but the reconstructor was made for " +
                    size_text(m.lw, m.lh) + "; make a new Reconstructor when the stream size changes",
                where);
  }
  if (hr_anchor && (hr_anchor->width() != m.hw || hr_anchor->height() != m.hh)) {
    throw Error(ErrorCode::mismatch,
                "reuse: HR anchor is " + size_text(hr_anchor->width(), hr_anchor->height()) + " but scale " +
                    std::to_string(m.settings.scale) + " x LR " + size_text(m.lw, m.lh) + " is " +
                    size_text(m.hw, m.hh) + "; up-scale anchors by exactly the stream's scale",
                where);
  }
  const size_t block_count = m.estimator.field().blocks.size();
  if (!candidates.empty() && candidates.size() != block_count) {
    throw Error(ErrorCode::mismatch,
                "reuse: " + std::to_string(candidates.size()) + " motion candidates for " +
                    std::to_string(block_count) + " blocks of " + std::to_string(m.settings.block_size) +
                    " pixels; give one per block in raster order (motion::block_candidates), or none",
                where);
  }
  m.stats = FrameStats{};
  m.stats.index = lr.index;
  double start = thread_ms();
  m.lr_cur.assign(lr, m.estimator.border());

  if (hr_anchor) {
    // With anchor_weight < 1 the anchor is blended into this frame's own reuse prediction when that descends from
    // an earlier anchor (not from a bicubic restart: the stream's start, a scene cut) and is no scene cut itself;
    // otherwise it replaces every reference.
    int slot = m.anchor_slot >= 0 ? m.anchor_slot : 0;
    bool blended = false;
    if (m.settings.anchor_weight < 1.0 && m.prev_slot >= 0 && m.chain_from_anchor) {
      slot = m.free_slot();
      blended = m.predict(lr, m.hr[slot], candidates, start) == FrameKind::reused;
      start = thread_ms();
    }
    core::Frame& out = m.hr[slot];
    if (blended) {
      m.blend_anchor(*hr_anchor, out);
    } else {
      for (int p = 0; p < core::kPlaneCount; ++p) {
        for (int y = 0; y < out.plane_height(p); ++y)
          std::memcpy(out.row(p, y), hr_anchor->row(p, y), out.plane_width(p));
      }
    }
    out.pts = lr.pts;
    out.index = lr.index;
    m.finish(lr, out, FrameKind::anchor);
    m.anchor_slot = m.prev_slot = slot;
    m.chain_from_anchor = true;
    m.chain_age = 0;
    m.stats.kind = FrameKind::anchor;
    m.stats.reconstruct_ms = ms_since(start);
    return out;
  }

  const int slot = m.free_slot();
  core::Frame& out = m.hr[slot];
  m.stats.kind = m.predict(lr, out, candidates, start);
  if (m.stats.kind == FrameKind::upscaled) m.chain_from_anchor = false;
  ++m.chain_age;
  out.pts = lr.pts;
  out.index = lr.index;
  m.finish(lr, out, m.stats.kind);
  m.prev_slot = slot;
  m.stats.reconstruct_ms = ms_since(start);
  return out;
}

// How much of an SR anchor goes into its frame, per block: settings.anchor_weight where the chain's prediction is
// trustworthy, the anchor whole where it is not, linear between, by the worse of two signs:
// - detail: the prediction's summed absolute Laplacian of luma against the anchor's, kBlendFullDetail or more
//   trusted, kBlendNoDetail or less not (blurred by repeated interpolation, typically under fast motion);
// - age: frames since the previous anchor, kBlendFreshChain or fewer trusted, kBlendStaleChain or more not (the
//   chain drifts: a zoom, which block motion follows only approximately, lost 0.27 dB at 40 frames).
// Chosen on VP9 contents of the selection set (README, "SR anchors blended into the chain", with the history).
constexpr double kBlendFullDetail = 0.9;
constexpr double kBlendNoDetail = 0.7;
constexpr double kBlendFreshChain = 15;
constexpr double kBlendStaleChain = 35;

// out = the anchor blended into out (this frame's reuse prediction), block by block (see kBlendFullDetail); the
// anchor whole on blocks predicted as intra.
void Reconstructor::Impl::blend_anchor(const core::Frame& anchor, core::Frame& out) {
  const motion::MotionField& field = estimator.field();
  const int base = static_cast<int>(std::lround(settings.anchor_weight * 256));
  const double stale = std::clamp((chain_age - kBlendFreshChain) / (kBlendStaleChain - kBlendFreshChain), 0.0, 1.0);
  block_weight.resize(field.blocks.size());
  const int hbs = field.block_size * settings.scale;
  for (int by = 0; by < field.blocks_y; ++by) {
    for (int bx = 0; bx < field.blocks_x; ++bx) {
      int& weight = block_weight[static_cast<size_t>(by) * field.blocks_x + bx];
      if (field.at(bx, by).intra()) {
        weight = 256;
        continue;
      }
      // Detail (summed absolute Laplacian of luma) of the prediction against the anchor's: a chain that lost
      // detail (blurred by repeated interpolation) takes more of the anchor.
      const int x0 = std::max(1, bx * hbs), y0 = std::max(1, by * hbs);
      const int x1 = std::min((bx + 1) * hbs, hw - 1), y1 = std::min((by + 1) * hbs, hh - 1);
      int64_t detail_anchor = 0, detail_chain = 0;
      for (int y = y0; y < y1; ++y) {
        const uint8_t* a = anchor.row(0, y);
        const uint8_t* au = anchor.row(0, y - 1);
        const uint8_t* ad = anchor.row(0, y + 1);
        const uint8_t* b = out.row(0, y);
        const uint8_t* bu = out.row(0, y - 1);
        const uint8_t* bd = out.row(0, y + 1);
        for (int x = x0; x < x1; ++x) {
          detail_anchor += std::abs(4 * a[x] - a[x - 1] - a[x + 1] - au[x] - ad[x]);
          detail_chain += std::abs(4 * b[x] - b[x - 1] - b[x + 1] - bu[x] - bd[x]);
        }
      }
      const double ratio = detail_anchor > 0 ? static_cast<double>(detail_chain) / detail_anchor : 1.0;
      const double t =
          std::max(stale, std::clamp((kBlendFullDetail - ratio) / (kBlendFullDetail - kBlendNoDetail), 0.0, 1.0));
      weight = base + static_cast<int>(std::lround((256 - base) * t));
    }
  }
  take_anchor_lr_band(anchor, out);
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const int pbs = (p == 0 ? field.block_size : field.block_size / 2) * settings.scale;
    const int hpw = out.plane_width(p);
    for (int y = 0; y < out.plane_height(p); ++y) {
      const int by = std::min(y / pbs, field.blocks_y - 1);
      for (int bx = 0; bx < field.blocks_x && bx * pbs < hpw; ++bx) {
        const int x0 = bx * pbs;
        const int w = bx + 1 == field.blocks_x ? hpw - x0 : std::min(pbs, hpw - x0);
        blend_row(out.row(p, y) + x0, anchor.row(p, y) + x0,
                  block_weight[static_cast<size_t>(by) * field.blocks_x + bx], w);
      }
    }
  }
}

// out (this frame's reuse prediction) back-projected onto the anchor's area down-scale, so that the blend that
// follows mixes the two only above the LR band and the LR band is the anchor's. The chain's LR band is the LR
// frames' own (back-projection puts it there, coding noise included), the anchor's is what the SR model made of
// this frame (coding noise removed). Measured with generic F=16 anchors on the selection set at 7.5 %: the H.264
// contents went from -0.07 dB on average against replacing (blending the whole band) to +0.01, the VP9 ones from
// +0.10 to +0.13 (README, "SR anchors blended into the chain").
void Reconstructor::Impl::take_anchor_lr_band(const core::Frame& anchor, core::Frame& out) {
  std::vector<uint8_t> anchor_down(static_cast<size_t>(lw));  // one LR row of the anchor's down-scale
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const int lpw = residual.plane_width(p);
    for (int y = 0; y < residual.plane_height(p); ++y) {
      downscale_row(anchor_down.data(), anchor, p, y, lpw);
      project_row(residual.row(p, y), anchor_down.data(), out, p, y, lpw);
    }
  }
  add_residual(out, std::min(threads(), estimator.field().blocks_y));
}

// The frame from the references (reused), or its bicubic up-scale when there is none or at a scene cut; fills the
// motion part of stats and restarts `start` when the build begins.
FrameKind Reconstructor::Impl::predict(const core::Frame& lr, core::Frame& out,
                                       std::span<const motion::MotionVector> candidates, double& start) {
  if (prev_slot >= 0) {
    motion::SearchReference refs[2], down_refs[2];
    const core::Frame* hr_refs[2];
    int count = 0;
    refs[count] = motion::SearchReference{&lr_prev, 0, candidates};
    down_refs[count] = motion::SearchReference{&down_prev, 0, {}};
    hr_refs[count++] = &hr[prev_slot];
    if (settings.anchor_reference && anchor_slot >= 0 && anchor_slot != prev_slot) {
      refs[count] = motion::SearchReference{
          &lr_anchor, -settings.anchor_preference * settings.block_size * settings.block_size, {}};
      down_refs[count] = motion::SearchReference{&down_anchor, 0, {}};
      hr_refs[count++] = &hr[anchor_slot];
    }
    const std::span<const motion::SearchReference> references(refs, count);
    const motion::MotionField& field = estimator.estimate(lr_cur, references);
    stats.blocks = static_cast<int>(field.blocks.size());
    // The SAD ratio counts textured blocks only (intra SAD >= 4 per sample): flat, noisy areas match no better
    // than their mean even when nothing changed.
    double sad_sum = 0, intra_sad_sum = 0;
    const uint32_t textured = 4u * field.block_size * field.block_size;
    for (const motion::BlockMotion& b : field.blocks) {
      if (b.intra_sad >= textured) {
        sad_sum += b.sad;
        intra_sad_sum += b.intra_sad;
      }
      if (b.intra()) {
        ++stats.intra_blocks;
      } else if (b.ref == 0) {
        ++stats.previous_blocks;
      } else {
        ++stats.anchor_blocks;
      }
    }
    if (stats.intra_blocks >= settings.scene_cut_intra_fraction * stats.blocks ||
        (intra_sad_sum > 0 && sad_sum >= settings.scene_cut_sad_ratio * intra_sad_sum)) {
      stats.scene_cut = true;
    } else {
      estimator.compute_residual(lr_cur, references, field, residual);
      if (projecting()) {
        estimator.compute_residual(lr_cur, std::span<const motion::SearchReference>(down_refs, count), field,
                                   residual_down);
      }
      stats.motion_ms = ms_since(start);
      start = thread_ms();
      reconstruct(out, field, hr_refs);
      return FrameKind::reused;
    }
  }
  stats.motion_ms = ms_since(start);
  start = thread_ms();
  core::resize(lr, out, core::ResizeFilter::bicubic);
  return FrameKind::upscaled;
}

}  // namespace ns::reuse
