// neuroscaler reconstruct: rebuild HR frames of an LR video from a few HR anchors by reuse (reference §7),
// optionally measuring PSNR/SSIM against an HR reference, next to bicubic up-scaling of the same frames.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "ns/core/colour.h"
#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/core/progress.h"
#include "ns/core/resize.h"
#include "ns/media/image.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"
#include "ns/reuse/reuse.h"

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
  int scale = 3;
  int64_t max_frames = -1;
  bool faithful = false;
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

// HR anchor images, from an HR video read in step with the LR frames or from a folder of images.
class AnchorSource {
 public:
  explicit AnchorSource(const ReconstructOptions& o) : dir_(o.anchor_dir) {
    if (!o.anchor_video.empty()) video_ = std::make_unique<media::VideoReader>(o.anchor_video);
  }
  bool from_video() const { return video_ != nullptr; }

  // Called for every LR frame in order (the video source must stay in step); returns the anchor or null.
  const core::Frame* get(int64_t index, bool is_anchor, const core::Frame* shared_hr) {
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
  core::Frame frame_;
};

struct Totals {
  int64_t frames = 0;
  int64_t anchors = 0;
  double psnr = 0, ssim = 0, bicubic_psnr = 0, bicubic_ssim = 0;
  double motion_ms = 0, reconstruct_ms = 0;
};

void run_reconstruct(const ReconstructOptions& o) {
  if (o.out.empty() && o.reference.empty()) {
    throw Error(ErrorCode::invalid_argument, "reconstruct: nothing to do; give --out, --reference or both");
  }
  if (o.anchor_video.empty() == o.anchor_dir.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "reconstruct: give exactly one anchor source: --anchor-video HR_VIDEO or --anchor-dir DIR");
  }
  const AnchorSet anchors(o);
  media::VideoReader lr(o.lr);
  const int lr_w = lr.info().width;
  const int lr_h = lr.info().height;
  reuse::ReuseSettings settings{.scale = o.scale};
  if (o.faithful) {
    settings.residual_upscale = reuse::ResidualUpscale::block_bilinear;
    settings.residual_source = reuse::ResidualSource::lr_prediction;
    settings.obmc = false;
  }
  reuse::Reconstructor reconstructor(settings, lr_w, lr_h);
  const int hr_w = reconstructor.hr_width();
  const int hr_h = reconstructor.hr_height();

  AnchorSource source(o);
  // The reference and the anchor video are often the same file: decode it once.
  const bool shared = !o.reference.empty() && o.reference == o.anchor_video;
  std::unique_ptr<media::VideoReader> reference;
  if (!o.reference.empty() && !shared) reference = std::make_unique<media::VideoReader>(o.reference);
  media::VideoReader* reference_reader = shared ? source.video() : reference.get();

  const media::Rational rate = lr.info().frame_rate.num > 0 ? lr.info().frame_rate : media::Rational{60, 1};
  std::unique_ptr<media::Y4mWriter> y4m;
  std::unique_ptr<media::VideoWriter> encoded;
  if (o.out == "-" || o.out.ends_with(".y4m")) {
    y4m = std::make_unique<media::Y4mWriter>(o.out, hr_w, hr_h, rate);
  } else if (!o.out.empty()) {
    encoded = std::make_unique<media::VideoWriter>(o.out, hr_w, hr_h, rate, media::EncoderSettings::lossless());
  }

  core::Progress progress("reconstruct", o.max_frames > 0 ? o.max_frames : lr.info().frame_count);
  Totals totals;
  core::Frame lr_frame, reference_frame, bicubic(hr_w, hr_h);
  while ((o.max_frames < 0 || totals.frames < o.max_frames) && lr.read(lr_frame)) {
    const int64_t index = totals.frames;
    const core::Frame* truth = nullptr;
    if (reference_reader) {
      if (!reference_reader->read(reference_frame)) {
        throw Error(ErrorCode::mismatch, "reconstruct: the reference " + o.reference + " ended at frame " +
                                             std::to_string(index) + " before the LR video; use --frames N");
      }
      if (reference_frame.width() != hr_w || reference_frame.height() != hr_h) {
        throw Error(ErrorCode::mismatch, "reconstruct: the reference is " + std::to_string(reference_frame.width()) +
                                             "x" + std::to_string(reference_frame.height()) + ", the output " +
                                             std::to_string(hr_w) + "x" + std::to_string(hr_h) + "; check --scale");
      }
      truth = &reference_frame;
    }
    const bool is_anchor = anchors.contains(index);
    const core::Frame* anchor = source.get(index, is_anchor, shared ? truth : nullptr);
    const core::Frame& hr = reconstructor.push(lr_frame, anchor);
    const reuse::FrameStats& stats = reconstructor.last_stats();
    totals.motion_ms += stats.motion_ms;
    totals.reconstruct_ms += stats.reconstruct_ms;
    totals.anchors += is_anchor ? 1 : 0;
    if (truth) {
      const core::FrameQuality q = core::measure_quality(*truth, hr);
      core::resize(lr_frame, bicubic, core::ResizeFilter::bicubic);
      const core::FrameQuality b = core::measure_quality(*truth, bicubic);
      totals.psnr += q.psnr;
      totals.ssim += q.ssim_y;
      totals.bicubic_psnr += b.psnr;
      totals.bicubic_ssim += b.ssim_y;
    }
    if (y4m) y4m->write(hr);
    if (encoded) encoded->write(hr);
    progress.update(++totals.frames);
  }
  progress.finish();
  if (y4m) y4m->close();
  if (encoded) encoded->finish();
  if (totals.frames == 0) throw Error(ErrorCode::corrupt, "reconstruct: the LR video has no frames", {.file = o.lr});
  const double n = static_cast<double>(totals.frames);
  std::fprintf(stderr, "reconstruct: %lld frames %dx%d -> %dx%d, %lld anchors (%.2f %%), motion %.2f ms, "
                       "reconstruction %.2f ms per frame (CPU)\n",
               static_cast<long long>(totals.frames), lr_w, lr_h, hr_w, hr_h, static_cast<long long>(totals.anchors),
               100.0 * static_cast<double>(totals.anchors) / n, totals.motion_ms / n, totals.reconstruct_ms / n);
  if (reference_reader) {
    std::printf("frames\tanchors\tpsnr\tssim_y\tbicubic_psnr\tbicubic_ssim_y\tgain_db\n%lld\t%lld\t%.4f\t%.6f\t%.4f\t%.6f\t%.4f\n",
                static_cast<long long>(totals.frames), static_cast<long long>(totals.anchors), totals.psnr / n,
                totals.ssim / n, totals.bicubic_psnr / n, totals.bicubic_ssim / n,
                (totals.psnr - totals.bicubic_psnr) / n);
  }
}

}  // namespace

void register_reconstruct(CLI::App& app) {
  auto o = std::make_shared<ReconstructOptions>();
  CLI::App* cmd = app.add_subcommand(
      "reconstruct",
      "Rebuild HR frames from an LR video and a few HR anchors by reuse (motion-compensated HR reference\n"
      "plus the up-scaled residual, reference §7). Anchors: frame indices (--anchors, --every or --fraction)\n"
      "with HR images from an HR video (--anchor-video, e.g. the reference: ground-truth anchors) or a\n"
      "folder (--anchor-dir, 00042.png ...). With --reference, prints PSNR/SSIM next to bicubic (TSV on stdout).");
  cmd->add_option("--lr", o->lr, "LR video (any input FFmpeg reads)")->required();
  cmd->add_option("--out,-o", o->out, "HR output: .y4m or - for Y4M, .mkv for lossless FFV1 (optional with --reference)");
  cmd->add_option("--reference,-r", o->reference, "HR reference video to measure against");
  cmd->add_option("--anchors", o->anchors, "anchor frame indices, e.g. --anchors 0,40,80")->delimiter(',');
  cmd->add_option("--every", o->every, "an anchor every N frames, from frame 0")->check(CLI::PositiveNumber);
  cmd->add_option("--fraction", o->fraction, "uniformly spaced anchors, this fraction of frames (0.075 = 7.5 %)")
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_option("--anchor-video", o->anchor_video, "HR video whose frames at the anchor indices are the anchors");
  cmd->add_option("--anchor-dir", o->anchor_dir, "folder of HR anchor images named by frame index (00042.png)");
  cmd->add_option("--scale", o->scale, "HR / LR size ratio")->check(CLI::Range(1, 4))->capture_default_str();
  cmd->add_option("--frames", o->max_frames, "stop after this many frames")->check(CLI::PositiveNumber);
  cmd->add_flag("--faithful", o->faithful,
                "NEMO's original math (LR residual, block-local bilinear, one vector per block) instead of ours");
  cmd->callback([o] { run_reconstruct(*o); });
}

}  // namespace ns::app
