// ns/media: encode I420 frames and mux them into a file (container from the extension: .webm, .mkv,
// .mp4, .ivf, .h264) with FFmpeg; presets for a streamer's VP9 / H.264 and lossless FFV1 references.
// In: frames of the size given at construction, in display order. Out: a playable file once finish() ran.
// Thread-safety: one writer per thread.
// Errors: ns::Error naming the file: io (cannot create or write, disk full), unsupported (codec missing),
// invalid_argument (a frame of the wrong size).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "ns/core/frame.h"
#include "ns/media/reader.h"

namespace ns::media {

struct EncoderSettings {
  std::string encoder = "libvpx-vp9";  // FFmpeg encoder name: libvpx-vp9, libx264, ffv1, ...
  int bitrate_kbps = 0;                 // 0 = the encoder's quality mode
  int min_rate_kbps = 0;                // 0 = unset
  int max_rate_kbps = 0;
  int buffer_kbits = 0;
  int gop = 120;                        // key frame interval (also the minimum)
  int threads = 0;                      // 0 = FFmpeg's choice
  int qmin = -1;                        // -1 = encoder default
  int qmax = -1;
  std::map<std::string, std::string> options;  // passed to the encoder as AVOptions (e.g. "cpu-used")
  // Passed to the muxer as AVOptions, e.g. {"output_ts_offset", "1.5"} (seconds added to every timestamp) and
  // MPEG-TS's {"mpegts_flags", "initial_discontinuity"}: a file that continues another one when joined to it.
  std::map<std::string, std::string> muxer_options;

  // Reference §9.2: libvpx-vp9, realtime, one pass, b = R, min 0.5R, max 1.5R, buffer 2R, GOP 120,
  // auto alt-ref with 16 frames of lag, qmin 4, qmax 48, error resilient, row-mt, frame-parallel;
  // speed 5 and tile-columns 2 at >= 720 lines, speed 7 and tile-columns 1 below.
  // Default rate: streamer_bitrate_kbps (4125 kbps at 720p, 700 kbps at 360p).
  static EncoderSettings streamer_vp9(int width, int height, int bitrate_kbps = 0);
  // libx264, preset veryfast, tune zerolatency (no B-frames, no lookahead), CBR-like VBV, GOP 120.
  static EncoderSettings streamer_h264(int width, int height, int bitrate_kbps = 0);
  // FFV1 level 3, lossless, sliced, with CRCs; for HR references.
  static EncoderSettings lossless();
  // The baselines' re-encoded HR video (reference §4): streamer_vp9 (codec "vp9") or streamer_h264 ("h264") at the
  // paper's 35.5 Mbps for 3840x2160, scaled by pixel count, unless bitrate_kbps is given. ns::Error invalid_argument
  // for another codec.
  static EncoderSettings baseline_hr(const std::string& codec, int width, int height, int bitrate_kbps = 0);
};

// Bitrate a streamer would use for this size (reference §9.1 values, interpolated by pixel count).
int streamer_bitrate_kbps(int width, int height);

class VideoWriter {
 public:
  VideoWriter(const std::string& path, int width, int height, Rational frame_rate, const EncoderSettings& settings);
  ~VideoWriter();  // finishes if finish() was not called (errors are then logged, not thrown)
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const core::Frame& frame);  // pts = number of frames written before
  void finish();                         // flushes the encoder and writes the trailer
  int64_t bytes_written() const;         // compressed payload so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::media
