// Media I/O: round trips through Y4M, lossless FFV1 and the streamer encoders; bad inputs and outputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/media/image.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"
#include "support/fixtures.h"

namespace ns {
namespace {

TEST(Media, Y4mRoundTripIsBitExactWithOddSize) {
  test::TempDir dir;
  const std::string path = dir.file("odd.y4m");
  {
    media::Y4mWriter writer(path, 37, 23, {60, 1});
    for (int i = 0; i < 5; ++i) writer.write(test::synthetic_frame(37, 23, i));
    writer.close();
  }
  media::VideoReader reader(path);
  EXPECT_EQ(reader.info().width, 37);
  EXPECT_EQ(reader.info().height, 23);
  EXPECT_EQ(reader.info().frame_rate.num, 60);
  core::Frame frame;
  int count = 0;
  while (reader.read(frame)) {
    EXPECT_EQ(frame.index, count);
    EXPECT_TRUE(test::same_pixels(frame, test::synthetic_frame(37, 23, count))) << "frame " << count;
    ++count;
  }
  EXPECT_EQ(count, 5);
}

TEST(Media, LosslessReferenceRoundTripIsBitExact) {
  test::TempDir dir;
  const std::string path = dir.file("ref.mkv");
  test::write_synthetic_video(path, 96, 64, 6, media::EncoderSettings::lossless());
  const auto frames = test::read_all_frames(path);
  ASSERT_EQ(frames.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(test::same_pixels(frames[i], test::synthetic_frame(96, 64, i))) << i;
}

TEST(Media, StreamerEncodesDecodeToAllFramesWithGoodQuality) {
  test::TempDir dir;
  for (const auto& [name, settings] :
       {std::pair{"vp9.webm", media::EncoderSettings::streamer_vp9(160, 96, 800)},
        std::pair{"h264.mp4", media::EncoderSettings::streamer_h264(160, 96, 800)},
        std::pair{"h264.h264", media::EncoderSettings::streamer_h264(160, 96, 800)}}) {
    const std::string path = dir.file(name);
    test::write_synthetic_video(path, 160, 96, 30, settings);
    const auto frames = test::read_all_frames(path);
    ASSERT_EQ(frames.size(), 30u) << name;
    for (int i = 0; i < 30; i += 7) {
      EXPECT_GT(core::psnr_pooled(test::synthetic_frame(160, 96, i), frames[i]), 28.0) << name << " frame " << i;
    }
  }
}

TEST(Media, ReaderReportsStreamInfo) {
  test::TempDir dir;
  const std::string path = dir.file("info.webm");
  test::write_synthetic_video(path, 64, 48, 12, media::EncoderSettings::streamer_vp9(64, 48));
  media::Demuxer demuxer(path);
  EXPECT_EQ(demuxer.info().codec, "vp9");
  EXPECT_EQ(demuxer.info().width, 64);
  EXPECT_EQ(demuxer.info().height, 48);
  EXPECT_DOUBLE_EQ(demuxer.info().frame_rate.value(), 60.0);
  int64_t packets = 0;
  while (auto packet = demuxer.read()) {
    EXPECT_EQ(packet->index, packets);
    EXPECT_FALSE(packet->data.empty());
    if (packets == 0) {
      EXPECT_TRUE(packet->key);
    }
    ++packets;
  }
  EXPECT_GT(packets, 0);
}

TEST(Media, MissingFileIsNotFoundAndNamesTheFile) {
  try {
    media::VideoReader reader("/nonexistent/clip.webm");
    FAIL() << "opened a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/clip.webm"), std::string::npos) << e.what();
  }
}

TEST(Media, GarbageFileIsRejected) {
  test::TempDir dir;
  const std::string path = dir.file("garbage.webm");
  std::vector<char> noise(4096);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 7919u) >> 3);
  std::ofstream(path, std::ios::binary).write(noise.data(), static_cast<std::streamsize>(noise.size()));
  const ErrorCode code = test::error_code_of([&] { test::read_all_frames(path); });
  EXPECT_TRUE(code == ErrorCode::corrupt || code == ErrorCode::unsupported) << error_code_name(code);
}

TEST(Media, TruncatedFileIsCorruptAndNamesTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("full.webm");
  test::write_synthetic_video(path, 96, 64, 40, media::EncoderSettings::streamer_vp9(96, 64));
  const auto size = std::filesystem::file_size(path);
  for (uint64_t keep : {uint64_t{200}, size / 2, size - size / 8}) {
    const std::string cut = dir.file("cut.webm");
    test::truncate_copy(path, cut, keep);
    try {
      test::read_all_frames(cut);
      FAIL() << "a file cut at " << keep << " of " << size << " bytes was read without an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_NE(std::string(e.what()).find("cut.webm"), std::string::npos) << e.what();
    }
  }
}

TEST(Media, CorruptPayloadIsReportedAsCorrupt) {
  test::TempDir dir;
  const std::string path = dir.file("clean.webm");
  test::write_synthetic_video(path, 96, 64, 30, media::EncoderSettings::streamer_vp9(96, 64));
  const std::string bad = dir.file("bad.webm");
  const auto size = std::filesystem::file_size(path);
  test::corrupt_copy(path, bad, size / 3, size / 3);
  try {
    test::read_all_frames(bad);
    // Some damage is concealed by the decoder without a report; then at least nothing crashed.
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
  }
}

TEST(Media, WriterRejectsWrongFrameSize) {
  test::TempDir dir;
  media::VideoWriter writer(dir.file("x.mkv"), 64, 48, {60, 1}, media::EncoderSettings::lossless());
  EXPECT_EQ(test::error_code_of([&] { writer.write(core::Frame(32, 32)); }), ErrorCode::invalid_argument);
}

TEST(Media, WriterRejectsUnknownExtensionAndOptions) {
  test::TempDir dir;
  EXPECT_EQ(test::error_code_of([&] {
              media::VideoWriter(dir.file("x.unknownext"), 64, 48, {60, 1}, media::EncoderSettings::lossless());
            }),
            ErrorCode::unsupported);
  auto settings = media::EncoderSettings::lossless();
  settings.options["no-such-option"] = "1";
  EXPECT_EQ(test::error_code_of([&] { media::VideoWriter(dir.file("x.mkv"), 64, 48, {60, 1}, settings); }),
            ErrorCode::invalid_argument);
  auto muxed = media::EncoderSettings::lossless();
  muxed.muxer_options["no-such-muxer-option"] = "1";
  EXPECT_EQ(test::error_code_of([&] { media::VideoWriter(dir.file("y.mkv"), 64, 48, {60, 1}, muxed); }),
            ErrorCode::invalid_argument);
}

// A muxer option reaches the muxer: a file written with a timestamp offset starts that much later.
TEST(Media, WriterPassesMuxerOptions) {
  test::TempDir dir;
  auto first_seconds = [&](const std::string& name, const std::map<std::string, std::string>& muxer_options) {
    auto settings = media::EncoderSettings::streamer_h264(64, 48, 200);
    settings.muxer_options = muxer_options;
    {
      media::VideoWriter writer(dir.file(name), 64, 48, {60, 1}, settings);
      for (int i = 0; i < 4; ++i) writer.write(test::synthetic_frame(64, 48, i));
      writer.finish();
    }
    media::VideoReader reader(dir.file(name));
    core::Frame frame;
    EXPECT_TRUE(reader.read(frame));
    const media::Rational tb = reader.info().time_base;
    return static_cast<double>(frame.pts) * tb.num / tb.den;
  };
  const double plain = first_seconds("plain.ts", {});
  const double late = first_seconds("late.ts", {{"output_ts_offset", "2"}, {"mpegts_flags", "initial_discontinuity"}});
  EXPECT_NEAR(late - plain, 2.0, 1.0 / 60);
}

TEST(Media, UnwritableOutputIsAnIoError) {
  EXPECT_EQ(test::error_code_of([] {
              media::VideoWriter("/nonexistent-dir/out.mkv", 64, 48, {60, 1}, media::EncoderSettings::lossless());
            }),
            ErrorCode::not_found);
}

TEST(Media, FullDiskIsReportedByY4mWriter) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  const ErrorCode code = test::error_code_of([] {
    media::Y4mWriter writer("/dev/full", 320, 240, {60, 1});
    for (int i = 0; i < 8; ++i) writer.write(core::Frame(320, 240));
    writer.close();
  });
  EXPECT_EQ(code, ErrorCode::io);
}

TEST(Media, LoadImageDecodesPngWeWrote) {
  test::TempDir dir;
  // Make a PNG with FFmpeg's encoder through a one-frame Y4M -> not available; write a tiny PPM instead,
  // which FFmpeg decodes too, with known pixel values.
  const std::string path = dir.file("tiny.ppm");
  {
    std::ofstream out(path, std::ios::binary);
    out << "P6\n3 2\n255\n";
    const unsigned char pixels[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 100, 50, 0, 0, 0};
    out.write(reinterpret_cast<const char*>(pixels), sizeof pixels);
  }
  const core::RgbImage image = media::load_image(path);
  ASSERT_EQ(image.width, 3);
  ASSERT_EQ(image.height, 2);
  EXPECT_EQ(image.row(0)[0], 255);
  EXPECT_EQ(image.row(0)[4], 255);
  EXPECT_EQ(image.row(1)[0], 10);
  EXPECT_EQ(image.row(1)[4], 100);
  const std::string cut = dir.file("cut.ppm");
  test::truncate_copy(path, cut, 14);
  EXPECT_EQ(test::error_code_of([&] { media::load_image(cut); }), ErrorCode::corrupt);
  EXPECT_EQ(test::error_code_of([&] { media::load_image(dir.file("missing.png")); }), ErrorCode::not_found);
}

// The synthetic content moves by (2, 1) pixels per frame: frame n shows frame n - 1 shifted by (-2, -1), so the
// decoder's vectors point (+2, +1) pels = (8, 4) quarter pels into the previous frame.
TEST(Media, DecoderMotionVectorsAreExportedOnRequest) {
  test::TempDir dir;
  const std::string path = dir.file("mv.mp4");
  test::write_synthetic_video(path, 128, 96, 8, media::EncoderSettings::streamer_h264(128, 96, 800));
  media::VideoReader plain(path);
  media::VideoReader exported(path, media::ReaderOptions{.export_motion_vectors = true});
  core::Frame a, b;
  int frames = 0, inter_frames = 0;
  while (exported.read(b)) {
    ASSERT_TRUE(plain.read(a));
    EXPECT_TRUE(test::same_pixels(a, b)) << "frame " << frames;  // exporting changes nothing in the pictures
    EXPECT_TRUE(plain.motion_vectors().empty());
    const auto& mvs = exported.motion_vectors();
    if (frames == 0) {
      EXPECT_TRUE(mvs.empty());  // the key frame is intra
    }
    int matching = 0, inside = 0;
    for (const media::CodedMotionVector& v : mvs) {
      EXPECT_EQ(v.source, -1);
      EXPECT_TRUE(v.width == 16 || v.width == 8) << v.width;
      EXPECT_TRUE(v.height == 16 || v.height == 8) << v.height;
      EXPECT_EQ(v.x % v.width, 0);
      EXPECT_EQ(v.y % v.height, 0);
      // Blocks whose reference lies inside the frame follow the content.
      if (v.x + v.width + 2 < 128 && v.y + v.height + 1 < 96) {
        ++inside;
        matching += v.dx == 8 && v.dy == 4 ? 1 : 0;
      }
    }
    if (frames > 0 && inside > 0) {
      ++inter_frames;
      EXPECT_GE(matching * 10, inside * 8) << "frame " << frames << ": " << matching << " of " << inside;
    }
    ++frames;
  }
  EXPECT_EQ(frames, 8);
  EXPECT_GE(inter_frames, 6);
}

TEST(Media, Vp9ExportsNoMotionVectors) {
  test::TempDir dir;
  const std::string path = dir.file("mv.webm");
  test::write_synthetic_video(path, 64, 48, 3, media::EncoderSettings::streamer_vp9(64, 48, 400));
  media::VideoReader reader(path, media::ReaderOptions{.export_motion_vectors = true});
  core::Frame f;
  int frames = 0;
  while (reader.read(f)) {
    EXPECT_TRUE(reader.motion_vectors().empty());
    ++frames;
  }
  EXPECT_EQ(frames, 3);
}

}  // namespace
}  // namespace ns
