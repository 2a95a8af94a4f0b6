// ns/media internal: FFmpeg error wrapping, owning handles and frame conversion shared by the media
// files, and by src/ns/hybrid (which muxes and demuxes with libavformat). Never included elsewhere (FFmpeg types
// stay out of public headers).
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "ns/media/reader.h"

namespace ns::media::detail {

std::string av_error_text(int code);

// Routes FFmpeg's own log lines into ns::log ("ffmpeg" logger): errors and warnings at debug level
// (our exceptions already say what failed), fatal ones at error level. Idempotent, thread-safe.
void route_ffmpeg_logs();

// Maps an FFmpeg failure to our error code: missing files -> not_found, damaged data -> corrupt,
// missing codecs/formats -> unsupported, disk/permission trouble -> io.
ErrorCode classify_av_error(int code);

// Throws ns::Error "<file>: <call> failed (<FFmpeg's text>); <hint>" when code < 0.
void check_av(int code, const std::string& file, const char* call, const char* hint);

struct FormatInputCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

using FormatInput = std::unique_ptr<AVFormatContext, FormatInputCloser>;
using CodecContext = std::unique_ptr<AVCodecContext, CodecContextFree>;
using AvFrame = std::unique_ptr<AVFrame, FrameFree>;
using AvPacket = std::unique_ptr<AVPacket, PacketFree>;

AvFrame make_av_frame();
AvPacket make_av_packet();

// Opens an input ("-" means standard input) and finds its stream info.
// `interrupt`, when given, must outlive the input: FFmpeg calls it while it waits for data, and true abandons the
// wait (opening then throws io; av_read_frame returns AVERROR_EXIT).
FormatInput open_input(const std::string& url, const std::function<bool()>* interrupt = nullptr);

// The StreamInfo of one stream of an opened input (what Demuxer::info() says of it).
StreamInfo describe_stream(const AVFormatContext& input, int stream_index, const std::string& url);
// The codec parameters `info` describes (the reverse of describe_stream, less what only the container knows:
// frame rate, time base, duration). Throws unsupported for a codec name FFmpeg does not know.
void codec_parameters_from(const StreamInfo& info, AVCodecParameters& par);

// How far the stream's data reached when it ended early: the seconds reached (end_pts: largest pts + duration seen,
// stream time base; INT64_MIN for none), or nullopt when the data covers the duration the container declares (within
// three frames) or none is declared. Tells a cut-off file from a finished one.
std::optional<double> cut_short_at(const AVStream& stream, const StreamInfo& info, int64_t end_pts);

// A copy of a demuxed packet (timestamps in its stream's time base, INT64_MIN for none); `index`: decode order.
Packet copy_packet(const AVPacket& packet, int64_t index);

// Converts a decoded picture of any pixel format to 8-bit I420, reusing `out` when the size matches.
// `scaler` caches the swscale context between calls (only used for non-I420 sources).
void picture_to_i420(const AVFrame& picture, core::Frame& out, SwsContext*& scaler);

}  // namespace ns::media::detail
