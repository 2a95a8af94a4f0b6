// The baselines' HR output (perframe, selective; reference §4): frames in display order, each SR frame waited for
// until its deadline and no longer, rebuilt on the server when its SR is missing or it is not an SR frame, re-encoded.
#include <filesystem>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/core/resize.h"
#include "ns/engine/engine_impl.h"

namespace ns::engine::detail {

BaselineOutput::BaselineOutput(Stream& stream, int scale, media::Rational frame_rate)
    : stream_(stream), scale_(scale), frame_rate_(frame_rate), thread_([this] { run(); }) {}

BaselineOutput::~BaselineOutput() { finish(); }

bool BaselineOutput::push(BaselineFrame frame) { return queue_.push(std::move(frame)); }

void BaselineOutput::finish() {
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void BaselineOutput::run() {
  try {
    while (std::optional<BaselineFrame> frame = queue_.pop()) write(*frame);
    if (writer_) {
      writer_->finish();
      stream_.hr_bytes = writer_->bytes_written();
      log::info(logger_name(stream_), "output {} finalised: {} HR frames, {} of {} SR frames on time",
                stream_.config.output, stream_.hr_frames.load(), stream_.anchors_written.load(),
                stream_.anchors_selected.load());
    }
  } catch (const std::exception& e) {
    queue_.close();  // the ingest thread's next push fails: the stream ends
    writer_.reset();
    stream_.fail(e.what());
  }
}

void BaselineOutput::write(const BaselineFrame& frame) {
  const core::Frame* sr = nullptr;
  if (frame.sr && frame.hr.valid()) {  // without `hr` the SR queue was full: counted when it was submitted
    if (frame.hr.wait_until(frame.deadline) == std::future_status::ready && !frame.hr.get().empty()) {
      sr = &frame.hr.get();
      ++stream_.anchors_written;
      // The output got here after the deadline (HR encoding behind): the SR frame is used, but it is not on time.
      if (Clock::now() > frame.deadline) ++stream_.anchors_late;
    } else {
      ++stream_.anchors_dropped_deadline;
    }
  }
  const Clock::time_point begin = Clock::now();
  const int hr_width = frame.lr.width() * scale_;
  const int hr_height = frame.lr.height() * scale_;
  if (!writer_) {
    const bool h264 = std::filesystem::path(stream_.config.output).extension() == ".mp4";
    writer_ = std::make_unique<media::VideoWriter>(
        stream_.config.output, hr_width, hr_height, frame_rate_,
        media::EncoderSettings::baseline_hr(h264 ? "h264" : "vp9", hr_width, hr_height));
    if (stream_.config.method == "selective") {
      reconstructor_.emplace(
          reuse::ReuseSettings{.scale = scale_, .anchor_weight = reuse::kSrAnchorWeight, .threads = 1},
          frame.lr.width(), frame.lr.height());
    }
  }
  const core::Frame* hr = sr;
  if (reconstructor_) {
    hr = &reconstructor_->push(frame.lr, sr);
  } else if (!hr) {
    if (upscaled_.width() != hr_width || upscaled_.height() != hr_height) upscaled_ = core::Frame(hr_width, hr_height);
    core::resize(frame.lr, upscaled_, core::ResizeFilter::bicubic);
    hr = &upscaled_;
  }
  writer_->write(*hr);
  ++stream_.hr_frames;
  stream_.hr_bytes = writer_->bytes_written();
  const Clock::time_point now = Clock::now();
  std::lock_guard lock(stream_.stats_mutex);
  stream_.encode_ms.add(std::chrono::duration<double, std::milli>(now - begin).count());
  if (stream_.first_output == Clock::time_point{}) stream_.first_output = now;
  stream_.last_output = now;
}

}  // namespace ns::engine::detail
