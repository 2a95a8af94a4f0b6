// JPEG through the libjpeg API (libjpeg-turbo): raw-data I/O straight from and into the I420 planes, so that
// no colour conversion or re-sampling happens at 4:2:0. Library errors and warnings (which libjpeg would print,
// or patch over for truncated data) long-jump back to the setjmp frame and become ns::Error corrupt.
#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>  // after <cstdio>: it uses FILE

#include "ns/core/error.h"
#include "ns/imagecodec/codecs_impl.h"

namespace ns::imagecodec::detail {

namespace {

constexpr const char* kName = "jpeg";

// A libjpeg error manager that records the message and long-jumps instead of printing and exiting.
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  err->pub.format_message(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (level -1) mean damaged data that libjpeg would patch over (e.g. a truncated scan filled with grey):
// treat them as errors. Trace messages (level >= 0) are dropped.
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) on_error(cinfo);
}

void install_error_manager(ErrorManager& err, jpeg_common_struct& cinfo) {
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.pub.output_message = [](j_common_ptr) {};
  err.message[0] = '\0';
}

// A destination manager that writes into a std::vector, doubling it when full.
struct VectorDestination {
  jpeg_destination_mgr pub;
  std::vector<uint8_t>* out;
};

void destination_init(j_compress_ptr cinfo) {
  auto* dest = reinterpret_cast<VectorDestination*>(cinfo->dest);
  dest->pub.next_output_byte = dest->out->data();
  dest->pub.free_in_buffer = dest->out->size();
}

boolean destination_grow(j_compress_ptr cinfo) {
  auto* dest = reinterpret_cast<VectorDestination*>(cinfo->dest);
  const size_t used = dest->out->size();  // libjpeg calls this only with a full buffer
  dest->out->resize(used * 2);
  dest->pub.next_output_byte = dest->out->data() + used;
  dest->pub.free_in_buffer = used;
  return TRUE;
}

void destination_term(j_compress_ptr cinfo) {
  auto* dest = reinterpret_cast<VectorDestination*>(cinfo->dest);
  dest->out->resize(dest->out->size() - dest->pub.free_in_buffer);
}

size_t round_up_8(int n) { return (static_cast<size_t>(n) + 7) & ~size_t{7}; }

// What one encode needs, prepared outside the setjmp frame (which holds no object with a destructor).
struct EncodeJob {
  const core::Frame* frame;
  int quality;
  bool chroma_444;
  std::vector<uint8_t>* out;
  // Per component: rows of padded width, used where the plane cannot be read in place (width not a multiple
  // of 8, or 4:4:4 chroma up-sampled); null where it can.
  uint8_t* scratch[3];
  size_t scratch_stride[3];
};

// Row pointers of component `c` for the iMCU row starting at component row `y0`: in place, or copied into the
// scratch rows with the last sample repeated to the padded width. Rows past the bottom repeat the last row.
void component_rows(const EncodeJob& job, int c, int y0, int rows, JSAMPROW* ptrs) {
  const core::Frame& f = *job.frame;
  const bool full_chroma = c > 0 && job.chroma_444;
  const int width = full_chroma ? f.width() : f.plane_width(c);
  const int height = full_chroma ? f.height() : f.plane_height(c);
  const int valid = std::min(rows, height - y0);
  if (job.scratch[c] == nullptr) {
    for (int r = 0; r < valid; ++r) ptrs[r] = const_cast<JSAMPROW>(f.row(c, y0 + r));
  } else {
    uint8_t* base = job.scratch[c];
    const size_t stride = job.scratch_stride[c];
    if (full_chroma) {
      upsample_2x2_rows(f.data(c), f.stride(c), width, height, y0, valid, base, static_cast<int>(stride));
    } else {
      for (int r = 0; r < valid; ++r) std::memcpy(base + r * stride, f.row(c, y0 + r), static_cast<size_t>(width));
    }
    for (int r = 0; r < valid; ++r) {
      uint8_t* row = base + r * stride;
      std::memset(row + width, row[width - 1], stride - static_cast<size_t>(width));
      ptrs[r] = row;
    }
  }
  for (int r = valid; r < rows; ++r) ptrs[r] = ptrs[valid - 1];
}

// Returns false (message in err) when libjpeg fails.
bool run_encode(const EncodeJob& job, ErrorManager& err) {
  jpeg_compress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  VectorDestination dest;
  install_error_manager(err, *reinterpret_cast<jpeg_common_struct*>(&cinfo));
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  dest.pub.init_destination = destination_init;
  dest.pub.empty_output_buffer = destination_grow;
  dest.pub.term_destination = destination_term;
  dest.out = job.out;
  cinfo.dest = &dest.pub;

  const core::Frame& f = *job.frame;
  cinfo.image_width = static_cast<JDIMENSION>(f.width());
  cinfo.image_height = static_cast<JDIMENSION>(f.height());
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_YCbCr;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, job.quality, TRUE);
  const int luma_factor = job.chroma_444 ? 1 : 2;
  cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = luma_factor;
  for (int c = 1; c < 3; ++c) cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
  cinfo.raw_data_in = TRUE;
  jpeg_start_compress(&cinfo, TRUE);

  const int luma_rows = luma_factor * DCTSIZE;
  JSAMPROW rows[3][2 * DCTSIZE];
  JSAMPARRAY planes[3] = {rows[0], rows[1], rows[2]};
  while (cinfo.next_scanline < cinfo.image_height) {
    const int y = static_cast<int>(cinfo.next_scanline);
    component_rows(job, 0, y, luma_rows, rows[0]);
    const int chroma_y = job.chroma_444 ? y : y / 2;
    component_rows(job, 1, chroma_y, DCTSIZE, rows[1]);
    component_rows(job, 2, chroma_y, DCTSIZE, rows[2]);
    jpeg_write_raw_data(&cinfo, planes, static_cast<JDIMENSION>(luma_rows));
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

struct DecodeJob {
  std::span<const uint8_t> data;
  core::Frame* out;
  std::vector<uint8_t>* scratch;  // rows past the bottom, and 4:4:4 chroma at full resolution
  const char* failure;            // set when the codestream is valid but not what we read
  bool unsupported;
};

bool run_decode(DecodeJob& job, ErrorManager& err) {
  jpeg_decompress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  install_error_manager(err, *reinterpret_cast<jpeg_common_struct*>(&cinfo));
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, job.data.data(), static_cast<unsigned long>(job.data.size()));
  jpeg_read_header(&cinfo, TRUE);

  const jpeg_component_info* comp = cinfo.comp_info;
  const bool three = cinfo.num_components == 3 && cinfo.jpeg_color_space == JCS_YCbCr;
  const bool chroma_1x1 = three && comp[1].h_samp_factor == 1 && comp[1].v_samp_factor == 1 &&
                          comp[2].h_samp_factor == 1 && comp[2].v_samp_factor == 1;
  const bool is_420 = chroma_1x1 && comp[0].h_samp_factor == 2 && comp[0].v_samp_factor == 2;
  const bool is_444 = chroma_1x1 && comp[0].h_samp_factor == 1 && comp[0].v_samp_factor == 1;
  const int width = static_cast<int>(cinfo.image_width);
  const int height = static_cast<int>(cinfo.image_height);
  if (!is_420 && !is_444) {
    job.failure = "not a 3-component YCbCr image sampled 4:2:0 or 4:4:4";
    job.unsupported = true;
  } else if (!decodable_size(width, height)) {
    job.failure = "the image is wider or taller than 16384 or has more than 2^28 pixels";
    job.unsupported = true;
  }
  if (job.failure) {
    jpeg_destroy_decompress(&cinfo);
    return true;
  }
  cinfo.raw_data_out = TRUE;
  cinfo.out_color_space = JCS_YCbCr;
  jpeg_start_decompress(&cinfo);

  const int luma_rows = is_420 ? 2 * DCTSIZE : DCTSIZE;
  const size_t luma_stride = round_up_8(width);
  // Rows past the bottom land in a dummy area; 4:4:4 chroma goes to two full-resolution planes first.
  const size_t full_plane = is_444 ? luma_stride * static_cast<size_t>(height + DCTSIZE) : 0;
  try {  // no C++ exception may leave this frame past the libjpeg object
    ensure_size(*job.out, width, height);
    job.scratch->resize(luma_stride * 2 * DCTSIZE + 2 * full_plane);
  } catch (...) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  core::Frame& f = *job.out;
  uint8_t* dummy = job.scratch->data();
  uint8_t* full[2] = {dummy + luma_stride * 2 * DCTSIZE, dummy + luma_stride * 2 * DCTSIZE + full_plane};

  JSAMPROW rows[3][2 * DCTSIZE];
  JSAMPARRAY planes[3] = {rows[0], rows[1], rows[2]};
  while (cinfo.output_scanline < cinfo.output_height) {
    const int y = static_cast<int>(cinfo.output_scanline);
    for (int r = 0; r < luma_rows; ++r) rows[0][r] = y + r < height ? f.row(0, y + r) : dummy + r * luma_stride;
    for (int c = 1; c < 3; ++c) {
      for (int r = 0; r < DCTSIZE; ++r) {
        if (is_444) {
          rows[c][r] = full[c - 1] + static_cast<size_t>(y + r) * luma_stride;  // plane has DCTSIZE spare rows
        } else {
          const int cy = y / 2 + r;
          rows[c][r] = cy < f.plane_height(c) ? f.row(c, cy) : dummy + r * luma_stride;
        }
      }
    }
    if (jpeg_read_raw_data(&cinfo, planes, static_cast<JDIMENSION>(luma_rows)) == 0) {
      job.failure = "libjpeg returned no rows (suspended input)";
      break;
    }
  }
  if (!job.failure) jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (is_444 && !job.failure) {
    for (int c = 1; c < 3; ++c) {
      downsample_2x2(full[c - 1], static_cast<int>(luma_stride), width, height, f.data(c), f.stride(c));
    }
  }
  return true;
}

}  // namespace

std::vector<uint8_t> encode_jpeg(const core::Frame& frame, double quality, bool chroma_444) {
  std::vector<uint8_t> out(std::max<size_t>(4096, static_cast<size_t>(frame.width()) * frame.height() / 4));
  EncodeJob job{&frame, static_cast<int>(std::lround(quality)), chroma_444, &out, {}, {}};
  std::vector<uint8_t> scratch;
  size_t offsets[3] = {0, 0, 0};
  size_t total = 0;
  const int rows_per_call = chroma_444 ? DCTSIZE : 2 * DCTSIZE;
  for (int c = 0; c < 3; ++c) {
    const bool full_chroma = c > 0 && chroma_444;
    const int width = full_chroma ? frame.width() : frame.plane_width(c);
    if (!full_chroma && width % DCTSIZE == 0) continue;
    job.scratch_stride[c] = round_up_8(width);
    offsets[c] = total + 1;  // + 1: "used"
    total += job.scratch_stride[c] * static_cast<size_t>(c == 0 ? rows_per_call : DCTSIZE);
  }
  scratch.resize(total);
  for (int c = 0; c < 3; ++c) job.scratch[c] = offsets[c] ? scratch.data() + offsets[c] - 1 : nullptr;

  ErrorManager err;
  if (!run_encode(job, err)) {
    throw Error(ErrorCode::internal,
                std::string("image codec jpeg: libjpeg failed to encode (") + err.message + "); report this bug");
  }
  return out;
}

void decode_jpeg(std::span<const uint8_t> data, core::Frame& out) {
  std::vector<uint8_t> scratch;
  DecodeJob job{data, &out, &scratch, nullptr, false};
  ErrorManager err;
  if (!run_decode(job, err)) throw_corrupt(kName, std::string("libjpeg: ") + err.message);
  if (job.failure) {
    if (job.unsupported) throw_unsupported(kName, job.failure);
    throw_corrupt(kName, job.failure);
  }
}

}  // namespace ns::imagecodec::detail
