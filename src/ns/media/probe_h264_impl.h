// ns/media (internal): H.264 NAL unit splitting (Annex B start codes or AVCC length prefixes, avcC
// extradata), SPS/PPS parsing as far as the slice header needs, and the slice header up to
// slice_qp_delta (so the slice QP is exact). Used by BitstreamProbe only.
// Thread-safety: ParamSets holds one stream's SPS/PPS tables; one per stream.
// Errors: functions return false and describe the defect in `error`; callers turn it into ns::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ns::media::h264 {

enum NalType : int { kNalSlice = 1, kNalIdr = 5, kNalSei = 6, kNalSps = 7, kNalPps = 8, kNalAud = 9 };

struct NalUnit {
  const uint8_t* data = nullptr;  // the NAL unit, header byte first, emulation prevention still in
  size_t size = 0;
};

// Splits an Annex B byte stream at 00 00 01 start codes (zero bytes before a start code belong to it).
// Bytes before the first start code are ignored. Never fails; a packet without start codes has no NALs.
void split_annexb(const uint8_t* data, size_t size, std::vector<NalUnit>& out);

// Splits length-prefixed NAL units (MP4/Matroska "AVCC"), `length_size` = 1, 2 or 4 bytes big-endian.
// Fails on a length that runs past the end of the packet. Zero-length units are skipped.
bool split_length_prefixed(const uint8_t* data, size_t size, int length_size, std::vector<NalUnit>& out,
                           std::string& error);

// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.2.4.1): NAL length size and the SPS/PPS in it.
struct AvcConfig {
  int length_size = 4;
  std::vector<NalUnit> parameter_sets;  // point into the extradata
};
// True when `data` looks like an avcC record (configurationVersion 1) rather than Annex B.
bool is_avcc(const uint8_t* data, size_t size);
bool parse_avcc(const uint8_t* data, size_t size, AvcConfig& out, std::string& error);

// Removes emulation prevention bytes (00 00 03 -> 00 00) from the first `max_bytes` bytes of the
// NAL payload (after the 1-byte header) into `out`.
void unescape_rbsp(const uint8_t* payload, size_t size, size_t max_bytes, std::vector<uint8_t>& out);

struct Sps {
  bool valid = false;
  int profile_idc = 0;
  int chroma_format_idc = 1;
  bool separate_colour_plane = false;
  int bit_depth_luma = 8;
  int log2_max_frame_num = 4;
  int pic_order_cnt_type = 0;
  int log2_max_pic_order_cnt_lsb = 4;
  bool delta_pic_order_always_zero = false;
  int offset_for_non_ref_pic = 0;
  int offset_for_top_to_bottom_field = 0;
  std::vector<int> offset_for_ref_frame;  // pic_order_cnt_type 1 cycle
  bool frame_mbs_only = true;
  int width_mbs = 0;
  int height_map_units = 0;
  int chroma_array_type() const { return separate_colour_plane ? 0 : chroma_format_idc; }
};

struct Pps {
  bool valid = false;
  int sps_id = 0;
  bool entropy_coding_mode = false;
  bool bottom_field_pic_order_in_frame_present = false;
  int num_ref_idx_l0_default = 1;
  int num_ref_idx_l1_default = 1;
  bool weighted_pred = false;
  int weighted_bipred_idc = 0;
  int pic_init_qp_minus26 = 0;
  bool redundant_pic_cnt_present = false;
};

struct ParamSets {
  Sps sps[32];
  Pps pps[256];
};

// Parse an SPS / PPS RBSP (payload after the NAL header byte, unescaped) into `sets`.
bool parse_sps(const uint8_t* rbsp, size_t size, ParamSets& sets, std::string& error);
bool parse_pps(const uint8_t* rbsp, size_t size, ParamSets& sets, std::string& error);

struct SliceHeader {
  int nal_unit_type = 0;
  int nal_ref_idc = 0;
  uint32_t first_mb_in_slice = 0;
  int slice_type = 0;  // 0..4 (P, B, I, SP, SI), slice_type % 5
  int pps_id = 0;
  int qp = -1;         // 26 + pic_init_qp_minus26 + slice_qp_delta; -1 when the PPS or SPS is unknown
  // Picture order count inputs (valid when qp >= 0).
  int sps_id = 0;
  uint32_t frame_num = 0;
  bool field_pic = false;
  bool bottom_field = false;
  uint32_t pic_order_cnt_lsb = 0;
  int32_t delta_pic_order_cnt_bottom = 0;
  int32_t delta_pic_order_cnt[2] = {0, 0};
  bool mmco5 = false;  // memory_management_control_operation 5: POC and frame_num restart after it
};

// Picture order count (H.264 §8.2.1, types 0, 1 and 2) of consecutive pictures of one stream, from
// the first slice header of each. Returns the picture's PicOrderCnt (of the field for a field
// picture); after an IDR or an MMCO 5 picture the count restarts, which the caller tracks.
class PocCounter {
 public:
  int64_t next(const SliceHeader& slice, const Sps& sps);

 private:
  int64_t prev_msb_ = 0;
  int64_t prev_lsb_ = 0;
  int64_t prev_frame_num_offset_ = 0;
  int64_t prev_frame_num_ = 0;
};

// 'P', 'B' or 'I' for slice_type % 5 (SP counts as P, SI as I).
char slice_type_char(int slice_type);

// Parses the slice header of a slice RBSP (payload after the NAL header byte, unescaped). Fails when
// the first three fields are unreadable or out of range; reads on to slice_qp_delta when the PPS and
// SPS are known (else qp stays -1), and fails if the header is truncated there.
bool parse_slice_header(const uint8_t* rbsp, size_t size, int nal_unit_type, int nal_ref_idc,
                        const ParamSets& sets, SliceHeader& out, std::string& error);

}  // namespace ns::media::h264
