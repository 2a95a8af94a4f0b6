// ns/motion: block motion estimation on LR I420 frames against up to 4 references, quarter-pel, and residuals.
// In: current and reference frames, each copied once into an edge-padded Reference. Out: MotionField (per luma block:
// reference, quarter-pel vector, SAD, or intra) and int16 Residual planes, owned by the Estimator or the caller.
// Kernels: motion::Dsp (SAD, 4-tap cubic sub-pel): the C spec in dsp_c.cpp, AVX2 in dsp_avx2.cpp, tests/check_dsp_test.
// Thread-safety: one Estimator per caller (settings.threads splits one estimate()). Errors: ns::Error (bad input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "ns/core/frame.h"

namespace ns::motion {

struct Dsp;

// CPU levels for kernel selection: the best the host supports, lowered by NS_CPU_LEVEL=c|avx2 (or 0|1).
inline constexpr int kCpuLevelC = 0;
inline constexpr int kCpuLevelAvx2 = 1;
int host_cpu_level();
const char* cpu_level_name(int level);

// Sub-pixel interpolation shared by LR prediction here and HR prediction in ns/reuse: separable 4-tap cubic
// (Keys, a = -0.5) with 1/16-pel phases and 6-bit coefficients (kSubpelFilters in dsp_c.cpp).
//   t(x, y)   = sum_k cx[k] * src[y][x - 1 + k]                       (exact, fits int16)
//   out(x, y) = clamp((sum_k ((t(x, y - 1 + k) * cy[k] + 32) >> 6) + 32) >> 6, 0, 255)
// Phase 0 is the identity, so whole-pel vectors copy samples exactly. src points at the block's integer
// position; the kernel reads columns -1 .. width + 1 and rows -1 .. height + 1 around it.
// width: a multiple of 4 up to kMaxInterpolateSize; height: 1 .. kMaxInterpolateSize; phases 0 .. 15.
inline constexpr int kSubpelPhases = 16;
inline constexpr int kMaxInterpolateSize = 64;
using InterpolateFn = void (*)(uint8_t* dst, ptrdiff_t dst_stride, const uint8_t* src, ptrdiff_t src_stride, int width,
                               int height, int phase_x, int phase_y);
InterpolateFn interpolate_kernel(int cpu_level);  // the fastest kernel allowed at cpu_level (-1: host)

// A motion vector in quarter-pel luma units of the LR frame: the block at (x, y) of the current frame is predicted
// from (x, y) + v / 4 of its reference. Chroma (half resolution) uses the same number in eighth-pel chroma units;
// at scale s the HR luma displacement is s * v / 4 HR pixels (s * v / 8 for HR chroma).
struct MotionVector {
  int16_t x = 0;
  int16_t y = 0;
  friend bool operator==(const MotionVector&, const MotionVector&) = default;
};

inline constexpr int kMaxReferences = 4;
inline constexpr int8_t kIntra = -1;

struct BlockMotion {
  MotionVector mv;         // relative to references[ref]; zero for intra blocks
  int8_t ref = kIntra;     // index into the references passed to estimate(), or kIntra
  uint32_t sad = 0;        // luma SAD of the chosen prediction (intra: SAD against the block's own mean)
  uint32_t intra_sad = 0;  // luma SAD against the block's own mean (the cost of having no reference)
  bool intra() const { return ref == kIntra; }
};

struct MotionField {
  int block_size = 0;
  int blocks_x = 0;  // ceil(width / block_size): edge blocks may be partial
  int blocks_y = 0;
  std::vector<BlockMotion> blocks;  // raster order
  const BlockMotion& at(int bx, int by) const { return blocks[static_cast<size_t>(by) * blocks_x + bx]; }
  int intra_count() const;
};

struct MotionSettings {
  int block_size = 8;     // luma block: 8 or 16
  int search_range = 64;  // whole pels each way; vectors are clamped to it
  int subpel_steps = 2;   // 0: whole pel, 1: half pel, 2: quarter pel
  int lambda = 4;         // SAD units per bit of vector cost (vector minus the median of its neighbours)
  // A block is intra when its best SAD exceeds intra_sad_per_pixel * samples, or exceeds the SAD against its
  // own mean plus intra_margin_per_pixel * samples (no usable match: new or uncovered content).
  int intra_sad_per_pixel = 24;
  int intra_margin_per_pixel = 1;
  int cpu_level = -1;  // -1: host_cpu_level()
  // false: no search of our own; each reference slot evaluates only the zero vector, its external candidates
  // and (slots >= 1) the constant-velocity candidate, at exactly those positions (e.g. the decoder's vectors
  // only; no hexagon, diamond or sub-pel refinement).
  bool search = true;
  // Threads for one estimate() (the caller's plus threads - 1 started per call): rows of blocks in a wavefront
  // (a row starts a block once the row above is two blocks ahead), so the field is identical for every count.
  int threads = 1;
};

// Runs fn(0) on the calling thread and fn(1) .. fn(threads - 1) on threads started for the call, and returns
// when all have finished; the first exception any of them threw is rethrown. threads <= 1 just calls fn(0).
void run_threads(int threads, const std::function<void(int)>& fn);

// A vector a decoder used for a rectangle of the current frame (e.g. media::CodedMotionVector, source -1):
// the rectangle at (x, y) is predicted from (x, y) + mv / 4 of its reference.
struct CodedBlock {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  MotionVector mv;
};

// One external candidate per block of a width x height frame with block_size blocks (raster order, as
// SearchReference::candidates wants): the vector of the coded rectangle that covers the block's centre sample,
// the zero vector where none does (intra, or not exported). Later rectangles win where they overlap. out is
// resized; throws invalid_argument for a bad size or block size.
void block_candidates(std::span<const CodedBlock> coded, int width, int height, int block_size,
                      std::vector<MotionVector>& out);

// A frame copied with replicated edges (border samples on every side of luma, half of it for chroma), so that
// the search and the prediction may read anywhere a clamped vector points. The border Estimator::border() gives
// suffices for that estimator. assign() reuses the memory when the size does not change.
class Reference {
 public:
  Reference() = default;
  Reference(const Reference&) = delete;  // holds pointers into its own storage
  Reference& operator=(const Reference&) = delete;
  Reference(Reference&&) noexcept = default;
  Reference& operator=(Reference&&) noexcept = default;
  void assign(const core::Frame& frame, int border);

  bool empty() const { return width_ == 0; }
  int width() const { return width_; }
  int height() const { return height_; }
  int plane_width(int plane) const { return plane == 0 ? width_ : (width_ + 1) / 2; }
  int plane_height(int plane) const { return plane == 0 ? height_ : (height_ + 1) / 2; }
  int border(int plane) const { return borders_[plane]; }
  ptrdiff_t stride(int plane) const { return strides_[plane]; }
  const uint8_t* origin(int plane) const { return origins_[plane]; }  // sample (0, 0)
  int64_t index = 0;                                                  // frame index of the source

 private:
  int width_ = 0;
  int height_ = 0;
  int borders_[core::kPlaneCount] = {0, 0, 0};
  ptrdiff_t strides_[core::kPlaneCount] = {0, 0, 0};
  const uint8_t* origins_[core::kPlaneCount] = {nullptr, nullptr, nullptr};
  std::vector<uint8_t> storage_;
};

// One reference for a search: the padded frame, a cost bias added to every block's cost for it (SAD units;
// negative prefers it), and optional external candidates, one per block in raster order (e.g. decoder vectors).
struct SearchReference {
  const Reference* frame = nullptr;
  int cost_bias = 0;
  std::span<const MotionVector> candidates = {};
};

// Int16 residual planes of an LR frame (stride = plane width): current minus its motion-compensated prediction;
// intra blocks carry the current samples themselves (their prediction is 0).
struct Residual {
  int width = 0;
  int height = 0;
  std::vector<int16_t> planes[core::kPlaneCount];
  int plane_width(int plane) const { return plane == 0 ? width : (width + 1) / 2; }
  int plane_height(int plane) const { return plane == 0 ? height : (height + 1) / 2; }
  int16_t* row(int plane, int y) { return planes[plane].data() + static_cast<size_t>(y) * plane_width(plane); }
  const int16_t* row(int plane, int y) const {
    return planes[plane].data() + static_cast<size_t>(y) * plane_width(plane);
  }
};

// Fast predictive search per luma block and reference: candidates (zero, the median and the left, top and
// top-right vectors of this field, the co-located vector of the previous field for the same reference slot,
// external candidates, and for slots >= 1 that slot's previous vector plus this block's slot-0 vector, i.e.
// constant velocity when slot 0 is the previous frame), then a hexagon and a small diamond at whole pel, then
// half- and quarter-pel refinement. The best reference is the one with the lowest SAD + lambda * bits + bias.
class Estimator {
 public:
  Estimator(const MotionSettings& settings, int width, int height);

  int border() const { return border_; }  // luma border the References passed here need
  const MotionSettings& settings() const { return settings_; }

  // current and every reference must have this estimator's size and at least border(). 1 .. kMaxReferences
  // references. The field stays valid until the next call.
  const MotionField& estimate(const Reference& current, std::span<const SearchReference> references);
  const MotionField& field() const { return field_; }

  // Residual of `current` for `field` (all three planes), into `out` (resized as needed).
  void compute_residual(const Reference& current, std::span<const SearchReference> references, const MotionField& field,
                        Residual& out) const;

  void reset();  // forget the previous field (temporal candidates), e.g. after a seek

 private:
  struct BlockSearch;
  void search_block(BlockSearch& search, const SearchReference& reference, int slot) const;
  void estimate_block(BlockSearch& search, const Reference& current, std::span<const SearchReference> references);
  void residual_rows(const Reference& current, std::span<const SearchReference> references, const MotionField& field,
                     Residual& out, int row_begin, int row_end) const;

  MotionSettings settings_;
  int width_;
  int height_;
  int border_;
  int blocks_x_;
  int blocks_y_;
  const Dsp* dsp_;  // kernels chosen once (dsp_impl.h)
  MotionField field_;
  std::vector<MotionVector> slot_mv_[kMaxReferences];       // this field: best vector per block and slot
  std::vector<MotionVector> prev_slot_mv_[kMaxReferences];  // previous field
  bool have_previous_ = false;
};

}  // namespace ns::motion
