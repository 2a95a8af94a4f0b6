// VP9 superframe split (spec Annex B) and uncompressed header (spec §6.2), field by field.
#include <fmt/format.h>

#include "ns/media/bit_reader_impl.h"
#include "ns/media/probe_vp9_impl.h"

namespace ns::media::vp9 {

bool split_superframe(const uint8_t* data, size_t size, Superframe& out, std::string& error) {
  out = Superframe{};
  if (size == 0) {
    error = "empty packet (0 bytes)";
    return false;
  }
  out.frame_sizes[0] = static_cast<uint32_t>(size);
  const uint8_t marker = data[size - 1];
  if ((marker & 0xe0) != 0xc0) return true;  // no index: one frame

  const int frames = (marker & 0x7) + 1;
  const int size_bytes = ((marker >> 3) & 0x3) + 1;
  const size_t index_bytes = 2 + static_cast<size_t>(size_bytes) * static_cast<size_t>(frames);
  // Like libvpx: only an index that opens with the same marker byte is an index.
  if (size < index_bytes || data[size - index_bytes] != marker) return true;

  const uint8_t* p = data + size - index_bytes + 1;
  const size_t payload = size - index_bytes;
  size_t used = 0;
  for (int i = 0; i < frames; ++i) {
    uint32_t frame_size = 0;
    for (int b = 0; b < size_bytes; ++b) frame_size |= static_cast<uint32_t>(*p++) << (8 * b);
    if (frame_size == 0) {
      error = fmt::format("bad superframe index (frame {} of {} has size 0)", i + 1, frames);
      return false;
    }
    if (frame_size > payload - used) {
      error = fmt::format("bad superframe index (frame {} of {} is {} bytes, only {} left before the index)",
                          i + 1, frames, frame_size, payload - used);
      return false;
    }
    out.frame_sizes[i] = frame_size;
    used += frame_size;
  }
  out.frame_count = frames;
  out.index_bytes = static_cast<uint32_t>(index_bytes);
  out.trailing_bytes = static_cast<uint32_t>(payload - used);
  return true;
}

namespace {

constexpr int kKeyFrame = 0;
constexpr int kColorSpaceRgb = 7;
constexpr int kMinTileWidthB64 = 4;
constexpr int kMaxTileWidthB64 = 64;

bool fail(std::string& error, std::string message) {
  error = std::move(message);
  return false;
}

bool read_sync_code(BitReader& r) {
  return r.bits(8) == 0x49 && r.bits(8) == 0x83 && r.bits(8) == 0x42;
}

}  // namespace

bool HeaderParser::parse(const uint8_t* data, size_t size, FrameHeader& h, std::string& error) {
  h = FrameHeader{};
  BitReader r(data, size);
  auto truncated = [&](const char* where) {
    return fail(error, fmt::format("truncated frame header (ends inside {}, frame is {} bytes)", where, size));
  };

  const uint32_t frame_marker = r.bits(2);
  if (r.overrun()) return truncated("frame_marker");
  if (frame_marker != 2) return fail(error, fmt::format("not a VP9 frame (frame marker {} instead of 2)", frame_marker));
  const int profile_low = static_cast<int>(r.bits(1));
  const int profile_high = static_cast<int>(r.bits(1));
  h.profile = (profile_high << 1) | profile_low;
  if (h.profile == 3 && r.bit()) return fail(error, "reserved bit after profile 3 is set");
  h.show_existing_frame = r.bit();
  if (h.show_existing_frame) {
    h.frame_to_show_map_idx = static_cast<int>(r.bits(3));
    if (r.overrun()) return truncated("show_existing_frame");
    h.show_frame = true;
    h.uncompressed_header_bytes = static_cast<uint32_t>(r.position_bytes_rounded_up());
    h.compressed_header_bytes = 0;
    h.width = ref_width_[h.frame_to_show_map_idx];
    h.height = ref_height_[h.frame_to_show_map_idx];
    return true;
  }
  h.key_frame = r.bits(1) == kKeyFrame;
  h.show_frame = r.bit();
  h.error_resilient_mode = r.bit();

  auto color_config = [&]() -> bool {
    if (h.profile >= 2) {
      h.bit_depth = r.bit() ? 12 : 10;
    } else {
      h.bit_depth = 8;
    }
    h.color_space = static_cast<int>(r.bits(3));
    if (h.color_space != kColorSpaceRgb) {
      h.color_range = r.bit();
      if (h.profile == 1 || h.profile == 3) {
        h.subsampling_x = r.bit();
        h.subsampling_y = r.bit();
        if (r.bit()) return fail(error, "reserved bit in color_config is set");
        if (h.subsampling_x == 1 && h.subsampling_y == 1)
          return fail(error, fmt::format("4:2:0 subsampling is not allowed in profile {}", h.profile));
      } else {
        h.subsampling_x = 1;
        h.subsampling_y = 1;
      }
    } else {
      h.color_range = true;
      if (h.profile == 1 || h.profile == 3) {
        h.subsampling_x = 0;
        h.subsampling_y = 0;
        if (r.bit()) return fail(error, "reserved bit in color_config is set");
      } else {
        return fail(error, fmt::format("RGB color space is not allowed in profile {}", h.profile));
      }
    }
    return true;
  };
  auto frame_size = [&]() {
    h.width = static_cast<int>(r.bits(16)) + 1;
    h.height = static_cast<int>(r.bits(16)) + 1;
  };
  auto render_size = [&]() {
    if (r.bit()) {
      h.render_width = static_cast<int>(r.bits(16)) + 1;
      h.render_height = static_cast<int>(r.bits(16)) + 1;
    } else {
      h.render_width = h.width;
      h.render_height = h.height;
    }
  };

  if (h.key_frame) {
    if (!read_sync_code(r)) return r.overrun() ? truncated("frame_sync_code") : fail(error, "wrong key frame sync code");
    if (!color_config()) return false;
    frame_size();
    render_size();
    h.refresh_frame_flags = 0xff;
  } else {
    h.intra_only = h.show_frame ? false : r.bit();
    h.reset_frame_context = h.error_resilient_mode ? 0 : static_cast<int>(r.bits(2));
    if (h.intra_only) {
      if (!read_sync_code(r))
        return r.overrun() ? truncated("frame_sync_code") : fail(error, "wrong intra-only frame sync code");
      if (h.profile > 0) {
        if (!color_config()) return false;
      } else {
        h.bit_depth = 8;
        h.color_space = 1;  // CS_BT_601
        h.color_range = false;
        h.subsampling_x = 1;
        h.subsampling_y = 1;
      }
      h.refresh_frame_flags = static_cast<uint8_t>(r.bits(8));
      frame_size();
      render_size();
    } else {
      h.bit_depth = bit_depth_;
      h.color_space = color_space_;
      h.color_range = color_range_;
      h.subsampling_x = subsampling_x_;
      h.subsampling_y = subsampling_y_;
      h.refresh_frame_flags = static_cast<uint8_t>(r.bits(8));
      for (int i = 0; i < 3; ++i) {
        h.ref_frame_idx[i] = static_cast<int>(r.bits(3));
        h.ref_frame_sign_bias[i] = r.bit();
      }
      // frame_size_with_refs
      bool found_ref = false;
      for (int i = 0; i < 3 && !found_ref; ++i) {
        if (r.bit()) {
          found_ref = true;
          h.size_from_ref = true;
          h.width = ref_width_[h.ref_frame_idx[i]];
          h.height = ref_height_[h.ref_frame_idx[i]];
        }
      }
      if (!found_ref) frame_size();
      render_size();
      h.allow_high_precision_mv = r.bit();
      // read_interpolation_filter: literal_to_type maps the 2-bit code to EIGHTTAP_SMOOTH, EIGHTTAP,
      // EIGHTTAP_SHARP, BILINEAR; we keep the coded value (4 = switchable).
      h.interp_filter = r.bit() ? 4 : static_cast<int>(r.bits(2));
    }
  }
  if (r.overrun()) return truncated("frame size");

  if (!h.error_resilient_mode) {
    h.refresh_frame_context = r.bit();
    h.frame_parallel_decoding_mode = r.bit();
  } else {
    h.refresh_frame_context = false;
    h.frame_parallel_decoding_mode = true;
  }
  h.frame_context_idx = static_cast<int>(r.bits(2));
  // setup_past_independence() for intra or error resilient frames changes decoder state only, no bits.

  // loop_filter_params
  h.loop_filter_level = static_cast<int>(r.bits(6));
  h.loop_filter_sharpness = static_cast<int>(r.bits(3));
  h.loop_filter_delta_enabled = r.bit();
  if (h.loop_filter_delta_enabled && r.bit()) {  // loop_filter_delta_update
    for (int i = 0; i < 4; ++i)
      if (r.bit()) r.signed_bits(6);  // update_ref_delta, loop_filter_ref_deltas[i]
    for (int i = 0; i < 2; ++i)
      if (r.bit()) r.signed_bits(6);  // update_mode_delta, loop_filter_mode_deltas[i]
  }

  // quantization_params
  h.base_q_idx = static_cast<int>(r.bits(8));
  auto read_delta_q = [&]() { return r.bit() ? r.signed_bits(4) : 0; };
  h.delta_q_y_dc = read_delta_q();
  h.delta_q_uv_dc = read_delta_q();
  h.delta_q_uv_ac = read_delta_q();
  h.lossless = h.base_q_idx == 0 && h.delta_q_y_dc == 0 && h.delta_q_uv_dc == 0 && h.delta_q_uv_ac == 0;
  if (r.overrun()) return truncated("quantization_params");

  // segmentation_params
  h.segmentation_enabled = r.bit();
  if (h.segmentation_enabled) {
    if (r.bit()) {  // segmentation_update_map
      for (int i = 0; i < 7; ++i)
        if (r.bit()) r.bits(8);  // tree probs
      const bool temporal_update = r.bit();
      if (temporal_update) {
        for (int i = 0; i < 3; ++i)
          if (r.bit()) r.bits(8);  // pred probs
      }
    }
    if (r.bit()) {  // segmentation_update_data
      r.bit();      // segmentation_abs_or_delta_update
      static constexpr int kFeatureBits[4] = {8, 6, 2, 0};
      static constexpr bool kFeatureSigned[4] = {true, true, false, false};
      for (int i = 0; i < 8; ++i) {
        for (int j = 0; j < 4; ++j) {
          if (r.bit()) {  // feature_enabled
            r.bits(kFeatureBits[j]);
            if (kFeatureSigned[j]) r.bit();
          }
        }
      }
    }
  }
  if (r.overrun()) return truncated("segmentation_params");

  // tile_info needs the frame width in 64x64 superblocks.
  if (h.width > 0) {
    const int mi_cols = (h.width + 7) >> 3;
    const int sb64_cols = (mi_cols + 7) >> 3;
    int min_log2 = 0;
    while ((kMaxTileWidthB64 << min_log2) < sb64_cols) ++min_log2;
    int max_log2 = 1;
    while ((sb64_cols >> max_log2) >= kMinTileWidthB64) ++max_log2;
    --max_log2;
    h.tile_cols_log2 = min_log2;
    while (h.tile_cols_log2 < max_log2) {
      if (!r.bit()) break;  // increment_tile_cols_log2
      ++h.tile_cols_log2;
    }
    h.tile_rows_log2 = static_cast<int>(r.bits(1));
    if (h.tile_rows_log2) h.tile_rows_log2 += static_cast<int>(r.bits(1));
    h.tile_info_known = true;
    const uint32_t header_size = r.bits(16);  // header_size_in_bytes
    if (r.overrun()) return truncated("tile_info");
    r.align_to_byte();  // trailing_bits
    h.uncompressed_header_bytes = static_cast<uint32_t>(r.position_bytes_rounded_up());
    h.compressed_header_bytes = static_cast<int32_t>(header_size);
    if (header_size == 0) return fail(error, "invalid compressed header size 0");
    if (h.uncompressed_header_bytes + static_cast<size_t>(header_size) > size)
      return fail(error, fmt::format("truncated frame (headers need {} + {} bytes, frame is {} bytes)",
                                     h.uncompressed_header_bytes, header_size, size));
  } else {
    h.uncompressed_header_bytes = static_cast<uint32_t>(r.position_bytes_rounded_up());
  }

  // Success: commit what later frames depend on.
  for (int i = 0; i < kRefFrames; ++i) {
    if (h.refresh_frame_flags & (1u << i)) {
      ref_width_[i] = h.width;
      ref_height_[i] = h.height;
    }
  }
  if (h.key_frame || h.intra_only) {
    bit_depth_ = h.bit_depth;
    color_space_ = h.color_space;
    color_range_ = h.color_range;
    subsampling_x_ = h.subsampling_x;
    subsampling_y_ = h.subsampling_y;
  }
  return true;
}

}  // namespace ns::media::vp9
