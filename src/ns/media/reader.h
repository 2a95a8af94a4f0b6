// ns/media: read any video FFmpeg opens (file, pipe "-", URL) as packets and as decoded I420 frames.
// In: a URL or path. Out: StreamInfo, compressed Packets in decode order, and/or core::Frames in display order
// (8-bit I420, via swscale from other formats or bit depths), on request with the decoder's vectors (H.264).
// Thread-safety: one object per thread; different objects are independent.
// Errors: ns::Error naming the file: not_found, corrupt (damaged or truncated data), unsupported.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ns/core/frame.h"

namespace ns::media {

struct Rational {
  int num = 0;
  int den = 1;
  double value() const { return den ? static_cast<double>(num) / den : 0.0; }
};

struct StreamInfo {
  std::string url;
  std::string codec;          // FFmpeg codec name: "vp9", "h264", "ffv1", "rawvideo", ...
  int width = 0;
  int height = 0;
  Rational frame_rate;        // average frame rate (0/1 if unknown)
  Rational time_base;         // unit of Packet::pts and Frame::pts
  int64_t frame_count = -1;   // from the container when it says, else -1
  double duration_s = 0.0;    // 0 if unknown
  int64_t bitrate_bps = 0;    // stream bitrate if known, else the container's
  std::vector<uint8_t> extradata;  // codec configuration (H.264 avcC in MP4/MKV), may be empty
  // How the samples are coded, in FFmpeg's (ffprobe's) names: "yuv420p"; "tv"; "bt709"; "left"; "progressive".
  // Empty when the container does not say. A muxer copying the stream needs them (VP9's vpcC, Matroska's Colour).
  std::string pixel_format;
  std::string color_range;
  std::string color_primaries;
  std::string color_transfer;
  std::string color_space;
  std::string chroma_location;
  std::string field_order;     // "progressive", "tt", "bb", "tb", "bt"
  Rational sample_aspect_ratio;  // 0/1 if unknown
  int profile = -99;           // FFmpeg's codec profile and level numbers; -99 if unknown
  int level = -99;
};

// One compressed packet of the video stream, bytes copied out of FFmpeg.
struct Packet {
  std::vector<uint8_t> data;
  int64_t pts = INT64_MIN;  // INT64_MIN when the container gives none
  int64_t dts = INT64_MIN;
  int64_t duration = 0;
  bool key = false;
  int64_t index = 0;        // decode-order index within the stream, from 0
};

struct ReaderOptions {
  int threads = 0;              // decoder threads; 0 = FFmpeg's choice (all cores)
  // Ask decoders that can (FFmpeg's H.264, MPEG-2/4; not VP9) to export the vectors they used; read them with
  // motion_vectors() after each frame.
  bool export_motion_vectors = false;
};

// One vector the decoder used (FFmpeg's AV_FRAME_DATA_MOTION_VECTORS): the width x height block whose top-left
// sample is (x, y) in this frame is predicted from a reference at (x, y) + (dx, dy) / 4, i.e. quarter pels,
// reference position minus block position. source: -1 a past reference, +1 a future one (B-frames). Which past
// frame is not exported: for H.264 it is the previous frame when the stream uses one reference (x264
// "veryfast" and faster presets). Intra blocks have no vector.
struct CodedMotionVector {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  int dx = 0;
  int dy = 0;
  int source = -1;
  friend bool operator==(const CodedMotionVector&, const CodedMotionVector&) = default;
};

// Demuxes the best video stream of an input.
class Demuxer {
 public:
  // interrupt (optional): called by FFmpeg while it waits for data (a live URL); returning true abandons the wait:
  // the constructor or read() then throws io ("interrupted"). Lets a caller stop, or time out, a stalled source.
  explicit Demuxer(const std::string& url, std::function<bool()> interrupt = {});
  ~Demuxer();
  Demuxer(const Demuxer&) = delete;
  Demuxer& operator=(const Demuxer&) = delete;

  const StreamInfo& info() const;
  // Next packet of the video stream, or nullopt at the end. Throws corrupt on a damaged container.
  std::optional<Packet> read();

 private:
  friend class Decoder;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Decodes the packets of one Demuxer's video stream.
class Decoder {
 public:
  Decoder(Demuxer& demuxer, const ReaderOptions& options = {});
  // A decoder for packets from elsewhere (e.g. a hybrid stream's LR track), described by `info`: codec, size,
  // time base, extradata and, for raw video, pixel_format. Throws unsupported for a codec FFmpeg does not know.
  explicit Decoder(const StreamInfo& info, const ReaderOptions& options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  void send(const Packet& packet);  // throws corrupt, naming the packet, when the decoder rejects it
  void flush();                     // no more packets: lets receive() return the delayed frames
  // Writes the next decoded frame into `out` (re-allocated only when its size changes) and returns
  // true, or returns false when the decoder needs more input (or, after flush(), has no more frames).
  bool receive(core::Frame& out);
  int64_t frames_decoded() const;
  // The decoder's vectors for the frame the last receive() returned (in FFmpeg's order); empty unless
  // ReaderOptions::export_motion_vectors was set and the codec exports them (also empty for intra frames).
  const std::vector<CodedMotionVector>& motion_vectors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Demuxer + Decoder: frames in display order with index 0, 1, 2, ...
class VideoReader {
 public:
  explicit VideoReader(const std::string& url, const ReaderOptions& options = {});
  ~VideoReader();
  const StreamInfo& info() const;
  bool read(core::Frame& out);  // false at the end of the stream
  // Decoder::motion_vectors() of the frame the last read() returned.
  const std::vector<CodedMotionVector>& motion_vectors() const { return decoder_.motion_vectors(); }

 private:
  Demuxer demuxer_;
  Decoder decoder_;
  bool flushed_ = false;
  int64_t next_index_ = 0;
};

}  // namespace ns::media
