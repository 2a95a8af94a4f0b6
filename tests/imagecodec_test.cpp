// ns/imagecodec: round trips of JPEG, J2K and HTJ2K on small synthetic frames (odd sizes too), quality
// ordering, codestreams read by independent decoders (FFmpeg's mjpeg and jpeg2000, OpenJPEG for HTJ2K), and
// damaged or foreign codestreams that must end in ns::Error, never in a crash or exit.
#include "ns/imagecodec/imagecodec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/imagecodec/codecs_impl.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns {
namespace {

using imagecodec::Codec;
using imagecodec::EncodeSettings;

constexpr Codec kCodecs[] = {Codec::jpeg, Codec::j2k, Codec::htj2k};

std::vector<uint8_t> encode(const core::Frame& frame, Codec codec, double quality = 0, bool chroma_444 = false) {
  return imagecodec::encode(frame, EncodeSettings{.codec = codec, .quality = quality, .chroma_444 = chroma_444});
}

core::Frame decode(Codec codec, const std::vector<uint8_t>& data) {
  core::Frame out;
  imagecodec::decode(codec, data, out);
  return out;
}

int max_abs_difference(const core::Frame& a, const core::Frame& b) {
  EXPECT_TRUE(core::same_size(a, b));
  int worst = 0;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < a.plane_height(p); ++y) {
      for (int x = 0; x < a.plane_width(p); ++x) worst = std::max(worst, std::abs(a.row(p, y)[x] - b.row(p, y)[x]));
    }
  }
  return worst;
}

void write_file(const std::string& path, const std::vector<uint8_t>& data) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(file.good()) << path;
}

// The frame FFmpeg decodes from an image file (its planes copied as they are for yuv420p / yuvj420p).
core::Frame decode_with_ffmpeg(const std::string& path) {
  media::VideoReader reader(path, media::ReaderOptions{.threads = 1});
  core::Frame frame;
  EXPECT_TRUE(reader.read(frame)) << path;
  return frame;
}

// PSNR floor at the default quality on the 64x48 synthetic frame, per codec.
double default_psnr_floor(Codec codec) {
  switch (codec) {
    case Codec::jpeg: return 36;
    case Codec::j2k: return 40;
    case Codec::htj2k: return 40;
  }
  return 100;
}

TEST(ImageCodec, NamesRoundTripAndAliases) {
  for (Codec codec : kCodecs) EXPECT_EQ(imagecodec::parse_codec(imagecodec::codec_name(codec)), codec);
  EXPECT_EQ(imagecodec::parse_codec("jpeg2000"), Codec::j2k);
  EXPECT_STREQ(imagecodec::container_codec_name(Codec::jpeg), "mjpeg");
  EXPECT_STREQ(imagecodec::container_codec_name(Codec::j2k), "jpeg2000");
  EXPECT_STREQ(imagecodec::container_codec_name(Codec::htj2k), "jpeg2000");
  EXPECT_EQ(test::error_code_of([] { imagecodec::parse_codec("png"); }), ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { imagecodec::parse_codec(""); }), ErrorCode::invalid_argument);
}

TEST(ImageCodec, InvalidSettingsAreInvalidArgument) {
  const core::Frame frame = test::synthetic_frame(16, 16, 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<EncodeSettings> bad = {
      {.codec = Codec::jpeg, .quality = 101},    {.codec = Codec::jpeg, .quality = 0.5},
      {.codec = Codec::jpeg, .quality = -5},     {.codec = Codec::jpeg, .quality = nan},
      {.codec = Codec::j2k, .quality = 19},      {.codec = Codec::j2k, .quality = 71},
      {.codec = Codec::htj2k, .quality = 101},   {.codec = Codec::htj2k, .quality = 0.9},
      {.codec = Codec::j2k, .chroma_444 = true}, {.codec = Codec::htj2k, .chroma_444 = true},
      {.codec = Codec::j2k, .threads = 0},       {.codec = Codec::jpeg, .threads = -1},
      {.codec = Codec::j2k, .threads = 100000},  {.codec = static_cast<Codec>(7)},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    if (bad[i].codec == static_cast<Codec>(7)) continue;  // an invalid enum is a bug (NS_ASSERT), not input
    SCOPED_TRACE("case " + std::to_string(i));
    EXPECT_EQ(test::error_code_of([&] { imagecodec::validate(bad[i]); }), ErrorCode::invalid_argument);
    EXPECT_EQ(test::error_code_of([&] { imagecodec::encode(frame, bad[i]); }), ErrorCode::invalid_argument);
  }
  for (Codec codec : kCodecs) {
    EXPECT_NO_THROW(imagecodec::validate({.codec = codec}));
    EXPECT_NO_THROW(imagecodec::validate({.codec = codec, .quality = imagecodec::default_quality(codec)}));
    EXPECT_EQ(test::error_code_of([&] { imagecodec::encode(core::Frame(), {.codec = codec}); }),
              ErrorCode::invalid_argument);
  }
}

TEST(ImageCodec, RoundTripAtDefaultQualityIsClose) {
  const core::Frame frame = test::synthetic_frame(64, 48, 3);
  for (Codec codec : kCodecs) {
    SCOPED_TRACE(imagecodec::codec_name(codec));
    const std::vector<uint8_t> data = encode(frame, codec);
    const core::Frame back = decode(codec, data);
    ASSERT_TRUE(core::same_size(frame, back));
    EXPECT_GT(core::psnr_pooled(frame, back), default_psnr_floor(codec));
    EXPECT_LT(data.size(), 64u * 48u * 3u / 2u);  // smaller than the raw frame
  }
}

TEST(ImageCodec, OddAndTinySizesRoundTrip) {
  for (Codec codec : kCodecs) {
    for (const auto& [w, h] : std::vector<std::pair<int, int>>{{33, 17}, {17, 33}, {1, 1}, {2, 3}, {7, 1}, {130, 9}}) {
      SCOPED_TRACE(std::string(imagecodec::codec_name(codec)) + " " + std::to_string(w) + "x" + std::to_string(h));
      const core::Frame frame = test::synthetic_frame(w, h, 1);
      core::Frame back;
      back.pts = 77;
      back.index = 5;
      imagecodec::decode(codec, encode(frame, codec, codec == Codec::j2k ? 60 : 95), back);
      ASSERT_EQ(back.width(), w);
      ASSERT_EQ(back.height(), h);
      EXPECT_EQ(back.pts, 77);  // untouched
      EXPECT_EQ(back.index, 5);
      EXPECT_GT(core::psnr_pooled(frame, back), 34);
    }
  }
}

TEST(ImageCodec, DecodeReusesAMatchingFrameAndResizesAnother) {
  const core::Frame frame = test::synthetic_frame(40, 30, 0);
  const std::vector<uint8_t> data = encode(frame, Codec::htj2k);
  core::Frame out(40, 30);
  const uint8_t* before = out.data(0);
  imagecodec::decode(Codec::htj2k, data, out);
  EXPECT_EQ(out.data(0), before);
  core::Frame other(8, 8);
  imagecodec::decode(Codec::htj2k, data, other);
  EXPECT_EQ(other.width(), 40);
  EXPECT_EQ(other.height(), 30);
}

TEST(ImageCodec, HigherQualityIsBiggerAndBetter) {
  const core::Frame frame = test::synthetic_frame(64, 48, 2);
  const std::vector<std::pair<Codec, std::vector<double>>> ladders = {
      {Codec::jpeg, {20, 50, 75, 90, 98}},
      {Codec::j2k, {25, 32, 40, 48, 56}},
      {Codec::htj2k, {20, 35, 50, 65, 80}},
  };
  for (const auto& [codec, qualities] : ladders) {
    size_t last_bytes = 0;
    double last_psnr = 0;
    for (double q : qualities) {
      SCOPED_TRACE(std::string(imagecodec::codec_name(codec)) + " quality " + std::to_string(q));
      const std::vector<uint8_t> data = encode(frame, codec, q);
      const double psnr = core::psnr_pooled(frame, decode(codec, data));
      EXPECT_GT(data.size(), last_bytes);
      EXPECT_GT(psnr, last_psnr + 0.5);
      last_bytes = data.size();
      last_psnr = psnr;
    }
  }
}

TEST(ImageCodec, J2kMeetsItsPsnrTarget) {
  // OpenJPEG's fixed-quality mode stops adding coding passes once the PSNR target is reached.
  const core::Frame frame = test::synthetic_frame(64, 48, 4);
  for (double target : {30.0, 40.0, 50.0}) {
    const double psnr = core::psnr_pooled(frame, decode(Codec::j2k, encode(frame, Codec::j2k, target)));
    EXPECT_GT(psnr, target - 1.5) << target;
    EXPECT_LT(psnr, target + 6) << target;
  }
}

TEST(ImageCodec, Jpeg2000AtTopQualityIsNearlyLossless) {
  const core::Frame frame = test::synthetic_frame(64, 48, 5);
  const core::Frame j2k = decode(Codec::j2k, encode(frame, Codec::j2k, 70));
  const core::Frame htj2k = decode(Codec::htj2k, encode(frame, Codec::htj2k, 100));
  EXPECT_GT(core::psnr_pooled(frame, j2k), 55);
  EXPECT_LE(max_abs_difference(frame, j2k), 2);
  EXPECT_GT(core::psnr_pooled(frame, htj2k), 55);
  EXPECT_LE(max_abs_difference(frame, htj2k), 2);
}

TEST(ImageCodec, Jpeg444KeepsChromaDetailBetterThan420) {
  // Y smooth, Cb and Cr a one-sample checkerboard: the finest chroma detail I420 can hold.
  core::Frame frame = test::synthetic_frame(64, 48, 0);
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < frame.plane_height(p); ++y) {
      for (int x = 0; x < frame.plane_width(p); ++x) frame.row(p, y)[x] = ((x + y) & 1) ? 160 : 96;
    }
  }
  const core::Frame c420 = decode(Codec::jpeg, encode(frame, Codec::jpeg, 75, false));
  const core::Frame c444 = decode(Codec::jpeg, encode(frame, Codec::jpeg, 75, true));
  const core::FrameQuality q420 = core::measure_quality(frame, c420);
  const core::FrameQuality q444 = core::measure_quality(frame, c444);
  EXPECT_GT(q444.psnr_u, q420.psnr_u + 3);
  EXPECT_GT(q444.psnr_v, q420.psnr_v + 3);
  EXPECT_NEAR(q444.psnr_y, q420.psnr_y, 1.0);  // luma is coded alike
}

TEST(ImageCodec, Jpeg444OfFlatChromaUpsamplesAndDownsamplesExactly) {
  // Replicating 2x2 and averaging back is the identity on chroma JPEG codes without loss (flat planes).
  core::Frame frame(35, 21);
  frame.fill(128, 90, 200);
  const core::Frame back = decode(Codec::jpeg, encode(frame, Codec::jpeg, 90, true));
  EXPECT_TRUE(test::same_pixels(frame, back));
}

TEST(ImageCodec, FfmpegDecodesOurJpegAndJ2kToTheSameSamples) {
  test::TempDir dir;
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{64, 48}, {33, 17}}) {
    const core::Frame frame = test::synthetic_frame(w, h, 6);
    for (Codec codec : {Codec::jpeg, Codec::j2k}) {
      SCOPED_TRACE(std::string(imagecodec::codec_name(codec)) + " " + std::to_string(w) + "x" + std::to_string(h));
      const std::vector<uint8_t> data = encode(frame, codec);
      const std::string path =
          dir.file(std::string("a") + std::to_string(w) + (codec == Codec::jpeg ? ".jpg" : ".j2k"));
      write_file(path, data);
      const core::Frame ours = decode(codec, data);
      const core::Frame theirs = decode_with_ffmpeg(path);
      ASSERT_TRUE(core::same_size(ours, theirs));
      EXPECT_LE(max_abs_difference(ours, theirs), 2);  // IDCT / wavelet rounding differs between decoders
      EXPECT_GT(core::psnr_pooled(ours, theirs), 50);
    }
  }
}

TEST(ImageCodec, OpenJpegAndOpenJphDecodeOurHtj2kAlike) {
  // decode() reads HTJ2K with OpenJPEG, a decoder independent of the OpenJPH encoder; OpenJPH's own decoder
  // (trusted input only) must agree: both read the same standard codestream.
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{64, 48}, {33, 17}}) {
    const core::Frame frame = test::synthetic_frame(w, h, 7);
    const std::vector<uint8_t> data = encode(frame, Codec::htj2k);
    const core::Frame ours = decode(Codec::htj2k, data);
    core::Frame openjph;
    imagecodec::detail::decode_htj2k_openjph(data, openjph);
    EXPECT_LE(max_abs_difference(ours, openjph), 1) << w << "x" << h;
  }
}

TEST(ImageCodec, J2kAndHtj2kReadEachOther) {
  // Both are JPEG 2000 (Matroska calls both "jpeg2000"), so either decoder reads either codestream.
  const core::Frame frame = test::synthetic_frame(40, 24, 7);
  const std::vector<uint8_t> j2k = encode(frame, Codec::j2k);
  const std::vector<uint8_t> htj2k = encode(frame, Codec::htj2k);
  EXPECT_TRUE(test::same_pixels(decode(Codec::j2k, htj2k), decode(Codec::htj2k, htj2k)));
  EXPECT_TRUE(test::same_pixels(decode(Codec::j2k, j2k), decode(Codec::htj2k, j2k)));
}

// ----------------------------------------------------------------------------------------------------------
// Damaged and foreign codestreams
// ----------------------------------------------------------------------------------------------------------

bool is_codestream_error(ErrorCode code) { return code == ErrorCode::corrupt || code == ErrorCode::unsupported; }

// Decoding must throw ns::Error corrupt / unsupported.
void expect_rejected(Codec codec, const std::vector<uint8_t>& data, const std::string& what) {
  SCOPED_TRACE(std::string(imagecodec::codec_name(codec)) + ": " + what);
  core::Frame out;
  EXPECT_TRUE(is_codestream_error(test::error_code_of([&] { imagecodec::decode(codec, data, out); })));
}

// Decoding may succeed (damage inside entropy-coded data is often undetectable) or throw ns::Error, but must
// not crash; a frame it returns has the original size when the header is intact.
void expect_survives(Codec codec, const std::vector<uint8_t>& data, int width, int height) {
  core::Frame out;
  try {
    imagecodec::decode(codec, data, out);
    EXPECT_EQ(out.width(), width);
    EXPECT_EQ(out.height(), height);
  } catch (const Error& e) {
    EXPECT_TRUE(is_codestream_error(e.code())) << e.what();
  }
}

TEST(ImageCodec, EmptyAndGarbageAreRejected) {
  std::mt19937 rng(11);
  std::vector<uint8_t> garbage(500);
  for (uint8_t& b : garbage) b = static_cast<uint8_t>(rng());
  for (Codec codec : kCodecs) {
    expect_rejected(codec, {}, "empty");
    expect_rejected(codec, garbage, "random bytes");
    expect_rejected(codec, std::vector<uint8_t>(100, 0), "zeros");
  }
}

TEST(ImageCodec, TruncatedCodestreamsAreRejected) {
  const core::Frame frame = test::synthetic_frame(64, 48, 8);
  for (Codec codec : kCodecs) {
    const std::vector<uint8_t> data = encode(frame, codec);
    const size_t n = data.size();
    for (size_t keep : {size_t{1}, size_t{2}, size_t{3}, size_t{20}, n / 4, n / 2, 3 * n / 4, n - 3}) {
      expect_rejected(codec, std::vector<uint8_t>(data.begin(), data.begin() + static_cast<ptrdiff_t>(keep)),
                      "first " + std::to_string(keep) + " of " + std::to_string(n) + " bytes");
    }
  }
}

TEST(ImageCodec, BitFlipsNeverCrash) {
  const core::Frame frame = test::synthetic_frame(48, 32, 9);
  std::mt19937 rng(12);
  for (Codec codec : kCodecs) {
    const std::vector<uint8_t> data = encode(frame, codec);
    for (int trial = 0; trial < 60; ++trial) {
      std::vector<uint8_t> damaged = data;
      const size_t at = std::uniform_int_distribution<size_t>(0, data.size() - 1)(rng);
      damaged[at] ^= static_cast<uint8_t>(1u << (trial % 8));
      SCOPED_TRACE(std::string(imagecodec::codec_name(codec)) + " flip at " + std::to_string(at));
      core::Frame out;
      try {
        imagecodec::decode(codec, damaged, out);
      } catch (const Error& e) {
        EXPECT_TRUE(is_codestream_error(e.code())) << e.what();
      }
    }
  }
}

TEST(ImageCodec, DamagedHeadersAreRejected) {
  const core::Frame frame = test::synthetic_frame(48, 32, 10);
  // JPEG: SOI marker; J2K and HTJ2K: the SOC marker and the SIZ marker right after it.
  for (Codec codec : kCodecs) {
    const std::vector<uint8_t> data = encode(frame, codec);
    for (size_t at : {size_t{0}, size_t{1}, size_t{2}, size_t{3}}) {
      std::vector<uint8_t> damaged = data;
      damaged[at] ^= 0xFF;
      expect_rejected(codec, damaged, "byte " + std::to_string(at) + " flipped");
    }
  }
}

TEST(ImageCodec, HeadersClaimingHugeImagesAreUnsupported) {
  // A damaged size field must not make the decoder allocate a huge frame (core::Frame stops at 16384).
  const core::Frame frame = test::synthetic_frame(64, 48, 13);
  std::vector<uint8_t> jpeg = encode(frame, Codec::jpeg);
  for (size_t i = 0; i + 8 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {  // SOF0: length, precision, height, width
      jpeg[i + 7] = 0x4E;                           // width 20000 = 0x4E20
      jpeg[i + 8] = 0x20;
      break;
    }
  }
  expect_rejected(Codec::jpeg, jpeg, "SOF0 width 20000");
  for (Codec codec : {Codec::j2k, Codec::htj2k}) {
    std::vector<uint8_t> data = encode(frame, codec);
    ASSERT_EQ(data[2], 0xFF);
    ASSERT_EQ(data[3], 0x51);  // SIZ right after SOC: Lsiz, Rsiz, then Xsiz (4 bytes, big-endian)
    data[8] = 0;
    data[9] = 0;
    data[10] = 0x4E;
    data[11] = 0x20;
    core::Frame out;
    EXPECT_EQ(test::error_code_of([&] { imagecodec::decode(codec, data, out); }), ErrorCode::unsupported);
  }
}

TEST(ImageCodec, DamagedDataNeverCrashesAndKeepsTheSize) {
  const core::Frame frame = test::synthetic_frame(48, 32, 11);
  for (Codec codec : kCodecs) {
    const std::vector<uint8_t> data = encode(frame, codec);
    for (size_t start = data.size() / 2; start + 8 < data.size(); start += 7) {
      std::vector<uint8_t> damaged = data;
      for (size_t i = start; i < start + 4; ++i) damaged[i] ^= 0x5A;
      SCOPED_TRACE(std::string(imagecodec::codec_name(codec)) + " damaged at " + std::to_string(start));
      expect_survives(codec, damaged, 48, 32);
    }
  }
}

TEST(ImageCodec, ACodestreamOfAnotherCodecIsRejected) {
  const core::Frame frame = test::synthetic_frame(32, 32, 12);
  const std::vector<uint8_t> jpeg = encode(frame, Codec::jpeg);
  const std::vector<uint8_t> j2k = encode(frame, Codec::j2k);
  const std::vector<uint8_t> htj2k = encode(frame, Codec::htj2k);
  expect_rejected(Codec::jpeg, j2k, "J2K as JPEG");
  expect_rejected(Codec::jpeg, htj2k, "HTJ2K as JPEG");
  expect_rejected(Codec::j2k, jpeg, "JPEG as J2K");
  expect_rejected(Codec::htj2k, jpeg, "JPEG as HTJ2K");
}

// ----------------------------------------------------------------------------------------------------------
// neuroscaler anchor-codecs
// ----------------------------------------------------------------------------------------------------------

TEST(AnchorCodecsCli, PrintsOneRowPerCodecAndQualityAndWritesJson) {
  test::TempDir dir;
  test::write_synthetic_video(dir.file("hr.mkv"), 48, 36, 3, media::EncoderSettings::lossless());
  test::write_synthetic_video(dir.file("lr.mkv"), 16, 12, 3, media::EncoderSettings::lossless());
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 7), dir.file("m.safetensors"));
  const test::CliResult r =
      test::run_cli({"anchor-codecs", "--lr", dir.file("lr.mkv"), "--reference", dir.file("hr.mkv"), "--model",
                     dir.file("m.safetensors"), "--frames", "0,2", "--quick", "--json", dir.file("r.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* row : {"\njpeg          50", "\njpeg444       90", "\nj2k           36", "\nhtj2k         70"}) {
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("2 images 48x36"), std::string::npos) << r.out;
  std::ifstream json(dir.file("r.json"));
  const std::string text((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"equal_rate\""), std::string::npos);
  EXPECT_NE(text.find("\"encode_ms_2_threads\""), std::string::npos);
}

TEST(AnchorCodecsCli, LrFromReferenceGivesAnchorsOfScaleTimesThatSize) {
  test::TempDir dir;
  test::write_synthetic_video(dir.file("hr.mkv"), 40, 30, 2, media::EncoderSettings::lossless());
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 7), dir.file("m.safetensors"));
  const test::CliResult r = test::run_cli({"anchor-codecs", "--reference", dir.file("hr.mkv"), "--lr-from-reference",
                                           "20x14", "--model", dir.file("m.safetensors"), "--frames", "1", "--quick"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 images 60x42 (SR x3 of 20x14"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("against HR: - dB"), std::string::npos) << r.out;  // no 60x42 reference
  const test::CliResult bad = test::run_cli({"anchor-codecs", "--reference", dir.file("hr.mkv"), "--lr-from-reference",
                                             "20by14", "--model", dir.file("m.safetensors")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("WIDTHxHEIGHT"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ns
