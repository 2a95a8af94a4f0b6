// H.264 NAL splitting and the parameter set / slice header fields the probe needs (ITU-T H.264
// §7.3.2.1.1 SPS, §7.3.2.2 PPS, §7.3.3 slice header with §7.3.3.1 ref_pic_list_modification,
// §7.3.3.2 pred_weight_table and §7.3.3.3 dec_ref_pic_marking).
#include <fmt/format.h>

#include <algorithm>

#include "ns/media/bit_reader_impl.h"
#include "ns/media/probe_h264_impl.h"

namespace ns::media::h264 {

namespace {

bool fail(std::string& error, std::string message) {
  error = std::move(message);
  return false;
}

// Index of the byte after the next 00 00 01 at or after `from`, or `size` if there is none.
size_t find_start_code(const uint8_t* data, size_t size, size_t from) {
  size_t i = from;
  while (i + 2 < size) {
    if (data[i + 2] > 1) {
      i += 3;  // no start code can end at i + 2 or before
    } else if (data[i + 2] == 1 && data[i + 1] == 0 && data[i] == 0) {
      return i + 3;
    } else {
      ++i;
    }
  }
  return size;
}

bool skip_scaling_list(BitReader& r, int count, std::string& error) {
  int last_scale = 8;
  int next_scale = 8;
  for (int j = 0; j < count; ++j) {
    if (next_scale != 0) {
      const int32_t delta_scale = r.se();
      if (delta_scale < -128 || delta_scale > 127)
        return fail(error, fmt::format("SPS scaling list delta_scale {} out of range -128..127", delta_scale));
      next_scale = (last_scale + delta_scale + 256) % 256;
    }
    last_scale = next_scale == 0 ? last_scale : next_scale;
    if (r.overrun()) return true;  // the caller reports the truncated SPS
  }
  return true;
}

}  // namespace

void split_annexb(const uint8_t* data, size_t size, std::vector<NalUnit>& out) {
  out.clear();
  size_t start = find_start_code(data, size, 0);
  while (start < size) {
    const size_t next = find_start_code(data, size, start);
    size_t end = next == size ? size : next - 3;
    // Zero bytes before the next start code (4-byte start code, trailing_zero_8bits) are not NAL data.
    while (end > start && data[end - 1] == 0) --end;
    if (end > start) out.push_back({data + start, end - start});
    start = next;
  }
}

bool split_length_prefixed(const uint8_t* data, size_t size, int length_size, std::vector<NalUnit>& out,
                           std::string& error) {
  out.clear();
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < static_cast<size_t>(length_size))
      return fail(error, fmt::format("truncated NAL unit length at byte {} ({} bytes left, length field is {})", pos,
                                     size - pos, length_size));
    size_t length = 0;
    for (int i = 0; i < length_size; ++i) length = (length << 8) | data[pos + static_cast<size_t>(i)];
    pos += static_cast<size_t>(length_size);
    if (length > size - pos)
      return fail(error, fmt::format("NAL unit at byte {} claims {} bytes, only {} left in the packet",
                                     pos - static_cast<size_t>(length_size), length, size - pos));
    if (length > 0) out.push_back({data + pos, length});
    pos += length;
  }
  return true;
}

bool is_avcc(const uint8_t* data, size_t size) { return size >= 7 && data[0] == 1; }

bool parse_avcc(const uint8_t* data, size_t size, AvcConfig& out, std::string& error) {
  out = AvcConfig{};
  if (!is_avcc(data, size)) return fail(error, fmt::format("bad avcC extradata ({} bytes)", size));
  out.length_size = (data[4] & 0x3) + 1;
  if (out.length_size == 3) return fail(error, "bad avcC extradata (NAL length size 3)");
  size_t pos = 5;
  for (int kind = 0; kind < 2; ++kind) {  // SPS list, then PPS list
    if (pos >= size) return fail(error, "truncated avcC extradata");
    const int count = kind == 0 ? (data[pos] & 0x1f) : data[pos];
    ++pos;
    for (int i = 0; i < count; ++i) {
      if (size - pos < 2) return fail(error, "truncated avcC extradata");
      const size_t length = (static_cast<size_t>(data[pos]) << 8) | data[pos + 1];
      pos += 2;
      if (length > size - pos) return fail(error, "truncated avcC extradata (parameter set runs past the end)");
      if (length > 0) out.parameter_sets.push_back({data + pos, length});
      pos += length;
    }
  }
  return true;  // bytes after the PPS list (high profile chroma/bit depth fields) are not needed
}

void unescape_rbsp(const uint8_t* payload, size_t size, size_t max_bytes, std::vector<uint8_t>& out) {
  out.clear();
  const size_t n = size < max_bytes ? size : max_bytes;
  out.reserve(n);
  int zeros = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = payload[i];
    if (zeros >= 2 && b == 3) {
      zeros = 0;  // emulation_prevention_three_byte
      continue;
    }
    out.push_back(b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
}

bool parse_sps(const uint8_t* rbsp, size_t size, ParamSets& sets, std::string& error) {
  BitReader r(rbsp, size);
  Sps s;
  s.profile_idc = static_cast<int>(r.bits(8));
  r.bits(8);  // constraint_set flags, reserved_zero_2bits
  r.bits(8);  // level_idc
  const uint32_t id = r.ue();
  if (r.overrun()) return fail(error, "truncated SPS");
  if (id > 31) return fail(error, fmt::format("SPS id {} out of range 0..31", id));
  switch (s.profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138: case 139:
    case 134: case 135: {
      s.chroma_format_idc = static_cast<int>(r.ue());
      if (s.chroma_format_idc > 3) return fail(error, fmt::format("SPS chroma_format_idc {} > 3", s.chroma_format_idc));
      if (s.chroma_format_idc == 3) s.separate_colour_plane = r.bit();
      const uint32_t bit_depth_luma_minus8 = r.ue();
      if (bit_depth_luma_minus8 > 6) return fail(error, "SPS bit_depth_luma_minus8 > 6");
      s.bit_depth_luma = static_cast<int>(bit_depth_luma_minus8) + 8;
      r.ue();   // bit_depth_chroma_minus8
      r.bit();  // qpprime_y_zero_transform_bypass_flag
      if (r.bit()) {  // seq_scaling_matrix_present_flag
        const int lists = s.chroma_format_idc != 3 ? 8 : 12;
        for (int i = 0; i < lists; ++i)
          if (r.bit() && !skip_scaling_list(r, i < 6 ? 16 : 64, error)) return false;
      }
      break;
    }
    default:
      break;
  }
  const uint32_t log2_max_frame_num_minus4 = r.ue();
  if (log2_max_frame_num_minus4 > 12) return fail(error, "SPS log2_max_frame_num_minus4 > 12");
  s.log2_max_frame_num = static_cast<int>(log2_max_frame_num_minus4) + 4;
  const uint32_t poc_type = r.ue();
  if (poc_type > 2) return fail(error, fmt::format("SPS pic_order_cnt_type {} > 2", poc_type));
  s.pic_order_cnt_type = static_cast<int>(poc_type);
  if (poc_type == 0) {
    const uint32_t v = r.ue();
    if (v > 12) return fail(error, "SPS log2_max_pic_order_cnt_lsb_minus4 > 12");
    s.log2_max_pic_order_cnt_lsb = static_cast<int>(v) + 4;
  } else if (poc_type == 1) {
    s.delta_pic_order_always_zero = r.bit();
    s.offset_for_non_ref_pic = r.se();
    s.offset_for_top_to_bottom_field = r.se();
    const uint32_t cycle = r.ue();
    if (cycle > 255) return fail(error, "SPS num_ref_frames_in_pic_order_cnt_cycle > 255");
    s.offset_for_ref_frame.resize(cycle);
    for (uint32_t i = 0; i < cycle; ++i) s.offset_for_ref_frame[i] = r.se();
  }
  r.ue();   // max_num_ref_frames
  r.bit();  // gaps_in_frame_num_value_allowed_flag
  const uint32_t width_mbs_minus1 = r.ue();
  const uint32_t height_map_units_minus1 = r.ue();
  s.frame_mbs_only = r.bit();
  if (r.overrun() || r.invalid()) return fail(error, "truncated SPS");
  // A damaged SPS can say up to 2^32 - 2 here, which overflowed int (found by fuzz/probe_fuzz.cpp). Level 6.2 allows
  // 139,264 macroblocks, so at most 1,055 across; 4,096 (65,536 pixels) is beyond any level.
  constexpr uint32_t kMaxMbsAcross = 4096;
  if (width_mbs_minus1 >= kMaxMbsAcross || height_map_units_minus1 >= kMaxMbsAcross) {
    return fail(error, fmt::format("SPS picture size {} x {} macroblocks is beyond any level", width_mbs_minus1 + 1ull,
                                   height_map_units_minus1 + 1ull));
  }
  s.width_mbs = static_cast<int>(width_mbs_minus1) + 1;
  s.height_map_units = static_cast<int>(height_map_units_minus1) + 1;
  s.valid = true;
  sets.sps[id] = s;
  return true;
}

bool parse_pps(const uint8_t* rbsp, size_t size, ParamSets& sets, std::string& error) {
  BitReader r(rbsp, size);
  Pps p;
  const uint32_t id = r.ue();
  const uint32_t sps_id = r.ue();
  if (r.overrun()) return fail(error, "truncated PPS");
  if (id > 255) return fail(error, fmt::format("PPS id {} out of range 0..255", id));
  if (sps_id > 31) return fail(error, fmt::format("PPS refers to SPS id {} out of range 0..31", sps_id));
  p.sps_id = static_cast<int>(sps_id);
  p.entropy_coding_mode = r.bit();
  p.bottom_field_pic_order_in_frame_present = r.bit();
  const uint32_t num_slice_groups_minus1 = r.ue();
  if (num_slice_groups_minus1 > 7) return fail(error, "PPS num_slice_groups_minus1 > 7");
  if (num_slice_groups_minus1 > 0) {
    const uint32_t map_type = r.ue();
    if (map_type == 0) {
      for (uint32_t i = 0; i <= num_slice_groups_minus1; ++i) r.ue();  // run_length_minus1
    } else if (map_type == 2) {
      for (uint32_t i = 0; i < num_slice_groups_minus1; ++i) {
        r.ue();  // top_left
        r.ue();  // bottom_right
      }
    } else if (map_type >= 3 && map_type <= 5) {
      r.bit();  // slice_group_change_direction_flag
      r.ue();   // slice_group_change_rate_minus1
    } else if (map_type == 6) {
      const uint32_t units = r.ue() + 1;  // pic_size_in_map_units_minus1 + 1
      int bits = 0;
      while ((1u << bits) < num_slice_groups_minus1 + 1) ++bits;
      if (units > (1u << 20)) return fail(error, "PPS pic_size_in_map_units too large");
      r.skip(static_cast<size_t>(units) * static_cast<size_t>(bits));
    } else if (map_type > 6) {
      return fail(error, fmt::format("PPS slice_group_map_type {} > 6", map_type));
    }
  }
  const uint32_t l0 = r.ue();
  const uint32_t l1 = r.ue();
  if (l0 > 31 || l1 > 31) return fail(error, "PPS num_ref_idx_default_active_minus1 > 31");
  p.num_ref_idx_l0_default = static_cast<int>(l0) + 1;
  p.num_ref_idx_l1_default = static_cast<int>(l1) + 1;
  p.weighted_pred = r.bit();
  p.weighted_bipred_idc = static_cast<int>(r.bits(2));
  p.pic_init_qp_minus26 = r.se();
  r.se();   // pic_init_qs_minus26
  r.se();   // chroma_qp_index_offset
  r.bit();  // deblocking_filter_control_present_flag
  r.bit();  // constrained_intra_pred_flag
  p.redundant_pic_cnt_present = r.bit();
  if (r.overrun() || r.invalid()) return fail(error, "truncated PPS");
  if (p.pic_init_qp_minus26 < -26 || p.pic_init_qp_minus26 > 25)
    return fail(error, fmt::format("PPS pic_init_qp_minus26 {} out of range", p.pic_init_qp_minus26));
  p.valid = true;
  sets.pps[id] = p;
  return true;
}

char slice_type_char(int slice_type) {
  switch (slice_type % 5) {
    case 0: case 3: return 'P';
    case 1: return 'B';
    default: return 'I';
  }
}

bool parse_slice_header(const uint8_t* rbsp, size_t size, int nal_unit_type, int nal_ref_idc,
                        const ParamSets& sets, SliceHeader& out, std::string& error) {
  out = SliceHeader{};
  out.nal_unit_type = nal_unit_type;
  out.nal_ref_idc = nal_ref_idc;
  BitReader r(rbsp, size);
  out.first_mb_in_slice = r.ue();
  const uint32_t raw_type = r.ue();
  const uint32_t pps_id = r.ue();
  if (r.overrun() || r.invalid()) return fail(error, "truncated slice header");
  if (raw_type > 9) return fail(error, fmt::format("slice_type {} > 9", raw_type));
  if (pps_id > 255) return fail(error, fmt::format("slice refers to PPS id {} out of range 0..255", pps_id));
  out.slice_type = static_cast<int>(raw_type % 5);
  out.pps_id = static_cast<int>(pps_id);
  const Pps& pps = sets.pps[pps_id];
  if (!pps.valid || !sets.sps[pps.sps_id].valid) return true;  // QP unknown without the parameter sets
  const Sps& sps = sets.sps[pps.sps_id];

  const bool idr = nal_unit_type == kNalIdr;
  const int type = out.slice_type;
  const bool is_p = type == 0 || type == 3;
  const bool is_b = type == 1;
  const bool is_i = type == 2 || type == 4;
  if (idr && !is_i) return fail(error, fmt::format("IDR slice of type {}", slice_type_char(type)));

  out.sps_id = pps.sps_id;
  if (sps.separate_colour_plane) r.bits(2);  // colour_plane_id
  out.frame_num = r.bits(sps.log2_max_frame_num);
  bool field_pic = false;
  if (!sps.frame_mbs_only) {
    field_pic = r.bit();
    if (field_pic) out.bottom_field = r.bit();
  }
  out.field_pic = field_pic;
  if (idr) r.ue();  // idr_pic_id
  if (sps.pic_order_cnt_type == 0) {
    out.pic_order_cnt_lsb = r.bits(sps.log2_max_pic_order_cnt_lsb);
    if (pps.bottom_field_pic_order_in_frame_present && !field_pic) out.delta_pic_order_cnt_bottom = r.se();
  }
  if (sps.pic_order_cnt_type == 1 && !sps.delta_pic_order_always_zero) {
    out.delta_pic_order_cnt[0] = r.se();
    if (pps.bottom_field_pic_order_in_frame_present && !field_pic) out.delta_pic_order_cnt[1] = r.se();
  }
  if (pps.redundant_pic_cnt_present) r.ue();  // redundant_pic_cnt
  if (is_b) r.bit();                          // direct_spatial_mv_pred_flag
  uint32_t num_l0 = static_cast<uint32_t>(pps.num_ref_idx_l0_default);
  uint32_t num_l1 = static_cast<uint32_t>(pps.num_ref_idx_l1_default);
  if (is_p || is_b) {
    if (r.bit()) {  // num_ref_idx_active_override_flag
      num_l0 = r.ue() + 1;
      if (is_b) num_l1 = r.ue() + 1;
    }
  }
  const uint32_t max_refs = field_pic ? 32 : 16;
  if (num_l0 > max_refs || num_l1 > max_refs) return fail(error, "slice num_ref_idx_active out of range");
  if (r.overrun() || r.invalid()) return fail(error, "truncated slice header");

  // ref_pic_list_modification (MVC extension NAL types 20/21 never reach here)
  auto modification = [&]() -> bool {
    if (!r.bit()) return true;  // ref_pic_list_modification_flag_lX
    for (int n = 0; n < 100; ++n) {
      const uint32_t idc = r.ue();
      if (r.overrun() || r.invalid()) return false;
      if (idc == 3) return true;
      if (idc > 5) return false;
      r.ue();  // abs_diff_pic_num_minus1 or long_term_pic_num (or abs_diff_view_idx_minus1)
    }
    return false;
  };
  if (!is_i) {
    if (!modification()) return fail(error, "bad ref_pic_list_modification in slice header");
    if (is_b && !modification()) return fail(error, "bad ref_pic_list_modification in slice header");
  }

  // pred_weight_table
  if ((pps.weighted_pred && is_p) || (pps.weighted_bipred_idc == 1 && is_b)) {
    r.ue();  // luma_log2_weight_denom
    const bool chroma = sps.chroma_array_type() != 0;
    if (chroma) r.ue();  // chroma_log2_weight_denom
    for (int list = 0; list < (is_b ? 2 : 1); ++list) {
      const uint32_t count = list == 0 ? num_l0 : num_l1;
      for (uint32_t i = 0; i < count; ++i) {
        if (r.bit()) {  // luma_weight_lX_flag
          r.se();
          r.se();
        }
        if (chroma && r.bit()) {  // chroma_weight_lX_flag
          for (int j = 0; j < 2; ++j) {
            r.se();
            r.se();
          }
        }
      }
    }
  }

  // dec_ref_pic_marking
  if (nal_ref_idc != 0) {
    if (idr) {
      r.bit();  // no_output_of_prior_pics_flag
      r.bit();  // long_term_reference_flag
    } else if (r.bit()) {  // adaptive_ref_pic_marking_mode_flag
      bool done = false;
      for (int n = 0; n < 100 && !done; ++n) {
        const uint32_t mmco = r.ue();
        if (r.overrun() || r.invalid() || mmco > 6) return fail(error, "bad dec_ref_pic_marking in slice header");
        if (mmco == 0) done = true;
        if (mmco == 5) out.mmco5 = true;
        if (mmco == 1 || mmco == 3) r.ue();  // difference_of_pic_nums_minus1
        if (mmco == 2) r.ue();               // long_term_pic_num
        if (mmco == 3 || mmco == 6) r.ue();  // long_term_frame_idx
        if (mmco == 4) r.ue();               // max_long_term_frame_idx_plus1
      }
      if (!done) return fail(error, "bad dec_ref_pic_marking in slice header (no end)");
    }
  }
  if (pps.entropy_coding_mode && !is_i) {
    if (r.ue() > 2) return fail(error, "slice cabac_init_idc > 2");
  }
  const int32_t qp_delta = r.se();
  if (r.overrun() || r.invalid()) return fail(error, "truncated slice header");
  const int qp = 26 + pps.pic_init_qp_minus26 + qp_delta;
  if (qp < -6 * (sps.bit_depth_luma - 8) || qp > 51) return fail(error, fmt::format("slice QP {} out of range", qp));
  out.qp = qp;
  return true;
}

int64_t PocCounter::next(const SliceHeader& s, const Sps& sps) {
  const bool idr = s.nal_unit_type == kNalIdr;
  const bool reference = s.nal_ref_idc != 0;
  int64_t top = 0;
  int64_t bottom = 0;
  if (sps.pic_order_cnt_type == 0) {
    if (idr) {
      prev_msb_ = 0;
      prev_lsb_ = 0;
    }
    const int64_t max_lsb = int64_t{1} << sps.log2_max_pic_order_cnt_lsb;
    const int64_t lsb = s.pic_order_cnt_lsb;
    int64_t msb = prev_msb_;
    if (lsb < prev_lsb_ && prev_lsb_ - lsb >= max_lsb / 2) {
      msb = prev_msb_ + max_lsb;
    } else if (lsb > prev_lsb_ && lsb - prev_lsb_ > max_lsb / 2) {
      msb = prev_msb_ - max_lsb;
    }
    top = msb + lsb;
    bottom = s.field_pic ? msb + lsb : top + s.delta_pic_order_cnt_bottom;
    if (reference) {
      prev_msb_ = msb;
      prev_lsb_ = lsb;
    }
  } else {
    const int64_t max_frame_num = int64_t{1} << sps.log2_max_frame_num;
    int64_t frame_num_offset = 0;
    if (!idr) frame_num_offset = prev_frame_num_offset_ + (prev_frame_num_ > s.frame_num ? max_frame_num : 0);
    if (sps.pic_order_cnt_type == 1) {
      const auto& cycle = sps.offset_for_ref_frame;
      int64_t abs_frame_num = cycle.empty() ? 0 : frame_num_offset + s.frame_num;
      if (!reference && abs_frame_num > 0) --abs_frame_num;
      int64_t expected = 0;
      if (abs_frame_num > 0) {
        int64_t per_cycle = 0;
        for (int v : cycle) per_cycle += v;
        const int64_t n = static_cast<int64_t>(cycle.size());
        expected = (abs_frame_num - 1) / n * per_cycle;
        for (int64_t i = 0; i <= (abs_frame_num - 1) % n; ++i) expected += cycle[static_cast<size_t>(i)];
      }
      if (!reference) expected += sps.offset_for_non_ref_pic;
      if (!s.field_pic) {
        top = expected + s.delta_pic_order_cnt[0];
        bottom = top + sps.offset_for_top_to_bottom_field + s.delta_pic_order_cnt[1];
      } else {
        top = expected + s.delta_pic_order_cnt[0];
        bottom = expected + sps.offset_for_top_to_bottom_field + s.delta_pic_order_cnt[0];
      }
    } else {
      const int64_t t = idr ? 0 : (2 * (frame_num_offset + s.frame_num) - (reference ? 0 : 1));
      top = t;
      bottom = t;
    }
    prev_frame_num_offset_ = frame_num_offset;
    prev_frame_num_ = s.frame_num;
  }
  int64_t poc = !s.field_pic ? std::min(top, bottom) : (s.bottom_field ? bottom : top);
  if (s.mmco5) {
    // The picture's counts are rebased so that it starts the next period (§8.2.1, after decoding).
    const int64_t temp = poc;
    prev_msb_ = 0;
    prev_lsb_ = s.field_pic && s.bottom_field ? 0 : top - temp;
    prev_frame_num_offset_ = 0;
    prev_frame_num_ = 0;
    poc = 0;
  }
  return poc;
}

}  // namespace ns::media::h264
