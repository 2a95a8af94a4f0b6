// ns/media: bitstream probe: for every coded frame, its class and coded bytes, without decoding.
// In: the packets of a VP9 stream (superframes split with the superframe index, uncompressed header
// parsed) or an H.264 stream (Annex B or length-prefixed NAL units; slice types of each access unit).
// Out: CodedFrame records in decode order; the bytes of all frames of a packet add up to the packet size.
// This is the anchor selector's input (reference §2): exact, and far cheaper than decoding.
// Thread-safety: one BitstreamProbe per stream. Errors: ns::Error corrupt (naming the packet) on
// malformed headers or superframe indices; unsupported for other codecs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ns/media/reader.h"

namespace ns::media {

enum class FrameClass { key, altref, normal };
const char* frame_class_name(FrameClass cls);

struct CodedFrame {
  int64_t decode_index = 0;   // among all coded frames of the stream, hidden ones included
  int64_t packet_index = 0;   // the packet it came in
  int super_index = 0;        // position inside its packet (VP9 superframe), else 0 (reference §2.1)
  int64_t display_index = 0;  // shown frame it belongs to; a hidden frame takes the next shown one's
  int64_t pts = 0;            // the packet's pts (INT64_MIN if none)
  bool shown = true;          // VP9 show_frame (or show_existing_frame); H.264 always
  bool show_existing = false; // VP9 show_existing_frame: re-shows a reference, no new pixels
  bool intra_only = false;    // VP9 intra_only inter frame
  FrameClass cls = FrameClass::normal;  // key: VP9 key or intra-only frame / H.264 IDR;
                                        // altref: any other VP9 hidden frame; normal: the rest
  uint32_t bytes = 0;         // coded bytes of this frame (its slice of the superframe; the last frame of a
                              // VP9 superframe also carries the index bytes, so a packet's frames sum to its size)
  uint8_t refresh_flags = 0;  // VP9 refresh_frame_flags (0xff for key frames); H.264: 0
  int base_q_index = -1;      // VP9 base_q_idx; H.264 QP of the first slice; -1 if unknown
  char slice_type = 0;        // H.264 'I', 'P' or 'B' (of the first slice); VP9: 0
  // H.264 picture order count, increasing across IDR / MMCO 5 restarts ((restarts << 32) + PicOrderCnt);
  // orders display where the container has no pts (raw Annex B). INT64_MIN if unknown, and for VP9.
  int64_t poc = INT64_MIN;
};

class BitstreamProbe {
 public:
  explicit BitstreamProbe(const StreamInfo& stream);  // uses codec and extradata
  ~BitstreamProbe();
  BitstreamProbe(const BitstreamProbe&) = delete;
  BitstreamProbe& operator=(const BitstreamProbe&) = delete;

  // Appends the frames of one packet (in decode order) to `out`. On ns::Error (corrupt, naming the
  // packet) nothing is appended and the decode/display counters stay where they were.
  void probe(const Packet& packet, std::vector<CodedFrame>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Probes a whole file. Display indices are exact: for H.264 with B-frames, from the pts order, or
// from the picture order count when some packets lack a pts (raw Annex B streams).
std::vector<CodedFrame> probe_file(const std::string& url, StreamInfo* info = nullptr);

}  // namespace ns::media
