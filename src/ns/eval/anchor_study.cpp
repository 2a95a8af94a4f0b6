// ns/eval (anchor study): measuring anchor plans against the HR reference, for `neuroscaler select` (the oracle,
// --evaluate) and the selection studies (scripts/eval-anchors). See anchor_study.h.
#include "ns/eval/anchor_study.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ns/anchor/oracle.h"
#include "ns/core/atomic_file.h"
#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/core/metrics.h"
#include "ns/media/reader.h"
#include "ns/reuse/reuse.h"
#include "ns/sr/sr.h"

namespace ns::eval {

namespace {

// HR anchor images: ground truth (empty frame: the reference is used) or the SR model's output, optionally cached
// on disk per display index (raw I420, so that repeated runs on the same stream and model run SR once per frame).
class AnchorImages {
 public:
  AnchorImages(const AnchorStudyOptions& o, const std::string& stream, int stream_index, int lr_w, int lr_h)
      : lr_w_(lr_w), lr_h_(lr_h) {
    if (o.anchor_model.empty()) return;
    sr::Model model = sr::load_model(o.anchor_model);
    if (model.desc.scale != o.scale) {
      throw Error(ErrorCode::mismatch, "select: the anchor model " + o.anchor_model + " up-scales x" +
                                           std::to_string(model.desc.scale) + ", the reference is x" +
                                           std::to_string(o.scale) + " the LR size; use --scale or another model",
                  ErrorContext{stream, "", -1});
    }
    upscaler_ = std::make_unique<sr::Upscaler>(std::move(model), lr_w, lr_h);
    if (!o.anchor_cache.empty()) {
      cache_ = std::filesystem::path(o.anchor_cache) / ("stream" + std::to_string(stream_index));
      std::filesystem::create_directories(cache_);
    }
  }
  bool ground_truth() const { return upscaler_ == nullptr; }
  int64_t computed() const { return computed_; }
  double seconds() const { return seconds_; }

  // Fills `hr` with the anchor image of `lr` (display index lr.index); leaves it empty for ground truth.
  void make(const core::Frame& lr, core::Frame& hr) {
    hr = core::Frame();
    if (!upscaler_) return;
    const std::filesystem::path file = cache_.empty() ? std::filesystem::path() : cache_ / name(lr.index);
    hr = core::Frame(lr_w_ * upscaler_->desc().scale, lr_h_ * upscaler_->desc().scale);
    if (!file.empty() && read_raw(file, hr)) return;
    const auto start = std::chrono::steady_clock::now();
    upscaler_->upscale(lr, hr);
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++computed_;
    if (!file.empty()) write_raw(file, hr);
  }

 private:
  static std::string name(int64_t index) {
    char text[32];
    std::snprintf(text, sizeof text, "%06lld.i420", static_cast<long long>(index));
    return text;
  }
  static bool read_raw(const std::filesystem::path& file, core::Frame& f) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return false;
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int y = 0; y < f.plane_height(p); ++y) {
        in.read(reinterpret_cast<char*>(f.row(p, y)), f.plane_width(p));
      }
    }
    return static_cast<bool>(in) && in.peek() == std::char_traits<char>::eof();
  }
  static void write_raw(const std::filesystem::path& file, const core::Frame& f) {
    const std::filesystem::path tmp = core::temporary_path(file);
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      for (int p = 0; p < core::kPlaneCount; ++p) {
        for (int y = 0; y < f.plane_height(p); ++y) {
          out.write(reinterpret_cast<const char*>(f.row(p, y)), f.plane_width(p));
        }
      }
      if (!out) throw Error(ErrorCode::io, "select: cannot write the anchor cache; check free space", {.file = tmp});
    }
    core::rename_into_place(tmp, file, "select");
  }

  int lr_w_;
  int lr_h_;
  std::unique_ptr<sr::Upscaler> upscaler_;
  std::filesystem::path cache_;
  int64_t computed_ = 0;
  double seconds_ = 0;
};

// An LR stream and its HR reference, read in step; checks the sizes.
class FramePair {
 public:
  FramePair(const std::string& lr, const std::string& reference, int scale)
      : lr_path_(lr), reference_path_(reference), lr_(lr), reference_(reference) {
    const media::StreamInfo& a = lr_.info();
    const media::StreamInfo& b = reference_.info();
    if (b.width != a.width * scale || b.height != a.height * scale) {
      throw Error(ErrorCode::mismatch,
                  "select: the reference " + reference + " is " + std::to_string(b.width) + "x" +
                      std::to_string(b.height) + ", but " + std::to_string(scale) + " x the LR stream (" +
                      std::to_string(a.width) + "x" + std::to_string(a.height) + ") is " +
                      std::to_string(a.width * scale) + "x" + std::to_string(a.height * scale) +
                      "; give the HR video this stream was made from, or set --scale",
                  ErrorContext{lr, "", -1});
    }
  }
  const media::StreamInfo& lr_info() const { return lr_.info(); }
  // False at the end of the LR stream; throws mismatch when the reference ends first.
  bool read(core::Frame& lr, core::Frame& reference, int64_t index) {
    if (!lr_.read(lr)) return false;
    if (!reference_.read(reference)) {
      throw Error(ErrorCode::mismatch, "select: the reference " + reference_path_ + " ended at frame " +
                                           std::to_string(index) + ", before the LR stream; use --frames N",
                  ErrorContext{lr_path_, "", index});
    }
    lr.index = index;
    reference.index = index;
    return true;
  }

 private:
  std::string lr_path_;
  std::string reference_path_;
  media::VideoReader lr_;
  media::VideoReader reference_;
};

// Every displayed unit of a probed stream (class, decode index, weight) under `config`, in decode order.
std::vector<anchor::Unit> stream_units(const std::vector<media::CodedFrame>& frames,
                                       const anchor::SelectorConfig& config) {
  anchor::StreamSelector selector(config);
  for (const media::CodedFrame& f : frames) selector.push(f);
  return selector.units();
}

// Reuse as the study's anchors need it: SR anchors blended by o.anchor_weight, ground-truth ones replacing their
// frame.
reuse::ReuseSettings reuse_settings(const AnchorStudyOptions& o, bool sr_anchors) {
  return reuse::ReuseSettings{.scale = o.scale,
                              .anchor_weight = sr_anchors ? o.anchor_weight : 1.0};
}

// Added to an alt-ref's score in the rank correlations: the selectors sort alt-refs before normal frames (scores
// are frames x mean unit sizes, far below this).
constexpr double kAltrefRank = 1e9;

// Per-stream per-frame record for --gains and the rank correlations.
struct GainRecord {
  anchor::OracleFrameGain gain;
  int64_t epoch = 0;
  anchor::UnitClass cls = anchor::UnitClass::normal;
  // The selectors' rank of the frame as a lone candidate: neuroscaler (bytes), neuroscaler-q (ours). Their own
  // class (alt-ref before normal, each estimator with its alt-ref mapping) then the single-anchor score.
  double scores[2] = {0, 0};
};

struct Correlations {
  double epoch_mean[2] = {0, 0};  // mean over (stream, epoch) of Spearman within the epoch
  double pooled[2] = {0, 0};      // Spearman over every non-key frame
  int epochs = 0;
};

Correlations correlate(const std::vector<GainRecord>& records) {
  Correlations c;
  std::vector<double> gains, scores[2];
  std::vector<double> all_gains, all_scores[2];
  auto flush = [&]() {
    if (gains.size() >= 2) {
      bool ok = true;
      double rho[2];
      for (int e = 0; e < 2; ++e) {
        rho[e] = anchor::spearman_correlation(gains, scores[e]);
        ok = ok && std::isfinite(rho[e]);
      }
      if (ok) {
        for (int e = 0; e < 2; ++e) c.epoch_mean[e] += rho[e];
        ++c.epochs;
      }
    }
    gains.clear();
    scores[0].clear();
    scores[1].clear();
  };
  for (size_t i = 0; i < records.size(); ++i) {
    const GainRecord& r = records[i];
    if (i > 0 && (r.epoch != records[i - 1].epoch || r.gain.stream != records[i - 1].gain.stream)) flush();
    if (r.cls == anchor::UnitClass::key) continue;  // always anchors for the cheap selectors
    gains.push_back(r.gain.single_gain);
    all_gains.push_back(r.gain.single_gain);
    for (int e = 0; e < 2; ++e) {
      scores[e].push_back(r.scores[e]);
      all_scores[e].push_back(r.scores[e]);
    }
  }
  flush();
  for (int e = 0; e < 2; ++e) {
    c.epoch_mean[e] = c.epochs > 0 ? c.epoch_mean[e] / c.epochs : std::nan("");
    c.pooled[e] = anchor::spearman_correlation(all_gains, all_scores[e]);
  }
  return c;
}

void write_gains(const std::string& path, const std::vector<GainRecord>& records, const Correlations& c) {
  nlohmann::ordered_json doc;
  doc["format"] = "neuroscaler-oracle-gains";
  doc["version"] = 1;
  doc["units"] = "single_gain: dB x frames (sum over the rest of the epoch of the PSNR gain of that anchor alone); "
                 "score_*: the selector's rank key of the frame as a lone candidate (1e9 added for alt-refs)";
  doc["spearman"] = {{"neuroscaler", {{"epoch_mean", c.epoch_mean[0]}, {"pooled", c.pooled[0]}}},
                     {"neuroscaler-q", {{"epoch_mean", c.epoch_mean[1]}, {"pooled", c.pooled[1]}}},
                     {"epochs", c.epochs}};
  nlohmann::ordered_json frames = nlohmann::ordered_json::array();
  for (const GainRecord& r : records) {
    frames.push_back({{"stream", r.gain.stream},
                      {"display", r.gain.display_index},
                      {"epoch", r.epoch},
                      {"class", anchor::unit_class_name(r.cls)},
                      {"baseline_psnr", r.gain.baseline_psnr},
                      {"final_psnr", r.gain.final_psnr},
                      {"single_gain", r.gain.single_gain},
                      {"score_neuroscaler", r.scores[0]},
                      {"score_neuroscaler_q", r.scores[1]}});
  }
  doc["frames"] = std::move(frames);
  core::write_text_atomically(path, doc.dump(1) + "\n", "select");
}

}  // namespace

// The oracle over whole files: epochs of epoch_frames displayed frames (display order) per stream; one track per
// fraction. Returns the epochs of every track.
std::vector<std::vector<anchor::EpochResult>> run_oracle(const AnchorStudyOptions& o, const anchor::SchedulerConfig& config,
                                                         const std::vector<double>& fractions,
                                                         const std::vector<anchor::StreamSpec>& specs,
                                                         const std::vector<std::vector<media::CodedFrame>>& streams) {
  const auto start = std::chrono::steady_clock::now();
  anchor::SchedulerConfig first = config;
  first.fraction = fractions[0];
  const std::vector<double> extra(fractions.begin() + 1, fractions.end());
  anchor::OracleSelector oracle(first, reuse_settings(o, false), extra);  // its anchors restart the chain
  const size_t tracks = oracle.track_count();
  const size_t count = o.inputs.size();
  std::vector<std::unique_ptr<FramePair>> pairs;
  std::vector<std::unique_ptr<AnchorImages>> images;
  std::vector<int> ids;
  // Units by display index (class, decode index, weight) for each cheap selector, and per track and selector a
  // selector with the same history as the oracle (committed with that track's anchors), to score every frame.
  const anchor::Method methods[2] = {anchor::Method::neuroscaler, anchor::Method::neuroscaler_q};
  std::vector<std::vector<anchor::Unit>> by_display[2];  // [selector][stream][display index]
  std::vector<std::vector<std::unique_ptr<anchor::StreamSelector>>> selectors[2];  // [selector][track][stream]
  for (int e = 0; e < 2; ++e) selectors[e].resize(tracks);
  for (size_t s = 0; s < count; ++s) {
    pairs.push_back(std::make_unique<FramePair>(o.inputs[s], o.references[s], o.scale));
    const int w = pairs.back()->lr_info().width;
    const int h = pairs.back()->lr_info().height;
    images.push_back(std::make_unique<AnchorImages>(o, o.inputs[s], static_cast<int>(s), w, h));
    ids.push_back(oracle.add_stream(specs[s], w, h));
    for (int e = 0; e < 2; ++e) {
      anchor::SelectorConfig sc = config.selector;
      sc.q_exponent = o.q_exponent;
      sc = anchor::method_selector(methods[e], sc);
      for (size_t t = 0; t < tracks; ++t) selectors[e][t].push_back(std::make_unique<anchor::StreamSelector>(sc));
      std::vector<anchor::Unit>& table = by_display[e].emplace_back();
      for (const anchor::Unit& u : stream_units(streams[s], sc)) {
        if (u.display_index < 0) continue;
        if (table.size() <= static_cast<size_t>(u.display_index)) table.resize(u.display_index + 1);
        table[u.display_index] = u;
      }
    }
  }
  std::vector<char> done(count, 0);
  std::vector<int64_t> next(count, 0);
  std::vector<std::vector<anchor::EpochResult>> epochs(tracks);
  std::vector<std::vector<GainRecord>> records(tracks);
  int64_t reconstructions = 0;
  for (;;) {
    bool any = false;
    for (size_t s = 0; s < count; ++s) {
      if (done[s]) continue;
      int pushed = 0;
      while (pushed < o.epoch_frames && (o.max_frames < 0 || next[s] < o.max_frames)) {
        anchor::OracleFrame f;
        if (!pairs[s]->read(f.lr, f.reference, next[s])) break;
        const bool known = static_cast<size_t>(next[s]) < by_display[0][s].size();
        f.cls = known ? by_display[0][s][next[s]].cls : anchor::UnitClass::normal;
        f.decode_index = known ? by_display[0][s][next[s]].decode_index : next[s];
        if (!o.oracle_ground_truth) images[s]->make(f.lr, f.anchor);
        oracle.push(ids[s], std::move(f));
        ++next[s];
        ++pushed;
      }
      if (pushed == 0) {
        done[s] = 1;
        oracle.remove_stream(ids[s]);
        continue;
      }
      any = true;
      for (int e = 0; e < 2; ++e) {
        for (int64_t d = next[s] - pushed; d < next[s]; ++d) {
          if (static_cast<size_t>(d) >= by_display[e][s].size()) continue;
          for (size_t t = 0; t < tracks; ++t) selectors[e][t][s]->push_unit(by_display[e][s][d]);
        }
      }
    }
    if (!any) break;
    std::vector<anchor::OracleEpoch> outs = oracle.run_epoch_tracks();
    for (size_t t = 0; t < tracks; ++t) {
      anchor::OracleEpoch& epoch = outs[t];
      reconstructions += epoch.reconstructions;
      const size_t first_record = records[t].size();
      for (const anchor::OracleFrameGain& g : epoch.frames) {
        const size_t s = static_cast<size_t>(g.stream);  // ids are 0 .. count - 1 in input order
        GainRecord r;
        r.gain = g;
        r.epoch = epoch.result.index;
        r.cls = static_cast<size_t>(g.display_index) < by_display[0][s].size() ? by_display[0][s][g.display_index].cls
                                                                               : anchor::UnitClass::normal;
        records[t].push_back(r);
      }
      // Scores of the cheap estimators for this epoch, then commit the oracle's anchors into their state.
      for (size_t s = 0; s < count; ++s) {
        for (int e = 0; e < 2; ++e) {
          anchor::StreamSelector& sel = *selectors[e][t][s];
          const std::vector<double> scores = sel.single_scores();
          std::vector<int> offsets;
          for (size_t i = 0; i < sel.units().size(); ++i) {
            const int64_t d = sel.units()[i].display_index;
            for (size_t k = first_record; k < records[t].size(); ++k) {
              GainRecord& r = records[t][k];
              if (r.gain.stream == ids[s] && r.gain.display_index == d) {
                r.scores[e] = scores[i] + (sel.units()[i].cls == anchor::UnitClass::altref ? kAltrefRank : 0.0);
              }
            }
            for (const anchor::Anchor& a : epoch.result.anchors) {
              if (a.stream == ids[s] && a.display_index == d) offsets.push_back(static_cast<int>(i));
            }
          }
          sel.commit(offsets);
        }
      }
      epochs[t].push_back(std::move(epoch.result));
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t sr_frames = 0;
  double sr_seconds = 0;
  for (const auto& im : images) {
    sr_frames += im->computed();
    sr_seconds += im->seconds();
  }
  log::info("select",
            "oracle measured {} reconstructions in {:.1f} s ({:.2f} ms each, decoding included; SR anchors computed: "
            "{} in {:.1f} s; anchors: {})",
            reconstructions, seconds, reconstructions > 0 ? 1e3 * (seconds - sr_seconds) / reconstructions : 0.0,
            sr_frames, sr_seconds, o.oracle_ground_truth || o.anchor_model.empty() ? "ground truth" : "SR");
  for (size_t t = 0; t < tracks; ++t) {
    const Correlations c = correlate(records[t]);
    log::info("select",
              "oracle at {:g}: Spearman rank correlation with its single-anchor gains (non-key frames, {} epochs): "
              "neuroscaler {:.3f} (pooled {:.3f}), neuroscaler-q {:.3f} (pooled {:.3f})",
              fractions[t], c.epochs, c.epoch_mean[0], c.pooled[0], c.epoch_mean[1], c.pooled[1]);
    if (!o.gains_path.empty()) write_gains(fraction_path(o.gains_path, fractions[t]), records[t], c);
  }
  return epochs;
}

std::string fraction_path(const std::string& path, double fraction) {
  const size_t at = path.find("{fraction}");
  if (at == std::string::npos) return path;
  char text[32];
  std::snprintf(text, sizeof text, "%g", fraction);
  return path.substr(0, at) + text + path.substr(at + 10);
}

std::vector<PlanQuality> evaluate_plans(const AnchorStudyOptions& o, const std::vector<anchor::Plan>& plans,
                                        const std::function<void(const std::vector<PlanQuality>&)>& on_stream) {
  std::vector<PlanQuality> all;
  for (size_t s = 0; s < o.inputs.size(); ++s) {
    FramePair pair(o.inputs[s], o.references[s], o.scale);
    const int w = pair.lr_info().width;
    const int h = pair.lr_info().height;
    AnchorImages images(o, o.inputs[s], static_cast<int>(s), w, h);
    std::vector<std::set<int64_t>> anchors(plans.size());
    std::vector<std::unique_ptr<reuse::Reconstructor>> reconstructors;
    for (size_t p = 0; p < plans.size(); ++p) {
      for (const anchor::EpochResult& e : plans[p].epochs) {
        for (const anchor::Anchor& a : e.anchors) {
          if (a.stream == static_cast<int>(s)) anchors[p].insert(a.display_index);
        }
      }
      reconstructors.push_back(std::make_unique<reuse::Reconstructor>(reuse_settings(o, !images.ground_truth()), w, h));
    }
    core::Frame lr, reference, hr_anchor;
    std::vector<double> psnr(plans.size(), 0.0), psnr_y(plans.size(), 0.0);
    int64_t frames = 0;
    while ((o.max_frames < 0 || frames < o.max_frames) && pair.read(lr, reference, frames)) {
      bool made = false;
      for (size_t p = 0; p < plans.size(); ++p) {
        const bool is_anchor = anchors[p].count(frames) != 0;
        if (is_anchor && !made) {
          images.make(lr, hr_anchor);
          made = true;
        }
        const core::Frame* anchor_image = is_anchor ? (hr_anchor.empty() ? &reference : &hr_anchor) : nullptr;
        const core::Frame& hr = reconstructors[p]->push(lr, anchor_image);
        const core::PlaneError y = core::plane_error(reference, hr, 0);
        psnr[p] += core::psnr_pooled(reference, hr);
        psnr_y[p] += core::psnr_from_sse(y.sse, y.samples);
      }
      ++frames;
    }
    if (frames == 0) throw Error(ErrorCode::corrupt, "select: the LR stream has no frames", {.file = o.inputs[s]});
    const double n = static_cast<double>(frames);
    std::vector<PlanQuality> stream;
    for (size_t p = 0; p < plans.size(); ++p) {
      stream.push_back({.stream = o.inputs[s],
                        .method = plans[p].method,
                        .fraction = plans[p].fraction,
                        .frames = frames,
                        .anchors = static_cast<int64_t>(anchors[p].size()),
                        .psnr = psnr[p] / n,
                        .psnr_y = psnr_y[p] / n,
                        .sr_anchors = !images.ground_truth()});
    }
    if (!images.ground_truth()) {
      log::info("select", "evaluation of {} plan(s) on {}: {} SR anchor images computed in {:.1f} s", plans.size(),
                o.inputs[s], images.computed(), images.seconds());
    }
    if (on_stream) on_stream(stream);
    all.insert(all.end(), stream.begin(), stream.end());
  }
  return all;
}

}  // namespace ns::eval
