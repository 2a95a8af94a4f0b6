#include "hr_output.h"

#include <cstdio>
#include <utility>

#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"

namespace ns::app {

HrOutput::HrOutput(const std::string& path, int width, int height, media::Rational rate,
                   const media::EncoderSettings& settings) {
  if (path == "-" || path.ends_with(".y4m")) {
    y4m_ = std::make_unique<media::Y4mWriter>(path, width, height, rate);
  } else {
    encoded_ = std::make_unique<media::VideoWriter>(path, width, height, rate, settings);
  }
}

void HrOutput::write(const core::Frame& frame) {
  if (y4m_) y4m_->write(frame);
  if (encoded_) encoded_->write(frame);
}

void HrOutput::finish() {
  if (y4m_) y4m_->close();
  if (encoded_) encoded_->finish();
}

int64_t HrOutput::encoded_bytes() const { return encoded_ ? encoded_->bytes_written() : 0; }

QualityTally::QualityTally(std::string command, std::string reference, int hr_width, int hr_height)
    : command_(std::move(command)), reference_(std::move(reference)), bicubic_(hr_width, hr_height) {}

void QualityTally::read_reference(media::VideoReader& reader, int64_t index, core::Frame& out) const {
  if (!reader.read(out)) {
    throw Error(ErrorCode::mismatch, command_ + ": the reference " + reference_ + " ended at frame " +
                                         std::to_string(index) + " before the LR video; use --frames N");
  }
  if (out.width() != bicubic_.width() || out.height() != bicubic_.height()) {
    throw Error(ErrorCode::mismatch, command_ + ": the reference is " + std::to_string(out.width()) + "x" +
                                         std::to_string(out.height()) + ", the output " +
                                         std::to_string(bicubic_.width()) + "x" + std::to_string(bicubic_.height()) +
                                         "; check --scale or the reference");
  }
}

core::FrameQuality QualityTally::add(const core::Frame& reference, const core::Frame& lr, const core::Frame& hr) {
  const core::FrameQuality q = core::measure_quality(reference, hr);
  core::resize(lr, bicubic_, core::ResizeFilter::bicubic);
  const core::FrameQuality b = core::measure_quality(reference, bicubic_);
  psnr_ += q.psnr;
  ssim_ += q.ssim_y;
  bicubic_psnr_ += b.psnr;
  bicubic_ssim_ += b.ssim_y;
  ++frames_;
  return q;
}

double QualityTally::psnr() const { return frames_ ? psnr_ / static_cast<double>(frames_) : 0.0; }
double QualityTally::bicubic_psnr() const { return frames_ ? bicubic_psnr_ / static_cast<double>(frames_) : 0.0; }

void QualityTally::print_tsv(int64_t anchors) const {
  const double n = frames_ ? static_cast<double>(frames_) : 1.0;
  std::printf("frames\tanchors\tpsnr\tssim_y\tbicubic_psnr\tbicubic_ssim_y\tgain_db\n%lld\t%lld\t%.4f\t%.6f\t%.4f\t%.6f\t%.4f\n",
              static_cast<long long>(frames_), static_cast<long long>(anchors), psnr_ / n, ssim_ / n,
              bicubic_psnr_ / n, bicubic_ssim_ / n, (psnr_ - bicubic_psnr_) / n);
}

}  // namespace ns::app
