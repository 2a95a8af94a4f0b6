// Codec names, settings, dispatch to the per-library coders, and the helpers they share.
#include "ns/imagecodec/imagecodec.h"

#include <cmath>
#include <cstring>

#include "ns/core/error.h"
#include "ns/imagecodec/codecs_impl.h"

namespace ns::imagecodec {

namespace {

struct QualityRange {
  double min;
  double max;
  double fallback;
};

QualityRange quality_range(Codec codec) {
  switch (codec) {
    case Codec::jpeg: return {1, 100, 90};
    case Codec::j2k: return {20, 70, 48};
    case Codec::htj2k: return {1, 100, 50};
  }
  NS_ASSERT(false);
  return {0, 0, 0};
}

constexpr int kMaxThreads = 256;

}  // namespace

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::jpeg: return "jpeg";
    case Codec::j2k: return "j2k";
    case Codec::htj2k: return "htj2k";
  }
  NS_ASSERT(false);
  return "";
}

Codec parse_codec(const std::string& name) {
  if (name == "jpeg") return Codec::jpeg;
  if (name == "j2k" || name == "jpeg2000") return Codec::j2k;
  if (name == "htj2k") return Codec::htj2k;
  throw Error(ErrorCode::invalid_argument,
              "image codec: unknown codec '" + name + "'; use jpeg, j2k (or jpeg2000) or htj2k");
}

const char* container_codec_name(Codec codec) { return codec == Codec::jpeg ? "mjpeg" : "jpeg2000"; }

double default_quality(Codec codec) { return quality_range(codec).fallback; }

double effective_quality(const EncodeSettings& settings) {
  return settings.quality != 0 ? settings.quality : default_quality(settings.codec);
}

void validate(const EncodeSettings& settings) {
  const char* name = codec_name(settings.codec);  // asserts a valid enum value
  const QualityRange range = quality_range(settings.codec);
  if (settings.quality != 0 && !(settings.quality >= range.min && settings.quality <= range.max)) {
    throw Error(ErrorCode::invalid_argument, "image codec " + std::string(name) + ": quality " +
                                                 std::to_string(settings.quality) + " is out of range (" +
                                                 std::to_string(static_cast<int>(range.min)) + " .. " +
                                                 std::to_string(static_cast<int>(range.max)) +
                                                 ", or 0 for the default); pick a quality in the range");
  }
  if (settings.chroma_444 && settings.codec != Codec::jpeg) {
    throw Error(ErrorCode::invalid_argument, "image codec " + std::string(name) +
                                                 ": 4:4:4 chroma is a JPEG option (J2K and HTJ2K code I420 "
                                                 "as it is); drop the option or use jpeg");
  }
  if (settings.threads < 1 || settings.threads > kMaxThreads) {
    throw Error(ErrorCode::invalid_argument, "image codec " + std::string(name) + ": threads " +
                                                 std::to_string(settings.threads) + " is out of range (1 .. " +
                                                 std::to_string(kMaxThreads) + "); pick a thread count in the range");
  }
}

std::vector<uint8_t> encode(const core::Frame& frame, const EncodeSettings& settings) {
  validate(settings);
  if (frame.empty()) {
    throw Error(ErrorCode::invalid_argument, std::string("image codec ") + codec_name(settings.codec) +
                                                 ": the frame is empty; pass a decoded frame");
  }
  const double quality = effective_quality(settings);
  switch (settings.codec) {
    case Codec::jpeg: return detail::encode_jpeg(frame, quality, settings.chroma_444);
    case Codec::j2k: return detail::encode_j2k(frame, quality, settings.threads);
    case Codec::htj2k: return detail::encode_htj2k(frame, quality);
  }
  NS_ASSERT(false);
  return {};
}

void decode(Codec codec, std::span<const uint8_t> data, core::Frame& out) {
  const char* name = codec_name(codec);
  if (data.empty()) detail::throw_corrupt(name, "the codestream is empty (0 bytes)");
  switch (codec) {
    case Codec::jpeg: return detail::decode_jpeg(data, out);
    case Codec::j2k:
    case Codec::htj2k: return detail::decode_jpeg2000(data, out, name);
  }
}

namespace detail {

bool decodable_size(int64_t width, int64_t height) {
  return width >= 1 && height >= 1 && width <= kMaxDimension && height <= kMaxDimension && width * height <= kMaxPixels;
}

void ensure_size(core::Frame& out, int width, int height) {
  if (out.width() == width && out.height() == height) return;
  const int64_t pts = out.pts;
  const int64_t index = out.index;
  out = core::Frame(width, height);
  out.pts = pts;
  out.index = index;
}

void upsample_2x2_rows(const uint8_t* src, int src_stride, int width, int height, int y0, int rows, uint8_t* dst,
                       int dst_stride) {
  for (int r = 0; r < rows; ++r) {
    const int y = std::min(y0 + r, height - 1);  // rows past the bottom repeat the last one
    const uint8_t* s = src + static_cast<ptrdiff_t>(y / 2) * src_stride;
    uint8_t* d = dst + static_cast<ptrdiff_t>(r) * dst_stride;
    const int pairs = width / 2;
    for (int x = 0; x < pairs; ++x) {
      d[2 * x] = s[x];
      d[2 * x + 1] = s[x];
    }
    if (width & 1) d[width - 1] = s[pairs];
  }
}

void downsample_2x2(const uint8_t* src, int src_stride, int width, int height, uint8_t* dst, int dst_stride) {
  const int cw = (width + 1) / 2;
  const int ch = (height + 1) / 2;
  for (int y = 0; y < ch; ++y) {
    const uint8_t* a = src + static_cast<ptrdiff_t>(2 * y) * src_stride;
    const uint8_t* b = 2 * y + 1 < height ? a + src_stride : a;
    uint8_t* d = dst + static_cast<ptrdiff_t>(y) * dst_stride;
    const int pairs = width / 2;
    for (int x = 0; x < pairs; ++x) {
      d[x] = static_cast<uint8_t>((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
    }
    if (cw > pairs) d[pairs] = static_cast<uint8_t>((a[width - 1] + b[width - 1] + 1) >> 1);
  }
}

void throw_corrupt(const char* codec, const std::string& what) {
  throw Error(ErrorCode::corrupt, std::string("image codec ") + codec + ": " + what +
                                      "; the anchor image is damaged or of another codec, re-encode it");
}

void throw_unsupported(const char* codec, const std::string& what) {
  throw Error(ErrorCode::unsupported, std::string("image codec ") + codec + ": " + what +
                                          "; only 8-bit 3-component 4:2:0 (JPEG also 4:4:4) images are read");
}

}  // namespace detail

}  // namespace ns::imagecodec
