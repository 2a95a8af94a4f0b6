// neuroscaler select: choose anchor frames for one or more streams, epoch by epoch, with our variant of the
// NeuroScaler selector (default), the faithful one, a baseline or the oracle, and write the plan as JSON; a
// summary on stderr. With --evaluate, the plan's anchors (and those of --compare plans) rebuild each stream by
// reuse and the PSNR against the HR reference is printed (TSV on stdout). The oracle can also write each frame's
// measured gains (--gains).
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/anchor/anchor.h"
#include "ns/anchor/oracle.h"
#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/media/probe.h"
#include "ns/media/reader.h"
#include "ns/reuse/reuse.h"
#include "ns/sr/sr.h"

namespace ns::app {

namespace {

struct SelectOptions {
  std::vector<std::string> inputs;
  std::string method = "neuroscaler-q";  // ours: +0.2 to +0.5 dB over neuroscaler (docs/anchors.md)
  double fraction = 0.075;
  double budget_ms = -1;
  std::string latency_path;
  std::string model = "edsr";
  std::string backend = "cuda";
  int epoch_frames = 40;
  double fps = 60;
  int gop = 120;
  double q_exponent = 1.0;
  std::string out;
  // Oracle and evaluation.
  std::vector<std::string> references;
  std::string anchor_model;
  std::string anchor_cache;
  bool oracle_ground_truth = false;
  bool evaluate = false;
  std::string gains_path;
  std::vector<double> fractions;
  std::vector<std::string> compare;
  int scale = 3;
  int64_t max_frames = -1;
};

// HR anchor images: ground truth (empty frame: the reference is used) or the SR model's output, optionally cached
// on disk per display index (raw I420, so that repeated runs on the same stream and model run SR once per frame).
class AnchorImages {
 public:
  AnchorImages(const SelectOptions& o, const std::string& stream, int stream_index, int lr_w, int lr_h)
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
    const std::filesystem::path tmp = file.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      for (int p = 0; p < core::kPlaneCount; ++p) {
        for (int y = 0; y < f.plane_height(p); ++y) {
          out.write(reinterpret_cast<const char*>(f.row(p, y)), f.plane_width(p));
        }
      }
      if (!out) throw Error(ErrorCode::io, "select: cannot write the anchor cache; check free space", {.file = tmp});
    }
    std::filesystem::rename(tmp, file);
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

// Every displayed unit of a probed stream (class, decode index, weight under `estimator`), in decode order.
std::vector<anchor::Unit> stream_units(const std::vector<media::CodedFrame>& frames, anchor::Estimator estimator,
                                       double q_exponent, bool altref_at_display) {
  anchor::SelectorConfig config;
  config.estimator = estimator;
  config.q_exponent = q_exponent;
  config.altref_at_display = altref_at_display;
  anchor::StreamSelector selector(config);
  for (const media::CodedFrame& f : frames) selector.push(f);
  return selector.units();
}

reuse::ReuseSettings reuse_settings(const SelectOptions& o) { return reuse::ReuseSettings{.scale = o.scale}; }

// `path` with "{fraction}" replaced by the fraction (%g), if it has one.
std::string fraction_path(const std::string& path, double fraction) {
  const size_t at = path.find("{fraction}");
  if (at == std::string::npos) return path;
  char text[32];
  std::snprintf(text, sizeof text, "%g", fraction);
  return path.substr(0, at) + text + path.substr(at + 10);
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
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << doc.dump(1) << "\n";
  if (!out) throw Error(ErrorCode::io, "select: cannot write the gains file; check the directory", {.file = path});
}

// The oracle over whole files: epochs of epoch_frames displayed frames (display order) per stream; one track per
// fraction. Returns the epochs of every track.
std::vector<std::vector<anchor::EpochResult>> run_oracle(const SelectOptions& o, const anchor::SchedulerConfig& config,
                                                         const std::vector<double>& fractions,
                                                         const std::vector<anchor::StreamSpec>& specs,
                                                         const std::vector<std::vector<media::CodedFrame>>& streams) {
  const auto start = std::chrono::steady_clock::now();
  anchor::SchedulerConfig first = config;
  first.fraction = fractions[0];
  const std::vector<double> extra(fractions.begin() + 1, fractions.end());
  anchor::OracleSelector oracle(first, reuse_settings(o), extra);
  const size_t tracks = oracle.track_count();
  const size_t count = o.inputs.size();
  std::vector<std::unique_ptr<FramePair>> pairs;
  std::vector<std::unique_ptr<AnchorImages>> images;
  std::vector<int> ids;
  // Units by display index (class, decode index, weight) for each cheap estimator, and per track and estimator a
  // selector with the same history as the oracle (committed with that track's anchors), to score every frame.
  const anchor::Estimator estimators[2] = {anchor::Estimator::bytes, anchor::Estimator::quantiser};
  std::vector<std::vector<anchor::Unit>> by_display[2];  // [estimator][stream][display index]
  std::vector<std::vector<std::unique_ptr<anchor::StreamSelector>>> selectors[2];  // [estimator][track][stream]
  for (int e = 0; e < 2; ++e) selectors[e].resize(tracks);
  for (size_t s = 0; s < count; ++s) {
    pairs.push_back(std::make_unique<FramePair>(o.inputs[s], o.references[s], o.scale));
    const int w = pairs.back()->lr_info().width;
    const int h = pairs.back()->lr_info().height;
    images.push_back(std::make_unique<AnchorImages>(o, o.inputs[s], static_cast<int>(s), w, h));
    ids.push_back(oracle.add_stream(specs[s], w, h));
    for (int e = 0; e < 2; ++e) {
      anchor::SelectorConfig sc = config.selector;
      sc.estimator = estimators[e];
      sc.q_exponent = o.q_exponent;
      sc.altref_at_display = e == 1;
      for (size_t t = 0; t < tracks; ++t) selectors[e][t].push_back(std::make_unique<anchor::StreamSelector>(sc));
      std::vector<anchor::Unit>& table = by_display[e].emplace_back();
      for (const anchor::Unit& u : stream_units(streams[s], estimators[e], o.q_exponent, e == 1)) {
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
  std::fprintf(stderr,
               "select: oracle measured %" PRId64 " reconstructions in %.1f s (%.2f ms each, decoding included; SR "
               "anchors computed: %" PRId64 " in %.1f s; anchors: %s)\n",
               reconstructions, seconds, reconstructions > 0 ? 1e3 * (seconds - sr_seconds) / reconstructions : 0.0,
               sr_frames, sr_seconds, o.oracle_ground_truth || o.anchor_model.empty() ? "ground truth" : "SR");
  for (size_t t = 0; t < tracks; ++t) {
    const Correlations c = correlate(records[t]);
    std::fprintf(stderr,
                 "select: oracle at %g: Spearman rank correlation with its single-anchor gains (non-key frames, %d "
                 "epochs): neuroscaler %.3f (pooled %.3f), neuroscaler-q %.3f (pooled %.3f)\n",
                 fractions[t], c.epochs, c.epoch_mean[0], c.pooled[0], c.epoch_mean[1], c.pooled[1]);
    if (!o.gains_path.empty()) write_gains(fraction_path(o.gains_path, fractions[t]), records[t], c);
  }
  return epochs;
}

// Rebuilds every stream with the anchors of each plan, in one pass over the files, and prints the PSNR after reuse
// (TSV on stdout, one line per stream and plan).
void evaluate_plans(const SelectOptions& o, const std::vector<anchor::Plan>& plans) {
  std::printf("stream\tmethod\tfraction\tframes\tanchors\tpsnr\tpsnr_y\tanchors_from\n");
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
      reconstructors.push_back(std::make_unique<reuse::Reconstructor>(reuse_settings(o), w, h));
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
    for (size_t p = 0; p < plans.size(); ++p) {
      std::printf("%s\t%s\t%.4f\t%" PRId64 "\t%zu\t%.4f\t%.4f\t%s\n", o.inputs[s].c_str(), plans[p].method.c_str(),
                  plans[p].fraction, frames, anchors[p].size(), psnr[p] / n, psnr_y[p] / n,
                  images.ground_truth() ? "ground-truth" : "sr");
    }
    std::fflush(stdout);
    if (!images.ground_truth()) {
      std::fprintf(stderr, "select: evaluation of %zu plan(s) on %s: %" PRId64 " SR anchor images computed in %.1f s\n",
                   plans.size(), o.inputs[s].c_str(), images.computed(), images.seconds());
    }
  }
}

void run_select(const SelectOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  anchor::SchedulerConfig config;
  config.method = anchor::method_from_name(o.method);
  config.epoch_frames = o.epoch_frames;
  config.fps = o.fps;
  config.selector.gop = o.gop;
  config.selector.q_exponent = o.q_exponent;
  const bool budget = o.budget_ms >= 0;
  if (budget && o.latency_path.empty()) {
    throw Error(ErrorCode::invalid_argument, "select: --budget-ms needs --latency FILE (GPU ms per anchor)");
  }
  const bool oracle = config.method == anchor::Method::oracle;
  if ((oracle || o.evaluate) && o.references.size() != o.inputs.size()) {
    throw Error(ErrorCode::invalid_argument,
                std::string("select: ") + (oracle ? "--method oracle" : "--evaluate") + " needs one --reference HR "
                "video per --in (" + std::to_string(o.inputs.size()) + " input(s), " +
                    std::to_string(o.references.size()) +
                    " reference(s)); give the HR video each stream was made from");
  }
  if (!o.gains_path.empty() && !oracle) {
    throw Error(ErrorCode::invalid_argument, "select: --gains is written by the oracle; add --method oracle");
  }
  if (!o.compare.empty() && !o.evaluate) {
    throw Error(ErrorCode::invalid_argument, "select: --compare plans are evaluated with --evaluate; add it");
  }
  const std::vector<double> fractions = o.fractions.empty() ? std::vector<double>{o.fraction} : o.fractions;
  if (fractions.size() > 1 && o.out.find("{fraction}") == std::string::npos) {
    throw Error(ErrorCode::invalid_argument,
                "select: several --fractions need \"{fraction}\" in --out (e.g. plan-{fraction}.json)");
  }
  config.mode = budget ? anchor::Mode::budget : anchor::Mode::fraction;
  config.budget_ms = budget ? o.budget_ms : 0.0;
  anchor::LatencyModel latency;
  if (!o.latency_path.empty()) latency = anchor::LatencyModel::load(o.latency_path);

  std::vector<std::vector<media::CodedFrame>> streams;
  std::vector<anchor::StreamSpec> specs;
  std::vector<anchor::PlanStream> plan_streams;
  for (const std::string& input : o.inputs) {
    media::StreamInfo info;
    streams.push_back(media::probe_file(input, &info));
    if (o.max_frames > 0) {  // keep the coded frames of the first max_frames displayed frames
      auto& frames = streams.back();
      size_t keep = 0;
      while (keep < frames.size() && frames[keep].display_index < o.max_frames) ++keep;
      frames.resize(keep);
    }
    anchor::PlanStream ps;
    ps.name = input;
    ps.codec = info.codec;
    ps.width = info.width;
    ps.height = info.height;
    for (const auto& f : streams.back()) ps.frames += f.shown ? 1 : 0;
    if (!o.latency_path.empty()) ps.anchor_ms = latency.ms(o.model, info.width, info.height, o.backend);
    specs.push_back({input, ps.anchor_ms});
    plan_streams.push_back(std::move(ps));
  }

  std::vector<std::vector<anchor::EpochResult>> results;
  if (oracle) {
    results = run_oracle(o, config, budget ? std::vector<double>{0.0} : fractions, specs, streams);
  } else {
    for (double f : budget ? std::vector<double>{0.0} : fractions) {
      config.fraction = f;
      results.push_back(anchor::select_offline(config, specs, streams));
    }
  }
  std::vector<anchor::Plan> plans;
  for (size_t t = 0; t < results.size(); ++t) {
    anchor::Plan plan;
    plan.method = anchor::method_name(config.method);
    plan.mode = budget ? "budget" : "fraction";
    plan.fraction = budget ? 0.0 : fractions[t];
    plan.budget_ms = config.budget_ms;
    plan.epoch_frames = config.epoch_frames;
    plan.fps = config.fps;
    plan.streams = plan_streams;
    plan.epochs = std::move(results[t]);
    const std::string path = fraction_path(o.out, plan.fraction);
    anchor::write_plan(plan, path);

    int64_t frames = 0;
    int64_t anchors = 0;
    int64_t skipped = 0;
    double used = 0;
    for (const auto& e : plan.epochs) {
      frames += e.frames;
      anchors += static_cast<int64_t>(e.anchors.size());
      skipped += e.skipped;
      used += e.used_ms;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr,
                 "select: %s, %zu stream(s), %zu epochs, %" PRId64 " frames, %" PRId64 " anchors (%.2f %%)",
                 plan.method.c_str(), plan.streams.size(), plan.epochs.size(), frames, anchors,
                 frames > 0 ? 100.0 * static_cast<double>(anchors) / static_cast<double>(frames) : 0.0);
    if (budget) std::fprintf(stderr, ", %.1f GPU ms used, %" PRId64 " skipped", used, skipped);
    std::fprintf(stderr, "; %s written after %.1f ms\n", path.c_str(), seconds * 1e3);
    plans.push_back(std::move(plan));
  }
  if (!o.evaluate) return;
  for (const std::string& path : o.compare) {
    anchor::Plan plan = anchor::read_plan(path);
    if (plan.streams.size() != o.inputs.size()) {
      throw Error(ErrorCode::mismatch, "select: the plan " + path + " has " + std::to_string(plan.streams.size()) +
                                           " stream(s), --in gives " + std::to_string(o.inputs.size()) +
                                           "; compare plans made for the same inputs");
    }
    plans.push_back(std::move(plan));
  }
  evaluate_plans(o, plans);
}

}  // namespace

void register_select(CLI::App& app) {
  auto options = std::make_shared<SelectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "select",
      "Choose anchor frames (the frames to super-resolve) for one or more VP9 / H.264 streams, epoch by\n"
      "epoch, and write the plan as JSON. Streams are probed (frame class and coded bytes) without decoding.\n"
      "Methods: neuroscaler-q (default, ours: NeuroScaler's gain with bytes weighted by the quantiser step, and a\n"
      "hidden alt-ref's priority on the frame that later displays it; docs/anchors.md), neuroscaler (the\n"
      "faithful selector, reference §3: accumulated coded bytes; an alt-ref's priority on the shown frame of its\n"
      "superframe), uniform (evenly spaced), perframe (every frame), keyframe (key frames only), oracle\n"
      "(evaluation only: measured reuse quality against --reference, every frame of every epoch tried as an\n"
      "anchor; slow). Anchors are displayed frames; a hidden frame's bytes count with the shown frame of its\n"
      "superframe.\n"
      "Quota: --fraction F (anchors = round(F x frames of the epoch, all streams)), or --budget-ms B with\n"
      "--latency FILE (GPU ms per epoch; each anchor costs the file's ms for --model, the stream's size and\n"
      "--backend; anchors that do not fit are skipped). Latency JSON:\n"
      "  {\"entries\": [{\"model\": \"edsr\", \"width\": 1280, \"height\": 720, \"backend\": \"cuda\", \"ms\": 1.9}]}\n"
      "Anchor images (oracle, --evaluate): the reference frames (ground truth), or --anchor-model's SR output.\n"
      "--evaluate rebuilds each stream from the plan's anchors by reuse and prints its PSNR (TSV on stdout).");
  cmd->add_option("--in", options->inputs, "input streams (files or URLs)")->required()->expected(1, -1);
  cmd->add_option("--method", options->method, "neuroscaler, neuroscaler-q, uniform, perframe, keyframe or oracle")
      ->capture_default_str();
  auto* fraction = cmd->add_option("--fraction", options->fraction, "fraction of frames made anchors (0..1)")
                       ->capture_default_str()
                       ->check(CLI::Range(0.0, 1.0));
  auto* budget = cmd->add_option("--budget-ms", options->budget_ms, "GPU milliseconds per epoch (budget mode)")
                     ->check(CLI::NonNegativeNumber);
  auto* fractions = cmd->add_option("--fractions", options->fractions,
                                    "several fractions, one plan each (--out and --gains need \"{fraction}\"); "
                                    "the oracle runs them in one pass")
                        ->delimiter(',')
                        ->check(CLI::Range(0.0, 1.0));
  fraction->excludes(budget);
  fractions->excludes(budget);
  fractions->excludes(fraction);
  cmd->add_option("--latency", options->latency_path, "latency JSON: GPU ms per anchor by model, size, backend");
  cmd->add_option("--model", options->model, "model name looked up in the latency file")->capture_default_str();
  cmd->add_option("--backend", options->backend, "backend name looked up in the latency file")
      ->capture_default_str();
  cmd->add_option("--epoch-frames", options->epoch_frames, "epoch length in frames")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--fps", options->fps, "frame rate of the epoch clock")->capture_default_str()->check(
      CLI::PositiveNumber);
  cmd->add_option("--gop", options->gop, "expected key-frame interval (selection horizon; 0: end of epoch)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--q-exponent", options->q_exponent,
                  "neuroscaler-q: weight = bytes x (quantiser step / reference step)^E")
      ->capture_default_str()
      ->check(CLI::Range(-4.0, 4.0));
  cmd->add_option("--reference", options->references, "HR reference video per --in (oracle, --evaluate)")
      ->expected(1, -1);
  cmd->add_option("--anchor-model", options->anchor_model,
                  "SR model (.safetensors) whose output is the anchor image (oracle, --evaluate); default: the "
                  "reference frame (ground truth)");
  cmd->add_option("--anchor-cache", options->anchor_cache,
                  "folder caching SR anchor images per stream and frame (raw I420); reuse it only with the same "
                  "inputs and model");
  cmd->add_flag("--oracle-ground-truth", options->oracle_ground_truth,
                "the oracle measures with ground-truth anchors even with --anchor-model (which --evaluate uses)");
  cmd->add_flag("--evaluate", options->evaluate, "rebuild the streams from the plan and print the PSNR after reuse");
  cmd->add_option("--compare", options->compare, "with --evaluate: also evaluate these plan files (same inputs)")
      ->expected(1, -1);
  cmd->add_option("--gains", options->gains_path,
                  "oracle: write every frame's measured single-anchor gain and the estimators' scores (JSON)");
  cmd->add_option("--scale", options->scale, "HR / LR size ratio (oracle, --evaluate)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4));
  cmd->add_option("--frames", options->max_frames, "use only the first N displayed frames of every stream")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", options->out, "plan JSON to write")->required();
  cmd->callback([options]() { run_select(*options); });
}

}  // namespace ns::app
