// neuroscaler quality: compare a test video with a reference frame by frame (frames matched by index):
// PSNR pooled over Y, U, V (reference §7.6) and per plane, SSIM on Y. Per-frame CSV on stdout (or
// --csv), a summary on stderr (and --json). With --upscale the test frames are first resized to the
// reference size, which is how the bilinear / bicubic up-scaling baselines are measured.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "quality_csv.h"
#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "ns/core/metrics.h"
#include "ns/core/progress.h"
#include "ns/core/resize.h"
#include "ns/media/reader.h"

namespace ns::app {

namespace {

struct QualityOptions {
  std::string reference;
  std::string test;
  std::string upscale;  // empty: sizes must match
  std::string csv;      // empty: stdout
  std::string json;
  int64_t frames = -1;  // -1: all
};

struct Summary {
  int64_t frames = 0;
  double sum_psnr = 0, sum_psnr_y = 0, sum_psnr_u = 0, sum_psnr_v = 0, sum_ssim = 0;
  double min_psnr = std::numeric_limits<double>::infinity();
  int64_t min_psnr_frame = -1;
  int width = 0;
  int height = 0;

  void add(int64_t index, const core::FrameQuality& q) {
    ++frames;
    sum_psnr += q.psnr;
    sum_psnr_y += q.psnr_y;
    sum_psnr_u += q.psnr_u;
    sum_psnr_v += q.psnr_v;
    sum_ssim += q.ssim_y;
    if (q.psnr < min_psnr) {
      min_psnr = q.psnr;
      min_psnr_frame = index;
    }
  }
  double mean(double sum) const { return frames ? sum / static_cast<double>(frames) : 0.0; }
};

std::string size_text(const core::Frame& f) { return std::to_string(f.width()) + "x" + std::to_string(f.height()); }

// Counts the frames left in `reader` (after a length mismatch, to report the full length).
int64_t count_rest(media::VideoReader& reader, core::Frame& scratch) {
  int64_t n = 0;
  while (reader.read(scratch)) ++n;
  return n;
}

void write_json(const QualityOptions& o, const Summary& s) {
  nlohmann::json j;
  j["reference"] = o.reference;
  j["test"] = o.test;
  j["upscale"] = o.upscale.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.upscale);
  j["frames"] = s.frames;
  j["width"] = s.width;
  j["height"] = s.height;
  j["mean_psnr"] = s.mean(s.sum_psnr);
  j["mean_psnr_y"] = s.mean(s.sum_psnr_y);
  j["mean_psnr_u"] = s.mean(s.sum_psnr_u);
  j["mean_psnr_v"] = s.mean(s.sum_psnr_v);
  j["mean_ssim_y"] = s.mean(s.sum_ssim);
  j["min_psnr"] = s.min_psnr;
  j["min_psnr_frame"] = s.min_psnr_frame;
  j["psnr_cap_db"] = core::kPsnrCapDb;
  j["psnr_pooling"] = "Y, U and V pooled: 10 log10(samples * 255^2 / SSE), SSE and samples summed over the planes";
  std::ofstream out(o.json);
  if (!out) {
    throw Error(ErrorCode::io, "quality: cannot create the JSON summary; check the directory exists and is writable",
                ErrorContext{.file = o.json});
  }
  out << j.dump(2) << "\n";
  out.close();
  if (!out) throw Error(ErrorCode::io, "quality: writing the JSON summary failed; check free space", {.file = o.json});
}

void run_quality(const QualityOptions& o) {
  std::optional<core::ResizeFilter> filter;
  if (!o.upscale.empty()) filter = core::parse_resize_filter(o.upscale.c_str());

  media::VideoReader reference(o.reference);
  media::VideoReader test(o.test);
  QualityCsv csv("quality", o.csv);

  int64_t total = reference.info().frame_count > 0 ? reference.info().frame_count : 0;
  if (o.frames > 0) total = total > 0 ? std::min(total, o.frames) : o.frames;
  core::Progress progress("quality", total);

  Summary summary;
  core::Frame ref_frame;
  core::Frame test_frame;
  core::Frame scaled;
  int64_t index = 0;
  while (o.frames < 0 || index < o.frames) {
    const bool has_ref = reference.read(ref_frame);
    const bool has_test = test.read(test_frame);
    if (!has_ref && !has_test) break;
    if (has_ref != has_test) {
      // One ended first: finish counting the other so that the message gives both lengths.
      const int64_t ref_count = index + (has_ref ? 1 + count_rest(reference, ref_frame) : 0);
      const int64_t test_count = index + (has_test ? 1 + count_rest(test, test_frame) : 0);
      throw Error(ErrorCode::mismatch,
                  "quality: the videos differ in length (reference " + o.reference + " has " +
                      std::to_string(ref_count) + " frames, test " + o.test + " has " + std::to_string(test_count) +
                      "); compare videos of equal length, or pass --frames N to compare only the first N");
    }
    const core::Frame* measured = &test_frame;
    if (!core::same_size(ref_frame, test_frame)) {
      if (!filter) {
        throw Error(ErrorCode::mismatch,
                    "quality: frame " + std::to_string(index) + ": sizes differ (reference " + o.reference + " is " +
                        size_text(ref_frame) + ", test " + o.test + " is " + size_text(test_frame) +
                        "); pass --upscale bilinear|bicubic|area to resize the test frames to the reference size");
      }
      if (!core::same_size(scaled, ref_frame)) scaled = core::Frame(ref_frame.width(), ref_frame.height());
      core::resize(test_frame, scaled, *filter);
      measured = &scaled;
    }
    const core::FrameQuality q = core::measure_quality(ref_frame, *measured);
    csv.row(index, q);
    summary.add(index, q);
    summary.width = ref_frame.width();
    summary.height = ref_frame.height();
    progress.update(++index);
  }
  progress.finish();
  csv.close();
  if (summary.frames == 0) {
    throw Error(ErrorCode::corrupt, "quality: no frames to compare (reference " + o.reference + " and test " + o.test +
                                        " decoded to nothing); check the inputs play");
  }
  std::fprintf(stderr,
               "quality: %lld frames %dx%d%s%s: PSNR %.4f dB (Y %.4f, U %.4f, V %.4f), SSIM Y %.6f, "
               "min PSNR %.4f dB at frame %lld\n",
               static_cast<long long>(summary.frames), summary.width, summary.height,
               filter ? ", test up-scaled with " : "", filter ? o.upscale.c_str() : "", summary.mean(summary.sum_psnr),
               summary.mean(summary.sum_psnr_y), summary.mean(summary.sum_psnr_u), summary.mean(summary.sum_psnr_v),
               summary.mean(summary.sum_ssim), summary.min_psnr, static_cast<long long>(summary.min_psnr_frame));
  if (!o.json.empty()) write_json(o, summary);
}

}  // namespace

void register_quality(CLI::App& app) {
  auto options = std::make_shared<QualityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quality",
      "Compare a test video with a reference, frame by frame (matched by index): PSNR pooled over Y, U, V\n"
      "(reference §7.6, capped at 100 dB) and per plane, SSIM on Y. Per-frame CSV on stdout (or --csv),\n"
      "summary (means, min PSNR) on stderr (and --json). Videos of different lengths are an error.");
  cmd->add_option("--reference,-r", options->reference, "reference video (any input FFmpeg reads)")->required();
  cmd->add_option("--test,-t", options->test, "video to measure (any input FFmpeg reads)")->required();
  cmd->add_option("--upscale", options->upscale,
                  "resize test frames to the reference size first with this filter (bilinear | bicubic | area);\n"
                  "without it, frames of different sizes are an error")
      ->check(CLI::IsMember({"bilinear", "bicubic", "area"}));
  cmd->add_option("--csv", options->csv, "write the per-frame table to this file instead of stdout");
  cmd->add_option("--json", options->json, "also write the summary as JSON to this file");
  cmd->add_option("--frames", options->frames, "compare only the first N frames")->check(CLI::PositiveNumber);
  cmd->callback([options] { run_quality(*options); });
}

}  // namespace ns::app
