// HR prediction of ns/reuse: motion compensation of HR reference rectangles (one vector per block, or overlapped
// blocks blended under a triangular window) and the bilinear up-scale of intra blocks.
#include <algorithm>
#include <cstring>

#include "ns/reuse/reconstructor_impl.h"

namespace ns::reuse {
namespace {

constexpr int kPatchStride = motion::kMaxInterpolateSize + 4;  // row stride of the edge-replicated reference patch

}  // namespace

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

}  // namespace ns::reuse
