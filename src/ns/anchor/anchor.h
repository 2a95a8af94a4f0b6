// ns/anchor: which frames of which streams get super-resolved, epoch by epoch (reference §3, fixes of §11).
// In: each stream's coded frames from media::BitstreamProbe (class, coded bytes, display index), in decode order.
// Out: per epoch, the anchors (displayed frames) of every stream with their scores; a plan JSON for offline tools.
// Thread-safety: a Scheduler (and each StreamSelector) is single-writer; call it from one thread (the epoch driver).
// Errors: ns::Error invalid_argument (bad configuration, unknown stream), not_found / corrupt (plan, latency files).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ns/media/probe.h"

namespace ns::anchor {

// ---------------------------------------------------------------------------------------------------------------
// Model (reference §3.1), on displayed frames (SelectorConfig::altref_at_display moves the alt-ref class, see there).
//
// Anchors are displayed frames: FFmpeg never outputs VP9's hidden alt-ref frames, so the selector works on
// "units", one per shown frame, in decode order. A unit's residual is the coded bytes of its shown frame plus those
// of the hidden frames that precede it (the probe gives a hidden frame the display index of the next shown frame,
// i.e. the shown frame of its superframe). Class of a unit: key if one of its frames is a key frame (VP9 key or
// intra-only, H.264 IDR); altref if it carries a hidden alt-ref frame (the alt-ref's priority class moves to the
// shown frame it was coded with); normal otherwise.
//
// Accumulated residual: R[i] = R[i-1] + bytes(i), R[i] = 0 at a key unit, R[-1] = the stream's carry. The carry is
// R at the end of the previous epoch after that epoch's anchors (every stream, anchors or not, §11.6): the bytes of
// the units after the last anchor or key. Gain of anchor c with next boundary n (next sorted candidate or key of
// the epoch; otherwise the expected next key frame, c + GOP - frames since the last key): (n - c) * R[c], in
// doubles, divided by the stream's mean unit size over the last `avg_window` units (2 x GOP; a unit is one packet
// for VP9 superframes and H.264 access units; reference §2.6), floor 1 byte.
// ---------------------------------------------------------------------------------------------------------------

enum class UnitClass { key = 0, altref = 1, normal = 2 };  // priority order: key first
const char* unit_class_name(UnitClass cls);
UnitClass unit_class_from_name(const std::string& name);  // ns::Error invalid_argument if unknown

struct Unit {
  int64_t display_index = 0;
  int64_t decode_index = 0;  // of the shown frame
  UnitClass cls = UnitClass::normal;
  uint64_t bytes = 0;  // shown frame + preceding hidden frames
  // The estimator's residual of this unit (what R accumulates); < 0: the coded bytes. Set by push() from the
  // configured Estimator; push_unit() takes it as given.
  double weight = -1;
};

// ---------------------------------------------------------------------------------------------------------------
// Residual estimators: what a frame adds to the accumulated residual R (docs/anchors.md has the measurements).
//   bytes      coded bytes (reference §2.3): the faithful NeuroScaler proxy.
//   quantiser  coded bytes x (qstep / qstep_ref)^q_exponent: the same bytes cost more reuse error when they were
//              coded with a coarser quantiser (a frame's coded residual magnitude is about its coefficient bits
//              times the step), and a quality-boosted frame (golden / alt-ref refresh, lower q) stops looking like
//              a content change. qstep: H.264 0.625 x 2^(QP / 6); VP9 an approximation of the 8-bit AC
//              quantiser of base_q_idx (q + 7 up to 96, then 103 x e^(0.018 (q - 96)); within 10 % of libvpx's
//              table). qstep_ref = 32 (VP9) / 16 (H.264, QP 28): only ratios matter. Frames without a known
//              quantiser count their bytes.
// ---------------------------------------------------------------------------------------------------------------
enum class Estimator { bytes, quantiser };
const char* estimator_name(Estimator estimator);
double quantiser_step(const media::CodedFrame& frame);  // 0 when the frame carries no quantiser
// The frame's contribution under `estimator` (the unit's weight is the sum over its frames).
double frame_weight(const media::CodedFrame& frame, Estimator estimator, double q_exponent);

struct SelectorConfig {
  double max_candidate_ratio = 0.2;  // candidates per stream and epoch: max(1, round(ratio * units)), ref. §3.2
  int gop = 120;                     // expected key-frame interval (units); <= 0: horizon = end of epoch
  int avg_window = 0;                // units in the mean-size window; 0: 2 * gop (or 240 if gop <= 0)
  Estimator estimator = Estimator::bytes;
  double q_exponent = 1.0;  // quantiser estimator: weight = bytes x (qstep / qstep_ref)^q_exponent
  // Where a hidden alt-ref's priority class goes. false (NeuroScaler): the shown frame of its superframe. true: the
  // frame that displays the alt-ref later, at the end of its golden-frame group: a VP9 show_existing_frame, or the
  // "overlay", the next shown frame that refreshes the alt-ref's reference slot (libvpx codes it as an inter frame
  // of a few bytes predicted from the alt-ref). The alt-ref's pixels, coded at a low quantiser, appear there, not in
  // the frame it was sent with. Its bytes stay where they were sent (they are residual of that moment).
  bool altref_at_display = false;

  // Unset: the method's default (method_selector; a StreamSelector on its own takes the reference's).
  // How far past the end of the epoch an anchor's gain is counted (units); < 0: up to the next expected key frame
  // (the reference). An anchor late in the epoch helps only until the next epoch's first anchor.
  std::optional<int> horizon_past_epoch;
  // An alt-ref keeps its priority class only if it was quantised this much finer than the latest shown normal
  // frames (their mean quantiser step / the alt-ref's, over the last 12 with a known quantiser); otherwise its unit
  // is a normal one. 0: always (the reference). Where the whole stream is finely quantised (a still camera with
  // bitrate to spare) the alt-ref is no better a picture than its neighbours, and anchoring where it is displayed
  // loses to anchoring elsewhere (docs/anchors.md).
  std::optional<double> altref_min_boost;
  // An epoch whose non-key unit weights vary less than this (standard deviation / mean) is flat: the weights carry
  // no signal there (CBR-like H.264). The scores of its units use the mean weight, so that its share of the anchors
  // follows the time since its last anchor, and the scheduler spaces its anchors evenly. 0: never (the reference).
  std::optional<double> flat_cv;
};

// A candidate found by the per-stream sort.
struct Candidate {
  int offset = 0;  // position of the unit in the stream's epoch
  UnitClass cls = UnitClass::normal;
  double score = 0;  // normalised gain; key units: 0 (always first)
};

// Per-stream state: the epoch's units, the carried residual, the mean-size window, the last key frame.
class StreamSelector {
 public:
  explicit StreamSelector(const SelectorConfig& config = {});

  // Adds one coded frame (decode order). Hidden frames wait for the next shown frame.
  void push(const media::CodedFrame& frame);
  // Adds one unit directly (tests, simulations).
  void push_unit(const Unit& unit);

  const std::vector<Unit>& units() const { return units_; }  // this epoch's units so far
  // R over this epoch's units, without any anchor, starting from the carry.
  std::vector<double> accumulated() const;
  double carry() const { return carry_; }
  double mean_unit_bytes() const;  // mean unit weight (bytes for the bytes estimator) over the window, >= 1

  // The score every unit would get as the first pick of its group (no other candidate sorted; key units are
  // boundaries): (end - c) * R[c] / mean, the estimator's prediction of the gain of that anchor alone. Key units: 0.
  std::vector<double> single_scores() const;

  // The epoch's weights vary less than flat_cv: sort() scores it on their mean, and the scheduler places the
  // stream's anchors evenly (as `uniform` would) instead of where the scores are.
  bool flat() const;

  // Sorts the epoch (§3.2 with the fixes of §3.7): every key unit, then up to max(1, round(ratio * N)) alt-ref, then
  // normal candidates, each picked greedily by normalised gain (ties: lower offset). Does not change the state.
  std::vector<Candidate> sort() const;
  void sort(std::vector<Candidate>& out) const;  // appends to `out`

  // Ends the epoch with these anchors (offsets into units(), any order): the carry becomes R[N-1] after them,
  // the units are cleared. Pending hidden frames stay for the next epoch.
  void commit(std::span<const int> anchor_offsets);

 private:
  static constexpr size_t kBoostWindow = 12;  // shown normal frames an alt-ref's quantiser is compared with
  bool is_boosted(const media::CodedFrame& altref) const;  // altref_min_boost reached (or not configured)
  // The weight every non-key unit of the epoch is scored with instead of its own when their spread is below flat_cv;
  // -1 when they keep their own.
  double flat_weight() const;

  SelectorConfig config_;
  std::vector<Unit> units_;
  uint64_t pending_bytes_ = 0;  // hidden frames waiting for their shown frame
  bool pending_altref_ = false;
  bool pending_key_ = false;
  bool altref_awaiting_display_ = false;  // altref_at_display: a hidden alt-ref not shown yet
  uint8_t altref_refresh_ = 0;            // its refresh_frame_flags
  bool altref_boosted_ = false;           // the waiting (or pending) alt-ref reaches altref_min_boost
  std::deque<double> normal_steps_;       // quantiser steps of the latest shown normal frames (altref_min_boost)
  double carry_ = 0;
  double pending_weight_ = 0;
  double epoch_weight_sum_ = 0;      // over this epoch's non-key units (flat_weight)
  double epoch_weight_squares_ = 0;
  int epoch_weighted_units_ = 0;
  std::deque<double> window_;  // unit weights
  double window_sum_ = 0;
  int64_t last_key_display_ = -1;        // display index of the latest key unit seen (committed or not)
  int64_t epoch_start_last_key_ = -1;    // the same, at the start of the epoch (for sort())
};

// ---------------------------------------------------------------------------------------------------------------
// Latency model for budget mode: ms of GPU time per anchor, keyed by (model, input size, backend).
// JSON: {"entries": [{"model": "edsr-b8-c32", "width": 1280, "height": 720, "backend": "cuda", "ms": 1.9}, ...]}
// ---------------------------------------------------------------------------------------------------------------
class LatencyModel {
 public:
  void set(const std::string& model, int width, int height, const std::string& backend, double ms);
  // ns::Error not_found (listing the known keys) if there is no entry.
  double ms(const std::string& model, int width, int height, const std::string& backend) const;
  static LatencyModel load(const std::string& path);  // ns::Error not_found / corrupt
  size_t size() const { return table_.size(); }

 private:
  std::map<std::string, double> table_;
};

// ---------------------------------------------------------------------------------------------------------------
// Cross-stream scheduler (§3.3 fixed): one API for offline tools and the live engine.
// ---------------------------------------------------------------------------------------------------------------
// neuroscaler_q ("neuroscaler-q", ours): the NeuroScaler selector with the quantiser estimator and
// altref_at_display. oracle: measured quality, evaluation only (ns/anchor/oracle.h); the Scheduler rejects it.
enum class Method { neuroscaler, uniform, perframe, keyframe, neuroscaler_q, oracle };
const char* method_name(Method method);
Method method_from_name(const std::string& name);  // ns::Error invalid_argument if unknown

enum class Mode { fraction, budget };

// neuroscaler_q's settings where `given` leaves them unset (docs/anchors.md has the study behind them).
struct NeuroscalerQDefaults {
  static constexpr int horizon_past_epoch = 0;  // the gain counts to the end of the epoch
  static constexpr double altref_min_boost = 2.0;
  static constexpr double flat_cv = 0.3;
};
// The selector settings of `method`: neuroscaler_q sets estimator = quantiser and altref_at_display, and fills the
// unset fields with NeuroscalerQDefaults; the other methods fill them with the reference's (-1, 0, 0).
SelectorConfig method_selector(Method method, SelectorConfig given);

// The Scheduler applies method_selector(method, selector).
struct SchedulerConfig {
  Method method = Method::neuroscaler;
  Mode mode = Mode::fraction;
  double fraction = 0.075;  // fraction mode: K = round(fraction * displayed frames of the epoch, all streams)
  double budget_ms = 0;     // budget mode: GPU ms per epoch; anchors that do not fit are skipped, selection goes on
  int epoch_frames = 40;    // epoch length in frames at `fps` (666.7 ms at 60 fps)
  double fps = 60;
  SelectorConfig selector;
};

struct StreamSpec {
  std::string name;
  double anchor_ms = 0;  // GPU cost of one anchor (budget mode), e.g. from LatencyModel
};

struct Anchor {
  int stream = 0;
  int64_t display_index = 0;
  int64_t decode_index = 0;
  UnitClass cls = UnitClass::normal;
  double score = 0;
};

struct EpochResult {
  int64_t index = 0;
  double start_s = 0;     // absolute epoch boundaries: index * epoch_frames / fps (no drift, §11.20)
  double deadline_s = 0;  // (index + 1) * epoch_frames / fps
  int64_t frames = 0;     // displayed frames of all streams in this epoch
  int64_t quota = 0;      // fraction mode: K; budget mode: -1
  double budget_ms = 0;
  double used_ms = 0;
  int64_t skipped = 0;     // budget mode: candidates skipped because they did not fit
  std::vector<Anchor> anchors;  // sorted by (stream, display index)
};

// Usage (live or offline):
//   Scheduler s(config);
//   int a = s.add_stream({"cam1", 1.9});
//   every frame: s.push(a, coded_frame);            every epoch: EpochResult r = s.run_epoch();
// Streams added or removed take part from the next run_epoch(); a removed stream's pending frames are dropped.
class Scheduler {
 public:
  explicit Scheduler(const SchedulerConfig& config);  // ns::Error invalid_argument for bad values

  int add_stream(const StreamSpec& spec);  // returns the stream id (never reused)
  void remove_stream(int stream);          // ns::Error invalid_argument if unknown
  bool has_stream(int stream) const;
  size_t stream_count() const { return streams_.size(); }

  void push(int stream, const media::CodedFrame& frame);
  void push_unit(int stream, const Unit& unit);
  const StreamSelector& selector(int stream) const;

  // Selects anchors among the units pushed since the previous call, then starts the next epoch.
  EpochResult run_epoch();
  int64_t epoch_index() const { return epoch_; }
  const SchedulerConfig& config() const { return config_; }

 private:
  struct Stream {
    StreamSpec spec;
    StreamSelector selector;
  };
  SchedulerConfig config_;
  Stream& find(int stream);
  std::map<int, Stream> streams_;
  int next_id_ = 0;
  int64_t epoch_ = 0;
};

// Baselines (§3.5, §3.6c), per stream and epoch of `n` units: offsets of the anchors.
std::vector<int> uniform_offsets(int n, int k);  // k evenly spaced: floor(i * n / k), i < min(k, n)
std::vector<int> keyframe_offsets(std::span<const Unit> units);
std::vector<int> perframe_offsets(int n);

// ---------------------------------------------------------------------------------------------------------------
// Plan: the result of an offline selection run, as JSON (format "neuroscaler-anchor-plan", version 1).
// ---------------------------------------------------------------------------------------------------------------
struct PlanStream {
  std::string name;
  std::string codec;
  int width = 0;
  int height = 0;
  int64_t frames = 0;  // displayed frames
  double anchor_ms = 0;
};

struct Plan {
  std::string method;
  std::string mode;  // "fraction" or "budget"
  double fraction = 0;
  double budget_ms = 0;
  int epoch_frames = 40;
  double fps = 60;
  std::vector<PlanStream> streams;
  std::vector<EpochResult> epochs;
};

std::string plan_to_json(const Plan& plan);
Plan plan_from_json(const std::string& text, const std::string& where = "plan");  // ns::Error corrupt
void write_plan(const Plan& plan, const std::string& path);                        // ns::Error io
Plan read_plan(const std::string& path);                                           // ns::Error not_found / corrupt

// Offline driver: probes nothing; streams[i] are the coded frames of stream i (decode order). Units are cut into
// epochs of config.epoch_frames in decode order; every stream joins at epoch 0 and leaves when it runs out.
std::vector<EpochResult> select_offline(const SchedulerConfig& config, std::span<const StreamSpec> specs,
                                        std::span<const std::vector<media::CodedFrame>> streams);

}  // namespace ns::anchor
