// ns/media (internal): VP9 superframe index split (spec Annex B) and uncompressed header parser
// (spec §6.2, all of it: color config for profiles 0-3, frame size with refs, loop filter, quantizer,
// segmentation and tile info, then header_size_in_bytes). Used by BitstreamProbe only.
// Thread-safety: HeaderParser keeps the reference frame sizes of one stream; one per stream.
// Errors: functions return false and describe the defect in `error`; callers turn it into ns::Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ns::media::vp9 {

inline constexpr int kMaxSuperframeFrames = 8;
inline constexpr int kRefFrames = 8;

// The frames of one packet. A packet without a superframe index holds one frame of `size` bytes.
struct Superframe {
  int frame_count = 1;
  uint32_t frame_sizes[kMaxSuperframeFrames] = {};  // coded sizes as given by the index
  uint32_t index_bytes = 0;                         // size of the index at the end, 0 if none
  uint32_t trailing_bytes = 0;  // bytes between the last frame and the index (libvpx writes none)
};

// Splits `data` per Annex B: the last byte is a marker 0b110xxxxx and the byte that opens the index
// repeats it. A packet whose last byte looks like a marker but whose index does not open with the
// same byte is one plain frame, exactly as libvpx decides. Fails on an index whose frame sizes
// exceed the packet, a frame of size 0, or an empty packet.
bool split_superframe(const uint8_t* data, size_t size, Superframe& out, std::string& error);

struct FrameHeader {
  int profile = 0;
  bool show_existing_frame = false;
  int frame_to_show_map_idx = 0;
  bool key_frame = false;  // frame_type == KEY_FRAME
  bool show_frame = false;
  bool error_resilient_mode = false;
  bool intra_only = false;
  int reset_frame_context = 0;
  // color_config (key frames, and intra-only frames of profile > 0; else inherited or 8-bit 4:2:0)
  int bit_depth = 8;
  int color_space = 0;  // 0 unknown, 1 BT.601, 2 BT.709, ..., 7 sRGB
  bool color_range = false;
  int subsampling_x = 1;
  int subsampling_y = 1;
  uint8_t refresh_frame_flags = 0;
  int ref_frame_idx[3] = {0, 0, 0};
  bool ref_frame_sign_bias[3] = {false, false, false};
  int width = 0;   // 0 when taken from a reference whose size is unknown (stream did not start at a key frame)
  int height = 0;
  int render_width = 0;
  int render_height = 0;
  bool size_from_ref = false;
  bool allow_high_precision_mv = false;
  int interp_filter = -1;  // 0..3, or 4 = switchable; -1 for intra frames
  bool refresh_frame_context = false;
  bool frame_parallel_decoding_mode = false;
  int frame_context_idx = 0;
  // loop_filter_params
  int loop_filter_level = 0;
  int loop_filter_sharpness = 0;
  bool loop_filter_delta_enabled = false;
  // quantization_params
  int base_q_idx = 0;
  int delta_q_y_dc = 0;
  int delta_q_uv_dc = 0;
  int delta_q_uv_ac = 0;
  bool lossless = false;
  // segmentation_params
  bool segmentation_enabled = false;
  // tile_info (only when the frame width is known)
  bool tile_info_known = false;
  int tile_cols_log2 = 0;
  int tile_rows_log2 = 0;
  // Sizes: the uncompressed header (byte aligned) and the compressed header that follows it.
  // compressed_header_bytes is -1 when tile_info could not be parsed (unknown frame width).
  uint32_t uncompressed_header_bytes = 0;
  int32_t compressed_header_bytes = -1;
};

// Parses uncompressed headers frame after frame, keeping what later headers depend on: the sizes
// of the 8 reference slots (frame_size_with_refs) and the last color config (inter frames).
class HeaderParser {
 public:
  // Parses the frame in data[0, size). Fails on a wrong frame marker or sync code, a reserved bit
  // set, a header longer than the frame, or a compressed header that does not fit in the frame.
  bool parse(const uint8_t* data, size_t size, FrameHeader& out, std::string& error);

 private:
  int ref_width_[kRefFrames] = {};
  int ref_height_[kRefFrames] = {};
  int bit_depth_ = 8;
  int color_space_ = 0;
  bool color_range_ = false;
  int subsampling_x_ = 1;
  int subsampling_y_ = 1;
};

}  // namespace ns::media::vp9
