// Oracle selector (evaluation only, reference §3.6d): per epoch, every frame's reuse chain is measured once against
// the HR reference, then a global greedy on the measured tables picks the anchors (see oracle.h for the argument).
#include "ns/anchor/oracle.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "ns/core/error.h"
#include "ns/core/metrics.h"

namespace ns::anchor {

struct OracleSelector::Stream {
  StreamSpec spec;
  int lr_width = 0;
  int lr_height = 0;
  // Per track, the carried chain: the state after the previous epochs' anchors of that track.
  std::vector<std::unique_ptr<reuse::Reconstructor>> chains;
  std::unique_ptr<reuse::Reconstructor> scratch;  // candidate runs
  std::vector<OracleFrame> frames;                // this epoch's displayed frames
  int64_t next_display = 0;                       // display index of the next frame pushed
};

namespace {

std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

const core::Frame& anchor_image(const OracleFrame& f) { return f.anchor.empty() ? f.reference : f.anchor; }

// The measured tables of one stream's epoch: q0[j] and Q[c][j - c] for j in [c, n).
struct Tables {
  std::vector<double> q0;
  std::vector<std::vector<double>> q;
  int64_t reconstructions = 0;
};

// Greedy state of one stream: chosen anchors and the current quality of every frame.
struct GreedyStream {
  const Tables* tables = nullptr;
  std::vector<char> chosen;
  std::vector<double> cur;
  double anchor_ms = 0;
  int best = -1;  // best next candidate (offset), -1 if none
  double best_gain = 0;
};

// Gain of adding c: its chain replaces the current quality up to the next chosen anchor.
double gain_of(const GreedyStream& g, int c) {
  const int n = static_cast<int>(g.cur.size());
  const std::vector<double>& qc = g.tables->q[c];
  double sum = 0;
  for (int j = c; j < n && (j == c || !g.chosen[j]); ++j) sum += qc[j - c] - g.cur[j];
  return sum;
}

void update_best(GreedyStream& g) {
  g.best = -1;
  g.best_gain = -std::numeric_limits<double>::infinity();
  const int n = static_cast<int>(g.cur.size());
  for (int c = 0; c < n; ++c) {
    if (g.chosen[c]) continue;
    const double gain = gain_of(g, c);
    if (gain > g.best_gain) {  // strict: ties keep the lower offset
      g.best_gain = gain;
      g.best = c;
    }
  }
}

void choose(GreedyStream& g, int c) {
  const int n = static_cast<int>(g.cur.size());
  const std::vector<double>& qc = g.tables->q[c];
  for (int j = c; j < n && (j == c || !g.chosen[j]); ++j) g.cur[j] = qc[j - c];
  g.chosen[c] = 1;
}

}  // namespace

OracleSelector::OracleSelector(const SchedulerConfig& config, const reuse::ReuseSettings& reuse,
                               std::span<const double> extra_fractions)
    : config_(config), reuse_(reuse) {
  config_.method = Method::neuroscaler;  // the Scheduler's checks of the shared fields; the method is ours
  reuse_.anchor_weight = 1.0;  // the tables model an anchor as restarting the chain (see the class comment)
  Scheduler check(config_);
  fractions_.push_back(config_.fraction);
  if (!extra_fractions.empty() && config_.mode != Mode::fraction) {
    throw Error(ErrorCode::invalid_argument, "oracle: extra fractions need fraction mode; run budget mode alone");
  }
  for (double f : extra_fractions) {
    if (!(f >= 0 && f <= 1)) {
      throw Error(ErrorCode::invalid_argument, "oracle: fraction out of range (" + std::to_string(f) + "); use 0..1");
    }
    fractions_.push_back(f);
  }
  reuse::Reconstructor probe(reuse_, 16, 16);  // validates the reuse settings now
}

OracleSelector::~OracleSelector() = default;

int OracleSelector::add_stream(const StreamSpec& spec, int lr_width, int lr_height) {
  if (!(spec.anchor_ms >= 0 && std::isfinite(spec.anchor_ms))) {
    throw Error(ErrorCode::invalid_argument, "oracle: anchor cost must be >= 0 ms; check the latency model",
                ErrorContext{spec.name, "", -1});
  }
  auto s = std::make_unique<Stream>();
  s->spec = spec;
  s->lr_width = lr_width;
  s->lr_height = lr_height;
  for (size_t t = 0; t < fractions_.size(); ++t) {
    s->chains.push_back(std::make_unique<reuse::Reconstructor>(reuse_, lr_width, lr_height));
  }
  s->scratch = std::make_unique<reuse::Reconstructor>(reuse_, lr_width, lr_height);
  const int id = next_id_++;
  streams_.emplace(id, std::move(s));
  return id;
}

void OracleSelector::remove_stream(int stream) {
  if (streams_.erase(stream) == 0) {
    throw Error(ErrorCode::invalid_argument,
                "oracle: unknown stream id " + std::to_string(stream) + "; use an id from add_stream");
  }
}

bool OracleSelector::has_stream(int stream) const { return streams_.count(stream) != 0; }

void OracleSelector::push(int stream, OracleFrame frame) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    throw Error(ErrorCode::invalid_argument,
                "oracle: unknown stream id " + std::to_string(stream) + "; use an id from add_stream");
  }
  Stream& s = *it->second;
  const ErrorContext where{s.spec.name, "", s.next_display};
  if (frame.lr.width() != s.lr_width || frame.lr.height() != s.lr_height) {
    throw Error(ErrorCode::mismatch,
                "oracle: LR frame is " + size_text(frame.lr.width(), frame.lr.height()) + ", the stream " +
                    size_text(s.lr_width, s.lr_height) + "; every frame of a stream must have its size",
                where);
  }
  const int hw = s.scratch->hr_width();
  const int hh = s.scratch->hr_height();
  if (frame.reference.width() != hw || frame.reference.height() != hh) {
    throw Error(ErrorCode::mismatch,
                "oracle: HR reference frame is " + size_text(frame.reference.width(), frame.reference.height()) +
                    " but scale " + std::to_string(reuse_.scale) + " x LR is " + size_text(hw, hh) +
                    "; give the reference the stream was encoded from, or change the scale",
                where);
  }
  if (!frame.anchor.empty() && (frame.anchor.width() != hw || frame.anchor.height() != hh)) {
    throw Error(ErrorCode::mismatch,
                "oracle: HR anchor image is " + size_text(frame.anchor.width(), frame.anchor.height()) +
                    " but scale " + std::to_string(reuse_.scale) + " x LR is " + size_text(hw, hh) +
                    "; use a model of the stream's scale",
                where);
  }
  frame.lr.index = s.next_display++;
  s.frames.push_back(std::move(frame));
}

namespace {

// The candidate chains (shared by every track): q[c][j - c].
void measure_candidates(reuse::Reconstructor& scratch, const std::vector<OracleFrame>& frames, Tables& t) {
  const int n = static_cast<int>(frames.size());
  t.q.resize(n);
  for (int c = 0; c < n; ++c) {
    scratch.reset();
    t.q[c].resize(n - c);
    for (int j = c; j < n; ++j) {
      const core::Frame& hr = scratch.push(frames[j].lr, j == c ? &anchor_image(frames[j]) : nullptr);
      t.q[c][j - c] = core::psnr_pooled(frames[j].reference, hr);
    }
    t.reconstructions += n - c;
  }
}

// The carried chain continued without anchors: q0. It is advanced for real: if the epoch gets no anchor, this is
// its state; otherwise it is rebuilt from the last anchor after the greedy.
std::vector<double> measure_baseline(reuse::Reconstructor& chain, const std::vector<OracleFrame>& frames) {
  std::vector<double> q0(frames.size());
  for (size_t j = 0; j < frames.size(); ++j) {
    const core::Frame& hr = chain.push(frames[j].lr, nullptr);
    q0[j] = core::psnr_pooled(frames[j].reference, hr);
  }
  return q0;
}

}  // namespace

OracleEpoch OracleSelector::run_epoch() { return std::move(run_epoch_tracks()[0]); }

std::vector<OracleEpoch> OracleSelector::run_epoch_tracks() {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::pair<int, Stream*>> order;
  int64_t frames = 0;
  for (auto& [id, s] : streams_) {
    order.emplace_back(id, s.get());
    frames += static_cast<int64_t>(s->frames.size());
  }
  std::vector<Tables> tables(order.size());
  int64_t shared_reconstructions = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    measure_candidates(*order[k].second->scratch, order[k].second->frames, tables[k]);
    shared_reconstructions += tables[k].reconstructions;
  }

  std::vector<OracleEpoch> outs(fractions_.size());
  for (size_t track = 0; track < fractions_.size(); ++track) {
    OracleEpoch& out = outs[track];
    out.reconstructions = track == 0 ? shared_reconstructions : 0;
    EpochResult& result = out.result;
    result.index = epoch_;
    const double epoch_s = config_.epoch_frames / config_.fps;
    result.start_s = static_cast<double>(epoch_) * epoch_s;
    result.deadline_s = static_cast<double>(epoch_ + 1) * epoch_s;
    result.quota = -1;
    result.budget_ms = config_.mode == Mode::budget ? config_.budget_ms : 0.0;
    result.frames = frames;
    std::vector<GreedyStream> greedy(order.size());
    for (size_t k = 0; k < order.size(); ++k) {
      Stream& s = *order[k].second;
      tables[k].q0 = measure_baseline(*s.chains[track], s.frames);
      out.reconstructions += static_cast<int64_t>(s.frames.size());
      GreedyStream& g = greedy[k];
      g.tables = &tables[k];
      g.chosen.assign(s.frames.size(), 0);
      g.cur = tables[k].q0;
      g.anchor_ms = s.spec.anchor_ms;
      update_best(g);
    }

    // Global greedy: the best marginal gain over all streams (ties: lower stream id, lower offset).
    const bool budget = config_.mode == Mode::budget;
    int64_t quota = 0;
    if (!budget) {
      quota = std::llround(fractions_[track] * static_cast<double>(result.frames));
      result.quota = quota;
    }
    double left = config_.budget_ms;
    std::vector<char> excluded(order.size(), 0);  // budget mode: streams whose anchors no longer fit
    for (;;) {
      if (!budget && static_cast<int64_t>(result.anchors.size()) >= quota) break;
      int best_k = -1;
      for (size_t k = 0; k < order.size(); ++k) {
        const GreedyStream& g = greedy[k];
        if (g.best < 0 || excluded[k]) continue;
        if (budget && g.anchor_ms > left) {
          excluded[k] = 1;
          ++result.skipped;
          continue;
        }
        if (best_k < 0 || g.best_gain > greedy[best_k].best_gain) best_k = static_cast<int>(k);
      }
      if (best_k < 0) break;
      GreedyStream& g = greedy[best_k];
      if (budget && !(g.best_gain > 0)) break;  // budget mode spends GPU time only on anchors that help
      const int c = g.best;
      const OracleFrame& f = order[best_k].second->frames[c];
      result.anchors.push_back({order[best_k].first, f.lr.index, f.decode_index, f.cls, g.best_gain});
      result.used_ms += g.anchor_ms;
      left -= g.anchor_ms;
      choose(g, c);
      update_best(g);
    }
    std::sort(result.anchors.begin(), result.anchors.end(), [](const Anchor& a, const Anchor& b) {
      return a.stream != b.stream ? a.stream < b.stream : a.display_index < b.display_index;
    });

    for (size_t k = 0; k < order.size(); ++k) {
      Stream& s = *order[k].second;
      const GreedyStream& g = greedy[k];
      const Tables& t = tables[k];
      const int n = static_cast<int>(s.frames.size());
      int last = -1;
      for (int j = 0; j < n; ++j) {
        OracleFrameGain fg;
        fg.stream = order[k].first;
        fg.display_index = s.frames[j].lr.index;
        fg.baseline_psnr = t.q0[j];
        fg.final_psnr = g.cur[j];
        for (int i = j; i < n; ++i) fg.single_gain += t.q[j][i - j] - t.q0[i];
        out.frames.push_back(fg);
        if (g.chosen[j]) last = j;
      }
      if (last >= 0) {  // the carried chain restarts at the epoch's last anchor
        reuse::Reconstructor& chain = *s.chains[track];
        chain.reset();
        for (int j = last; j < n; ++j) chain.push(s.frames[j].lr, j == last ? &anchor_image(s.frames[j]) : nullptr);
        out.reconstructions += n - last;
      }
    }
  }
  for (auto& entry : order) entry.second->frames.clear();
  ++epoch_;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (OracleEpoch& out : outs) out.seconds = seconds;
  return outs;
}

double spearman_correlation(std::span<const double> a, std::span<const double> b) {
  NS_ASSERT(a.size() == b.size());
  const size_t n = a.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  auto ranks = [n](std::span<const double> v) {
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&v](size_t x, size_t y) { return v[x] < v[y]; });
    std::vector<double> r(n);
    for (size_t i = 0; i < n;) {
      size_t j = i;
      while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) ++j;
      const double rank = 0.5 * static_cast<double>(i + j) + 1.0;  // average of ranks i+1 .. j+1
      for (size_t k = i; k <= j; ++k) r[idx[k]] = rank;
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a);
  const std::vector<double> rb = ranks(b);
  const double mean = 0.5 * static_cast<double>(n + 1);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

}  // namespace ns::anchor
