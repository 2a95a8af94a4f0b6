// Per-stream state and sort (reference §3.1-3.2 with the fixes of §3.7 and §11): units of displayed frames,
// accumulated residual from coded bytes, greedy candidate sort with float scores.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ns/anchor/anchor.h"
#include "ns/core/error.h"

namespace ns::anchor {

namespace {

double unit_weight(const Unit& unit) { return unit.weight >= 0 ? unit.weight : static_cast<double>(unit.bytes); }

}  // namespace

const char* unit_class_name(UnitClass cls) {
  switch (cls) {
    case UnitClass::key:
      return "key";
    case UnitClass::altref:
      return "altref";
    case UnitClass::normal:
      return "normal";
  }
  return "?";
}

UnitClass unit_class_from_name(const std::string& name) {
  if (name == "key") return UnitClass::key;
  if (name == "altref") return UnitClass::altref;
  if (name == "normal") return UnitClass::normal;
  throw Error(ErrorCode::invalid_argument,
              "anchor: unknown frame class (\"" + name + "\"); use key, altref or normal");
}

StreamSelector::StreamSelector(const SelectorConfig& config) : config_(method_selector(Method::neuroscaler, config)) {
  if (!(config_.max_candidate_ratio >= 0 && config_.max_candidate_ratio <= 1)) {
    throw Error(ErrorCode::invalid_argument, "anchor: max_candidate_ratio out of range (" +
                                                 std::to_string(config_.max_candidate_ratio) + "); use 0..1");
  }
  if (!(*config_.altref_min_boost >= 0 && std::isfinite(*config_.altref_min_boost)) ||
      !(*config_.flat_cv >= 0 && std::isfinite(*config_.flat_cv))) {
    throw Error(ErrorCode::invalid_argument, "anchor: altref_min_boost and flat_cv must be finite numbers >= 0");
  }
  if (config_.avg_window < 0) {
    throw Error(ErrorCode::invalid_argument, "anchor: avg_window is negative; use 0 (2 x GOP) or a unit count");
  }
  if (config_.avg_window == 0) config_.avg_window = config_.gop > 0 ? 2 * config_.gop : 240;
}

void StreamSelector::push(const media::CodedFrame& frame) {
  const double weight =
      config_.estimator == Estimator::bytes ? frame.bytes : frame_weight(frame, config_.estimator, config_.q_exponent);
  if (!frame.shown) {
    pending_bytes_ += frame.bytes;
    pending_weight_ += weight;
    if (frame.cls == media::FrameClass::key) pending_key_ = true;
    if (frame.cls == media::FrameClass::altref) {
      altref_boosted_ = is_boosted(frame);
      if (config_.altref_at_display) {
        altref_awaiting_display_ = true;
        altref_refresh_ = frame.refresh_flags;
      } else {
        pending_altref_ = true;
      }
    }
    return;
  }
  // The alt-ref is displayed by a show_existing_frame, or by an overlay frame: a shown frame that refreshes the
  // alt-ref's reference slot (libvpx codes the overlay as an inter frame of a few bytes predicted from it).
  if (altref_awaiting_display_ && (frame.show_existing || (frame.refresh_flags & altref_refresh_) != 0)) {
    pending_altref_ = true;
    altref_awaiting_display_ = false;
  }
  if (*config_.altref_min_boost > 0 && frame.cls == media::FrameClass::normal) {
    const double step = quantiser_step(frame);
    if (step > 0) normal_steps_.push_back(step);
    if (normal_steps_.size() > kBoostWindow) normal_steps_.pop_front();
  }
  Unit unit;
  unit.display_index = frame.display_index;
  unit.decode_index = frame.decode_index;
  unit.bytes = pending_bytes_ + frame.bytes;
  unit.weight = pending_weight_ + weight;
  if (frame.cls == media::FrameClass::key || pending_key_) {
    unit.cls = UnitClass::key;
  } else if (pending_altref_ && altref_boosted_) {
    unit.cls = UnitClass::altref;
  } else {
    unit.cls = UnitClass::normal;
  }
  pending_bytes_ = 0;
  pending_weight_ = 0;
  pending_key_ = false;
  pending_altref_ = false;
  push_unit(unit);
}

bool StreamSelector::is_boosted(const media::CodedFrame& altref) const {
  if (*config_.altref_min_boost <= 0) return true;
  const double step = quantiser_step(altref);
  if (step <= 0 || normal_steps_.empty()) return true;  // nothing to compare with: the reference's rule
  double sum = 0;
  for (double x : normal_steps_) sum += x;
  return sum / static_cast<double>(normal_steps_.size()) >= *config_.altref_min_boost * step;
}

void StreamSelector::push_unit(const Unit& unit) {
  units_.push_back(unit);
  const double weight = unit_weight(unit);
  window_.push_back(weight);
  window_sum_ += weight;
  while (window_.size() > static_cast<size_t>(config_.avg_window)) {
    window_sum_ -= window_.front();
    window_.pop_front();
  }
  if (unit.cls == UnitClass::key) {
    last_key_display_ = unit.display_index;
  } else {
    epoch_weight_sum_ += weight;
    epoch_weight_squares_ += weight * weight;
    ++epoch_weighted_units_;
  }
}

double StreamSelector::mean_unit_bytes() const {
  if (window_.empty()) return 1.0;
  return std::max(1.0, window_sum_ / static_cast<double>(window_.size()));
}

std::vector<double> StreamSelector::accumulated() const {
  std::vector<double> r(units_.size());
  double acc = carry_;
  for (size_t i = 0; i < units_.size(); ++i) {
    acc = units_[i].cls == UnitClass::key ? 0.0 : acc + unit_weight(units_[i]);
    r[i] = acc;
  }
  return r;
}

namespace {

// Greedy sort of one class group (§3.2 step 3). `next_boundary[i]` = smallest j > i that is a key unit or an
// already sorted candidate, or -1; kept up to date after each pick.
void sort_group(const std::vector<int>& group, int count, std::vector<double>& r, std::vector<int>& next_boundary,
                const std::vector<int64_t>& horizon, std::vector<char>& sorted, double mean, UnitClass cls,
                std::vector<Candidate>& out) {
  const int n_units = static_cast<int>(r.size());
  for (int iter = 0; iter < count; ++iter) {
    int best = -1;
    int64_t best_end = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c : group) {
      if (sorted[c]) continue;
      const int64_t end = next_boundary[c] >= 0 ? next_boundary[c] : horizon[c];
      const double score = static_cast<double>(end - c) * r[c] / mean;
      if (score > best_score) {  // strictly greater: ties keep the lower offset (groups are in offset order)
        best_score = score;
        best = c;
        best_end = end;
      }
    }
    if (best < 0) return;
    const double d = r[best];
    const int stop = static_cast<int>(std::min<int64_t>(best_end, n_units));
    for (int i = best; i < stop; ++i) r[i] -= d;
    sorted[best] = 1;
    for (int i = best - 1; i >= 0; --i) {
      if (next_boundary[i] >= 0 && next_boundary[i] < best) break;
      next_boundary[i] = best;
      if (sorted[i]) break;  // i is itself a boundary for everything before it
    }
    out.push_back({best, cls, best_score});
  }
}

// Scratch buffers reused across streams and epochs (the scheduler sorts thousands of streams per epoch).
struct SortScratch {
  std::vector<double> r;
  std::vector<int> altrefs;
  std::vector<int> normals;
  std::vector<char> sorted;
  std::vector<int> next_boundary;
  std::vector<int64_t> horizon;
};

// Fills R (on the mean weight when the epoch is flat), the class groups, the key units (sorted, appended to `keys`
// when given), the next boundary (key unit) and the GOP horizon of every unit.
// `flat`: StreamSelector::flat_weight().
void prepare_sort(const std::vector<Unit>& units, double carry, double flat, const SelectorConfig& config,
                  int64_t last_key, SortScratch& scratch, std::vector<Candidate>* keys) {
  const int n = static_cast<int>(units.size());
  const int gop = config.gop;
  const int past_epoch = *config.horizon_past_epoch;
  std::vector<double>& r = scratch.r;
  r.resize(n);
  double acc = carry;
  for (int i = 0; i < n; ++i) {
    acc = units[i].cls == UnitClass::key ? 0.0 : acc + (flat >= 0 ? flat : unit_weight(units[i]));
    r[i] = acc;
  }
  scratch.altrefs.clear();
  scratch.normals.clear();
  scratch.sorted.assign(n, 0);
  scratch.next_boundary.resize(n);
  scratch.horizon.assign(n, n);
  int next = -1;
  for (int i = n - 1; i >= 0; --i) {
    scratch.next_boundary[i] = next;
    if (units[i].cls == UnitClass::key) next = i;
  }
  for (int i = 0; i < n; ++i) {
    const Unit& u = units[i];
    if (u.cls == UnitClass::key) {
      last_key = u.display_index;
      scratch.sorted[i] = 1;
      if (keys) keys->push_back({i, UnitClass::key, 0.0});
      continue;
    }
    if (u.cls == UnitClass::altref) scratch.altrefs.push_back(i);
    if (u.cls == UnitClass::normal) scratch.normals.push_back(i);
    // No boundary after i in the epoch: the next key frame is expected one GOP after the last one (at least the
    // end of the epoch, since no key frame follows inside it).
    if (gop > 0) {
      const int64_t since = last_key >= 0 ? u.display_index - last_key : u.display_index;
      const int64_t remaining = gop - (((since % gop) + gop) % gop);
      scratch.horizon[i] = std::max<int64_t>(n, i + remaining);
      if (past_epoch >= 0) scratch.horizon[i] = std::min<int64_t>(scratch.horizon[i], n + past_epoch);
    }
  }
}

}  // namespace

std::vector<Candidate> StreamSelector::sort() const {
  std::vector<Candidate> out;
  sort(out);
  return out;
}

void StreamSelector::sort(std::vector<Candidate>& out) const {
  const int n = static_cast<int>(units_.size());
  if (n == 0) return;
  thread_local SortScratch scratch;
  prepare_sort(units_, carry_, flat_weight(), config_, epoch_start_last_key_, scratch, &out);
  const double mean = mean_unit_bytes();
  // At least one candidate when the ratio allows any, so that short epochs (a stream's last frames, a stream that
  // just joined) can still get an anchor.
  int target = static_cast<int>(std::llround(n * config_.max_candidate_ratio));
  if (target == 0 && config_.max_candidate_ratio > 0) target = 1;
  const int num_altref = std::min<int>(target, static_cast<int>(scratch.altrefs.size()));
  const int num_normal = std::min<int>(target - num_altref, static_cast<int>(scratch.normals.size()));
  sort_group(scratch.altrefs, num_altref, scratch.r, scratch.next_boundary, scratch.horizon, scratch.sorted, mean,
             UnitClass::altref, out);
  sort_group(scratch.normals, num_normal, scratch.r, scratch.next_boundary, scratch.horizon, scratch.sorted, mean,
             UnitClass::normal, out);
}

std::vector<double> StreamSelector::single_scores() const {
  const int n = static_cast<int>(units_.size());
  std::vector<double> out(n, 0.0);
  if (n == 0) return out;
  SortScratch scratch;
  prepare_sort(units_, carry_, flat_weight(), config_, epoch_start_last_key_, scratch, nullptr);
  const double mean = mean_unit_bytes();
  for (int c = 0; c < n; ++c) {
    if (units_[c].cls == UnitClass::key) continue;
    const int64_t end = scratch.next_boundary[c] >= 0 ? scratch.next_boundary[c] : scratch.horizon[c];
    out[c] = static_cast<double>(end - c) * scratch.r[c] / mean;
  }
  return out;
}

double StreamSelector::flat_weight() const {
  if (*config_.flat_cv <= 0 || epoch_weighted_units_ < 2 || epoch_weight_sum_ <= 0) return -1;
  const double count = epoch_weighted_units_;
  const double mean = epoch_weight_sum_ / count;
  const double variance = std::max(0.0, epoch_weight_squares_ / count - mean * mean);
  return std::sqrt(variance) < *config_.flat_cv * mean ? mean : -1;
}

bool StreamSelector::flat() const { return flat_weight() >= 0; }

void StreamSelector::commit(std::span<const int> anchor_offsets) {
  // After the anchors, R restarts at 0 from the last anchor or key unit (R[c] - R[c] = 0, §3.1 update): the carry
  // is the bytes of the units after it, or the old carry plus every unit's bytes if there is none.
  int last = -1;
  for (int offset : anchor_offsets) {
    NS_ASSERT(offset >= 0 && static_cast<size_t>(offset) < units_.size());
    last = std::max(last, offset);
  }
  double acc = carry_;
  for (size_t i = 0; i < units_.size(); ++i) {
    const bool reset = units_[i].cls == UnitClass::key || static_cast<int>(i) == last;
    acc = reset ? 0.0 : acc + unit_weight(units_[i]);
  }
  carry_ = acc;
  units_.clear();
  epoch_weight_sum_ = 0;
  epoch_weight_squares_ = 0;
  epoch_weighted_units_ = 0;
  epoch_start_last_key_ = last_key_display_;
}

}  // namespace ns::anchor
