// ns/hybrid: the hybrid stream (DESIGN.md, Formats; reference §1.2, §6.5): one Matroska file with the streamer's LR
// video, packets copied bit-exact (track 1), and the enhanced anchor images (track 2, codec "mjpeg" or "jpeg2000"),
// each with the presentation timestamp of the LR frame it replaces; tags say scale, model, method and anchor codec.
// In (writer): the LR stream's packets in decode order and anchor codestreams (ns/imagecodec) as they are made.
// Out (reader): LR frames in display order, each with its decoded HR anchor when it has one.
// Memory: both sides stream: the writer holds what FFmpeg's interleaver holds, the reader at most the anchors that
// arrived ahead of their frame (bounded by kMaxPendingAnchors).
// Thread-safety: one object per thread.
// Errors: ns::Error naming the file: io (cannot write: disk full, permission), not_found, corrupt (damaged or
// truncated data), unsupported (no video track, a codec FFmpeg cannot decode), invalid_argument (misuse).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ns/core/frame.h"
#include "ns/imagecodec/imagecodec.h"
#include "ns/media/reader.h"

namespace ns::hybrid {

// Matroska tags of the file (names in brackets), all written as strings.
struct HybridTags {
  int scale = 3;                  // NEUROSCALER_SCALE: HR = scale x LR
  std::string model;              // NEUROSCALER_MODEL: e.g. "EDSR_B8_F32_S3" or the model file's name
  std::string method;             // NEUROSCALER_METHOD: anchor selection, e.g. "neuroscaler-q"
  double fraction = 0;            // NEUROSCALER_FRACTION: anchors per displayed frame asked for
  imagecodec::Codec anchor_codec = imagecodec::Codec::htj2k;  // NEUROSCALER_ANCHOR_CODEC ("htj2k", ...)
  double anchor_quality = 0;      // NEUROSCALER_ANCHOR_QUALITY, as imagecodec::EncodeSettings::quality
};

struct HybridInfo {
  media::StreamInfo video;        // track 1: what the Demuxer would say of the LR stream
  bool has_anchors = false;       // false: a file without an anchor track (the reader then only gives LR frames)
  int anchor_width = 0;           // track 2's frame size (scale x LR)
  int anchor_height = 0;
  HybridTags tags;
};

class HybridWriter {
 public:
  // `video`: the LR stream as media::Demuxer::info() gives it (codec, size, time base, frame rate, extradata).
  // Anchors are anchor_width x anchor_height images coded with tags.anchor_codec.
  HybridWriter(const std::string& path, const media::StreamInfo& video, const HybridTags& tags, int anchor_width,
               int anchor_height);
  ~HybridWriter();  // finishes if finish() was not called (errors then logged, not thrown)
  HybridWriter(const HybridWriter&) = delete;
  HybridWriter& operator=(const HybridWriter&) = delete;

  // LR packets in decode order, with the input's timestamps (video.time_base); their bytes are stored unchanged.
  void write_video(const media::Packet& packet);
  // One anchor codestream for the LR frame whose presentation timestamp is `pts` (video.time_base), in increasing
  // pts order. It may come after later LR packets: the muxer's interleaver stores it next to its frame as long as
  // it comes within FFmpeg's interleaving window (10 s of stream time); a later one lands too late for readers.
  void write_anchor(int64_t pts, std::span<const uint8_t> codestream);
  void finish();  // flushes the interleaver and writes the index; the file is then complete

  int64_t video_bytes() const;   // payload of track 1 so far
  int64_t anchor_bytes() const;  // payload of track 2 so far
  int64_t anchors_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Anchors that may wait for their LR frame; a file that needs more is damaged (a writer never produces one): the
// reader skips the excess with a warning.
inline constexpr int kMaxPendingAnchors = 64;

class HybridReader {
 public:
  // A file without an anchor track opens (has_anchors false) with a logged warning: the viewer up-scales it.
  explicit HybridReader(const std::string& path, const media::ReaderOptions& options = {});
  ~HybridReader();
  HybridReader(const HybridReader&) = delete;
  HybridReader& operator=(const HybridReader&) = delete;

  const HybridInfo& info() const;

  // Next LR frame in display order (index 0, 1, ...) into `lr`; when the frame has an anchor, its decoded image goes
  // into `anchor` and has_anchor is true. Returns false at the end. An anchor image that does not decode, or whose
  // size is not anchor_width x anchor_height, is skipped with a logged warning (the frame is then rebuilt by reuse)
  // and counted in anchors_skipped(). A truncated file ends at the last complete LR frame with a logged warning.
  bool read(core::Frame& lr, core::Frame& anchor, bool& has_anchor);

  int64_t anchors_read() const;     // anchors given out with their frame
  int64_t anchors_skipped() const;  // the others: damaged, wrong size, or with no frame of their timestamp
  // The decoder's vectors of the LR frame the last read() returned (media::Decoder::motion_vectors()).
  const std::vector<media::CodedMotionVector>& motion_vectors() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What a hybrid file decodes to, read through once (checks and tools). Errors as HybridReader's.
struct HybridCount {
  int64_t frames = 0;
  int64_t anchors = 0;
};
HybridCount count_hybrid(const std::string& path, const media::ReaderOptions& options = {});

}  // namespace ns::hybrid
