// neuroscaler reconstruct: rebuild HR frames of an LR video from a few HR anchors by reuse (reference §7),
// optionally measuring PSNR/SSIM against an HR reference, next to bicubic up-scaling of the same frames. Anchors
// come from an HR video, a folder of images, or an SR model run on the LR anchor frames.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "hr_output.h"
#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/progress.h"
#include "ns/media/image.h"
#include "ns/media/reader.h"
#include "ns/motion/motion.h"
#include "ns/reuse/reuse.h"
#include "ns/sr/sr.h"

namespace ns::app {

namespace {

struct ReconstructOptions {
  std::string lr;
  std::string out;
  std::string reference;
  std::vector<int64_t> anchors;
  int64_t every = 0;
  double fraction = 0;
  std::string anchor_video;
  std::string anchor_dir;
  std::string model;
  std::string backend = "auto";
  int sr_threads = 0;
  int scale = 3;
  bool scale_given = false;
  int64_t max_frames = -1;
  bool faithful = false;
  std::optional<double> anchor_weight;  // default: kSrAnchorWeight for SR anchors, else 1
  std::string motion = "own";
  int threads = 1;
};

// Anchor frame indices: an explicit list, every N-th frame, or a uniform fraction (first frame included).
class AnchorSet {
 public:
  explicit AnchorSet(const ReconstructOptions& o) : explicit_(o.anchors.begin(), o.anchors.end()) {
    if (o.every > 0) step_ = static_cast<double>(o.every);
    if (o.fraction > 0) step_ = 1.0 / o.fraction;
  }
  bool contains(int64_t index) const {
    if (explicit_.count(index)) return true;
    if (step_ <= 0) return false;
    // index is an anchor when a multiple of the step falls in [index, index + 1).
    const double k = std::ceil(static_cast<double>(index) / step_ - 1e-9);
    return k * step_ < static_cast<double>(index) + 1 - 1e-9;
  }

 private:
  std::set<int64_t> explicit_;
  double step_ = 0;
};

// SR anchors are blended into the chain (reuse::kSrAnchorWeight), except on every frame (per-frame SR) and in
// NEMO's original math; ground-truth anchors and images from a folder replace their frame.
double default_anchor_weight(const ReconstructOptions& o) {
  const bool every_frame = o.fraction >= 1.0 || o.every == 1;
  return !o.model.empty() && !o.faithful && !every_frame ? reuse::kSrAnchorWeight : 1.0;
}

// HR anchor images: from an HR video read in step with the LR frames, a folder of images, or SR of the LR frame.
class AnchorSource {
 public:
  AnchorSource(const ReconstructOptions& o, int lr_w, int lr_h) : dir_(o.anchor_dir) {
    if (!o.anchor_video.empty()) video_ = std::make_unique<media::VideoReader>(o.anchor_video);
    if (!o.model.empty()) {
      sr::UpscalerOptions options;
      options.backend = o.backend;
      options.backend_options.threads = o.sr_threads;
      upscaler_ = std::make_unique<sr::Upscaler>(sr::load_model(o.model), lr_w, lr_h, options);
    }
  }
  bool from_video() const { return video_ != nullptr; }
  double sr_ms = 0;  // wall time of SR, all anchors

  // Called for every LR frame in order (the video source must stay in step); returns the anchor or null.
  const core::Frame* get(const core::Frame& lr, int64_t index, bool is_anchor, const core::Frame* shared_hr) {
    if (upscaler_) {
      if (!is_anchor) return nullptr;
      const auto start = std::chrono::steady_clock::now();
      upscaler_->upscale(lr, frame_);
      sr_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      return &frame_;
    }
    if (video_) {
      if (shared_hr) return is_anchor ? shared_hr : nullptr;
      if (!video_->read(frame_)) {
        throw Error(ErrorCode::mismatch, "the anchor video ended before the LR video (at frame " +
                                             std::to_string(index) + "); give an HR video of the same length");
      }
      return is_anchor ? &frame_ : nullptr;
    }
    if (!is_anchor) return nullptr;
    char name[32];
    for (const char* extension : {"png", "jpg", "ppm"}) {
      std::snprintf(name, sizeof name, "%05lld.%s", static_cast<long long>(index), extension);
      const std::filesystem::path path = std::filesystem::path(dir_) / name;
      if (!std::filesystem::exists(path)) continue;
      const core::RgbImage rgb = media::load_image(path.string());
      frame_ = core::Frame(rgb.width, rgb.height);
      core::rgb_to_i420(rgb, frame_);
      return &frame_;
    }
    throw Error(ErrorCode::not_found,
                "no anchor image for frame " + std::to_string(index) + " in " + dir_ +
                    " (looked for 5-digit names with .png, .jpg or .ppm); write one or drop that anchor");
  }
  media::VideoReader* video() { return video_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<media::VideoReader> video_;
  std::unique_ptr<sr::Upscaler> upscaler_;
  core::Frame frame_;
};

// The decoder's vectors of the frame just read as one candidate per LR block (past references only).
void decoder_candidates(const media::VideoReader& reader, int lr_w, int lr_h, int block_size,
                        std::vector<motion::CodedBlock>& coded, std::vector<motion::MotionVector>& out) {
  coded.clear();
  for (const media::CodedMotionVector& v : reader.motion_vectors()) {
    if (v.source > 0) continue;
    coded.push_back(motion::CodedBlock{v.x, v.y, v.width, v.height,
                                       motion::MotionVector{static_cast<int16_t>(v.dx), static_cast<int16_t>(v.dy)}});
  }
  motion::block_candidates(coded, lr_w, lr_h, block_size, out);
}

struct Totals {
  int64_t frames = 0;
  int64_t anchors = 0;
  double motion_ms = 0, reconstruct_ms = 0;
};

void run_reconstruct(const ReconstructOptions& o) {
  if (o.out.empty() && o.reference.empty()) {
    throw Error(ErrorCode::invalid_argument, "reconstruct: nothing to do; give --out, --reference or both");
  }
  if ((o.anchor_video.empty() ? 0 : 1) + (o.anchor_dir.empty() ? 0 : 1) + (o.model.empty() ? 0 : 1) != 1) {
    throw Error(ErrorCode::invalid_argument, "reconstruct: give exactly one anchor source: --anchor-video HR_VIDEO, "
                                             "--anchor-dir DIR or --model MODEL.safetensors");
  }
  const AnchorSet anchors(o);
  const bool decoder_mvs = o.motion != "own";
  media::VideoReader lr(o.lr, media::ReaderOptions{.export_motion_vectors = decoder_mvs});
  const int lr_w = lr.info().width;
  const int lr_h = lr.info().height;
  if (decoder_mvs && lr.info().codec != "h264") {
    throw Error(ErrorCode::unsupported,
                "reconstruct: --motion " + o.motion + " needs the decoder's motion vectors, which FFmpeg exports for "
                "H.264 but not for " + lr.info().codec + "; use --motion own",
                {.file = o.lr});
  }
  int scale = o.scale;
  if (!o.model.empty()) {
    const int model_scale = sr::load_model(o.model).desc.scale;
    if (o.scale_given && o.scale != model_scale) {
      throw Error(ErrorCode::mismatch,
                  "reconstruct: --scale " + std::to_string(o.scale) + " but the model up-scales x" +
                      std::to_string(model_scale) + "; drop --scale or use a x" + std::to_string(o.scale) + " model",
                  {.file = o.model});
    }
    scale = model_scale;
  }
  reuse::ReuseSettings settings{.scale = scale};
  settings.motion_search = o.motion != "decoder";
  settings.threads = o.threads;
  settings.anchor_weight = o.anchor_weight.value_or(default_anchor_weight(o));
  if (o.faithful) {
    settings.residual_upscale = reuse::ResidualUpscale::block_bilinear;
    settings.residual_source = reuse::ResidualSource::lr_prediction;
    settings.obmc = false;
  }
  reuse::Reconstructor reconstructor(settings, lr_w, lr_h);
  const int hr_w = reconstructor.hr_width();
  const int hr_h = reconstructor.hr_height();

  AnchorSource source(o, lr_w, lr_h);
  // The reference and the anchor video are often the same file: decode it once.
  const bool shared = !o.reference.empty() && o.reference == o.anchor_video;
  std::unique_ptr<media::VideoReader> reference;
  if (!o.reference.empty() && !shared) reference = std::make_unique<media::VideoReader>(o.reference);
  media::VideoReader* reference_reader = shared ? source.video() : reference.get();

  const media::Rational rate = lr.info().frame_rate.num > 0 ? lr.info().frame_rate : media::Rational{60, 1};
  std::unique_ptr<HrOutput> output;
  if (!o.out.empty()) output = std::make_unique<HrOutput>(o.out, hr_w, hr_h, rate);
  QualityTally quality("reconstruct", o.reference, hr_w, hr_h);

  core::Progress progress("reconstruct", o.max_frames > 0 ? o.max_frames : lr.info().frame_count);
  Totals totals;
  core::Frame lr_frame, reference_frame;
  std::vector<motion::CodedBlock> coded;
  std::vector<motion::MotionVector> candidates;
  const auto start = std::chrono::steady_clock::now();
  while ((o.max_frames < 0 || totals.frames < o.max_frames) && lr.read(lr_frame)) {
    const int64_t index = totals.frames;
    const core::Frame* truth = nullptr;
    if (reference_reader) {
      quality.read_reference(*reference_reader, index, reference_frame);
      truth = &reference_frame;
    }
    const bool is_anchor = anchors.contains(index);
    const core::Frame* anchor = source.get(lr_frame, index, is_anchor, shared ? truth : nullptr);
    if (decoder_mvs) decoder_candidates(lr, lr_w, lr_h, settings.block_size, coded, candidates);
    const core::Frame& hr = reconstructor.push(lr_frame, anchor, candidates);
    const reuse::FrameStats& stats = reconstructor.last_stats();
    totals.motion_ms += stats.motion_ms;
    totals.reconstruct_ms += stats.reconstruct_ms;
    totals.anchors += is_anchor ? 1 : 0;
    if (truth) quality.add(*truth, lr_frame, hr);
    if (output) output->write(hr);
    progress.update(++totals.frames);
  }
  progress.finish();
  if (output) output->finish();
  if (totals.frames == 0) throw Error(ErrorCode::corrupt, "reconstruct: the LR video has no frames", {.file = o.lr});
  const double n = static_cast<double>(totals.frames);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "reconstruct: %lld frames %dx%d -> %dx%d, %lld anchors (%.2f %%), motion (%s) %.2f ms, "
               "reconstruction %.2f ms per frame (CPU of the calling thread, %d thread(s)); SR %.1f ms per anchor "
               "(wall); %.1f s in all\n",
               static_cast<long long>(totals.frames), lr_w, lr_h, hr_w, hr_h, static_cast<long long>(totals.anchors),
               100.0 * static_cast<double>(totals.anchors) / n, o.motion.c_str(), totals.motion_ms / n,
               totals.reconstruct_ms / n, o.threads,
               totals.anchors > 0 ? source.sr_ms / static_cast<double>(totals.anchors) : 0.0, wall_s);
  if (reference_reader) quality.print_tsv(totals.anchors);
}

}  // namespace

void register_reconstruct(CLI::App& app) {
  auto o = std::make_shared<ReconstructOptions>();
  CLI::App* cmd = app.add_subcommand(
      "reconstruct",
      "Rebuild HR frames from an LR video and a few HR anchors by reuse (motion-compensated HR reference\n"
      "plus the up-scaled residual, reference §7). Anchors: frame indices (--anchors, --every or --fraction)\n"
      "with HR images from an HR video (--anchor-video, e.g. the reference: ground-truth anchors), a\n"
      "folder (--anchor-dir, 00042.png ...) or made by an SR model (--model; with --fraction 1 every frame is\n"
      "SR'd: the per-frame SR baseline). With --reference, prints PSNR/SSIM next to bicubic (TSV on stdout).");
  cmd->add_option("--lr", o->lr, "LR video (any input FFmpeg reads)")->required();
  cmd->add_option("--out,-o", o->out, "HR output: .y4m or - for Y4M, .mkv for lossless FFV1 (optional with --reference)");
  cmd->add_option("--reference,-r", o->reference, "HR reference video to measure against");
  cmd->add_option("--anchors", o->anchors, "anchor frame indices, e.g. --anchors 0,40,80")->delimiter(',');
  cmd->add_option("--every", o->every, "an anchor every N frames, from frame 0")->check(CLI::PositiveNumber);
  cmd->add_option("--fraction", o->fraction, "uniformly spaced anchors, this fraction of frames (0.075 = 7.5 %)")
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--anchor-video", o->anchor_video, "HR video whose frames at the anchor indices are the anchors");
  cmd->add_option("--anchor-dir", o->anchor_dir, "folder of HR anchor images named by frame index (00042.png)");
  cmd->add_option("--model,-m", o->model, "SR model (.safetensors): anchors are the model's up-scale of the LR frame");
  add_backend_option(cmd, o->backend);
  cmd->add_option("--sr-threads", o->sr_threads, "SR inference threads (default: all cores)");
  CLI::Option* scale = cmd->add_option("--scale", o->scale, "HR / LR size ratio (default: the model's, else 3)")
                           ->check(CLI::Range(1, 4))
                           ->capture_default_str();
  cmd->add_option("--motion", o->motion,
                  "motion vectors: own (our search), decoder (H.264's own vectors only), both (ours seeded with them)")
      ->check(CLI::IsMember({"own", "decoder", "both"}))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads for the reconstruction (same output for any count)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  add_anchor_weight_option(cmd, o->anchor_weight,
                           fmt::format("; default: {} for SR anchors (--model), 1 for the others, for anchors on "
                                       "every frame and with --faithful",
                                       reuse::kSrAnchorWeight));
  cmd->add_option("--frames", o->max_frames, "stop after this many frames")->check(CLI::PositiveNumber);
  cmd->add_flag("--faithful", o->faithful,
                "NEMO's original math (LR residual, block-local bilinear, one vector per block) instead of ours");
  cmd->callback([o, scale] {
    o->scale_given = scale->count() > 0;
    run_reconstruct(*o);
  });
}

}  // namespace ns::app
