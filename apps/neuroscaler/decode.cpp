// neuroscaler decode: the viewer. Reads a hybrid stream (`neuroscaler enhance`), decodes the LR video and the anchor
// images, and rebuilds every HR frame by reuse (reference §7); writes them and/or measures them against a reference.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "hr_output.h"
#include "quality_csv.h"
#include "ns/core/error.h"
#include "ns/core/progress.h"
#include "ns/core/resize.h"
#include "ns/hybrid/hybrid.h"
#include "ns/media/reader.h"
#include "ns/reuse/reuse.h"

namespace ns::app {

namespace {

struct DecodeOptions {
  std::string in;
  std::string out;
  std::string reference;
  std::string csv;
  int threads = 1;
  double anchor_weight = reuse::kSrAnchorWeight;
  int64_t max_frames = -1;
};

void run_decode(const DecodeOptions& o) {
  if (o.out.empty() && o.reference.empty()) {
    throw Error(ErrorCode::invalid_argument, "decode: nothing to do; give --out, --reference or both");
  }
  const auto start = std::chrono::steady_clock::now();
  hybrid::HybridReader reader(o.in);
  const hybrid::HybridInfo& info = reader.info();
  reuse::Reconstructor reconstructor(reuse::ReuseSettings{.scale = info.tags.scale,
                                                          .anchor_weight = o.anchor_weight,
                                                          .threads = o.threads},
                                     info.video.width, info.video.height);
  const int hr_w = reconstructor.hr_width();
  const int hr_h = reconstructor.hr_height();
  if (info.has_anchors && (info.anchor_width != hr_w || info.anchor_height != hr_h)) {
    throw Error(ErrorCode::corrupt,
                "decode: the anchor track is " + std::to_string(info.anchor_width) + "x" +
                    std::to_string(info.anchor_height) + " but scale " + std::to_string(info.tags.scale) + " of the " +
                    std::to_string(info.video.width) + "x" + std::to_string(info.video.height) +
                    " LR video makes " + std::to_string(hr_w) + "x" + std::to_string(hr_h) +
                    "; the file's tags are damaged: re-create it with `neuroscaler enhance`",
                {.file = o.in});
  }
  const media::Rational rate = info.video.frame_rate.num > 0 ? info.video.frame_rate : media::Rational{60, 1};
  std::unique_ptr<HrOutput> output;
  if (!o.out.empty()) output = std::make_unique<HrOutput>(o.out, hr_w, hr_h, rate);
  std::unique_ptr<media::VideoReader> reference;
  if (!o.reference.empty()) reference = std::make_unique<media::VideoReader>(o.reference);
  QualityTally quality("decode", o.reference, hr_w, hr_h);
  std::unique_ptr<QualityCsv> csv;
  if (!o.csv.empty()) csv = std::make_unique<QualityCsv>("decode", o.csv, /*with_anchor=*/true);

  core::Progress progress("decode", o.max_frames > 0 ? o.max_frames : info.video.frame_count);
  core::Frame lr, anchor, truth;
  bool has_anchor = false;
  int64_t frames = 0;
  int64_t anchors = 0;
  double reuse_ms = 0;
  // Without an anchor track there is nothing to reuse: every frame is up-scaled (bicubic), as the reader warned.
  core::Frame upscaled(hr_w, hr_h);
  while ((o.max_frames < 0 || frames < o.max_frames) && reader.read(lr, anchor, has_anchor)) {
    const core::Frame* hr = &upscaled;
    if (info.has_anchors) {
      hr = &reconstructor.push(lr, has_anchor ? &anchor : nullptr);
      reuse_ms += reconstructor.last_stats().motion_ms + reconstructor.last_stats().reconstruct_ms;
    } else {
      core::resize(lr, upscaled, core::ResizeFilter::bicubic);
      upscaled.pts = lr.pts;
      upscaled.index = lr.index;
    }
    anchors += has_anchor ? 1 : 0;
    if (reference) {
      quality.read_reference(*reference, frames, truth);
      const core::FrameQuality q = quality.add(truth, lr, *hr);
      if (csv) csv->row(frames, q, has_anchor);
    }
    if (output) output->write(*hr);
    progress.update(++frames);
  }
  progress.finish();
  if (output) output->finish();
  if (csv) csv->close();
  if (frames == 0) throw Error(ErrorCode::corrupt, "decode: the hybrid stream has no LR frames", {.file = o.in});
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "decode: %lld frames %dx%d -> %dx%d, %lld anchors (%lld skipped as damaged), %s anchors, model %s; "
               "reuse %.2f ms per frame (CPU of the calling thread); %.1f s in all\n",
               static_cast<long long>(frames), info.video.width, info.video.height, hr_w, hr_h,
               static_cast<long long>(anchors), static_cast<long long>(reader.anchors_skipped()),
               imagecodec::codec_name(info.tags.anchor_codec), info.tags.model.c_str(),
               reuse_ms / static_cast<double>(frames), wall_s);
  if (reference) quality.print_tsv(anchors);
}

}  // namespace

void register_decode(CLI::App& app) {
  auto o = std::make_shared<DecodeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "decode",
      "The viewer: rebuild HR frames from a hybrid stream (`neuroscaler enhance`): the LR video, the anchor\n"
      "images in place of their frames, reuse for the rest. A file without anchors is up-scaled (bicubic)\n"
      "with a warning. With --reference, prints PSNR/SSIM next to bicubic (TSV on stdout).");
  cmd->add_option("--in,-i", o->in, "hybrid stream (.mkv)")->required();
  cmd->add_option("--out,-o", o->out, "HR output: .y4m or - for Y4M, else encoded (lossless FFV1 in .mkv)");
  cmd->add_option("--reference,-r", o->reference, "HR reference video to measure against");
  cmd->add_option("--csv", o->csv, "with --reference: per-frame PSNR / SSIM table (CSV) to this file")
      ->needs(cmd->get_option("--reference"));
  cmd->add_option("--threads", o->threads, "reuse threads (same output for any count)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  add_anchor_weight_option(cmd, o->anchor_weight)->capture_default_str();
  cmd->add_option("--frames", o->max_frames, "stop after this many frames")->check(CLI::PositiveNumber);
  cmd->callback([o] { run_decode(*o); });
}

}  // namespace ns::app
