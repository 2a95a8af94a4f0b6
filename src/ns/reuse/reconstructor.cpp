// Frame-level driver of ns/reuse: keeps the reference chain (previous and latest anchor, LR and HR), runs the
// motion search on the LR frame, builds the HR prediction (intra blocks up-scaled, inter blocks motion-compensated
// at vector x scale, overlapped or one vector per block), derives the LR residual (back-projection or the LR
// prediction's) and adds it up-scaled row by row (reference §7.2 steps 2 and 4), or falls back to bicubic.
#include <algorithm>
#include <array>
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
#include "ns/reuse/dsp_impl.h"
#include "ns/reuse/reuse.h"

namespace ns::reuse {
namespace {

constexpr int kRing = 4;  // horizontally up-scaled residual rows kept per plane
constexpr int kPatchStride = motion::kMaxInterpolateSize + 4;
constexpr int kSlots = 3;  // HR frames: latest anchor, previous output, current output

std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

// CPU time of the calling thread, in milliseconds.
double thread_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}
double ms_since(double start) { return thread_ms() - start; }

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

  void reconstruct(core::Frame& out, const motion::MotionField& field, const core::Frame* const* hr_refs);
  void predict_rect(int plane, const core::Frame& ref, motion::MotionVector mv, int x0, int y0, int w, int h,
                    uint8_t* dst, ptrdiff_t dst_stride, int compute_w = 0) const;
  void predict_overlapped(int plane, const motion::MotionField& field, const core::Frame* const* hr_refs,
                          core::Frame& out, int j_begin, int j_end) const;
  void upscale_intra_block(int plane, int x0, int y0, int w, int h, uint8_t* dst, ptrdiff_t dst_stride) const;
  const int16_t* ring_row(ThreadScratch& ts, int plane, int lr_row, int width) const;
  void project_residual(const core::Frame& prediction, int plane, int y_begin, int y_end, ThreadScratch& ts);
  int threads() const { return settings.threads; }
  void downscale(const core::Frame& hr_frame, core::Frame& lr_frame) const;
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

// HR motion compensation of the w x h rectangle at (x0, y0): reference sample (x, y) + s * mv / 4 (luma) or
// s * mv / 8 (chroma), through the shared 4-tap filter; edges replicated where the footprint leaves the frame.
// compute_w (a multiple of 4, >= w): columns to compute straight into dst when it has room for them (wider rows
// run the kernel's wide path); 0 computes w rounded up to 4 and writes exactly w columns.
void Reconstructor::Impl::predict_rect(int plane, const core::Frame& ref, motion::MotionVector mv, int x0, int y0,
                                       int w, int h, uint8_t* dst, ptrdiff_t dst_stride, int compute_w) const {
  const int s = settings.scale;
  const int shift = plane == 0 ? 2 : 3;
  const int mask = (1 << shift) - 1;
  const int phase_mul = plane == 0 ? 4 : 2;
  const int ux = mv.x * s;
  const int uy = mv.y * s;
  const int sx = x0 + (ux >> shift);
  const int sy = y0 + (uy >> shift);
  const int fx = (ux & mask) * phase_mul;
  const int fy = (uy & mask) * phase_mul;
  const int pw = ref.plane_width(plane);
  const int ph = ref.plane_height(plane);
  const int w4 = compute_w > 0 ? compute_w : (w + 3) & ~3;  // the kernel works on multiples of 4 columns
  NS_ASSERT(w4 >= w && w4 % 4 == 0 && w4 <= motion::kMaxInterpolateSize && h <= motion::kMaxInterpolateSize);

  const uint8_t* src;
  ptrdiff_t src_stride;
  alignas(32) uint8_t patch[kPatchStride * (motion::kMaxInterpolateSize + 3)];
  if (sx - 1 >= 0 && sy - 1 >= 0 && sx + w4 + 1 < pw && sy + h + 1 < ph) {
    src = ref.row(plane, sy) + sx;
    src_stride = ref.stride(plane);
    // The next call usually reads the next columns of the same rows, each row in another page, where the hardware
    // prefetcher does not look ahead: fetch the following cache line of every row now (measured -15 % HR time).
    for (int j = -1; j < h + 2; ++j) __builtin_prefetch(src + j * src_stride + w4 + 64);
  } else {
    // Edge replication: copy the footprint with clamped coordinates (columns [i0, i1) lie inside the plane).
    const int i0 = std::clamp(1 - sx, 0, w4 + 3), i1 = std::clamp(pw + 1 - sx, i0, w4 + 3);
    for (int j = 0; j < h + 3; ++j) {
      const uint8_t* row = ref.row(plane, std::clamp(sy - 1 + j, 0, ph - 1));
      uint8_t* p = patch + j * kPatchStride;
      std::memset(p, row[0], i0);
      if (i1 > i0) std::memcpy(p + i0, row + sx - 1 + i0, i1 - i0);
      std::memset(p + i1, row[pw - 1], w4 + 3 - i1);
    }
    src = patch + kPatchStride + 1;
    src_stride = kPatchStride;
  }
  if (w == w4 || compute_w > 0) {
    interpolate(dst, dst_stride, src, src_stride, w4, h, fx, fy);
    return;
  }
  alignas(32) uint8_t tmp[motion::kMaxInterpolateSize * motion::kMaxInterpolateSize];
  interpolate(tmp, motion::kMaxInterpolateSize, src, src_stride, w4, h, fx, fy);
  for (int y = 0; y < h; ++y) std::memcpy(dst + y * dst_stride, tmp + y * motion::kMaxInterpolateSize, w);
}

// Overlapped-block motion compensation. Each block's prediction extends half a block beyond it on every side under
// a separable triangular window, so every sample blends the predictions of the 2 x 2 blocks nearest to it. The
// plane is walked in block-sized regions centred on the corners of the block grid: the four blocks around a
// corner contribute to the whole region, so it is predicted once per distinct (reference, vector) and blended in
// one call, or predicted once when all four agree (most regions). Regions touching an intra block or the frame
// edge go quadrant by quadrant: intra blocks keep their up-scale, and a contributor that is intra or outside the
// frame is replaced by the block the quadrant lies in.
void Reconstructor::Impl::predict_overlapped(int plane, const motion::MotionField& field,
                                             const core::Frame* const* hr_refs, core::Frame& out, int j_begin,
                                             int j_end) const {
  const int lbs = plane == 0 ? field.block_size : field.block_size / 2;
  const int hbs = lbs * settings.scale;
  const int half = hbs / 2;
  const int hpw = out.plane_width(plane), hph = out.plane_height(plane);
  const ptrdiff_t stride = out.stride(plane);
  const uint8_t* falling = obmc_falling[plane].data();  // weight of the left/top contributor across a region
  constexpr int kTileStride = motion::kMaxInterpolateSize;
  alignas(32) uint8_t tiles[4][kTileStride * motion::kMaxInterpolateSize];

  // Blends the w x h rectangle at (x0, y0) from contributors c (top-left, top-right, bottom-left, bottom-right),
  // with the weights starting at falling[u0] (columns) and falling[v0] (rows).
  auto blend = [&](const motion::BlockMotion* const* c, int x0, int y0, int w, int h, int u0, int v0) {
    uint8_t* dst = out.row(plane, y0) + x0;
    bool same = true;
    for (int k = 1; k < 4; ++k) same = same && c[k]->ref == c[0]->ref && c[k]->mv == c[0]->mv;
    if (same) {
      predict_rect(plane, *hr_refs[c[0]->ref], c[0]->mv, x0, y0, w, h, dst, stride);
      return;
    }
    const uint8_t* preds[4];
    for (int k = 0; k < 4; ++k) {  // each distinct (reference, vector) once
      preds[k] = nullptr;
      for (int j = 0; j < k && !preds[k]; ++j) {
        if (c[j]->ref == c[k]->ref && c[j]->mv == c[k]->mv) preds[k] = preds[j];
      }
      if (!preds[k]) {
        // Whole multiples of 8 columns run the kernel's wide paths (w <= hbs <= 64 fits the buffer).
        predict_rect(plane, *hr_refs[c[k]->ref], c[k]->mv, x0, y0, w, h, tiles[k], kTileStride, (w + 7) & ~7);
        preds[k] = tiles[k];
      }
    }
    dsp.obmc_blend(dst, stride, preds, kTileStride, falling + u0, falling + v0, w, h);
  };
  auto usable = [&](int bx, int by) {
    return bx >= 0 && by >= 0 && bx < field.blocks_x && by < field.blocks_y && !field.at(bx, by).intra();
  };
  auto inner = [&](int i, int j) {
    return usable(i - 1, j - 1) && usable(i, j - 1) && usable(i - 1, j) && usable(i, j);
  };
  // The block all four contributors of an inner region (i, j) share, or null.
  auto uniform = [&](int i, int j) -> const motion::BlockMotion* {
    if (!inner(i, j)) return nullptr;
    const motion::BlockMotion& b = field.at(i, j);
    for (const motion::BlockMotion* o : {&field.at(i - 1, j - 1), &field.at(i, j - 1), &field.at(i - 1, j)}) {
      if (o->ref != b.ref || o->mv != b.mv) return nullptr;
    }
    return &b;
  };

  for (int j = j_begin; j < j_end; ++j) {
    const int ry0 = j * hbs - half;
    const int y_begin = std::max(ry0, 0), y_end = std::min(ry0 + hbs, hph);
    if (y_begin >= y_end) continue;
    for (int i = 0; i <= field.blocks_x; ++i) {
      const int rx0 = i * hbs - half;
      const int x_begin = std::max(rx0, 0), x_end = std::min(rx0 + hbs, hpw);
      if (x_begin >= x_end) continue;
      if (const motion::BlockMotion* u = uniform(i, j)) {
        // Uniform neighbours with the same (reference, vector) are one prediction, as wide as the kernel allows
        // (fewer calls, and its wide paths).
        int x_stop = x_end;
        for (;;) {
          const motion::BlockMotion* n = uniform(i + 1, j);
          const int next_end = std::min(x_stop + hbs, hpw);
          if (!n || n->ref != u->ref || n->mv != u->mv || next_end - x_begin > motion::kMaxInterpolateSize) break;
          x_stop = next_end;
          ++i;
        }
        predict_rect(plane, *hr_refs[u->ref], u->mv, x_begin, y_begin, x_stop - x_begin, y_end - y_begin,
                     out.row(plane, y_begin) + x_begin, stride);
        continue;
      }
      if (inner(i, j)) {
        const motion::BlockMotion* c[4] = {&field.at(i - 1, j - 1), &field.at(i, j - 1), &field.at(i - 1, j),
                                           &field.at(i, j)};
        blend(c, x_begin, y_begin, x_end - x_begin, y_end - y_begin, x_begin - rx0, y_begin - ry0);
        continue;
      }
      // Quadrants: (qx, qy) = 0 is the half in block i - 1 (j - 1), 1 the half in block i (j).
      for (int qy = 0; qy < 2; ++qy) {
        const int y0 = std::max(ry0 + qy * half, 0), y1 = std::min(ry0 + (qy + 1) * half, hph);
        if (y0 >= y1) continue;
        for (int qx = 0; qx < 2; ++qx) {
          const int x0 = std::max(rx0 + qx * half, 0), x1 = std::min(rx0 + (qx + 1) * half, hpw);
          if (x0 >= x1) continue;
          const int own_x = i - 1 + qx, own_y = j - 1 + qy;
          if (own_x < 0 || own_y < 0 || own_x >= field.blocks_x || own_y >= field.blocks_y) continue;
          const motion::BlockMotion& own = field.at(own_x, own_y);
          if (own.intra()) continue;  // predicted by the up-scale already
          const motion::BlockMotion* c[4];
          for (int k = 0; k < 4; ++k) {
            const int nx = i - 1 + k % 2, ny = j - 1 + k / 2;
            c[k] = usable(nx, ny) ? &field.at(nx, ny) : &own;
          }
          blend(c, x0, y0, x1 - x0, y1 - y0, x0 - rx0, y0 - ry0);
        }
      }
    }
  }
}

void Reconstructor::Impl::upscale_intra_block(int plane, int x0, int y0, int w, int h, uint8_t* dst,
                                              ptrdiff_t dst_stride) const {
  // Bilinear up-scale of the LR samples over this HR rectangle with the residual's tables (so block-local in
  // block mode, exactly reference §7.4 for intra blocks) and the same 5-bit arithmetic.
  const AxisTable& ht = h_table[plane];
  const AxisTable& vt = v_table[plane];
  const ptrdiff_t ls = lr_cur.stride(plane);
  const uint8_t* lr = lr_cur.origin(plane);
  for (int y = 0; y < h; ++y) {
    const uint8_t* top = lr + vt.left(y0 + y) * ls;
    const uint8_t* bottom = lr + vt.right(y0 + y) * ls;
    const int wy = vt.weight(y0 + y);
    for (int x = 0; x < w; ++x) {
      const int l = ht.left(x0 + x), r = ht.right(x0 + x), wx = ht.weight(x0 + x);
      const int a = top[l] + (((top[r] - top[l]) * wx + 16) >> 5);
      const int b = bottom[l] + (((bottom[r] - bottom[l]) * wx + 16) >> 5);
      dst[y * dst_stride + x] = static_cast<uint8_t>(a + (((b - a) * wy + 16) >> 5));
    }
  }
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

// Rows [y_begin, y_end) of one plane.
void Reconstructor::Impl::project_residual(const core::Frame& prediction, int p, int y_begin, int y_end,
                                           ThreadScratch& ts) {
  // With D the intended down-scale of a reference and delta = LR - D its deviation, the residual is
  //   LR - MC(delta_ref) - down(prediction) = residual - residual_down + (LR - down(prediction)),
  // as residual = LR - MC(LR_ref) and residual_down = LR - MC(D_ref); this frame's D is LR - MC(delta_ref).
  // For an anchor whose down-scale is its LR frame this is plain back-projection.
  const int s = settings.scale;
  int16_t* scratch_row = ts.lr_row.data();
  const int lpw = residual.plane_width(p);
  const int full_w = std::min(lpw, prediction.plane_width(p) / s);
  for (int y = y_begin; y < y_end; ++y) {
    int16_t* res = residual.row(p, y);
    const int16_t* res_down = residual_down.row(p, y);
    const uint8_t* lr = lr_cur.origin(p) + y * lr_cur.stride(p);
    uint8_t* down = down_frame.row(p, y);
    int x = 0;
    if ((y + 1) * s <= prediction.plane_height(p)) {
      dsp.project_row(scratch_row, lr, prediction.row(p, y * s), prediction.stride(p), s, full_w);
      x = full_w;
    }
    for (int i = x; i < lpw; ++i) {
      scratch_row[i] = static_cast<int16_t>(lr[i] - partial_box_mean(prediction, p, i, y, s));
    }
    for (int i = 0; i < lpw; ++i) {
      const int carried = res[i] - res_down[i];  // -MC(delta_ref)
      down[i] = static_cast<uint8_t>(std::clamp(lr[i] + carried, 0, 255));
      res[i] = static_cast<int16_t>(carried + scratch_row[i]);
    }
  }
}

void Reconstructor::Impl::downscale(const core::Frame& hr_frame, core::Frame& lr_frame) const {
  const int s = settings.scale;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const int lpw = lr_frame.plane_width(p);
    const int full_w = std::min(lpw, hr_frame.plane_width(p) / s);
    for (int y = 0; y < lr_frame.plane_height(p); ++y) {
      uint8_t* dst = lr_frame.row(p, y);
      int x = 0;
      if ((y + 1) * s <= hr_frame.plane_height(p)) {
        dsp.downscale_row(dst, hr_frame.row(p, y * s), hr_frame.stride(p), s, full_w);
        x = full_w;
      }
      for (; x < lpw; ++x) dst[x] = static_cast<uint8_t>(partial_box_mean(hr_frame, p, x, y, s));
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
    const int slot = m.anchor_slot >= 0 ? m.anchor_slot : 0;  // every reference is replaced by this anchor
    core::Frame& out = m.hr[slot];
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int y = 0; y < out.plane_height(p); ++y)
        std::memcpy(out.row(p, y), hr_anchor->row(p, y), out.plane_width(p));
    }
    out.pts = lr.pts;
    out.index = lr.index;
    m.finish(lr, out, FrameKind::anchor);
    m.anchor_slot = m.prev_slot = slot;
    m.stats.kind = FrameKind::anchor;
    m.stats.reconstruct_ms = ms_since(start);
    return out;
  }

  const int slot = m.free_slot();
  core::Frame& out = m.hr[slot];
  bool upscale = m.prev_slot < 0;
  if (!upscale) {
    motion::SearchReference refs[2], down_refs[2];
    const core::Frame* hr_refs[2];
    int count = 0;
    refs[count] = motion::SearchReference{&m.lr_prev, 0, candidates};
    down_refs[count] = motion::SearchReference{&m.down_prev, 0, {}};
    hr_refs[count++] = &m.hr[m.prev_slot];
    if (m.settings.anchor_reference && m.anchor_slot >= 0 && m.anchor_slot != m.prev_slot) {
      refs[count] = motion::SearchReference{
          &m.lr_anchor, -m.settings.anchor_preference * m.settings.block_size * m.settings.block_size, {}};
      down_refs[count] = motion::SearchReference{&m.down_anchor, 0, {}};
      hr_refs[count++] = &m.hr[m.anchor_slot];
    }
    const std::span<const motion::SearchReference> references(refs, count);
    const motion::MotionField& field = m.estimator.estimate(m.lr_cur, references);
    m.stats.blocks = static_cast<int>(field.blocks.size());
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
        ++m.stats.intra_blocks;
      } else if (b.ref == 0) {
        ++m.stats.previous_blocks;
      } else {
        ++m.stats.anchor_blocks;
      }
    }
    if (m.stats.intra_blocks >= m.settings.scene_cut_intra_fraction * m.stats.blocks ||
        (intra_sad_sum > 0 && sad_sum >= m.settings.scene_cut_sad_ratio * intra_sad_sum)) {
      upscale = true;
      m.stats.scene_cut = true;
    } else {
      m.estimator.compute_residual(m.lr_cur, references, field, m.residual);
      if (m.projecting()) {
        m.estimator.compute_residual(m.lr_cur, std::span<const motion::SearchReference>(down_refs, count), field,
                                     m.residual_down);
      }
      m.stats.motion_ms = ms_since(start);
      start = thread_ms();
      m.reconstruct(out, field, hr_refs);
      m.stats.kind = FrameKind::reused;
    }
  }
  if (upscale) {
    m.stats.motion_ms = ms_since(start);
    start = thread_ms();
    core::resize(lr, out, core::ResizeFilter::bicubic);
    m.stats.kind = FrameKind::upscaled;
  }
  out.pts = lr.pts;
  out.index = lr.index;
  m.finish(lr, out, m.stats.kind);
  m.prev_slot = slot;
  m.stats.reconstruct_ms = ms_since(start);
  return out;
}

}  // namespace ns::reuse
