// JPEG 2000 through OpenJPEG: a raw J2K codestream of three components (Y full size, Cb and Cr sub-sampled
// 2x2 through the SIZ dx/dy), no colour transform, irreversible 9/7 wavelet, one quality layer in OpenJPEG's
// fixed-quality (target PSNR) mode. Memory streams through OpenJPEG's callbacks; messages are collected per
// codec object, and the decoder runs in strict mode so that a truncated codestream fails instead of
// decoding partially. The decoder also reads HTJ2K (Part 15) codestreams: OpenJPEG 2.5 implements the HT
// block decoder.
#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/imagecodec/codecs_impl.h"

namespace ns::imagecodec::detail {

namespace {

constexpr int kMaxResolutions = 6;  // OpenJPEG's default: 5 wavelet decompositions

struct CodecDeleter {
  void operator()(opj_codec_t* p) const { opj_destroy_codec(p); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* p) const { opj_stream_destroy(p); }
};
struct ImageDeleter {
  void operator()(opj_image_t* p) const { opj_image_destroy(p); }
};
using CodecPtr = std::unique_ptr<opj_codec_t, CodecDeleter>;
using StreamPtr = std::unique_ptr<opj_stream_t, StreamDeleter>;
using ImagePtr = std::unique_ptr<opj_image_t, ImageDeleter>;

// The first error and warning OpenJPEG reports for one codec object.
struct Messages {
  std::string error;
  std::string warning;
};

void record(std::string& to, const char* message) {
  if (!to.empty() || message == nullptr) return;
  to = message;
  while (!to.empty() && (to.back() == '\n' || to.back() == ' ')) to.pop_back();
}

void install_handlers(opj_codec_t* codec, Messages& messages) {
  opj_set_error_handler(
      codec, [](const char* m, void* user) { record(static_cast<Messages*>(user)->error, m); }, &messages);
  opj_set_warning_handler(
      codec, [](const char* m, void* user) { record(static_cast<Messages*>(user)->warning, m); }, &messages);
  opj_set_info_handler(
      codec, [](const char*, void*) {}, nullptr);
}

// A growable output buffer or a read-only input span behind OpenJPEG's stream callbacks.
struct MemoryStream {
  std::vector<uint8_t>* out = nullptr;  // encoding
  const uint8_t* in = nullptr;          // decoding
  size_t size = 0;
  size_t pos = 0;
};

OPJ_SIZE_T stream_write(void* buffer, OPJ_SIZE_T bytes, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (s->out->size() < s->pos + bytes) s->out->resize(s->pos + bytes);
  std::memcpy(s->out->data() + s->pos, buffer, bytes);
  s->pos += bytes;
  return bytes;
}

OPJ_SIZE_T stream_read(void* buffer, OPJ_SIZE_T bytes, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (s->pos >= s->size) return static_cast<OPJ_SIZE_T>(-1);  // end of stream
  const size_t n = std::min<size_t>(bytes, s->size - s->pos);
  std::memcpy(buffer, s->in + s->pos, n);
  s->pos += n;
  return n;
}

OPJ_OFF_T stream_skip(OPJ_OFF_T bytes, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (bytes < 0) {
    const size_t back = std::min<size_t>(s->pos, static_cast<size_t>(-bytes));
    s->pos -= back;
    return -static_cast<OPJ_OFF_T>(back);
  }
  if (s->out) {  // writing: skipping forward leaves zeros to be filled later
    s->pos += static_cast<size_t>(bytes);
    if (s->out->size() < s->pos) s->out->resize(s->pos);
    return bytes;
  }
  if (s->pos >= s->size) return -1;
  const size_t n = std::min<size_t>(static_cast<size_t>(bytes), s->size - s->pos);
  s->pos += n;
  return static_cast<OPJ_OFF_T>(n);
}

OPJ_BOOL stream_seek(OPJ_OFF_T pos, void* user) {
  auto* s = static_cast<MemoryStream*>(user);
  if (pos < 0) return OPJ_FALSE;
  if (s->out) {
    s->pos = static_cast<size_t>(pos);
    if (s->out->size() < s->pos) s->out->resize(s->pos);
    return OPJ_TRUE;
  }
  if (static_cast<size_t>(pos) > s->size) return OPJ_FALSE;
  s->pos = static_cast<size_t>(pos);
  return OPJ_TRUE;
}

StreamPtr make_stream(MemoryStream& memory, bool input) {
  StreamPtr stream(opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, input ? OPJ_TRUE : OPJ_FALSE));
  if (!stream) throw Error(ErrorCode::internal, "image codec j2k: opj_stream_create failed; out of memory?");
  opj_stream_set_user_data(stream.get(), &memory, nullptr);
  if (input) {
    opj_stream_set_user_data_length(stream.get(), memory.size);
    opj_stream_set_read_function(stream.get(), stream_read);
  } else {
    opj_stream_set_write_function(stream.get(), stream_write);
  }
  opj_stream_set_skip_function(stream.get(), stream_skip);
  opj_stream_set_seek_function(stream.get(), stream_seek);
  return stream;
}

// Resolution levels such that the smallest component keeps at least one sample at the coarsest level.
int resolution_count(const core::Frame& frame) {
  const int smallest = std::min({frame.width(), frame.height(), frame.plane_width(1), frame.plane_height(1)});
  int levels = 1;
  while (levels < kMaxResolutions && (1 << levels) <= smallest) ++levels;
  return levels;
}

[[noreturn]] void encode_failed(const char* call, const Messages& messages) {
  throw Error(ErrorCode::internal, std::string("image codec j2k: OpenJPEG ") + call + " failed (" +
                                       (messages.error.empty() ? "no message" : messages.error) + "); report this bug");
}

}  // namespace

std::vector<uint8_t> encode_j2k(const core::Frame& frame, double quality, int threads) {
  opj_image_cmptparm_t components[3];
  std::memset(components, 0, sizeof components);
  for (int c = 0; c < 3; ++c) {
    components[c].dx = components[c].dy = c == 0 ? 1 : 2;
    components[c].w = static_cast<OPJ_UINT32>(frame.plane_width(c));
    components[c].h = static_cast<OPJ_UINT32>(frame.plane_height(c));
    components[c].prec = 8;
    components[c].sgnd = 0;
  }
  ImagePtr image(opj_image_create(3, components, OPJ_CLRSPC_SYCC));
  if (!image) throw Error(ErrorCode::internal, "image codec j2k: opj_image_create failed; out of memory?");
  image->x0 = image->y0 = 0;
  image->x1 = static_cast<OPJ_UINT32>(frame.width());
  image->y1 = static_cast<OPJ_UINT32>(frame.height());
  for (int c = 0; c < 3; ++c) {
    const int w = frame.plane_width(c);
    OPJ_INT32* dst = image->comps[c].data;
    for (int y = 0; y < frame.plane_height(c); ++y, dst += w) {
      const uint8_t* src = frame.row(c, y);
      for (int x = 0; x < w; ++x) dst[x] = src[x];
    }
  }

  opj_cparameters_t parameters;
  opj_set_default_encoder_parameters(&parameters);
  parameters.tcp_numlayers = 1;
  parameters.tcp_distoratio[0] = static_cast<float>(quality);
  parameters.cp_fixed_quality = 1;
  parameters.irreversible = 1;
  parameters.tcp_mct = 0;
  parameters.numresolution = resolution_count(frame);

  Messages messages;
  CodecPtr codec(opj_create_compress(OPJ_CODEC_J2K));
  if (!codec) throw Error(ErrorCode::internal, "image codec j2k: opj_create_compress failed; out of memory?");
  install_handlers(codec.get(), messages);
  if (!opj_setup_encoder(codec.get(), &parameters, image.get())) encode_failed("opj_setup_encoder", messages);
  if (threads > 1 && !opj_codec_set_threads(codec.get(), threads)) encode_failed("opj_codec_set_threads", messages);

  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(frame.width()) * frame.height() / 4);
  MemoryStream memory;
  memory.out = &out;
  StreamPtr stream = make_stream(memory, false);
  if (!opj_start_compress(codec.get(), image.get(), stream.get())) encode_failed("opj_start_compress", messages);
  if (!opj_encode(codec.get(), stream.get())) encode_failed("opj_encode", messages);
  if (!opj_end_compress(codec.get(), stream.get())) encode_failed("opj_end_compress", messages);
  stream.reset();  // flushes
  out.resize(memory.pos);
  return out;
}

void decode_jpeg2000(std::span<const uint8_t> data, core::Frame& out, const char* name) {
  Messages messages;
  CodecPtr codec(opj_create_decompress(OPJ_CODEC_J2K));
  if (!codec) throw Error(ErrorCode::internal, "image codec j2k: opj_create_decompress failed; out of memory?");
  install_handlers(codec.get(), messages);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  if (!opj_setup_decoder(codec.get(), &parameters) || !opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE)) {
    throw Error(ErrorCode::internal, std::string("image codec ") + name + ": opj_setup_decoder failed (" +
                                         messages.error + "); report this bug");
  }
  MemoryStream memory;
  memory.in = data.data();
  memory.size = data.size();
  StreamPtr stream = make_stream(memory, true);
  opj_image_t* raw_image = nullptr;
  const bool header_ok = opj_read_header(stream.get(), codec.get(), &raw_image);
  ImagePtr image(raw_image);
  if (!header_ok || !image) throw_corrupt(name, "OpenJPEG cannot read the header (" + messages.error + ")");

  const opj_image_t& im = *image;
  if (im.numcomps != 3) throw_unsupported(name, std::to_string(im.numcomps) + " components");
  for (int c = 0; c < 3; ++c) {
    if (im.comps[c].prec != 8 || im.comps[c].sgnd) {
      throw_unsupported(name, "component " + std::to_string(c) + " has " + std::to_string(im.comps[c].prec) +
                                  (im.comps[c].sgnd ? "-bit signed" : "-bit") + " samples");
    }
  }
  const opj_image_comp_t* comp = im.comps;
  const bool luma_full = comp[0].dx == 1 && comp[0].dy == 1;
  const bool is_420 = luma_full && comp[1].dx == 2 && comp[1].dy == 2 && comp[2].dx == 2 && comp[2].dy == 2;
  const bool is_444 = luma_full && comp[1].dx == 1 && comp[1].dy == 1 && comp[2].dx == 1 && comp[2].dy == 1;
  if (!is_420 && !is_444) throw_unsupported(name, "the components are not sampled 4:2:0 or 4:4:4");
  if (im.x0 != 0 || im.y0 != 0) throw_unsupported(name, "the image has a non-zero origin");
  if (!decodable_size(im.x1, im.y1)) {
    throw_unsupported(name, "the image size " + std::to_string(im.x1) + "x" + std::to_string(im.y1) +
                                " is empty, wider or taller than 16384, or above 2^28 pixels");
  }
  if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get())) {
    throw_corrupt(name, "OpenJPEG cannot decode it (" + messages.error + ")");
  }
  if (!messages.warning.empty()) throw_corrupt(name, "OpenJPEG patched over damage (" + messages.warning + ")");

  const int width = static_cast<int>(im.x1);
  const int height = static_cast<int>(im.y1);
  for (int c = 0; c < 3; ++c) {
    const int expect_w = c == 0 || is_444 ? width : (width + 1) / 2;
    const int expect_h = c == 0 || is_444 ? height : (height + 1) / 2;
    if (comp[c].data == nullptr || static_cast<int>(comp[c].w) != expect_w || static_cast<int>(comp[c].h) != expect_h) {
      throw_corrupt(name, "component " + std::to_string(c) + " was not decoded at its size");
    }
  }
  ensure_size(out, width, height);
  std::vector<uint8_t> full;  // 4:4:4 chroma before down-sampling
  if (is_444) full.resize(static_cast<size_t>(width) * height);
  for (int c = 0; c < 3; ++c) {
    const int w = static_cast<int>(comp[c].w);
    const int h = static_cast<int>(comp[c].h);
    const bool to_full = c > 0 && is_444;
    const OPJ_INT32* src = comp[c].data;
    for (int y = 0; y < h; ++y, src += w) {
      uint8_t* dst = to_full ? full.data() + static_cast<size_t>(y) * w : out.row(c, y);
      for (int x = 0; x < w; ++x) dst[x] = static_cast<uint8_t>(std::clamp<OPJ_INT32>(src[x], 0, 255));
    }
    if (to_full) downsample_2x2(full.data(), width, width, height, out.data(c), out.stride(c));
  }
}

}  // namespace ns::imagecodec::detail
