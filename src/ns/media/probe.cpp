// BitstreamProbe: per packet, split into coded frames and classify them (reference §2.1-2.3).
//
// Byte attribution: every byte of a packet belongs to exactly one frame, so the frame sizes of a
// packet add up to the packet size. For a VP9 superframe, each frame gets the size the index gives
// it, and the last frame of the packet also gets the superframe index bytes (and any bytes between
// its end and the index, which libvpx never writes). An H.264 packet is one access unit: one frame
// with all of its bytes (parameter sets, SEI and every slice).
//
// Classes: VP9 key frames and intra-only frames are `key` (reference §2.2 table: "treat intra_only
// the same"; libvpx only codes intra-only frames hidden), other hidden frames are `altref`, other
// shown frames `normal` (show_existing_frame included). H.264: IDR access units are `key`.
#include "ns/media/probe.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "ns/core/error.h"
#include "ns/media/probe_h264_impl.h"
#include "ns/media/probe_vp9_impl.h"

namespace ns::media {

const char* frame_class_name(FrameClass cls) {
  switch (cls) {
    case FrameClass::key: return "key";
    case FrameClass::altref: return "altref";
    case FrameClass::normal: return "normal";
  }
  return "unknown";
}

namespace {

enum class Codec { vp9, h264 };

// Enough of a slice header for the common case (no long weight tables); retried with all of it.
constexpr size_t kSliceHeaderPrefixBytes = 64;

}  // namespace

struct BitstreamProbe::Impl {
  Codec codec = Codec::vp9;
  std::string url;
  int64_t decode_index = 0;
  int64_t shown_count = 0;
  std::string error;

  // VP9
  vp9::HeaderParser vp9_parser;
  vp9::Superframe superframe;
  vp9::FrameHeader vp9_header;

  // H.264
  std::unique_ptr<h264::ParamSets> sets;
  h264::PocCounter poc_counter;
  int64_t poc_period = -1;  // IDR / MMCO 5 restarts seen
  int length_size = 0;  // 0: Annex B start codes; else AVCC NAL length field size
  std::vector<h264::NalUnit> nals;
  std::vector<uint8_t> rbsp;

  [[noreturn]] void corrupt(int64_t packet, const std::string& what) const {
    ErrorContext context;
    context.file = url;
    throw Error(ErrorCode::corrupt,
                fmt::format("packet {}: {}; the stream is damaged or cut short, fetch or re-encode it", packet, what),
                context);
  }

  void probe_vp9(const Packet& packet, std::vector<CodedFrame>& out);
  void probe_h264(const Packet& packet, std::vector<CodedFrame>& out);
  void read_h264_parameter_set(const h264::NalUnit& nal, int64_t packet);
};

BitstreamProbe::BitstreamProbe(const StreamInfo& stream) : impl_(std::make_unique<Impl>()) {
  impl_->url = stream.url;
  if (stream.codec == "vp9") {
    impl_->codec = Codec::vp9;
  } else if (stream.codec == "h264") {
    impl_->codec = Codec::h264;
    impl_->sets = std::make_unique<h264::ParamSets>();
    const auto& extra = stream.extradata;
    if (h264::is_avcc(extra.data(), extra.size())) {
      h264::AvcConfig config;
      if (!h264::parse_avcc(extra.data(), extra.size(), config, impl_->error)) {
        ErrorContext context;
        context.file = stream.url;
        throw Error(ErrorCode::corrupt,
                    fmt::format("H.264 codec configuration: {}; the container header is damaged, remux the file",
                                impl_->error),
                    context);
      }
      impl_->length_size = config.length_size;
      for (const auto& nal : config.parameter_sets) impl_->read_h264_parameter_set(nal, -1);
    } else if (!extra.empty()) {
      // Annex B extradata (raw streams, some Matroska muxers): parameter sets after start codes.
      h264::split_annexb(extra.data(), extra.size(), impl_->nals);
      for (const auto& nal : impl_->nals) impl_->read_h264_parameter_set(nal, -1);
    }
  } else {
    ErrorContext context;
    context.file = stream.url;
    throw Error(ErrorCode::unsupported,
                fmt::format("bitstream probe: codec '{}' is not supported (only vp9 and h264); transcode the "
                            "stream to VP9 or H.264",
                            stream.codec.empty() ? "unknown" : stream.codec),
                context);
  }
}

BitstreamProbe::~BitstreamProbe() = default;

void BitstreamProbe::probe(const Packet& packet, std::vector<CodedFrame>& out) {
  if (packet.data.empty()) impl_->corrupt(packet.index, "empty packet (0 bytes)");
  const size_t first = out.size();
  const int64_t decode_index = impl_->decode_index;
  const int64_t shown_count = impl_->shown_count;
  try {
    if (impl_->codec == Codec::vp9) {
      impl_->probe_vp9(packet, out);
    } else {
      impl_->probe_h264(packet, out);
    }
  } catch (...) {
    // A packet that fails adds nothing, so a caller that skips it keeps consistent indices.
    out.resize(first);
    impl_->decode_index = decode_index;
    impl_->shown_count = shown_count;
    throw;
  }
}

void BitstreamProbe::Impl::probe_vp9(const Packet& packet, std::vector<CodedFrame>& out) {
  const uint8_t* data = packet.data.data();
  const size_t size = packet.data.size();
  if (!vp9::split_superframe(data, size, superframe, error)) corrupt(packet.index, error);
  size_t offset = 0;
  for (int i = 0; i < superframe.frame_count; ++i) {
    const uint32_t frame_bytes = superframe.frame_sizes[i];
    if (!vp9_parser.parse(data + offset, frame_bytes, vp9_header, error)) {
      if (superframe.frame_count > 1)
        corrupt(packet.index, fmt::format("frame {} of {} in the superframe: {}", i + 1, superframe.frame_count, error));
      corrupt(packet.index, error);
    }
    const vp9::FrameHeader& h = vp9_header;
    CodedFrame& f = out.emplace_back();
    f.decode_index = decode_index++;
    f.packet_index = packet.index;
    f.super_index = i;
    f.pts = packet.pts;
    f.shown = h.show_frame;
    f.show_existing = h.show_existing_frame;
    f.intra_only = h.intra_only;
    f.display_index = shown_count;
    if (f.shown) ++shown_count;
    if (h.key_frame || h.intra_only) {
      f.cls = FrameClass::key;
    } else if (!h.show_frame) {
      f.cls = FrameClass::altref;
    } else {
      f.cls = FrameClass::normal;
    }
    f.bytes = frame_bytes;
    if (i + 1 == superframe.frame_count) f.bytes += superframe.index_bytes + superframe.trailing_bytes;
    f.refresh_flags = h.refresh_frame_flags;
    f.base_q_index = h.show_existing_frame ? -1 : h.base_q_idx;
    offset += frame_bytes;
  }
}

void BitstreamProbe::Impl::read_h264_parameter_set(const h264::NalUnit& nal, int64_t packet) {
  const int type = nal.data[0] & 0x1f;
  if (type != h264::kNalSps && type != h264::kNalPps) return;
  h264::unescape_rbsp(nal.data + 1, nal.size - 1, nal.size, rbsp);
  const bool ok = type == h264::kNalSps ? h264::parse_sps(rbsp.data(), rbsp.size(), *sets, error)
                                        : h264::parse_pps(rbsp.data(), rbsp.size(), *sets, error);
  if (ok) return;
  if (packet < 0) {
    ErrorContext context;
    context.file = url;
    throw Error(ErrorCode::corrupt,
                fmt::format("H.264 codec configuration: {}; the container header is damaged, remux the file", error),
                context);
  }
  corrupt(packet, error);
}

void BitstreamProbe::Impl::probe_h264(const Packet& packet, std::vector<CodedFrame>& out) {
  const uint8_t* data = packet.data.data();
  const size_t size = packet.data.size();
  if (length_size == 0) {
    h264::split_annexb(data, size, nals);
  } else if (!h264::split_length_prefixed(data, size, length_size, nals, error)) {
    corrupt(packet.index, error);
  }
  h264::SliceHeader slice;
  bool have_slice = false;
  for (const auto& nal : nals) {
    if (nal.data[0] & 0x80) corrupt(packet.index, "NAL unit with forbidden_zero_bit set");
    const int type = nal.data[0] & 0x1f;
    if (type == h264::kNalSps || type == h264::kNalPps) {
      read_h264_parameter_set(nal, packet.index);
    } else if (type == h264::kNalSlice || type == h264::kNalIdr) {
      const int ref_idc = (nal.data[0] >> 5) & 3;
      h264::unescape_rbsp(nal.data + 1, nal.size - 1, kSliceHeaderPrefixBytes, rbsp);
      bool ok = h264::parse_slice_header(rbsp.data(), rbsp.size(), type, ref_idc, *sets, slice, error);
      if (!ok && nal.size - 1 > kSliceHeaderPrefixBytes) {
        h264::unescape_rbsp(nal.data + 1, nal.size - 1, nal.size, rbsp);
        ok = h264::parse_slice_header(rbsp.data(), rbsp.size(), type, ref_idc, *sets, slice, error);
      }
      if (!ok) corrupt(packet.index, error);
      have_slice = true;
      break;  // the first slice decides; parameter sets come before it in an access unit
    }
  }
  if (!have_slice)
    corrupt(packet.index, fmt::format("no coded slice in the access unit ({} bytes, {} NAL units)", size, nals.size()));

  CodedFrame& f = out.emplace_back();
  f.decode_index = decode_index++;
  f.packet_index = packet.index;
  f.super_index = 0;
  f.display_index = shown_count++;  // decode order; probe_file re-ranks by pts for streams with B-frames
  f.pts = packet.pts;
  f.shown = true;
  f.cls = slice.nal_unit_type == h264::kNalIdr ? FrameClass::key : FrameClass::normal;
  f.bytes = static_cast<uint32_t>(size);
  f.refresh_flags = 0;
  f.base_q_index = slice.qp;
  f.slice_type = h264::slice_type_char(slice.slice_type);
  if (slice.qp >= 0) {  // the parameter sets were known, so the POC fields were read
    const bool restart = slice.nal_unit_type == h264::kNalIdr || slice.mmco5;
    if (restart || poc_period < 0) ++poc_period;
    const int64_t poc = poc_counter.next(slice, sets->sps[slice.sps_id]);
    f.poc = poc_period * (int64_t{1} << 32) + poc;
  }
}

std::vector<CodedFrame> probe_file(const std::string& url, StreamInfo* info) {
  Demuxer demuxer(url);
  if (info) *info = demuxer.info();
  BitstreamProbe probe(demuxer.info());
  std::vector<CodedFrame> frames;
  if (demuxer.info().frame_count > 0) frames.reserve(static_cast<size_t>(demuxer.info().frame_count));
  while (auto packet = demuxer.read()) probe.probe(*packet, frames);

  // Display order of H.264 access units is their pts order (B-frames), or without pts their picture
  // order count; failing both, decode order. VP9 shows frames in decode order.
  if (demuxer.info().codec == "h264") {
    const bool all_pts = std::all_of(frames.begin(), frames.end(), [](const CodedFrame& f) { return f.pts != INT64_MIN; });
    const bool all_poc = std::all_of(frames.begin(), frames.end(), [](const CodedFrame& f) { return f.poc != INT64_MIN; });
    if (all_pts || all_poc) {
      std::vector<size_t> order(frames.size());
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return all_pts ? frames[a].pts < frames[b].pts : frames[a].poc < frames[b].poc;
      });
      for (size_t rank = 0; rank < order.size(); ++rank) frames[order[rank]].display_index = static_cast<int64_t>(rank);
    }
  }
  return frames;
}

}  // namespace ns::media
