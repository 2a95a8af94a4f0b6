// Shared by the commands that make HR frames (reconstruct, enhance, decode): where the frames go, and their quality
// against an HR reference next to bicubic up-scaling of the same LR frames.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ns/core/frame.h"
#include "ns/core/metrics.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"

namespace ns::app {

// "-" or *.y4m: Y4M (pipe-friendly); anything else: encoded with `settings` (container from the extension).
class HrOutput {
 public:
  HrOutput(const std::string& path, int width, int height, media::Rational rate,
           const media::EncoderSettings& settings = media::EncoderSettings::lossless());
  void write(const core::Frame& frame);
  void finish();
  int64_t encoded_bytes() const;  // payload of the encoded file (0 for Y4M)

 private:
  std::unique_ptr<media::Y4mWriter> y4m_;
  std::unique_ptr<media::VideoWriter> encoded_;
};

// Mean PSNR / SSIM-Y of HR frames against a reference, next to bicubic up-scaling of their LR frames.
class QualityTally {
 public:
  QualityTally(std::string command, std::string reference, int hr_width, int hr_height);

  // Reads the reference frame for frame `index` from `reader` into `out`, checking that it exists and has the HR
  // size (ns::Error mismatch saying what to do otherwise).
  void read_reference(media::VideoReader& reader, int64_t index, core::Frame& out) const;
  // Adds one frame; returns the HR frame's quality (for per-frame tables).
  core::FrameQuality add(const core::Frame& reference, const core::Frame& lr, const core::Frame& hr);

  int64_t frames() const { return frames_; }
  double psnr() const;
  double bicubic_psnr() const;
  // "frames anchors psnr ssim_y bicubic_psnr bicubic_ssim_y gain_db" as a TSV header and line on stdout.
  void print_tsv(int64_t anchors) const;

 private:
  std::string command_;
  std::string reference_;
  core::Frame bicubic_;
  int64_t frames_ = 0;
  double psnr_ = 0, ssim_ = 0, bicubic_psnr_ = 0, bicubic_ssim_ = 0;
};

}  // namespace ns::app
