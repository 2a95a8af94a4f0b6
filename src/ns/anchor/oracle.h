// ns/anchor: the oracle selector (evaluation only, reference §3.6d): anchors chosen by measured reuse quality.
// In: per stream and epoch, the displayed LR frames, their HR reference frames and the HR anchor image of every
// frame (ground truth or SR output). Out: EpochResult like the Scheduler's, plus each frame's measured gains.
// Thread-safety: an OracleSelector is single-writer (one thread). spearman_correlation is reentrant.
// Errors: ns::Error invalid_argument (configuration, unknown stream), mismatch (frame sizes of a stream).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "ns/anchor/anchor.h"
#include "ns/core/frame.h"
#include "ns/reuse/reuse.h"

namespace ns::anchor {

// ---------------------------------------------------------------------------------------------------------------
// How the oracle measures (NEMO-style greedy on measured quality, reference §3.6d, made exact and incremental).
//
// Reuse restarts its reference chain at every anchor: the HR frames after an anchor c depend only on c's HR image
// and the LR frames from c on (not on anything before c; the one exception is the motion search's temporal
// candidates, a search start, not a result). So for an epoch of frames [0, n) of one stream, the oracle runs
//   - the baseline: the chain carried in from the previous epochs (the last anchor chosen before, or the stream's
//     start) continued over the epoch without anchors: quality q0[j];
//   - for every frame c of the epoch, the chain started with c as an anchor, up to the end of the epoch: Q_c[j],
//     j >= c (n (n + 1) / 2 frame reconstructions per epoch, each measured against the HR reference).
// With any anchor set A the quality of frame j is then Q_a[j] for a = the last anchor <= j, or q0[j] if none, so the
// greedy needs no further reconstruction: each step adds the frame whose addition raises the summed PSNR of the
// epoch (sum over frames of pooled Y, U, V PSNR, reference §7.6) the most, across all streams (ties: stream id, then
// offset), until the quota (fraction mode: round(fraction x frames of the epoch, all streams)) or budget (anchors
// that do not fit are skipped) is used. The gain of a frame is counted up to the end of its epoch (as NEMO's
// chunks). Anchor images are computed for every frame (the caller passes them; SR anchors cost one SR run each).
// ---------------------------------------------------------------------------------------------------------------

// One displayed frame of a stream, as given to the oracle. `anchor` may be empty: the reference is the anchor
// (ground-truth anchors). The probe's class and decode index go into the plan; pass normal / display index when
// they are not known.
struct OracleFrame {
  core::Frame lr;
  core::Frame reference;
  core::Frame anchor;
  UnitClass cls = UnitClass::normal;
  int64_t decode_index = 0;
};

// Per displayed frame of an epoch, what the oracle measured.
struct OracleFrameGain {
  int stream = 0;
  int64_t display_index = 0;
  double baseline_psnr = 0;  // q0: the carried chain, no anchor in the epoch
  double final_psnr = 0;     // with the anchors the oracle chose
  double single_gain = 0;    // sum over the rest of the epoch of Q_c[j] - q0[j] (dB x frames): this frame alone
};

struct OracleEpoch {
  EpochResult result;  // anchors with score = the marginal gain when picked (dB x frames)
  std::vector<OracleFrameGain> frames;  // every displayed frame of the epoch, by (stream, display index)
  int64_t reconstructions = 0;  // frames reconstructed and measured for this epoch (the shared chains: track 0)
  double seconds = 0;                   // wall time of run_epoch()
};

// Usage: OracleSelector o(config, reuse); int s = o.add_stream({"cam1", 0}, lr_w, lr_h);
//        per epoch: o.push(s, frame) for each of its displayed frames (display order); OracleEpoch e = o.run_epoch();
// config.method is ignored; config.mode / fraction / budget_ms / epoch_frames / fps are used as by the Scheduler.
// Tracks: extra_fractions (fraction mode only) run the same oracle at other fractions in the same pass; the
// candidate chains are shared (they do not depend on earlier anchors), each track has its own carried chain: each
// extra track adds about 2n reconstructions to the n (n + 1) / 2 shared ones (on the sample, 4 fractions took 1.2x
// the reconstructions of one). run_epoch_tracks() returns one OracleEpoch per
// track (config.fraction first, then extra_fractions in order); run_epoch() returns the first.
// Anchors replace their frame here (reuse.anchor_weight is taken as 1): the tables q[c][j] hold the chain started
// at candidate c, which a blended anchor would make depend on the chain before it. Plans chosen this way can still
// be evaluated with blended SR anchors (ns/eval's evaluate_plans).
class OracleSelector {
 public:
  OracleSelector(const SchedulerConfig& config, const reuse::ReuseSettings& reuse,
                 std::span<const double> extra_fractions = {});
  ~OracleSelector();
  OracleSelector(const OracleSelector&) = delete;
  OracleSelector& operator=(const OracleSelector&) = delete;

  int add_stream(const StreamSpec& spec, int lr_width, int lr_height);  // returns the stream id (never reused)
  void remove_stream(int stream);
  bool has_stream(int stream) const;
  // Frames must be in display order, consecutive across epochs; sizes: LR as added, reference and anchor at
  // scale x LR (mismatch otherwise).
  void push(int stream, OracleFrame frame);
  OracleEpoch run_epoch();
  std::vector<OracleEpoch> run_epoch_tracks();
  size_t track_count() const { return fractions_.size(); }
  int64_t epoch_index() const { return epoch_; }

 private:
  struct Stream;
  SchedulerConfig config_;
  reuse::ReuseSettings reuse_;
  std::vector<double> fractions_;  // per track
  std::map<int, std::unique_ptr<Stream>> streams_;
  int next_id_ = 0;
  int64_t epoch_ = 0;
};

// Spearman's rank correlation of two equally long samples (ties get their average rank). NaN when there are
// fewer than 2 values or either sample is constant.
double spearman_correlation(std::span<const double> a, std::span<const double> b);

}  // namespace ns::anchor
