#include "ns/media/writer.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <filesystem>

#include "ns/core/log.h"
#include "ns/media/ffmpeg_impl.h"

namespace ns::media {

using detail::check_av;

namespace {

// Runs `use` with `options` as an AVDictionary; the keys FFmpeg did not take are listed in `unused`.
template <typename Use>
int with_options(const std::map<std::string, std::string>& options, std::string& unused, Use use) {
  AVDictionary* dict = nullptr;
  for (const auto& [key, value] : options) av_dict_set(&dict, key.c_str(), value.c_str(), 0);
  const int status = use(&dict);
  unused.clear();
  for (const AVDictionaryEntry* e = nullptr; (e = av_dict_get(dict, "", e, AV_DICT_IGNORE_SUFFIX));) {
    unused += (unused.empty() ? "" : ", ") + std::string(e->key);
  }
  av_dict_free(&dict);
  return status;
}

}  // namespace

int streamer_bitrate_kbps(int width, int height) {
  // Reference §9.1: 700 kbps at 360p, 4125 at 720p, 6750 at 1080p, 35,500 at 2160p; sizes in between
  // are interpolated linearly in pixel count, smaller ones scaled down proportionally (at least 50).
  struct Point {
    double pixels, kbps;
  };
  static constexpr Point points[] = {
      {640.0 * 360, 700}, {1280.0 * 720, 4125}, {1920.0 * 1080, 6750}, {3840.0 * 2160, 35500}};
  const double pixels = static_cast<double>(width) * height;
  if (pixels <= points[0].pixels) return std::max(50, static_cast<int>(std::lround(700.0 * pixels / points[0].pixels)));
  for (size_t i = 1; i < std::size(points); ++i) {
    if (pixels <= points[i].pixels) {
      const double t = (pixels - points[i - 1].pixels) / (points[i].pixels - points[i - 1].pixels);
      return static_cast<int>(std::lround(points[i - 1].kbps + t * (points[i].kbps - points[i - 1].kbps)));
    }
  }
  return static_cast<int>(std::lround(points[3].kbps * pixels / points[3].pixels));
}

EncoderSettings EncoderSettings::streamer_vp9(int width, int height, int bitrate_kbps) {
  EncoderSettings s;
  s.encoder = "libvpx-vp9";
  s.bitrate_kbps = bitrate_kbps > 0 ? bitrate_kbps : streamer_bitrate_kbps(width, height);
  s.min_rate_kbps = s.bitrate_kbps / 2;
  s.max_rate_kbps = s.bitrate_kbps * 3 / 2;
  s.buffer_kbits = s.bitrate_kbps * 2;
  s.gop = 120;
  s.qmin = 4;
  s.qmax = 48;
  const bool large = height >= 720;
  s.threads = large ? 8 : 4;
  s.options = {{"deadline", "realtime"},      {"cpu-used", large ? "5" : "7"}, {"auto-alt-ref", "1"},
               {"lag-in-frames", "16"},        {"error-resilient", "1"},        {"row-mt", "1"},
               {"frame-parallel", "1"},        {"tile-columns", large ? "2" : "1"}};
  return s;
}

EncoderSettings EncoderSettings::streamer_h264(int width, int height, int bitrate_kbps) {
  EncoderSettings s;
  s.encoder = "libx264";
  s.bitrate_kbps = bitrate_kbps > 0 ? bitrate_kbps : streamer_bitrate_kbps(width, height);
  s.max_rate_kbps = s.bitrate_kbps;
  s.buffer_kbits = s.bitrate_kbps * 2;
  s.gop = 120;
  s.options = {{"preset", "veryfast"}, {"tune", "zerolatency"}, {"sc_threshold", "0"}};
  return s;
}

EncoderSettings EncoderSettings::baseline_hr(const std::string& codec, int width, int height, int bitrate_kbps) {
  constexpr double kPaperHrKbps2160 = 35500.0;
  const int kbps = bitrate_kbps > 0 ? bitrate_kbps
                                    : static_cast<int>(kPaperHrKbps2160 * width * height / (3840.0 * 2160.0) + 0.5);
  if (codec == "vp9") return streamer_vp9(width, height, kbps);
  if (codec == "h264") return streamer_h264(width, height, kbps);
  throw Error(ErrorCode::invalid_argument, "HR re-encoding: unknown codec \"" + codec + "\"; use vp9 or h264");
}

EncoderSettings EncoderSettings::lossless() {
  EncoderSettings s;
  s.encoder = "ffv1";
  s.gop = 1;
  s.options = {{"level", "3"}, {"slicecrc", "1"}, {"slices", "4"}};
  return s;
}

struct VideoWriter::Impl {
  std::string path;
  int width = 0;
  int height = 0;
  AVFormatContext* output = nullptr;
  detail::CodecContext encoder;
  AVStream* stream = nullptr;
  detail::AvFrame picture = detail::make_av_frame();
  detail::AvPacket packet = detail::make_av_packet();
  int64_t next_pts = 0;
  int64_t bytes = 0;
  bool header_written = false;
  bool finished = false;

  ~Impl() {
    if (output) {
      if (output->pb && !(output->oformat->flags & AVFMT_NOFILE)) avio_closep(&output->pb);
      avformat_free_context(output);
    }
  }

  void drain() {
    for (;;) {
      const int status = avcodec_receive_packet(encoder.get(), packet.get());
      if (status == AVERROR(EAGAIN) || status == AVERROR_EOF) return;
      check_av(status, path, "encoding", "");
      av_packet_rescale_ts(packet.get(), encoder->time_base, stream->time_base);
      packet->stream_index = stream->index;
      bytes += packet->size;
      check_av(av_interleaved_write_frame(output, packet.get()), path, "writing a packet",
               "check free disk space and permissions");
    }
  }
};

VideoWriter::VideoWriter(const std::string& path, int width, int height, Rational frame_rate,
                         const EncoderSettings& settings)
    : impl_(std::make_unique<Impl>()) {
  detail::route_ffmpeg_logs();
  Impl& m = *impl_;
  m.path = path;
  m.width = width;
  m.height = height;
  if (width <= 0 || height <= 0 || frame_rate.num <= 0 || frame_rate.den <= 0) {
    throw Error(ErrorCode::invalid_argument, "invalid size or frame rate for the encoder", ErrorContext{.file = path});
  }
  if (avformat_alloc_output_context2(&m.output, nullptr, nullptr, path.c_str()) < 0) {
    throw Error(ErrorCode::unsupported,
                "no container for this file extension; use one of .webm, .mkv, .mp4, .ivf, .h264",
                ErrorContext{.file = path});
  }
  const AVCodec* codec = avcodec_find_encoder_by_name(settings.encoder.c_str());
  if (!codec) {
    throw Error(ErrorCode::unsupported, "encoder " + settings.encoder + " is not in this FFmpeg build",
                ErrorContext{.file = path});
  }
  m.encoder.reset(avcodec_alloc_context3(codec));
  if (!m.encoder) throw std::bad_alloc();
  AVCodecContext* c = m.encoder.get();
  c->width = width;
  c->height = height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = AVRational{frame_rate.den, frame_rate.num};
  c->framerate = AVRational{frame_rate.num, frame_rate.den};
  c->gop_size = settings.gop;
  c->keyint_min = settings.gop;
  c->thread_count = settings.threads;
  c->color_primaries = AVCOL_PRI_BT709;
  c->color_trc = AVCOL_TRC_BT709;
  c->colorspace = AVCOL_SPC_BT709;
  c->color_range = AVCOL_RANGE_MPEG;
  if (settings.bitrate_kbps > 0) c->bit_rate = int64_t{settings.bitrate_kbps} * 1000;
  if (settings.min_rate_kbps > 0) c->rc_min_rate = int64_t{settings.min_rate_kbps} * 1000;
  if (settings.max_rate_kbps > 0) c->rc_max_rate = int64_t{settings.max_rate_kbps} * 1000;
  if (settings.buffer_kbits > 0) c->rc_buffer_size = settings.buffer_kbits * 1000;
  if (settings.qmin >= 0) c->qmin = settings.qmin;
  if (settings.qmax >= 0) c->qmax = settings.qmax;
  if (m.output->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  std::string unused;
  const int opened = with_options(settings.options, unused, [&](AVDictionary** o) { return avcodec_open2(c, codec, o); });
  check_av(opened, path, ("opening encoder " + settings.encoder).c_str(), "check the encoder options");
  if (!unused.empty()) {
    throw Error(ErrorCode::invalid_argument, "encoder " + settings.encoder + " does not know the options " + unused,
                ErrorContext{.file = path});
  }

  m.stream = avformat_new_stream(m.output, nullptr);
  if (!m.stream) throw std::bad_alloc();
  m.stream->time_base = c->time_base;
  m.stream->avg_frame_rate = c->framerate;
  check_av(avcodec_parameters_from_context(m.stream->codecpar, c), path, "setting stream parameters", "");
  if (!(m.output->oformat->flags & AVFMT_NOFILE)) {
    check_av(avio_open(&m.output->pb, path.c_str(), AVIO_FLAG_WRITE), path, "creating the file",
             "check that the folder exists and is writable");
  }
  const int written =
      with_options(settings.muxer_options, unused, [&](AVDictionary** o) { return avformat_write_header(m.output, o); });
  check_av(written, path, "writing the header", "check free disk space");
  if (!unused.empty()) {
    throw Error(ErrorCode::invalid_argument, std::string("muxer ") + m.output->oformat->name +
                                                 " does not know the options " + unused,
                ErrorContext{.file = path});
  }
  m.header_written = true;
}

VideoWriter::~VideoWriter() {
  if (!impl_->finished && impl_->header_written) {
    try {
      finish();
    } catch (const Error& e) {
      log::error("media", "{}", e.what());
    }
  }
}

void VideoWriter::write(const core::Frame& frame) {
  Impl& m = *impl_;
  if (m.finished) throw Error(ErrorCode::invalid_argument, "write after finish", ErrorContext{.file = m.path});
  if (frame.width() != m.width || frame.height() != m.height) {
    throw Error(ErrorCode::invalid_argument,
                "frame of " + std::to_string(frame.width()) + "x" + std::to_string(frame.height()) +
                    " given to an encoder opened for " + std::to_string(m.width) + "x" + std::to_string(m.height),
                ErrorContext{.file = m.path, .frame_index = m.next_pts});
  }
  AVFrame* picture = m.picture.get();
  picture->format = AV_PIX_FMT_YUV420P;
  picture->width = m.width;
  picture->height = m.height;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    picture->data[p] = const_cast<uint8_t*>(frame.data(p));  // not reference-counted: the encoder copies
    picture->linesize[p] = frame.stride(p);
  }
  picture->pts = m.next_pts++;
  const int status = avcodec_send_frame(m.encoder.get(), picture);
  for (auto& d : picture->data) d = nullptr;
  check_av(status, m.path, "sending a frame to the encoder", "");
  m.drain();
}

void VideoWriter::finish() {
  Impl& m = *impl_;
  if (m.finished) return;
  m.finished = true;
  check_av(avcodec_send_frame(m.encoder.get(), nullptr), m.path, "flushing the encoder", "");
  m.drain();
  check_av(av_write_trailer(m.output), m.path, "writing the trailer", "check free disk space");
  if (!(m.output->oformat->flags & AVFMT_NOFILE)) {
    if (m.output->pb && m.output->pb->error < 0) {
      check_av(m.output->pb->error, m.path, "writing the file", "check free disk space and permissions");
    }
    check_av(avio_closep(&m.output->pb), m.path, "closing the file", "check free disk space");
  }
}

int64_t VideoWriter::bytes_written() const { return impl_->bytes; }

}  // namespace ns::media
