// Cross-stream scheduler (reference §3.3-3.4 with the fixes of §3.7 / §11): per epoch, every stream's sorted
// candidates are merged by class (key > altref > normal), then score (desc), stream id, offset; fraction mode
// takes the first K, budget mode takes every candidate that still fits and skips the others.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>

#include "ns/anchor/anchor.h"
#include "ns/core/error.h"

namespace ns::anchor {

const char* method_name(Method method) {
  switch (method) {
    case Method::neuroscaler:
      return "neuroscaler";
    case Method::uniform:
      return "uniform";
    case Method::perframe:
      return "perframe";
    case Method::keyframe:
      return "keyframe";
    case Method::neuroscaler_q:
      return "neuroscaler-q";
    case Method::oracle:
      return "oracle";
  }
  return "?";
}

Method method_from_name(const std::string& name) {
  if (name == "neuroscaler") return Method::neuroscaler;
  if (name == "uniform") return Method::uniform;
  if (name == "perframe") return Method::perframe;
  if (name == "keyframe") return Method::keyframe;
  if (name == "neuroscaler-q") return Method::neuroscaler_q;
  if (name == "oracle") return Method::oracle;
  throw Error(ErrorCode::invalid_argument, "anchor: unknown selection method (\"" + name +
                                               "\"); use neuroscaler, neuroscaler-q, uniform, perframe, keyframe "
                                               "or oracle");
}

SelectorConfig method_selector(Method method, SelectorConfig given) {
  const bool q = method == Method::neuroscaler_q;
  if (q) {
    given.estimator = Estimator::quantiser;
    given.altref_at_display = true;
  }
  using Q = NeuroscalerQDefaults;
  given.horizon_past_epoch = given.horizon_past_epoch.value_or(q ? Q::horizon_past_epoch : -1);
  given.altref_min_boost = given.altref_min_boost.value_or(q ? Q::altref_min_boost : 0.0);
  given.flat_cv = given.flat_cv.value_or(q ? Q::flat_cv : 0.0);
  return given;
}

Scheduler::Scheduler(const SchedulerConfig& config) : config_(config) {
  if (config_.method == Method::oracle) {
    throw Error(ErrorCode::invalid_argument,
                "scheduler: the oracle needs the decoded frames and an HR reference; use anchor::OracleSelector");
  }
  config_.selector = method_selector(config_.method, config_.selector);
  if (config_.epoch_frames <= 0) {
    throw Error(ErrorCode::invalid_argument, "scheduler: epoch_frames must be positive (" +
                                                 std::to_string(config_.epoch_frames) + "); use e.g. 40");
  }
  if (!(config_.fps > 0 && std::isfinite(config_.fps))) {
    throw Error(ErrorCode::invalid_argument, "scheduler: fps must be positive; use e.g. 60");
  }
  if (config_.mode == Mode::fraction && !(config_.fraction >= 0 && config_.fraction <= 1)) {
    throw Error(ErrorCode::invalid_argument,
                "scheduler: fraction out of range (" + std::to_string(config_.fraction) + "); use 0..1");
  }
  if (config_.mode == Mode::budget && !(config_.budget_ms >= 0 && std::isfinite(config_.budget_ms))) {
    throw Error(ErrorCode::invalid_argument, "scheduler: budget_ms must be >= 0 (" +
                                                 std::to_string(config_.budget_ms) + "); use GPU ms per epoch");
  }
  StreamSelector check(config_.selector);  // validates the selector configuration now
}

int Scheduler::add_stream(const StreamSpec& spec) {
  if (!(spec.anchor_ms >= 0 && std::isfinite(spec.anchor_ms))) {
    throw Error(ErrorCode::invalid_argument, "scheduler: anchor cost must be >= 0 ms; check the latency model",
                ErrorContext{spec.name, "", -1});
  }
  const int id = next_id_++;
  streams_.emplace(id, Stream{spec, StreamSelector(config_.selector)});
  return id;
}

void Scheduler::remove_stream(int stream) {
  if (streams_.erase(stream) == 0) {
    throw Error(ErrorCode::invalid_argument,
                "scheduler: unknown stream id " + std::to_string(stream) + "; use an id from add_stream");
  }
}

bool Scheduler::has_stream(int stream) const { return streams_.count(stream) != 0; }

const StreamSelector& Scheduler::selector(int stream) const {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    throw Error(ErrorCode::invalid_argument,
                "scheduler: unknown stream id " + std::to_string(stream) + "; use an id from add_stream");
  }
  return it->second.selector;
}

void Scheduler::push(int stream, const media::CodedFrame& frame) { find(stream).selector.push(frame); }

void Scheduler::push_unit(int stream, const Unit& unit) { find(stream).selector.push_unit(unit); }

Scheduler::Stream& Scheduler::find(int stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    throw Error(ErrorCode::invalid_argument,
                "scheduler: unknown stream id " + std::to_string(stream) + "; use an id from add_stream");
  }
  return it->second;
}

namespace {

struct Pick {
  UnitClass cls;
  double score;
  int stream;
  int offset;
};

bool pick_before(const Pick& a, const Pick& b) {
  if (a.cls != b.cls) return static_cast<int>(a.cls) < static_cast<int>(b.cls);
  if (a.score != b.score) return a.score > b.score;
  if (a.stream != b.stream) return a.stream < b.stream;
  return a.offset < b.offset;
}

// A flat stream's anchors, as many as the scores gave it, move to evenly spaced units (uniform_offsets); each
// key unit of the epoch stays an anchor in place of the grid unit nearest to it. Scores follow the offsets' order.
void place_evenly(const std::vector<Unit>& units, std::vector<std::pair<int, double>>& chosen) {
  const int n = static_cast<int>(units.size());
  std::vector<int> offsets = uniform_offsets(n, static_cast<int>(chosen.size()));
  for (int i = 0; i < n; ++i) {
    if (units[i].cls != UnitClass::key || std::find(offsets.begin(), offsets.end(), i) != offsets.end()) continue;
    const auto nearest = std::min_element(offsets.begin(), offsets.end(), [&](int a, int b) {
      const bool a_key = units[a].cls == UnitClass::key;
      const bool b_key = units[b].cls == UnitClass::key;
      if (a_key != b_key) return b_key;  // never displace another key
      return std::abs(a - i) < std::abs(b - i);
    });
    if (units[*nearest].cls != UnitClass::key) *nearest = i;
  }
  std::sort(offsets.begin(), offsets.end());
  std::vector<double> scores;
  for (const auto& [offset, score] : chosen) scores.push_back(score);
  std::sort(scores.begin(), scores.end(), std::greater<>());
  chosen.clear();
  for (size_t j = 0; j < offsets.size(); ++j) chosen.emplace_back(offsets[j], scores[j]);
}

}  // namespace

EpochResult Scheduler::run_epoch() {
  EpochResult result;
  result.index = epoch_;
  const double epoch_s = config_.epoch_frames / config_.fps;
  result.start_s = static_cast<double>(epoch_) * epoch_s;
  result.deadline_s = static_cast<double>(epoch_ + 1) * epoch_s;
  result.quota = -1;
  result.budget_ms = config_.mode == Mode::budget ? config_.budget_ms : 0.0;

  // Streams in id order; picks refer to them by position.
  std::vector<std::pair<int, Stream*>> order;
  order.reserve(streams_.size());
  int active = 0;
  for (auto& [id, s] : streams_) {
    order.emplace_back(id, &s);
    const int n = static_cast<int>(s.selector.units().size());
    result.frames += n;
    if (n > 0) ++active;
  }
  std::vector<std::vector<std::pair<int, double>>> chosen(order.size());  // (offset, score) per stream

  if (config_.method == Method::neuroscaler || config_.method == Method::neuroscaler_q) {
    std::vector<Pick> picks;
    picks.reserve(static_cast<size_t>(result.frames / 4 + 16));
    std::vector<Candidate> candidates;
    for (size_t k = 0; k < order.size(); ++k) {
      candidates.clear();
      order[k].second->selector.sort(candidates);
      for (const Candidate& c : candidates) picks.push_back({c.cls, c.score, static_cast<int>(k), c.offset});
    }
    // Stream position order == stream id order. A lambda (not a function pointer) so the comparison inlines.
    std::sort(picks.begin(), picks.end(), [](const Pick& x, const Pick& y) { return pick_before(x, y); });
    if (config_.mode == Mode::fraction) {
      result.quota = std::llround(config_.fraction * static_cast<double>(result.frames));
      const size_t take = std::min<size_t>(picks.size(), static_cast<size_t>(result.quota));
      for (size_t i = 0; i < take; ++i) {
        chosen[picks[i].stream].emplace_back(picks[i].offset, picks[i].score);
        result.used_ms += order[picks[i].stream].second->spec.anchor_ms;
      }
    } else {
      double left = config_.budget_ms;
      for (const Pick& p : picks) {
        const double cost = order[p.stream].second->spec.anchor_ms;
        if (cost <= left) {
          left -= cost;
          result.used_ms += cost;
          chosen[p.stream].emplace_back(p.offset, p.score);
        } else {
          ++result.skipped;  // does not fit: a cheaper frame later in the order may still fit
        }
      }
    }
    for (size_t k = 0; k < order.size(); ++k) {
      const StreamSelector& selector = order[k].second->selector;
      if (!chosen[k].empty() && selector.flat()) place_evenly(selector.units(), chosen[k]);
    }
  } else {
    // Baselines: perframe and keyframe ignore the budget; uniform takes round(fraction * n) per stream, or in
    // budget mode an equal share of the budget per active stream.
    for (size_t k = 0; k < order.size(); ++k) {
      const Stream& s = *order[k].second;
      const int n = static_cast<int>(s.selector.units().size());
      if (n == 0) continue;
      std::vector<int> offsets;
      if (config_.method == Method::perframe) {
        offsets = perframe_offsets(n);
      } else if (config_.method == Method::keyframe) {
        offsets = keyframe_offsets(s.selector.units());
      } else {
        int count = 0;
        if (config_.mode == Mode::fraction) {
          count = static_cast<int>(std::llround(config_.fraction * n));
        } else if (s.spec.anchor_ms <= 0) {
          count = n;
        } else {
          count = static_cast<int>(std::min<double>(n, std::floor(config_.budget_ms / active / s.spec.anchor_ms)));
        }
        offsets = uniform_offsets(n, count);
      }
      result.used_ms += static_cast<double>(offsets.size()) * s.spec.anchor_ms;
      for (int offset : offsets) chosen[k].emplace_back(offset, 0.0);
    }
    if (config_.mode == Mode::fraction && config_.method == Method::uniform) {
      result.quota = 0;
      for (const auto& c : chosen) result.quota += static_cast<int64_t>(c.size());
    }
  }

  size_t total = 0;
  for (const auto& c : chosen) total += c.size();
  result.anchors.reserve(total);
  std::vector<int> offsets;
  for (size_t k = 0; k < order.size(); ++k) {
    StreamSelector& selector = order[k].second->selector;
    std::sort(chosen[k].begin(), chosen[k].end());
    offsets.clear();
    for (const auto& [offset, score] : chosen[k]) {
      NS_ASSERT(offsets.empty() || offsets.back() < offset);  // no duplicate anchors
      offsets.push_back(offset);
      const Unit& u = selector.units()[offset];
      result.anchors.push_back({order[k].first, u.display_index, u.decode_index, u.cls, score});
    }
    selector.commit(offsets);
  }
  ++epoch_;
  return result;
}

}  // namespace ns::anchor
