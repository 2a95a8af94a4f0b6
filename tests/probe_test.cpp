// Bitstream probe: bit reader and Exp-Golomb, VP9 superframe split and uncompressed header, H.264
// NAL splitting and slice headers on hand-built bytes; then streams from the streamer encoders
// checked against the demuxer (packet sizes) and the decoder (shown frame count); then the CLI.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/media/bit_reader_impl.h"
#include "ns/media/probe.h"
#include "ns/media/probe_h264_impl.h"
#include "ns/media/probe_vp9_impl.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "support/fixtures.h"

namespace ns {
namespace {

using media::CodedFrame;
using media::FrameClass;

// MSB-first bit writer for building headers by hand (the inverse of BitReader).
class BitWriter {
 public:
  void bits(uint32_t value, int n) {
    for (int i = n - 1; i >= 0; --i) bit((value >> i) & 1u);
  }
  void bit(bool b) {
    if (used_ % 8 == 0) bytes_.push_back(0);
    if (b) bytes_.back() = static_cast<uint8_t>(bytes_.back() | (0x80u >> (used_ % 8)));
    ++used_;
  }
  void ue(uint32_t value) {
    const uint64_t v = uint64_t{value} + 1;
    int len = 0;
    while ((v >> len) > 1) ++len;
    bits(0, len);
    for (int i = len; i >= 0; --i) bit((v >> i) & 1u);
  }
  void se(int32_t value) { ue(value > 0 ? static_cast<uint32_t>(2 * value - 1) : static_cast<uint32_t>(-2 * value)); }
  void su(int value, int n) {  // VP9 su(n)
    bits(static_cast<uint32_t>(value < 0 ? -value : value), n);
    bit(value < 0);
  }
  void align_zero() {
    while (used_ % 8) bit(false);
  }
  void rbsp_trailing() {
    bit(true);
    align_zero();
  }
  void append(const std::vector<uint8_t>& more) {
    align_zero();
    bytes_.insert(bytes_.end(), more.begin(), more.end());
    used_ += more.size() * 8;
  }
  size_t size_bits() const { return used_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t used_ = 0;
};

ErrorCode code_of(const std::function<void()>& action, std::string* message = nullptr) {
  try {
    action();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "expected ns::Error";
  return ErrorCode::internal;
}

// ---------------------------------------------------------------------------------------------
// Bit reader

TEST(ProbeBitReader, ReadsFieldsMsbFirstAcrossBytes) {
  const uint8_t data[] = {0xA5, 0x3C, 0xFF, 0x01};
  media::BitReader r(data, sizeof data);
  EXPECT_EQ(r.bits(3), 0b101u);
  EXPECT_EQ(r.bits(7), 0b0010100u);  // 0 0101 + 00 of 0x3C
  EXPECT_EQ(r.bits(22), 0x3CFF01u & 0x3FFFFFu);
  EXPECT_FALSE(r.overrun());
  EXPECT_EQ(r.bits_left(), 0u);
  EXPECT_EQ(r.bits(1), 0u);
  EXPECT_TRUE(r.overrun());
}

TEST(ProbeBitReader, Reads32BitFieldAndSigned) {
  const uint8_t data[] = {0xDE, 0xAD, 0xBE, 0xEF, 0b1001'1000};
  media::BitReader r(data, sizeof data);
  EXPECT_EQ(r.bits(32), 0xDEADBEEFu);
  EXPECT_EQ(r.signed_bits(4), -9);  // magnitude 1001, then sign bit 1
}

TEST(ProbeBitReader, ExpGolombMatchesHandValues) {
  BitWriter w;
  const uint32_t values[] = {0, 1, 2, 3, 7, 8, 255, 65535, 0xFFFFFFFEu};
  for (uint32_t v : values) w.ue(v);
  const int32_t signed_values[] = {0, 1, -1, 2, -2, 100, -100};
  for (int32_t v : signed_values) w.se(v);
  // The first codes spelled out: ue 0 = "1", ue 1 = "010", ue 2 = "011", ue 3 = "00100".
  EXPECT_EQ(w.bytes()[0], 0b1010'0110u);
  EXPECT_EQ(w.bytes()[1] >> 4, 0b0100u);
  media::BitReader r(w.bytes().data(), w.bytes().size());
  for (uint32_t v : values) EXPECT_EQ(r.ue(), v);
  for (int32_t v : signed_values) EXPECT_EQ(r.se(), v);
  EXPECT_FALSE(r.overrun());
  EXPECT_FALSE(r.invalid());
}

TEST(ProbeBitReader, OverlongExpGolombIsInvalidAndTruncatedIsOverrun) {
  const uint8_t zeros[6] = {0, 0, 0, 0, 0x00, 0x80};  // 40 leading zeros
  media::BitReader a(zeros, sizeof zeros);
  a.ue();
  EXPECT_TRUE(a.invalid());
  const uint8_t cut[1] = {0x00};  // leading zeros then nothing
  media::BitReader b(cut, sizeof cut);
  EXPECT_EQ(b.ue(), 0u);
  EXPECT_TRUE(b.overrun());
}

// ---------------------------------------------------------------------------------------------
// VP9 hand-built frames

// A profile-0 key frame header of `width` x `height`, base_q_idx `q`, then a compressed header of
// `compressed` bytes and `tile_bytes` of tile data (dummy bytes).
std::vector<uint8_t> vp9_key_frame(int width, int height, int q, int compressed = 3, int tile_bytes = 10,
                                   int profile = 0) {
  BitWriter w;
  w.bits(2, 2);            // frame_marker
  w.bit(profile & 1);      // profile_low_bit
  w.bit((profile >> 1) & 1);
  if (profile == 3) w.bit(false);
  w.bit(false);            // show_existing_frame
  w.bit(false);            // frame_type = KEY_FRAME
  w.bit(true);             // show_frame
  w.bit(false);            // error_resilient_mode
  w.bits(0x49, 8);
  w.bits(0x83, 8);
  w.bits(0x42, 8);
  if (profile >= 2) w.bit(false);  // ten_or_twelve_bit: 10
  w.bits(2, 3);                    // color_space BT.709
  w.bit(false);                    // color_range
  if (profile == 1 || profile == 3) {
    w.bit(false);  // subsampling_x (4:4:4)
    w.bit(false);  // subsampling_y
    w.bit(false);  // reserved_zero
  }
  w.bits(static_cast<uint32_t>(width - 1), 16);
  w.bits(static_cast<uint32_t>(height - 1), 16);
  w.bit(false);  // render_and_frame_size_different
  w.bit(true);   // refresh_frame_context
  w.bit(true);   // frame_parallel_decoding_mode
  w.bits(0, 2);  // frame_context_idx
  // loop_filter_params with ref deltas updated
  w.bits(10, 6);
  w.bits(0, 3);
  w.bit(true);  // loop_filter_delta_enabled
  w.bit(true);  // loop_filter_delta_update
  const int ref_deltas[4] = {1, 0, -1, -1};
  for (int d : ref_deltas) {
    w.bit(true);
    w.su(d, 6);
  }
  w.bit(false);
  w.bit(false);
  // quantization_params
  w.bits(static_cast<uint32_t>(q), 8);
  w.bit(false);
  w.bit(false);
  w.bit(false);
  w.bit(false);  // segmentation_enabled
  // tile_info: for widths < 256 there are no increment bits (max_log2 = 0)
  w.bit(false);  // tile_rows_log2
  w.bits(static_cast<uint32_t>(compressed), 16);
  w.append(std::vector<uint8_t>(static_cast<size_t>(compressed + tile_bytes), 0x11));
  return w.bytes();
}

// An inter frame: hidden (alt-ref) when !show, size from reference slot 0, base_q_idx `q`, delta_q_y_dc -3,
// segmentation with map and data updates.
std::vector<uint8_t> vp9_inter_frame(bool show, int q, uint8_t refresh, int compressed = 2, int tile_bytes = 7) {
  BitWriter w;
  w.bits(2, 2);
  w.bit(false);
  w.bit(false);
  w.bit(false);  // show_existing_frame
  w.bit(true);   // frame_type = NON_KEY
  w.bit(show);
  w.bit(false);  // error_resilient_mode
  if (!show) w.bit(false);  // intra_only
  w.bits(0, 2);             // reset_frame_context
  w.bits(refresh, 8);
  for (int i = 0; i < 3; ++i) {
    w.bits(static_cast<uint32_t>(i), 3);  // ref_frame_idx
    w.bit(i == 2);                        // sign bias
  }
  w.bit(true);   // found_ref for LAST
  w.bit(false);  // render_and_frame_size_different
  w.bit(true);   // allow_high_precision_mv
  w.bit(false);  // is_filter_switchable
  w.bits(1, 2);  // raw_interpolation_filter
  w.bit(false);  // refresh_frame_context
  w.bit(true);   // frame_parallel_decoding_mode
  w.bits(1, 2);  // frame_context_idx
  w.bits(20, 6);
  w.bits(2, 3);
  w.bit(false);  // loop_filter_delta_enabled
  w.bits(static_cast<uint32_t>(q), 8);
  w.bit(true);
  w.su(-3, 4);   // delta_q_y_dc
  w.bit(false);
  w.bit(false);
  w.bit(true);   // segmentation_enabled
  w.bit(true);   // segmentation_update_map
  for (int i = 0; i < 7; ++i) {
    w.bit(i % 2 == 0);
    if (i % 2 == 0) w.bits(static_cast<uint32_t>(100 + i), 8);
  }
  w.bit(true);  // segmentation_temporal_update
  for (int i = 0; i < 3; ++i) {
    w.bit(true);
    w.bits(50, 8);
  }
  w.bit(true);   // segmentation_update_data
  w.bit(false);  // abs_or_delta
  for (int s = 0; s < 8; ++s) {
    for (int j = 0; j < 4; ++j) {
      const bool on = (s + j) % 3 == 0;
      w.bit(on);
      if (!on) continue;
      const int bits[4] = {8, 6, 2, 0};
      w.bits(static_cast<uint32_t>(s), bits[j]);
      if (j < 2) w.bit(s % 2 == 1);
    }
  }
  w.bit(false);  // tile_rows_log2
  w.bits(static_cast<uint32_t>(compressed), 16);
  w.append(std::vector<uint8_t>(static_cast<size_t>(compressed + tile_bytes), 0x22));
  return w.bytes();
}

std::vector<uint8_t> vp9_show_existing(int slot) {
  BitWriter w;
  w.bits(2, 2);
  w.bit(false);
  w.bit(false);
  w.bit(true);  // show_existing_frame
  w.bits(static_cast<uint32_t>(slot), 3);
  w.align_zero();
  return w.bytes();
}

// Superframe: frames back to back, then the index with `size_bytes` bytes per size.
std::vector<uint8_t> vp9_superframe(const std::vector<std::vector<uint8_t>>& frames, int size_bytes) {
  std::vector<uint8_t> out;
  for (const auto& f : frames) out.insert(out.end(), f.begin(), f.end());
  const uint8_t marker =
      static_cast<uint8_t>(0xc0 | ((size_bytes - 1) << 3) | (static_cast<int>(frames.size()) - 1));
  out.push_back(marker);
  for (const auto& f : frames)
    for (int b = 0; b < size_bytes; ++b) out.push_back(static_cast<uint8_t>(f.size() >> (8 * b)));
  out.push_back(marker);
  return out;
}

media::StreamInfo vp9_info() {
  media::StreamInfo info;
  info.url = "hand.webm";
  info.codec = "vp9";
  return info;
}

media::Packet packet_of(std::vector<uint8_t> data, int64_t index, int64_t pts = 0) {
  media::Packet p;
  p.data = std::move(data);
  p.index = index;
  p.pts = pts;
  return p;
}

TEST(ProbeVp9, KeyFrameHeaderFieldsMatchHandBuiltValues) {
  const std::vector<uint8_t> frame = vp9_key_frame(64, 48, 60, 3, 10);
  media::vp9::HeaderParser parser;
  media::vp9::FrameHeader h;
  std::string error;
  ASSERT_TRUE(parser.parse(frame.data(), frame.size(), h, error)) << error;
  EXPECT_TRUE(h.key_frame);
  EXPECT_TRUE(h.show_frame);
  EXPECT_EQ(h.profile, 0);
  EXPECT_EQ(h.bit_depth, 8);
  EXPECT_EQ(h.color_space, 2);
  EXPECT_EQ(h.width, 64);
  EXPECT_EQ(h.height, 48);
  EXPECT_EQ(h.render_width, 64);
  EXPECT_EQ(h.refresh_frame_flags, 0xff);
  EXPECT_EQ(h.loop_filter_level, 10);
  EXPECT_TRUE(h.loop_filter_delta_enabled);
  EXPECT_EQ(h.base_q_idx, 60);
  EXPECT_FALSE(h.lossless);
  EXPECT_TRUE(h.tile_info_known);
  EXPECT_EQ(h.compressed_header_bytes, 3);
  // 2+1+1+1+1+1+1 + 24 sync + 3+1 colour + 32 size + 1 render + 4 context + 6+3+1+1+4*8+2 loop filter
  // + 8+3 quant + 1 segmentation + 1 tile rows + 16 header size = 147 bits -> 19 bytes.
  EXPECT_EQ(h.uncompressed_header_bytes, 19u);
}

TEST(ProbeVp9, HighProfilesReadBitDepthAndSubsampling) {
  media::vp9::HeaderParser parser;
  media::vp9::FrameHeader h;
  std::string error;
  const auto p2 = vp9_key_frame(64, 48, 70, 3, 4, 2);
  ASSERT_TRUE(parser.parse(p2.data(), p2.size(), h, error)) << error;
  EXPECT_EQ(h.profile, 2);
  EXPECT_EQ(h.bit_depth, 10);
  EXPECT_EQ(h.subsampling_x, 1);
  EXPECT_EQ(h.base_q_idx, 70);
  const auto p3 = vp9_key_frame(64, 48, 71, 3, 4, 3);
  ASSERT_TRUE(parser.parse(p3.data(), p3.size(), h, error)) << error;
  EXPECT_EQ(h.profile, 3);
  EXPECT_EQ(h.subsampling_x, 0);
  EXPECT_EQ(h.subsampling_y, 0);
  EXPECT_EQ(h.base_q_idx, 71);
}

TEST(ProbeVp9, InterFrameTakesSizeFromReferenceAndReadsSegmentation) {
  media::vp9::HeaderParser parser;
  media::vp9::FrameHeader h;
  std::string error;
  const auto key = vp9_key_frame(200, 120, 40);
  ASSERT_TRUE(parser.parse(key.data(), key.size(), h, error)) << error;
  const auto inter = vp9_inter_frame(false, 123, 0x10, 2, 7);
  ASSERT_TRUE(parser.parse(inter.data(), inter.size(), h, error)) << error;
  EXPECT_FALSE(h.key_frame);
  EXPECT_FALSE(h.show_frame);
  EXPECT_FALSE(h.intra_only);
  EXPECT_TRUE(h.size_from_ref);
  EXPECT_EQ(h.width, 200);
  EXPECT_EQ(h.height, 120);
  EXPECT_EQ(h.refresh_frame_flags, 0x10);
  EXPECT_EQ(h.ref_frame_idx[2], 2);
  EXPECT_TRUE(h.ref_frame_sign_bias[2]);
  EXPECT_EQ(h.interp_filter, 1);
  EXPECT_EQ(h.frame_context_idx, 1);
  EXPECT_EQ(h.loop_filter_level, 20);
  EXPECT_EQ(h.base_q_idx, 123);
  EXPECT_EQ(h.delta_q_y_dc, -3);
  EXPECT_TRUE(h.segmentation_enabled);
  EXPECT_EQ(h.compressed_header_bytes, 2);
}

TEST(ProbeVp9, SuperframeIndexSplitsTwoFramesOfKnownSizes) {
  std::vector<uint8_t> a(300, 0xaa), b(5, 0xbb);
  const auto packet = vp9_superframe({a, b}, 2);  // marker 0xc9, index 2 + 2 * 2 = 6 bytes
  ASSERT_EQ(packet.size(), 311u);
  media::vp9::Superframe sf;
  std::string error;
  ASSERT_TRUE(media::vp9::split_superframe(packet.data(), packet.size(), sf, error)) << error;
  EXPECT_EQ(sf.frame_count, 2);
  EXPECT_EQ(sf.frame_sizes[0], 300u);
  EXPECT_EQ(sf.frame_sizes[1], 5u);
  EXPECT_EQ(sf.index_bytes, 6u);
  EXPECT_EQ(sf.trailing_bytes, 0u);
}

TEST(ProbeVp9, PacketWithoutIndexIsOneFrame) {
  std::vector<uint8_t> plain(40, 0x12);
  plain.back() = 0xc1;  // looks like a marker, but the index would not open with it (libvpx: no index)
  media::vp9::Superframe sf;
  std::string error;
  ASSERT_TRUE(media::vp9::split_superframe(plain.data(), plain.size(), sf, error)) << error;
  EXPECT_EQ(sf.frame_count, 1);
  EXPECT_EQ(sf.frame_sizes[0], 40u);
  EXPECT_EQ(sf.index_bytes, 0u);
}

TEST(ProbeVp9, CorruptIndexIsRejected) {
  std::vector<uint8_t> a(30, 0xaa), b(5, 0xbb);
  auto packet = vp9_superframe({a, b}, 1);  // index: c1 1e 05 c1
  packet[packet.size() - 3] = 0xf0;         // first frame now claims 240 bytes
  media::vp9::Superframe sf;
  std::string error;
  EXPECT_FALSE(media::vp9::split_superframe(packet.data(), packet.size(), sf, error));
  EXPECT_NE(error.find("superframe index"), std::string::npos) << error;
  auto zero = vp9_superframe({a, b}, 1);
  zero[zero.size() - 2] = 0;  // second frame size 0
  EXPECT_FALSE(media::vp9::split_superframe(zero.data(), zero.size(), sf, error));
  EXPECT_NE(error.find("size 0"), std::string::npos) << error;
}

TEST(ProbeVp9, ProbeClassifiesHiddenAltrefAndAttributesIndexBytes) {
  media::BitstreamProbe probe(vp9_info());
  std::vector<CodedFrame> frames;
  const auto key = vp9_key_frame(64, 48, 50);
  probe.probe(packet_of(key, 0, 0), frames);
  const auto arf = vp9_inter_frame(false, 80, 0x04);
  const auto shown = vp9_inter_frame(true, 150, 0x01);
  const auto sf = vp9_superframe({arf, shown}, 2);
  probe.probe(packet_of(sf, 1, 17), frames);
  probe.probe(packet_of(vp9_show_existing(2), 2, 33), frames);
  probe.probe(packet_of(vp9_inter_frame(true, 151, 0x01), 3, 50), frames);

  ASSERT_EQ(frames.size(), 5u);
  const CodedFrame& k = frames[0];
  EXPECT_EQ(k.cls, FrameClass::key);
  EXPECT_TRUE(k.shown);
  EXPECT_EQ(k.display_index, 0);
  EXPECT_EQ(k.bytes, key.size());
  EXPECT_EQ(k.refresh_flags, 0xff);
  EXPECT_EQ(k.base_q_index, 50);

  const CodedFrame& a = frames[1];
  EXPECT_EQ(a.cls, FrameClass::altref);
  EXPECT_FALSE(a.shown);
  EXPECT_EQ(a.decode_index, 1);
  EXPECT_EQ(a.packet_index, 1);
  EXPECT_EQ(a.super_index, 0);
  EXPECT_EQ(a.display_index, 1);  // the index of the shown frame that follows
  EXPECT_EQ(a.pts, 17);
  EXPECT_EQ(a.bytes, arf.size());
  EXPECT_EQ(a.refresh_flags, 0x04);
  EXPECT_EQ(a.base_q_index, 80);

  const CodedFrame& s = frames[2];
  EXPECT_EQ(s.cls, FrameClass::normal);
  EXPECT_TRUE(s.shown);
  EXPECT_EQ(s.super_index, 1);
  EXPECT_EQ(s.display_index, 1);
  EXPECT_EQ(s.bytes, shown.size() + 6);  // the 6 index bytes go to the last frame of the packet
  EXPECT_EQ(a.bytes + s.bytes, sf.size());
  EXPECT_EQ(s.base_q_index, 150);

  const CodedFrame& e = frames[3];
  EXPECT_TRUE(e.show_existing);
  EXPECT_TRUE(e.shown);
  EXPECT_EQ(e.cls, FrameClass::normal);
  EXPECT_EQ(e.display_index, 2);
  EXPECT_EQ(e.bytes, 1u);
  EXPECT_EQ(e.base_q_index, -1);
  EXPECT_EQ(frames[4].display_index, 3);
  EXPECT_EQ(frames[4].decode_index, 4);
}

TEST(ProbeVp9, MalformedPacketsAreCorruptAndNameThePacket) {
  media::BitstreamProbe probe(vp9_info());
  std::vector<CodedFrame> frames;
  std::string message;

  EXPECT_EQ(code_of([&] { probe.probe(packet_of({}, 4), frames); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("hand.webm: packet 4: empty packet"), std::string::npos) << message;

  EXPECT_EQ(code_of([&] { probe.probe(packet_of(std::vector<uint8_t>(32, 0), 5), frames); }, &message),
            ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 5: not a VP9 frame (frame marker 0"), std::string::npos) << message;

  auto key = vp9_key_frame(64, 48, 50);
  key.resize(6);  // cut inside the frame size
  EXPECT_EQ(code_of([&] { probe.probe(packet_of(key, 6), frames); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 6: truncated frame header"), std::string::npos) << message;

  auto short_tiles = vp9_key_frame(64, 48, 50, 40, 0);
  short_tiles.resize(short_tiles.size() - 10);  // compressed header claims 40 bytes, 30 remain
  EXPECT_EQ(code_of([&] { probe.probe(packet_of(short_tiles, 7), frames); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 7: truncated frame (headers need 19 + 40 bytes"), std::string::npos) << message;

  auto sync = vp9_key_frame(64, 48, 50);
  sync[1] ^= 0x10;  // inside the sync code
  EXPECT_EQ(code_of([&] { probe.probe(packet_of(sync, 8), frames); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("sync code"), std::string::npos) << message;

  std::vector<uint8_t> a(30, 0x82), b(5, 0x82);
  auto bad_index = vp9_superframe({a, b}, 1);
  bad_index[bad_index.size() - 3] = 0xf0;
  EXPECT_EQ(code_of([&] { probe.probe(packet_of(bad_index, 9), frames); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 9: bad superframe index"), std::string::npos) << message;

  auto second_bad = vp9_superframe({vp9_key_frame(64, 48, 50), std::vector<uint8_t>(8, 0)}, 1);
  EXPECT_EQ(code_of([&] { probe.probe(packet_of(second_bad, 10), frames); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 10: frame 2 of 2 in the superframe: not a VP9 frame"), std::string::npos) << message;
  EXPECT_TRUE(frames.empty());  // a packet that fails adds no frames, not even its good first frame
}

TEST(ProbeVp9, UnknownCodecIsUnsupported) {
  media::StreamInfo info;
  info.url = "x.mkv";
  info.codec = "ffv1";
  std::string message;
  EXPECT_EQ(code_of([&] { media::BitstreamProbe probe(info); }, &message), ErrorCode::unsupported);
  EXPECT_NE(message.find("x.mkv: bitstream probe: codec 'ffv1' is not supported"), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------------
// H.264 hand-built NAL units

std::vector<uint8_t> h264_sps() {
  BitWriter w;
  w.bits(0x67, 8);  // nal_ref_idc 3, SPS
  w.bits(66, 8);    // profile_idc baseline
  w.bits(0, 8);
  w.bits(30, 8);
  w.ue(0);  // sps id
  w.ue(0);  // log2_max_frame_num_minus4 -> 4 bits
  w.ue(0);  // pic_order_cnt_type 0
  w.ue(2);  // log2_max_pic_order_cnt_lsb_minus4 -> 6 bits
  w.ue(1);  // max_num_ref_frames
  w.bit(false);
  w.ue(3);  // width 4 MBs
  w.ue(2);  // height 3 MBs
  w.bit(true);  // frame_mbs_only
  w.bit(true);  // direct_8x8_inference
  w.bit(false);
  w.bit(false);  // vui
  w.rbsp_trailing();
  return w.bytes();
}

std::vector<uint8_t> h264_pps(int pic_init_qp_minus26, bool cabac) {
  BitWriter w;
  w.bits(0x68, 8);
  w.ue(0);
  w.ue(0);
  w.bit(cabac);
  w.bit(false);
  w.ue(0);  // one slice group
  w.ue(0);  // num_ref_idx_l0_default_active_minus1
  w.ue(0);
  w.bit(false);
  w.bits(0, 2);
  w.se(pic_init_qp_minus26);
  w.se(0);
  w.se(0);
  w.bit(true);
  w.bit(false);
  w.bit(false);
  w.rbsp_trailing();
  return w.bytes();
}

// A slice: IDR I slice or non-IDR P slice (with an MMCO list), then `payload` bytes of slice data.
// The slice data starts with 00 00 00 so the packet builder must insert emulation prevention.
std::vector<uint8_t> h264_slice(bool idr, int qp_delta, bool cabac, int frame_num, int poc_lsb) {
  BitWriter w;
  w.bit(false);
  w.bits(idr ? 3 : 2, 2);
  w.bits(idr ? 5 : 1, 5);
  w.ue(0);              // first_mb_in_slice
  w.ue(idr ? 7 : 5);    // slice_type I or P (all slices the same type)
  w.ue(0);              // pps id
  w.bits(static_cast<uint32_t>(frame_num), 4);
  if (idr) w.ue(1);     // idr_pic_id
  w.bits(static_cast<uint32_t>(poc_lsb), 6);
  if (!idr) {
    w.bit(true);   // num_ref_idx_active_override_flag
    w.ue(1);       // 2 refs
    w.bit(true);   // ref_pic_list_modification_flag_l0
    w.ue(0);
    w.ue(4);
    w.ue(3);
  }
  if (idr) {
    w.bit(false);
    w.bit(false);
  } else {
    w.bit(true);  // adaptive_ref_pic_marking_mode_flag
    w.ue(1);
    w.ue(2);
    w.ue(3);
    w.ue(0);
    w.ue(1);
    w.ue(0);
  }
  if (cabac && !idr) w.ue(1);  // cabac_init_idc
  w.se(qp_delta);
  w.append({0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x02, 0x80});
  return w.bytes();
}

// Inserts emulation prevention bytes so that no 00 00 0x (x <= 3) occurs in the NAL.
std::vector<uint8_t> escape(const std::vector<uint8_t>& nal) {
  std::vector<uint8_t> out;
  int zeros = 0;
  for (uint8_t b : nal) {
    if (zeros >= 2 && b <= 3) {
      out.push_back(3);
      zeros = 0;
    }
    out.push_back(b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  return out;
}

std::vector<uint8_t> annexb(const std::vector<std::vector<uint8_t>>& nals) {
  std::vector<uint8_t> out;
  bool first = true;
  for (const auto& n : nals) {
    if (first) out.push_back(0);  // 4-byte start code first
    first = false;
    out.insert(out.end(), {0, 0, 1});
    const auto e = escape(n);
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

std::vector<uint8_t> length_prefixed(const std::vector<std::vector<uint8_t>>& nals, int length_size) {
  std::vector<uint8_t> out;
  for (const auto& n : nals) {
    const auto e = escape(n);
    for (int i = length_size - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(e.size() >> (8 * i)));
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

std::vector<uint8_t> avcc(const std::vector<uint8_t>& sps, const std::vector<uint8_t>& pps, int length_size) {
  std::vector<uint8_t> out = {1, sps[1], sps[2], sps[3], static_cast<uint8_t>(0xfc | (length_size - 1)), 0xe1};
  const auto s = escape(sps);
  out.push_back(static_cast<uint8_t>(s.size() >> 8));
  out.push_back(static_cast<uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(1);
  const auto p = escape(pps);
  out.push_back(static_cast<uint8_t>(p.size() >> 8));
  out.push_back(static_cast<uint8_t>(p.size()));
  out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(ProbeH264, UnescapeRemovesEmulationPreventionBytes) {
  const uint8_t escaped[] = {0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x03};
  std::vector<uint8_t> out;
  media::h264::unescape_rbsp(escaped, sizeof escaped, 100, out);
  EXPECT_EQ(out, (std::vector<uint8_t>{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03}));
  media::h264::unescape_rbsp(escaped, sizeof escaped, 4, out);
  EXPECT_EQ(out, (std::vector<uint8_t>{0x00, 0x00, 0x01}));
}

TEST(ProbeH264, AnnexBSplitFindsUnitsBetweenStartCodes) {
  const uint8_t data[] = {0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0x00, 0x00, 0x01, 0x68, 0xce,
                          0x00, 0x00, 0x00, 0x01, 0x65, 0x88, 0x00, 0x00, 0x03, 0x01, 0x80};
  std::vector<media::h264::NalUnit> nals;
  media::h264::split_annexb(data, sizeof data, nals);
  ASSERT_EQ(nals.size(), 3u);
  EXPECT_EQ(nals[0].data, data + 4);
  EXPECT_EQ(nals[0].size, 2u);
  EXPECT_EQ(nals[1].size, 2u);  // the zero byte before the next 4-byte start code is not NAL data
  EXPECT_EQ(nals[2].data, data + 15);
  EXPECT_EQ(nals[2].size, 7u);
}

TEST(ProbeH264, LengthPrefixedSplitRejectsOverlongLength) {
  const uint8_t good[] = {0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06};
  std::vector<media::h264::NalUnit> nals;
  std::string error;
  ASSERT_TRUE(media::h264::split_length_prefixed(good, sizeof good, 4, nals, error)) << error;
  ASSERT_EQ(nals.size(), 2u);
  EXPECT_EQ(nals[1].size, 1u);
  const uint8_t bad[] = {0, 0, 0, 9, 0x65, 0x88};
  EXPECT_FALSE(media::h264::split_length_prefixed(bad, sizeof bad, 4, nals, error));
  EXPECT_NE(error.find("claims 9 bytes, only 2 left"), std::string::npos) << error;
}

TEST(ProbeH264, SliceHeaderGivesTypeAndExactQp) {
  for (const bool cabac : {false, true}) {
    media::h264::ParamSets sets;
    std::string error;
    std::vector<uint8_t> rbsp;
    const auto sps = h264_sps();
    const auto pps = h264_pps(-4, cabac);
    ASSERT_TRUE(media::h264::parse_sps(sps.data() + 1, sps.size() - 1, sets, error)) << error;
    ASSERT_TRUE(media::h264::parse_pps(pps.data() + 1, pps.size() - 1, sets, error)) << error;
    EXPECT_EQ(sets.sps[0].log2_max_pic_order_cnt_lsb, 6);
    EXPECT_EQ(sets.pps[0].pic_init_qp_minus26, -4);
    for (const bool idr : {true, false}) {
      const auto slice = h264_slice(idr, idr ? 5 : -7, cabac, idr ? 0 : 3, 12);
      media::h264::SliceHeader h;
      ASSERT_TRUE(media::h264::parse_slice_header(slice.data() + 1, slice.size() - 1, idr ? 5 : 1, idr ? 3 : 2, sets,
                                                  h, error))
          << error;
      EXPECT_EQ(h.slice_type, idr ? 2 : 0);
      EXPECT_EQ(h.qp, idr ? 27 : 15);  // 26 - 4 + delta
    }
  }
}

TEST(ProbeH264, PocType0FollowsLsbWrapAndOnlyReferencePicturesAdvance) {
  media::h264::Sps sps;
  sps.pic_order_cnt_type = 0;
  sps.log2_max_pic_order_cnt_lsb = 4;  // lsb wraps at 16
  struct Pic {
    bool idr, reference;
    uint32_t lsb;
    int64_t expected;
  };
  const Pic pics[] = {{true, true, 0, 0},   {false, true, 6, 6},   {false, false, 2, 2},
                      {false, true, 12, 12}, {false, true, 2, 18},  {false, false, 14, 14}};
  media::h264::PocCounter counter;
  for (const Pic& p : pics) {
    media::h264::SliceHeader s;
    s.nal_unit_type = p.idr ? 5 : 1;
    s.nal_ref_idc = p.reference ? 1 : 0;
    s.pic_order_cnt_lsb = p.lsb;
    EXPECT_EQ(counter.next(s, sps), p.expected) << "lsb " << p.lsb;
  }
}

TEST(ProbeH264, PocType2CountsFrameNumAcrossWrap) {
  media::h264::Sps sps;
  sps.pic_order_cnt_type = 2;
  sps.log2_max_frame_num = 4;  // frame_num wraps at 16
  media::h264::PocCounter counter;
  media::h264::SliceHeader s;
  s.nal_unit_type = 5;
  s.nal_ref_idc = 1;
  EXPECT_EQ(counter.next(s, sps), 0);
  s.nal_unit_type = 1;
  for (uint32_t fn = 1; fn < 16; ++fn) {
    s.frame_num = fn;
    EXPECT_EQ(counter.next(s, sps), 2 * fn);
  }
  s.frame_num = 0;  // wrapped: FrameNumOffset 16
  EXPECT_EQ(counter.next(s, sps), 32);
  s.nal_ref_idc = 0;
  s.frame_num = 1;
  EXPECT_EQ(counter.next(s, sps), 33);  // non-reference: 2 * 17 - 1
}

TEST(ProbeH264, PocType1UsesTheRefFrameCycle) {
  media::h264::Sps sps;
  sps.pic_order_cnt_type = 1;
  sps.log2_max_frame_num = 4;
  sps.offset_for_ref_frame = {2};
  sps.offset_for_non_ref_pic = -1;
  media::h264::PocCounter counter;
  media::h264::SliceHeader s;
  s.nal_unit_type = 5;
  s.nal_ref_idc = 1;
  EXPECT_EQ(counter.next(s, sps), 0);
  s.nal_unit_type = 1;
  s.frame_num = 1;
  EXPECT_EQ(counter.next(s, sps), 2);  // absFrameNum 1: one cycle entry
  s.nal_ref_idc = 0;
  s.frame_num = 2;
  EXPECT_EQ(counter.next(s, sps), 1);  // absFrameNum 2 - 1 = 1 -> 2, plus offset_for_non_ref_pic -1
  s.nal_ref_idc = 1;
  EXPECT_EQ(counter.next(s, sps), 4);  // absFrameNum 2 -> 2 * 2
}

TEST(ProbeH264, SliceWithoutParameterSetsHasUnknownQp) {
  media::h264::ParamSets sets;
  std::string error;
  const auto slice = h264_slice(false, 2, false, 1, 2);
  media::h264::SliceHeader h;
  ASSERT_TRUE(media::h264::parse_slice_header(slice.data() + 1, slice.size() - 1, 1, 2, sets, h, error)) << error;
  EXPECT_EQ(h.slice_type, 0);
  EXPECT_EQ(h.qp, -1);
}

TEST(ProbeH264, AnnexBAndAvccPacketsGiveTheSameFrames) {
  const auto sps = h264_sps();
  const auto pps = h264_pps(2, true);
  const auto idr = h264_slice(true, -3, true, 0, 0);
  const auto p = h264_slice(false, 4, true, 1, 2);

  media::StreamInfo raw;
  raw.url = "hand.h264";
  raw.codec = "h264";
  media::BitstreamProbe annexb_probe(raw);
  std::vector<CodedFrame> a;
  const auto pkt0 = annexb({sps, pps, idr});
  const auto pkt1 = annexb({p});
  annexb_probe.probe(packet_of(pkt0, 0, 0), a);
  annexb_probe.probe(packet_of(pkt1, 1, 1), a);

  for (const int length_size : {4, 2}) {
    media::StreamInfo mp4;
    mp4.url = "hand.mp4";
    mp4.codec = "h264";
    mp4.extradata = avcc(sps, pps, length_size);
    media::BitstreamProbe avcc_probe(mp4);
    std::vector<CodedFrame> b;
    const auto q0 = length_prefixed({idr}, length_size);
    const auto q1 = length_prefixed({p}, length_size);
    avcc_probe.probe(packet_of(q0, 0, 0), b);
    avcc_probe.probe(packet_of(q1, 1, 1), b);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[0].cls, FrameClass::key);
    EXPECT_EQ(b[0].slice_type, 'I');
    EXPECT_EQ(b[0].base_q_index, 26 + 2 - 3);
    EXPECT_EQ(b[0].bytes, q0.size());
    EXPECT_EQ(b[1].cls, FrameClass::normal);
    EXPECT_EQ(b[1].slice_type, 'P');
    EXPECT_EQ(b[1].base_q_index, 26 + 2 + 4);
    EXPECT_EQ(b[1].bytes, q1.size());
    EXPECT_EQ(b[1].display_index, 1);
  }
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].cls, FrameClass::key);
  EXPECT_EQ(a[0].base_q_index, 25);
  EXPECT_EQ(a[0].bytes, pkt0.size());
  EXPECT_EQ(a[1].slice_type, 'P');
  EXPECT_EQ(a[1].base_q_index, 32);
  EXPECT_EQ(a[1].bytes, pkt1.size());
}

TEST(ProbeH264, MalformedPacketsAreCorrupt) {
  media::StreamInfo mp4;
  mp4.url = "hand.mp4";
  mp4.codec = "h264";
  mp4.extradata = avcc(h264_sps(), h264_pps(0, false), 4);
  media::BitstreamProbe probe(mp4);
  std::vector<CodedFrame> frames;
  std::string message;
  EXPECT_EQ(code_of([&] { probe.probe(packet_of({0, 0, 0, 50, 0x65, 0x88}, 3), frames); }, &message),
            ErrorCode::corrupt);
  EXPECT_NE(message.find("hand.mp4: packet 3: NAL unit at byte 0 claims 50 bytes"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { probe.probe(packet_of(std::vector<uint8_t>(16, 0), 4), frames); }, &message),
            ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 4: no coded slice"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { probe.probe(packet_of({}, 5), frames); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 5: empty packet"), std::string::npos) << message;
  EXPECT_EQ(code_of([&] { probe.probe(packet_of({0, 0, 0, 2, 0x65, 0x00}, 6), frames); }, &message),
            ErrorCode::corrupt);
  EXPECT_NE(message.find("packet 6: truncated slice header"), std::string::npos) << message;
  EXPECT_TRUE(frames.empty());

  mp4.extradata = {1, 66, 0, 30, 0xff, 0xe1, 0x00, 0x40};  // SPS length runs past the end
  EXPECT_EQ(code_of([&] { media::BitstreamProbe p(mp4); }, &message), ErrorCode::corrupt);
  EXPECT_NE(message.find("H.264 codec configuration"), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------------
// Real streams from the streamer encoders

struct PacketSizes {
  std::vector<size_t> sizes;
  int64_t count = 0;
};

PacketSizes read_packet_sizes(const std::string& path) {
  media::Demuxer demuxer(path);
  PacketSizes out;
  while (auto p = demuxer.read()) out.sizes.push_back(p->data.size());
  out.count = static_cast<int64_t>(out.sizes.size());
  return out;
}

int64_t decoded_frame_count(const std::string& path) {
  media::VideoReader reader(path);
  core::Frame frame;
  int64_t n = 0;
  while (reader.read(frame)) ++n;
  return n;
}

void expect_bytes_sum_to_packets(const std::vector<CodedFrame>& frames, const PacketSizes& packets) {
  std::map<int64_t, uint64_t> sums;
  for (const auto& f : frames) sums[f.packet_index] += f.bytes;
  ASSERT_EQ(static_cast<int64_t>(sums.size()), packets.count);
  for (const auto& [index, sum] : sums) {
    ASSERT_GE(index, 0);
    ASSERT_LT(index, packets.count);
    EXPECT_EQ(sum, packets.sizes[static_cast<size_t>(index)]) << "packet " << index;
  }
}

class ProbeStreams : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    // The streamer preset of reference §9.2 (realtime, auto alt-ref, 16 frames of lag) codes hidden
    // alt-ref frames in superframes; 160x96, 60 frames.
    test::write_synthetic_video(dir_->file("vp9.webm"), kWidth, kHeight, kFrames,
                                media::EncoderSettings::streamer_vp9(kWidth, kHeight));
    auto h264 = media::EncoderSettings::streamer_h264(kWidth, kHeight);
    h264.gop = kGop;
    test::write_synthetic_video(dir_->file("h264.mp4"), kWidth, kHeight, kFrames, h264);
    test::write_synthetic_video(dir_->file("h264.h264"), kWidth, kHeight, kFrames, h264);
    // The same encode with B-frames (not zerolatency) into MP4 (display order from pts) and raw
    // Annex B (no pts: display order from the picture order count).
    auto bframes = h264;
    bframes.options.erase("tune");
    bframes.options["bf"] = "3";
    bframes.threads = 1;
    test::write_synthetic_video(dir_->file("bframes.mp4"), kWidth, kHeight, kFrames, bframes);
    test::write_synthetic_video(dir_->file("bframes.h264"), kWidth, kHeight, kFrames, bframes);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string file(const std::string& name) { return dir_->file(name); }

  static constexpr int kWidth = 160;
  static constexpr int kHeight = 96;
  static constexpr int kFrames = 60;
  static constexpr int kGop = 20;
  static test::TempDir* dir_;
};
test::TempDir* ProbeStreams::dir_ = nullptr;

TEST_F(ProbeStreams, Vp9HiddenAltrefsAreCountedAndBytesSumToPackets) {
  const std::string path = file("vp9.webm");
  media::StreamInfo info;
  const std::vector<CodedFrame> frames = media::probe_file(path, &info);
  EXPECT_EQ(info.codec, "vp9");
  ASSERT_FALSE(frames.empty());

  const PacketSizes packets = read_packet_sizes(path);
  expect_bytes_sum_to_packets(frames, packets);

  int64_t shown = 0;
  int64_t hidden = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    const CodedFrame& f = frames[i];
    EXPECT_EQ(f.decode_index, static_cast<int64_t>(i));
    if (f.shown) {
      EXPECT_EQ(f.display_index, shown) << "frame " << i;
      ++shown;
    } else {
      ++hidden;
      EXPECT_EQ(f.cls, FrameClass::altref);
      // A hidden alt-ref is followed, in the same packet, by the shown frame whose index it carries.
      ASSERT_LT(i + 1, frames.size());
      EXPECT_EQ(frames[i + 1].packet_index, f.packet_index);
      EXPECT_TRUE(frames[i + 1].shown);
      EXPECT_EQ(frames[i + 1].display_index, f.display_index);
      EXPECT_EQ(f.super_index + 1, frames[i + 1].super_index);
    }
    EXPECT_GE(f.base_q_index, 0);
    EXPECT_LE(f.base_q_index, 255);
  }
  EXPECT_GT(hidden, 0) << "the streamer preset should code hidden alt-ref frames";
  EXPECT_EQ(shown, kFrames);
  EXPECT_EQ(shown, decoded_frame_count(path));
  EXPECT_EQ(frames.front().cls, FrameClass::key);
  EXPECT_EQ(frames.front().refresh_flags, 0xff);
}

TEST_F(ProbeStreams, StreamingProbeMatchesProbeFile) {
  const std::string path = file("vp9.webm");
  const std::vector<CodedFrame> whole = media::probe_file(path);
  media::Demuxer demuxer(path);
  media::BitstreamProbe probe(demuxer.info());
  std::vector<CodedFrame> streamed;
  while (auto p = demuxer.read()) probe.probe(*p, streamed);
  ASSERT_EQ(whole.size(), streamed.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(whole[i].bytes, streamed[i].bytes);
    EXPECT_EQ(whole[i].display_index, streamed[i].display_index);
    EXPECT_EQ(whole[i].cls, streamed[i].cls);
  }
}

void check_h264(const std::string& path, int frames_expected, int gop) {
  media::StreamInfo info;
  const std::vector<CodedFrame> frames = media::probe_file(path, &info);
  EXPECT_EQ(info.codec, "h264");
  ASSERT_EQ(static_cast<int>(frames.size()), frames_expected);
  expect_bytes_sum_to_packets(frames, read_packet_sizes(path));
  for (const auto& f : frames) {
    const bool at_gop = f.display_index % gop == 0;
    EXPECT_EQ(f.cls == FrameClass::key, at_gop) << "display " << f.display_index;
    EXPECT_EQ(f.slice_type, at_gop ? 'I' : 'P') << "display " << f.display_index;  // zerolatency: no B
    EXPECT_TRUE(f.shown);
    EXPECT_GE(f.base_q_index, 0);
    EXPECT_LE(f.base_q_index, 51);
  }
  EXPECT_EQ(static_cast<int64_t>(frames.size()), decoded_frame_count(path));
}

TEST_F(ProbeStreams, H264Mp4KeyFramesAtGopMultiplesAndBytesSum) { check_h264(file("h264.mp4"), kFrames, kGop); }

TEST_F(ProbeStreams, H264AnnexBKeyFramesAtGopMultiplesAndBytesSum) { check_h264(file("h264.h264"), kFrames, kGop); }

TEST_F(ProbeStreams, H264BFrameDisplayOrderFromPocMatchesPtsOrder) {
  const auto mp4 = media::probe_file(file("bframes.mp4"));
  const auto raw = media::probe_file(file("bframes.h264"));
  ASSERT_EQ(mp4.size(), static_cast<size_t>(kFrames));
  ASSERT_EQ(raw.size(), mp4.size());
  int b_frames = 0;
  int reordered = 0;
  std::vector<int> seen(mp4.size(), 0);
  for (size_t i = 0; i < mp4.size(); ++i) {
    EXPECT_NE(mp4[i].pts, INT64_MIN);
    EXPECT_EQ(raw[i].pts, INT64_MIN);  // raw H.264: the order must come from the POC
    EXPECT_EQ(raw[i].slice_type, mp4[i].slice_type);
    EXPECT_EQ(raw[i].display_index, mp4[i].display_index) << "decode " << i;
    b_frames += mp4[i].slice_type == 'B';
    reordered += mp4[i].display_index != static_cast<int64_t>(i);
    ASSERT_GE(mp4[i].display_index, 0);
    ASSERT_LT(mp4[i].display_index, kFrames);
    ++seen[static_cast<size_t>(mp4[i].display_index)];
  }
  EXPECT_GT(b_frames, 0);
  EXPECT_GT(reordered, 0);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kFrames);  // a permutation of 0..N-1
}

TEST_F(ProbeStreams, CliJsonHasTheRightCounts) {
  const test::CliResult r = test::run_cli({"probe", file("vp9.webm"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json doc = nlohmann::json::parse(r.out);
  const auto frames = media::probe_file(file("vp9.webm"));
  EXPECT_EQ(doc["stream"]["codec"], "vp9");
  EXPECT_EQ(doc["stream"]["width"], kWidth);
  EXPECT_EQ(doc["stream"]["height"], kHeight);
  EXPECT_EQ(doc["stream"]["packets"], read_packet_sizes(file("vp9.webm")).count);
  EXPECT_EQ(doc["stream"]["frames"], frames.size());
  ASSERT_EQ(doc["frames"].size(), frames.size());
  int hidden = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto& j = doc["frames"][i];
    EXPECT_EQ(j["bytes"], frames[i].bytes);
    EXPECT_EQ(j["class"], media::frame_class_name(frames[i].cls));
    EXPECT_EQ(j["display"], frames[i].display_index);
    hidden += j["shown"] ? 0 : 1;
  }
  EXPECT_GT(hidden, 0);
  EXPECT_NE(r.err.find("hidden"), std::string::npos) << r.err;
}

TEST_F(ProbeStreams, CliTableHasAHeaderAndOneRowPerFrame) {
  const test::CliResult r = test::run_cli({"probe", file("h264.mp4")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("decode\tpacket\tsuper\tdisplay\tpts\tshown\tclass\tbytes\tq\n", 0), 0u) << r.out.substr(0, 80);
  int lines = 0;
  for (char c : r.out) lines += c == '\n';
  EXPECT_EQ(lines, kFrames + 1);
  EXPECT_NE(r.out.find("\tkey\t"), std::string::npos);
}

// Damaged packets (seeded byte flips and cuts of real packets) must either probe or throw ns::Error
// corrupt; never crash or read out of bounds (the sanitizer build checks the latter).
void fuzz_packets(const std::string& path, uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  media::Demuxer demuxer(path);
  std::vector<media::Packet> packets;
  while (auto p = demuxer.read()) packets.push_back(std::move(*p));
  ASSERT_FALSE(packets.empty());
  uint32_t state = seed;
  auto next = [&state]() {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  int failures = 0;
  int successes = 0;
  media::BitstreamProbe probe(demuxer.info());
  std::vector<CodedFrame> frames;
  for (int round = 0; round < 1500; ++round) {
    media::Packet p = packets[next() % packets.size()];
    const uint32_t what = next() % 3;
    if (what == 0) {
      for (int k = 0; k < 3; ++k) p.data[next() % p.data.size()] ^= static_cast<uint8_t>(1u << (next() % 8));
    } else if (what == 1) {
      p.data.resize(next() % p.data.size());
    } else {
      const size_t at = p.data.size() - 1 - next() % std::min<size_t>(p.data.size(), 12);  // near the index
      p.data[at] = static_cast<uint8_t>(next());
    }
    try {
      probe.probe(p, frames);
      ++successes;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      ++failures;
    }
  }
  EXPECT_GT(failures, 0);
  EXPECT_GT(successes, 0);
}

TEST_F(ProbeStreams, DamagedVp9PacketsProbeOrFailCleanly) { fuzz_packets(file("vp9.webm"), 12345); }
TEST_F(ProbeStreams, DamagedH264PacketsProbeOrFailCleanly) { fuzz_packets(file("bframes.mp4"), 777); }

TEST(ProbeCli, MissingFileExitsWithOneLineNamingTheFile) {
  test::TempDir dir;
  const std::string missing = dir.file("no_such_stream.webm");
  const test::CliResult r = test::run_cli({"probe", missing});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

}  // namespace
}  // namespace ns
