// A sample made from the user's own HR video (`neuroscaler eval`): the same files and manifest as the built-in
// sample, so every tool that reads a sample (fine-tuning, the study) works on it unchanged.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/core/progress.h"
#include "ns/core/resize.h"
#include "ns/eval/sample.h"
#include "ns/eval/sample_impl.h"
#include "ns/media/reader.h"

namespace ns::eval {

namespace {

// The centred window of `source` of the given (even) size; offsets are even so the chroma planes stay aligned.
void crop_centre(const core::Frame& source, core::Frame& out) {
  const int x0 = (source.width() - out.width()) / 4 * 2;
  const int y0 = (source.height() - out.height()) / 4 * 2;
  for (int plane = 0; plane < 3; ++plane) {
    const int shift = plane == 0 ? 0 : 1;
    for (int y = 0; y < out.plane_height(plane); ++y) {
      std::memcpy(out.row(plane, y), source.data(plane) + static_cast<ptrdiff_t>((y0 >> shift) + y) * source.stride(plane) +
                                         (x0 >> shift),
                  static_cast<size_t>(out.plane_width(plane)));
    }
  }
  out.pts = source.pts;
  out.index = source.index;
}

}  // namespace

SampleManifest make_sample_from_video(const VideoSampleOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.out_dir.empty()) throw Error(ErrorCode::invalid_argument, "eval: no output directory given; pass --out DIR");
  if (!(o.train_seconds > 0) || !(o.test_seconds > 0)) {
    throw Error(ErrorCode::invalid_argument, "eval: --train-seconds and --test-seconds must be positive");
  }
  detail::check_writable(o.out_dir);
  media::VideoReader reader(o.reference);
  const media::StreamInfo& info = reader.info();
  const int fps = info.frame_rate.num > 0 ? static_cast<int>(std::lround(info.frame_rate.value())) : 0;
  if (fps <= 0) {
    throw Error(ErrorCode::corrupt, "eval: the video declares no frame rate; re-encode it with one (e.g. ffmpeg -r 60)",
                {.file = o.reference});
  }
  constexpr int kAlign = 2 * kSampleScale;
  const int hr_w = info.width / kAlign * kAlign;
  const int hr_h = info.height / kAlign * kAlign;
  if (hr_w < 8 * kAlign || hr_h < 8 * kAlign) {
    throw Error(ErrorCode::invalid_argument,
                "eval: the video is " + std::to_string(info.width) + "x" + std::to_string(info.height) +
                    "; the HR reference must be at least " + std::to_string(8 * kAlign) + "x" +
                    std::to_string(8 * kAlign),
                {.file = o.reference});
  }
  detail::remove_manifest(o.out_dir);

  SampleManifest m;
  m.dir = o.out_dir;
  m.content = std::nullopt;  // the user's video, not a rendered kind
  m.fps = fps;
  m.hr_width = hr_w;
  m.hr_height = hr_h;
  m.lr_width = hr_w / kSampleScale;
  m.lr_height = hr_h / kSampleScale;
  m.lr_filter = core::resize_filter_name(core::ResizeFilter::area);
  m.command_line = o.command_line;
  const int64_t train = std::max<int64_t>(1, std::llround(o.train_seconds * fps));
  const int64_t test_max = std::max<int64_t>(1, std::llround(o.test_seconds * fps));

  core::Progress progress("eval: preparing " + o.reference, train + test_max);
  core::Frame source, hr(hr_w, hr_h), lr(m.lr_width, m.lr_height);
  int64_t index = 0;
  for (const char* name : {"train", "test"}) {
    const int64_t first = index;
    const int64_t limit = first + (std::strcmp(name, "train") == 0 ? train : test_max);
    detail::SegmentWriters writers =
        detail::open_segment(o.out_dir, name, hr_w, hr_h, m.lr_width, m.lr_height, fps);
    while (index < limit && reader.read(source)) {
      crop_centre(source, hr);
      core::resize(hr, lr, core::ResizeFilter::area);
      writers.outputs[0].writer->write(hr);
      writers.outputs[1].writer->write(lr);
      writers.outputs[2].writer->write(lr);
      progress.update(++index);
    }
    if (index == first) {
      throw Error(ErrorCode::invalid_argument,
                  "eval: the video ends after " + std::to_string(index) + " frames, before the " + name +
                      " segment; it needs more than --train-seconds (" + std::to_string(train) + " frames)",
                  {.file = o.reference});
    }
    const SampleSegment segment{name, first, index - first, static_cast<double>(index - first) / fps};
    detail::close_segment(writers, o.out_dir, segment, m.files);
    m.segments.push_back(segment);
  }
  progress.finish();
  m.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  detail::write_manifest(m);
  log::info("eval.sample", "{}: {} train + {} test frames ({}x{} -> {}x{}) in {} ({:.1f} s)", o.reference,
            m.segments[0].frame_count, m.segments[1].frame_count, hr_w, hr_h, m.lr_width, m.lr_height,
            o.out_dir.string(), m.elapsed_seconds);
  return m;
}

}  // namespace ns::eval
