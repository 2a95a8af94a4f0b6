#include <cerrno>
#include <cstring>
#include <filesystem>

#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "ns/core/log.h"
#include "ns/media/ffmpeg_impl.h"

namespace ns::media::detail {

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof text);
  return text;
}

static void ffmpeg_log_callback(void* avcl, int level, const char* format, va_list args) {
  if (level > AV_LOG_WARNING) return;
  const log::Level ours = level <= AV_LOG_FATAL ? log::Level::error : log::Level::debug;
  if (log::level() > ours) return;
  char line[1024];
  int prefix = 1;
  av_log_format_line2(avcl, level, format, args, line, sizeof line, &prefix);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) log::write("ffmpeg", ours, text);
}

void route_ffmpeg_logs() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(ffmpeg_log_callback); });
}

ErrorCode classify_av_error(int code) {
  switch (code) {
    case AVERROR(ENOENT): return ErrorCode::not_found;
    case AVERROR(EACCES):
    case AVERROR(ENOSPC):
    case AVERROR(EIO):
    case AVERROR(EPIPE):
    case AVERROR(EROFS):
    case AVERROR(EISDIR): return ErrorCode::io;
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_ENCODER_NOT_FOUND:
    case AVERROR_MUXER_NOT_FOUND:
    case AVERROR_PROTOCOL_NOT_FOUND:
    case AVERROR_STREAM_NOT_FOUND:
    case AVERROR_PATCHWELCOME: return ErrorCode::unsupported;
    case AVERROR_INVALIDDATA:
    case AVERROR_EOF: return ErrorCode::corrupt;
    default: return ErrorCode::internal;
  }
}

void check_av(int code, const std::string& file, const char* call, const char* hint) {
  if (code >= 0) return;
  std::string message = std::string(call) + " failed (" + av_error_text(code) + ")";
  if (hint && *hint) message += std::string("; ") + hint;
  throw Error(classify_av_error(code), message, ErrorContext{.file = file});
}

AvFrame make_av_frame() {
  AvFrame frame(av_frame_alloc());
  if (!frame) throw std::bad_alloc();
  return frame;
}

AvPacket make_av_packet() {
  AvPacket packet(av_packet_alloc());
  if (!packet) throw std::bad_alloc();
  return packet;
}

namespace {
int call_interrupt(void* opaque) { return (*static_cast<const std::function<bool()>*>(opaque))() ? 1 : 0; }
}  // namespace

FormatInput open_input(const std::string& url, const std::function<bool()>* interrupt) {
  route_ffmpeg_logs();
  const std::string source = url == "-" ? "pipe:0" : url;
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) throw Error(ErrorCode::internal, "out of memory opening the input", ErrorContext{.file = url});
  if (interrupt && *interrupt) {
    raw->interrupt_callback.callback = call_interrupt;
    raw->interrupt_callback.opaque = const_cast<std::function<bool()>*>(interrupt);
  }
  const int opened = avformat_open_input(&raw, source.c_str(), nullptr, nullptr);  // frees raw on failure
  if (opened == AVERROR_EXIT) {
    throw Error(ErrorCode::io, "opening the input was interrupted (stopped, or no data in time)",
                ErrorContext{.file = url});
  }
  if (opened < 0 && opened != AVERROR(ENOENT) && opened != AVERROR(EACCES) && url != "-" &&
      std::filesystem::is_regular_file(url)) {
    // The file is there and readable, so FFmpeg gave up on its content: damaged or cut short.
    throw Error(ErrorCode::corrupt,
                "cannot read the file as a video (" + av_error_text(opened) + "); it looks damaged or truncated",
                ErrorContext{.file = url});
  }
  if (opened < 0) {
    const char* hint = opened == AVERROR(ENOENT)          ? "check the path"
                       : opened == AVERROR_INVALIDDATA    ? "the file is not a video FFmpeg recognises, or is damaged"
                                                          : "check that the input exists and is readable";
    check_av(opened, url, "opening the input", hint);
  }
  FormatInput input(raw);
  check_av(avformat_find_stream_info(input.get(), nullptr), url, "reading the stream info",
           "the file looks damaged or truncated");
  return input;
}

void picture_to_i420(const AVFrame& picture, core::Frame& out, SwsContext*& scaler) {
  if (out.empty() || out.width() != picture.width || out.height() != picture.height) {
    out = core::Frame(picture.width, picture.height);
  }
  const auto format = static_cast<AVPixelFormat>(picture.format);
  if (format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P) {
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int row_bytes = out.plane_width(p);
      for (int y = 0; y < out.plane_height(p); ++y) {
        std::memcpy(out.row(p, y), picture.data[p] + static_cast<ptrdiff_t>(y) * picture.linesize[p], row_bytes);
      }
    }
    return;
  }
  scaler = sws_getCachedContext(scaler, picture.width, picture.height, format, picture.width, picture.height,
                                AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr,
                                nullptr, nullptr);
  if (!scaler) {
    throw Error(ErrorCode::unsupported, std::string("cannot convert pixel format ") +
                                            (av_get_pix_fmt_name(format) ? av_get_pix_fmt_name(format) : "?") +
                                            " to 8-bit I420");
  }
  uint8_t* planes[4] = {out.data(0), out.data(1), out.data(2), nullptr};
  int strides[4] = {out.stride(0), out.stride(1), out.stride(2), 0};
  sws_scale(scaler, picture.data, picture.linesize, 0, picture.height, planes, strides);
}

}  // namespace ns::media::detail
