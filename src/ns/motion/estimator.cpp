// Frame-level driver of ns/motion: padded references, the predictive block search and the residual.
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <exception>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ns/core/error.h"
#include "ns/motion/dsp_impl.h"
#include "ns/motion/motion.h"

namespace ns::motion {
namespace {

constexpr int kAlign = 64;

int align_up(int v, int a) { return (v + a - 1) / a * a; }

int clamp_int(int v, int lo, int hi) { return std::min(std::max(v, lo), hi); }

MotionVector make_mv(int x, int y) { return MotionVector{static_cast<int16_t>(x), static_cast<int16_t>(y)}; }

// Exp-Golomb length of a signed vector difference component.
int mv_bits(int d) { return 2 * std::bit_width(static_cast<unsigned>(2 * std::abs(d) + 1)) - 1; }

int median3(int a, int b, int c) { return std::max(std::min(a, b), std::min(std::max(a, b), c)); }

std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

void block_candidates(std::span<const CodedBlock> coded, int width, int height, int block_size,
                      std::vector<MotionVector>& out) {
  if (width <= 0 || height <= 0 || block_size <= 0) {
    throw Error(ErrorCode::invalid_argument, "motion candidates: frame size " + size_text(width, height) +
                                                 " or block size " + std::to_string(block_size) +
                                                 " is empty; pass the estimator's size and block size");
  }
  const int bx_count = (width + block_size - 1) / block_size;
  const int by_count = (height + block_size - 1) / block_size;
  out.assign(static_cast<size_t>(bx_count) * by_count, MotionVector{});
  // Block (bx, by) takes the rectangle that contains its centre (x0 + b / 2, y0 + b / 2): the blocks whose centre
  // lies in [x, x + w) are those with bx * b + b / 2 in it.
  const int half = block_size / 2;
  auto first_block = [&](int lo) { return std::max(0, (lo - half + block_size - 1) / block_size); };
  for (const CodedBlock& c : coded) {
    if (c.width <= 0 || c.height <= 0) continue;
    const int bx0 = first_block(std::max(c.x, 0)), by0 = first_block(std::max(c.y, 0));
    for (int by = by0; by < by_count && by * block_size + half < c.y + c.height; ++by) {
      for (int bx = bx0; bx < bx_count && bx * block_size + half < c.x + c.width; ++bx) {
        out[static_cast<size_t>(by) * bx_count + bx] = c.mv;
      }
    }
  }
}

void run_threads(int threads, const std::function<void(int)>& fn) {
  if (threads <= 1) {
    fn(0);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  auto guarded = [&](int t) {
    try {
      fn(t);
    } catch (...) {
      const std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> workers;
    workers.reserve(static_cast<size_t>(threads - 1));
    for (int t = 1; t < threads; ++t) workers.emplace_back(guarded, t);
    guarded(0);
  }  // joins
  if (error) std::rethrow_exception(error);
}

int MotionField::intra_count() const {
  return static_cast<int>(std::count_if(blocks.begin(), blocks.end(), [](const BlockMotion& b) { return b.intra(); }));
}

void Reference::assign(const core::Frame& frame, int border) {
  if (frame.empty()) {
    throw Error(ErrorCode::invalid_argument, "motion reference: the frame is empty; pass a decoded frame");
  }
  NS_ASSERT(border >= 0);
  const int borders[core::kPlaneCount] = {border, (border + 1) / 2 + 4, (border + 1) / 2 + 4};
  size_t offsets[core::kPlaneCount];
  size_t total = 0;
  width_ = frame.width();
  height_ = frame.height();
  for (int p = 0; p < core::kPlaneCount; ++p) {
    borders_[p] = borders[p];
    strides_[p] = align_up(plane_width(p) + 2 * borders[p], kAlign);
    offsets[p] = total;
    total += static_cast<size_t>(strides_[p]) * (plane_height(p) + 2 * borders[p]);
  }
  storage_.resize(total);
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const int b = borders_[p];
    const int pw = plane_width(p);
    const int ph = plane_height(p);
    const ptrdiff_t stride = strides_[p];
    uint8_t* origin = storage_.data() + offsets[p] + b * stride + b;
    origins_[p] = origin;
    for (int y = 0; y < ph; ++y) {
      const uint8_t* src = frame.row(p, y);
      uint8_t* dst = origin + y * stride;
      std::memcpy(dst, src, pw);
      std::memset(dst - b, src[0], b);
      std::memset(dst + pw, src[pw - 1], b);
    }
    for (int y = 1; y <= b; ++y) {
      std::memcpy(origin - y * stride - b, origin - b, pw + 2 * b);
      std::memcpy(origin + (ph - 1 + y) * stride - b, origin + (ph - 1) * stride - b, pw + 2 * b);
    }
  }
  index = frame.index;
}

Estimator::Estimator(const MotionSettings& settings, int width, int height)
    : settings_(settings), width_(width), height_(height) {
  auto invalid = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "motion estimator: " + what); };
  if (width <= 0 || height <= 0) invalid("frame size " + size_text(width, height) + " is empty; sizes must be >= 1");
  if (settings.block_size != 8 && settings.block_size != 16) {
    invalid("block size " + std::to_string(settings.block_size) + " is not supported; use 8 or 16");
  }
  if (settings.search_range < 1 || settings.search_range > 256) {
    invalid("search range " + std::to_string(settings.search_range) + " is out of range; use 1 .. 256 pixels");
  }
  if (settings.subpel_steps < 0 || settings.subpel_steps > 2) {
    invalid("subpel steps " + std::to_string(settings.subpel_steps) + " must be 0 (whole), 1 (half) or 2 (quarter)");
  }
  if (settings.threads < 1 || settings.threads > 64) {
    invalid("threads " + std::to_string(settings.threads) + " is out of range; use 1 .. 64");
  }
  if (settings.lambda < 0 || settings.intra_sad_per_pixel < 0 || settings.intra_margin_per_pixel < 0) {
    invalid("lambda and intra thresholds must not be negative");
  }
  border_ = settings.search_range + settings.block_size + 8;
  blocks_x_ = (width + settings.block_size - 1) / settings.block_size;
  blocks_y_ = (height + settings.block_size - 1) / settings.block_size;
  dsp_ = &dsp_for_level(settings.cpu_level);
  field_.block_size = settings.block_size;
  field_.blocks_x = blocks_x_;
  field_.blocks_y = blocks_y_;
  field_.blocks.assign(static_cast<size_t>(blocks_x_) * blocks_y_, BlockMotion{});
}

void Estimator::reset() {
  have_previous_ = false;
  for (auto& v : prev_slot_mv_) v.clear();
}

// State of one block's search across its references.
struct Estimator::BlockSearch {
  int bx = 0;
  int by = 0;
  int x0 = 0;
  int y0 = 0;
  size_t block = 0;
  const uint8_t* cur = nullptr;
  ptrdiff_t cur_stride = 0;
  // result for the slot being searched
  MotionVector best;
  uint32_t best_sad = 0;
  uint32_t best_cost = 0;
};

void Estimator::search_block(BlockSearch& s, const SearchReference& reference, int slot) const {
  const Dsp& dsp = *dsp_;
  const int bs = settings_.block_size;
  const Reference& ref = *reference.frame;
  const ptrdiff_t ref_stride = ref.stride(0);
  const uint8_t* ref_block = ref.origin(0) + s.y0 * ref_stride + s.x0;
  const SadFn sad = bs == 8 ? dsp.sad_8x8 : dsp.sad_16x16;
  const int range_q = settings_.search_range * 4;
  const int lambda = settings_.lambda;
  const std::vector<MotionVector>& mvs = slot_mv_[slot];

  // Vector predictor: median of left, top and top-right (top-left at the right edge) of this slot.
  MotionVector left, top, top_right;
  if (s.bx > 0) left = mvs[s.block - 1];
  if (s.by > 0) {
    top = mvs[s.block - blocks_x_];
    top_right = s.bx + 1 < blocks_x_ ? mvs[s.block - blocks_x_ + 1] : (s.bx > 0 ? mvs[s.block - blocks_x_ - 1] : top);
  }
  MotionVector pred = left;
  if (s.by > 0) pred = make_mv(median3(left.x, top.x, top_right.x), median3(left.y, top.y, top_right.y));

  alignas(32) uint8_t tmp[16 * 16];
  auto sad_at = [&](int qx, int qy) -> uint32_t {
    const uint8_t* p = ref_block + (qy >> 2) * ref_stride + (qx >> 2);
    if (((qx | qy) & 3) == 0) return sad(s.cur, s.cur_stride, p, ref_stride);
    if (bs == 8) return dsp.sad_subpel_8x8(s.cur, s.cur_stride, p, ref_stride, (qx & 3) * 4, (qy & 3) * 4);
    dsp.interpolate(tmp, 16, p, ref_stride, bs, bs, (qx & 3) * 4, (qy & 3) * 4);
    return sad(s.cur, s.cur_stride, tmp, 16);
  };
  auto cost_of = [&](int qx, int qy, uint32_t sad_value) -> uint32_t {
    return sad_value + static_cast<uint32_t>(lambda * (mv_bits(qx - pred.x) + mv_bits(qy - pred.y)));
  };

  // Whole-pel stage: try each candidate's nearest whole-pel position (and its exact position when fractional).
  MotionVector best_int;
  uint32_t best_int_cost = UINT32_MAX, best_int_sad = 0;
  MotionVector best_exact;
  uint32_t best_exact_cost = UINT32_MAX, best_exact_sad = 0;
  std::array<MotionVector, 12> tried{}, tried_exact{};
  int tried_count = 0, tried_exact_count = 0;
  auto try_whole = [&](int ix, int iy) {
    ix = clamp_int(ix, -settings_.search_range, settings_.search_range);
    iy = clamp_int(iy, -settings_.search_range, settings_.search_range);
    const uint32_t sv = sad_at(ix * 4, iy * 4);
    const uint32_t c = cost_of(ix * 4, iy * 4, sv);
    if (c < best_int_cost) {
      best_int_cost = c;
      best_int_sad = sv;
      best_int = make_mv(ix, iy);
      return true;
    }
    return false;
  };
  auto add_candidate = [&](MotionVector c) {
    const int qx = clamp_int(c.x, -range_q, range_q);
    const int qy = clamp_int(c.y, -range_q, range_q);
    const MotionVector whole = make_mv((qx + 2) >> 2, (qy + 2) >> 2);
    bool seen = false;
    for (int i = 0; i < tried_count; ++i) seen = seen || tried[i] == whole;
    if (!seen && tried_count < static_cast<int>(tried.size())) {
      tried[tried_count++] = whole;
      try_whole(whole.x, whole.y);
    }
    if (((qx | qy) & 3) != 0 && settings_.subpel_steps > 0) {
      const MotionVector exact = make_mv(qx, qy);
      for (int i = 0; i < tried_exact_count; ++i) {
        if (tried_exact[i] == exact) return;
      }
      if (tried_exact_count < static_cast<int>(tried_exact.size())) tried_exact[tried_exact_count++] = exact;
      const uint32_t sv = sad_at(qx, qy);
      const uint32_t cv = cost_of(qx, qy, sv);
      if (cv < best_exact_cost) {
        best_exact_cost = cv;
        best_exact_sad = sv;
        best_exact = make_mv(qx, qy);
      }
    }
  };

  const bool search = settings_.search;
  add_candidate(MotionVector{});
  if (search) {
    add_candidate(pred);
    add_candidate(left);
    add_candidate(top);
    add_candidate(top_right);
  }
  if (have_previous_ && static_cast<size_t>(slot) < std::size(prev_slot_mv_) &&
      prev_slot_mv_[slot].size() == mvs.size()) {
    const std::vector<MotionVector>& prev = prev_slot_mv_[slot];
    if (search) {
      add_candidate(prev[s.block]);
      if (s.bx + 1 < blocks_x_) add_candidate(prev[s.block + 1]);
      if (s.by + 1 < blocks_y_) add_candidate(prev[s.block + blocks_x_]);
    }
    if (slot > 0) {
      const MotionVector v0 = slot_mv_[0][s.block];
      add_candidate(make_mv(clamp_int(prev[s.block].x + v0.x, -range_q, range_q),
                            clamp_int(prev[s.block].y + v0.y, -range_q, range_q)));
    }
  }
  if (!reference.candidates.empty()) add_candidate(reference.candidates[s.block]);

  const bool exact_hit = best_exact_cost != UINT32_MAX && best_exact_sad == 0;
  if (search && best_int_sad != 0 && !exact_hit) {
    // Hexagon (radius 2) while it improves, then a small diamond, then the four corners once.
    static constexpr int kHex[6][2] = {{-2, 0}, {2, 0}, {-1, -2}, {1, -2}, {-1, 2}, {1, 2}};
    static constexpr int kDiamond[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
    static constexpr int kCorners[4][2] = {{-1, -1}, {1, -1}, {-1, 1}, {1, 1}};
    for (int iter = 0; iter < 16; ++iter) {
      const MotionVector c = best_int;
      bool moved = false;
      for (const auto& d : kHex) moved = try_whole(c.x + d[0], c.y + d[1]) || moved;
      if (!moved) break;
    }
    for (int iter = 0; iter < 8; ++iter) {
      const MotionVector c = best_int;
      bool moved = false;
      for (const auto& d : kDiamond) moved = try_whole(c.x + d[0], c.y + d[1]) || moved;
      if (!moved) break;
    }
    const MotionVector c = best_int;
    for (const auto& d : kCorners) try_whole(c.x + d[0], c.y + d[1]);
  }

  // Sub-pel stage: eight neighbours at half pel, then at quarter pel, around the best so far.
  MotionVector best = make_mv(best_int.x * 4, best_int.y * 4);
  uint32_t best_cost = best_int_cost, best_sad = best_int_sad;
  if (best_exact_cost < best_cost) {
    best = best_exact;
    best_cost = best_exact_cost;
    best_sad = best_exact_sad;
  }
  // Small diamonds, at most twice per step, as long as they improve.
  static constexpr int kDiamondSub[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
  for (int step = 2; step >= 1 && best_sad != 0 && search; --step) {
    if ((step == 2 && settings_.subpel_steps < 1) || (step == 1 && settings_.subpel_steps < 2)) break;
    for (int iter = 0; iter < 2; ++iter) {
      const MotionVector c = best;
      for (const auto& d : kDiamondSub) {
        const int qx = c.x + d[0] * step;
        const int qy = c.y + d[1] * step;
        if (qx < -range_q || qx > range_q || qy < -range_q || qy > range_q) continue;
        const uint32_t sv = sad_at(qx, qy);
        const uint32_t cv = cost_of(qx, qy, sv);
        if (cv < best_cost) {
          best_cost = cv;
          best_sad = sv;
          best = make_mv(qx, qy);
        }
      }
      if (best == c) break;
    }
  }
  s.best = best;
  s.best_sad = best_sad;
  s.best_cost = best_cost;
}

// One block against every reference: the best (reference, vector), or intra. s.bx, s.by and s.cur_stride are set.
void Estimator::estimate_block(BlockSearch& s, const Reference& current, std::span<const SearchReference> references) {
  const int bs = settings_.block_size;
  const int n = bs * bs;
  const int slots = static_cast<int>(references.size());
  s.x0 = s.bx * bs;
  s.y0 = s.by * bs;
  s.block = static_cast<size_t>(s.by) * blocks_x_ + s.bx;
  s.cur = current.origin(0) + s.y0 * s.cur_stride + s.x0;

  BlockMotion chosen;
  int64_t chosen_total = INT64_MAX;
  for (int r = 0; r < slots; ++r) {
    search_block(s, references[r], r);
    slot_mv_[r][s.block] = s.best;
    const int64_t total = static_cast<int64_t>(s.best_cost) + references[r].cost_bias;
    if (total < chosen_total) {
      chosen_total = total;
      chosen.mv = s.best;
      chosen.ref = static_cast<int8_t>(r);
      chosen.sad = s.best_sad;
    }
  }

  // Intra when no reference matches: the SAD is above the absolute limit, or worse than the block's
  // own mean (plus a margin).
  // Sum and SAD against the mean with the SAD kernel: against zeros, then against a flat block.
  alignas(32) static constexpr uint8_t kZeros[16 * 16] = {};
  const SadFn sad = bs == 8 ? dsp_->sad_8x8 : dsp_->sad_16x16;
  const uint32_t sum = sad(s.cur, s.cur_stride, kZeros, 16);
  const int mean = static_cast<int>((sum + n / 2) / n);
  alignas(32) uint8_t flat[16 * 16];
  std::memset(flat, mean, sizeof flat);
  const uint32_t intra_sad = sad(s.cur, s.cur_stride, flat, 16);
  if (chosen.sad > static_cast<uint32_t>(settings_.intra_sad_per_pixel * n) ||
      chosen.sad > intra_sad + static_cast<uint32_t>(settings_.intra_margin_per_pixel * n)) {
    chosen = BlockMotion{MotionVector{}, kIntra, intra_sad, intra_sad};
  }
  chosen.intra_sad = intra_sad;
  field_.blocks[s.block] = chosen;
}

const MotionField& Estimator::estimate(const Reference& current, std::span<const SearchReference> references) {
  auto check_frame = [&](const Reference& r, const char* what) {
    if (r.empty()) {
      throw Error(ErrorCode::invalid_argument,
                  std::string("motion estimate: the ") + what + " frame is empty; assign() a decoded frame first");
    }
    if (r.width() != width_ || r.height() != height_) {
      throw Error(ErrorCode::mismatch,
                  std::string("motion estimate: the ") + what + " frame is " + size_text(r.width(), r.height()) +
                      " but the estimator was made for " + size_text(width_, height_) +
                      "; use one estimator per frame size",
                  ErrorContext{.frame_index = r.index});
    }
    if (r.border(0) < border_) {
      throw Error(ErrorCode::invalid_argument, std::string("motion estimate: the ") + what + " frame has a border of " +
                                                   std::to_string(r.border(0)) + " samples (needs " +
                                                   std::to_string(border_) + "); assign it with Estimator::border()");
    }
  };
  check_frame(current, "current");
  if (references.empty() || references.size() > static_cast<size_t>(kMaxReferences)) {
    throw Error(ErrorCode::invalid_argument, "motion estimate: " + std::to_string(references.size()) +
                                                 " references given; pass 1 to " + std::to_string(kMaxReferences));
  }
  const size_t block_count = field_.blocks.size();
  for (const SearchReference& r : references) {
    if (!r.frame) throw Error(ErrorCode::invalid_argument, "motion estimate: a reference is null; pass a frame");
    check_frame(*r.frame, "reference");
    if (!r.candidates.empty() && r.candidates.size() != block_count) {
      throw Error(ErrorCode::mismatch, "motion estimate: " + std::to_string(r.candidates.size()) +
                                           " external candidates for " + std::to_string(block_count) +
                                           " blocks; give one vector per block in raster order, or none");
    }
  }

  const int slots = static_cast<int>(references.size());
  for (int r = 0; r < slots; ++r) slot_mv_[r].assign(block_count, MotionVector{});

  const int threads = std::min(settings_.threads, blocks_y_);
  if (threads <= 1) {
    BlockSearch s;
    s.cur_stride = current.stride(0);
    for (int by = 0; by < blocks_y_; ++by) {
      for (int bx = 0; bx < blocks_x_; ++bx) {
        s.bx = bx;
        s.by = by;
        estimate_block(s, current, references);
      }
    }
  } else {
    // Wavefront: thread t takes rows t, t + threads, ...; a block needs its left, top and top-right (top-left at
    // the right edge) neighbours, so row by may run block bx once row by - 1 has finished min(bx + 2, blocks_x)
    // blocks. Progress is published per block and waiters are woken every few blocks and at the end of a row.
    std::vector<std::atomic<int>> progress(static_cast<size_t>(blocks_y_));
    for (auto& p : progress) p.store(0, std::memory_order_relaxed);
    run_threads(threads, [&](int t) {
      BlockSearch s;
      s.cur_stride = current.stride(0);
      for (int by = t; by < blocks_y_; by += threads) {
        std::atomic<int>* above = by > 0 ? &progress[by - 1] : nullptr;
        std::atomic<int>& mine = progress[by];
        for (int bx = 0; bx < blocks_x_; ++bx) {
          if (above) {
            const int need = std::min(bx + 2, blocks_x_);
            for (int seen = above->load(std::memory_order_acquire); seen < need;
                 seen = above->load(std::memory_order_acquire)) {
              above->wait(seen, std::memory_order_acquire);
            }
          }
          s.bx = bx;
          s.by = by;
          estimate_block(s, current, references);
          mine.store(bx + 1, std::memory_order_release);
          if ((bx & 7) == 7 || bx + 1 == blocks_x_) mine.notify_all();
        }
      }
    });
  }

  for (int r = 0; r < kMaxReferences; ++r) {
    if (r < slots) {
      std::swap(prev_slot_mv_[r], slot_mv_[r]);
    } else {
      prev_slot_mv_[r].clear();
    }
  }
  have_previous_ = true;
  return field_;
}

void Estimator::compute_residual(const Reference& current, std::span<const SearchReference> references,
                                 const MotionField& field, Residual& out) const {
  if (current.width() != width_ || current.height() != height_ || field.blocks_x != blocks_x_ ||
      field.blocks_y != blocks_y_) {
    throw Error(ErrorCode::mismatch, "motion residual: the frame (" + size_text(current.width(), current.height()) +
                                         ") or field does not match the estimator (" + size_text(width_, height_) +
                                         "); pass the frame and field of the same estimate() call");
  }
  for (int by = 0; by < blocks_y_; ++by) {
    for (int bx = 0; bx < blocks_x_; ++bx) {
      const BlockMotion& b = field.at(bx, by);
      if (!b.intra() && (b.ref < 0 || static_cast<size_t>(b.ref) >= references.size() || !references[b.ref].frame)) {
        throw Error(ErrorCode::invalid_argument, "motion residual: block (" + std::to_string(bx) + ", " +
                                                     std::to_string(by) + ") refers to reference " +
                                                     std::to_string(b.ref) + " which was not passed");
      }
    }
  }
  out.width = width_;
  out.height = height_;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    out.planes[p].resize(static_cast<size_t>(out.plane_width(p)) * out.plane_height(p));
  }
  const int threads = std::min(settings_.threads, blocks_y_);
  run_threads(threads, [&](int t) {
    residual_rows(current, references, field, out, blocks_y_ * t / threads, blocks_y_ * (t + 1) / threads);
  });
}

// compute_residual() for the block rows [row_begin, row_end); the references were checked.
void Estimator::residual_rows(const Reference& current, std::span<const SearchReference> references,
                              const MotionField& field, Residual& out, int row_begin, int row_end) const {
  const Dsp& dsp = *dsp_;
  const int bs = settings_.block_size;
  const int max_run = kMaxInterpolateSize / bs;  // blocks per interpolation call
  alignas(32) uint8_t pred[kMaxInterpolateSize * 16];
  for (int by = row_begin; by < row_end; ++by) {
    for (int bx = 0; bx < blocks_x_;) {
      const BlockMotion& b = field.at(bx, by);
      // A run of neighbours with the same reference and vector is predicted in one call.
      int run = 1;
      while (!b.intra() && run < max_run && bx + run < blocks_x_ && field.at(bx + run, by).ref == b.ref &&
             field.at(bx + run, by).mv == b.mv) {
        ++run;
      }
      for (int p = 0; p < core::kPlaneCount; ++p) {
        const int pbs = p == 0 ? bs : bs / 2;
        const int x0 = bx * pbs;
        const int y0 = by * pbs;
        const int w = std::min(run * pbs, out.plane_width(p) - x0);
        const int h = std::min(pbs, out.plane_height(p) - y0);
        const ptrdiff_t cs = current.stride(p);
        const uint8_t* cur = current.origin(p) + y0 * cs + x0;
        const ptrdiff_t rs = out.plane_width(p);
        int16_t* res = out.planes[p].data() + static_cast<size_t>(y0) * rs + x0;
        if (b.intra()) {
          for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) res[y * rs + x] = cur[y * cs + x];
          }
          continue;
        }
        const Reference& ref = *references[b.ref].frame;
        const ptrdiff_t stride = ref.stride(p);
        // Luma: quarter-pel; chroma: the same number in eighth-pel units.
        const int shift = p == 0 ? 2 : 3;
        const int mask = (1 << shift) - 1;
        const int phase_mul = p == 0 ? 4 : 2;
        const uint8_t* src = ref.origin(p) + (y0 + (b.mv.y >> shift)) * stride + x0 + (b.mv.x >> shift);
        dsp.interpolate(pred, kMaxInterpolateSize, src, stride, run * pbs, pbs, (b.mv.x & mask) * phase_mul,
                        (b.mv.y & mask) * phase_mul);
        dsp.sub(res, rs, cur, cs, pred, kMaxInterpolateSize, w, h);
      }
      bx += run;
    }
  }
}

}  // namespace ns::motion
