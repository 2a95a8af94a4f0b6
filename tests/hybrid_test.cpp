// Hybrid stream: LR packets copied bit-exact from WebM (VP9) and MP4 (H.264), anchors back on their frames, tags,
// ffprobe's view of the file, and damaged, truncated or foreign inputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/hybrid/hybrid.h"
#include "ns/imagecodec/imagecodec.h"
#include "ns/media/reader.h"
#include "support/fixtures.h"

namespace ns {
namespace {

constexpr int kWidth = 96;
constexpr int kHeight = 64;
constexpr int kFrames = 30;
constexpr int kScale = 3;

std::vector<media::Packet> read_packets(const std::string& path, media::StreamInfo* info = nullptr) {
  media::Demuxer demuxer(path);
  if (info) *info = demuxer.info();
  std::vector<media::Packet> packets;
  while (auto packet = demuxer.read()) packets.push_back(std::move(*packet));
  return packets;
}

// Presentation timestamps of the packets in display order.
std::vector<int64_t> display_pts(const std::vector<media::Packet>& packets) {
  std::vector<int64_t> pts;
  for (const auto& p : packets) pts.push_back(p.pts);
  std::sort(pts.begin(), pts.end());
  return pts;
}

// `pts` in time base num/den as Matroska's milliseconds (FFmpeg rounds halves away from zero).
int64_t to_ms(int64_t pts, media::Rational time_base) {
  return static_cast<int64_t>(std::llround(static_cast<double>(pts) * time_base.num * 1000.0 / time_base.den));
}

hybrid::HybridTags test_tags(imagecodec::Codec codec) {
  return {.scale = kScale,
          .model = "EDSR_B8_F32_S3",
          .method = "neuroscaler-q",
          .fraction = 0.1,
          .anchor_codec = codec,
          .anchor_quality = imagecodec::default_quality(codec)};
}

std::vector<uint8_t> anchor_codestream(int64_t display_index, imagecodec::Codec codec) {
  const core::Frame hr = test::synthetic_frame(kWidth * kScale, kHeight * kScale, display_index, 7);
  return imagecodec::encode(hr, {.codec = codec});
}

// Copies every LR packet of `input` into a hybrid stream at `output` and writes an anchor for each display index
// in `anchors` right after the packet of that frame.
struct Muxed {
  std::map<int64_t, std::vector<uint8_t>> anchors;  // display index -> codestream written
  int64_t video_bytes = 0;
  int64_t anchor_bytes = 0;
};
Muxed mux(const std::string& input, const std::string& output, const std::set<int64_t>& anchors,
          imagecodec::Codec codec) {
  media::StreamInfo info;
  const auto packets = read_packets(input, &info);
  const auto pts = display_pts(packets);
  Muxed muxed;
  hybrid::HybridWriter writer(output, info, test_tags(codec), kWidth * kScale, kHeight * kScale);
  for (const auto& packet : packets) {
    writer.write_video(packet);
    const int64_t index = std::lower_bound(pts.begin(), pts.end(), packet.pts) - pts.begin();
    if (anchors.count(index)) {
      muxed.anchors[index] = anchor_codestream(index, codec);
      writer.write_anchor(packet.pts, muxed.anchors[index]);
    }
  }
  writer.finish();
  EXPECT_EQ(writer.anchors_written(), static_cast<int64_t>(anchors.size()));
  muxed.video_bytes = writer.video_bytes();
  muxed.anchor_bytes = writer.anchor_bytes();
  return muxed;
}

struct ReadBack {
  std::vector<core::Frame> frames;
  std::map<int64_t, core::Frame> anchors;  // display index -> decoded anchor
  int64_t anchors_read = 0;
  int64_t anchors_skipped = 0;
};
ReadBack read_hybrid(const std::string& path, const media::ReaderOptions& options = {}) {
  hybrid::HybridReader reader(path, options);
  ReadBack back;
  core::Frame lr;
  core::Frame anchor;
  bool has_anchor = false;
  while (reader.read(lr, anchor, has_anchor)) {
    EXPECT_EQ(lr.index, static_cast<int64_t>(back.frames.size()));
    if (has_anchor) back.anchors[lr.index] = anchor.clone();
    back.frames.push_back(lr.clone());
  }
  back.anchors_read = reader.anchors_read();
  back.anchors_skipped = reader.anchors_skipped();
  return back;
}

class Hybrid : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::getenv("NS_LOG_LEVEL")) log::set_level(log::Level::error);  // the fault tests warn on purpose
    dir_ = new test::TempDir();
    test::write_synthetic_video(vp9(), kWidth, kHeight, kFrames,
                                media::EncoderSettings::streamer_vp9(kWidth, kHeight, 300));
    test::write_synthetic_video(h264(), kWidth, kHeight, kFrames,
                                media::EncoderSettings::streamer_h264(kWidth, kHeight, 300));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string vp9() { return dir_->file("lr.webm"); }
  static std::string h264() { return dir_->file("lr.mp4"); }
  static std::string file(const std::string& name) { return dir_->file(name); }

  static test::TempDir* dir_;
};
test::TempDir* Hybrid::dir_ = nullptr;

const std::set<int64_t> kAnchorIndices = {0, 4, 5, 17, kFrames - 1};

TEST_F(Hybrid, LrPacketsAreCopiedBitExactFromWebmAndMp4) {
  for (const std::string& input : {vp9(), h264()}) {
    SCOPED_TRACE(input);
    const std::string output = file("copy.mkv");
    const Muxed muxed = mux(input, output, kAnchorIndices, imagecodec::Codec::jpeg);
    media::StreamInfo in_info;
    media::StreamInfo out_info;
    const auto in = read_packets(input, &in_info);
    const auto out = read_packets(output, &out_info);  // the Demuxer picks track 1 (the default track)
    EXPECT_EQ(out_info.codec, in_info.codec);
    EXPECT_EQ(out_info.width, kWidth);
    EXPECT_EQ(out_info.height, kHeight);
    EXPECT_EQ(out_info.extradata, in_info.extradata);
    EXPECT_EQ(out_info.frame_rate.num * in_info.frame_rate.den, in_info.frame_rate.num * out_info.frame_rate.den);
    EXPECT_EQ(out_info.time_base.num, 1);
    EXPECT_EQ(out_info.time_base.den, 1000);
    ASSERT_EQ(out.size(), in.size());
    int64_t bytes = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(out[i].data, in[i].data) << "packet " << i;
      EXPECT_EQ(out[i].key, in[i].key) << "packet " << i;
      EXPECT_EQ(out[i].pts, to_ms(in[i].pts, in_info.time_base)) << "packet " << i;
      bytes += static_cast<int64_t>(in[i].data.size());
    }
    EXPECT_EQ(muxed.video_bytes, bytes);
    int64_t anchor_bytes = 0;
    for (const auto& [index, codestream] : muxed.anchors) anchor_bytes += static_cast<int64_t>(codestream.size());
    EXPECT_EQ(muxed.anchor_bytes, anchor_bytes);
  }
}

TEST_F(Hybrid, AnchorsComeBackOnTheirFramesForEveryCodec) {
  const std::pair<std::string, imagecodec::Codec> cases[] = {
      {vp9(), imagecodec::Codec::htj2k}, {h264(), imagecodec::Codec::jpeg}, {vp9(), imagecodec::Codec::j2k}};
  std::map<std::string, std::vector<core::Frame>> reference;
  reference.emplace(vp9(), test::read_all_frames(vp9()));
  reference.emplace(h264(), test::read_all_frames(h264()));
  for (const auto& [input, codec] : cases) {
    SCOPED_TRACE(input + " with " + imagecodec::codec_name(codec));
    const std::string output = file("round.mkv");
    const Muxed muxed = mux(input, output, kAnchorIndices, codec);
    {
      hybrid::HybridReader reader(output);
      const hybrid::HybridInfo& info = reader.info();
      EXPECT_TRUE(info.has_anchors);
      EXPECT_EQ(info.anchor_width, kWidth * kScale);
      EXPECT_EQ(info.anchor_height, kHeight * kScale);
      EXPECT_EQ(info.video.width, kWidth);
      EXPECT_EQ(info.video.codec, input == vp9() ? "vp9" : "h264");
      const hybrid::HybridTags expected = test_tags(codec);
      EXPECT_EQ(info.tags.scale, expected.scale);
      EXPECT_EQ(info.tags.model, expected.model);
      EXPECT_EQ(info.tags.method, expected.method);
      EXPECT_EQ(info.tags.fraction, expected.fraction);
      EXPECT_EQ(info.tags.anchor_codec, codec);
      EXPECT_EQ(info.tags.anchor_quality, expected.anchor_quality);
    }
    // One decoder thread: no decoder delay, so each frame comes out before its anchor was read.
    for (const int threads : {0, 1}) {
      SCOPED_TRACE(threads);
      const ReadBack back = read_hybrid(output, {.threads = threads});
      const auto& frames = reference.at(input);
      ASSERT_EQ(back.frames.size(), frames.size());
      for (size_t i = 0; i < frames.size(); ++i) EXPECT_TRUE(test::same_pixels(back.frames[i], frames[i])) << i;
      EXPECT_EQ(back.anchors_read, static_cast<int64_t>(kAnchorIndices.size()));
      EXPECT_EQ(back.anchors_skipped, 0);
      ASSERT_EQ(back.anchors.size(), kAnchorIndices.size());
      for (const auto& [index, codestream] : muxed.anchors) {
        ASSERT_TRUE(back.anchors.count(index)) << "no anchor on frame " << index;
        core::Frame expected;
        imagecodec::decode(codec, codestream, expected);
        EXPECT_TRUE(test::same_pixels(back.anchors.at(index), expected)) << "anchor of frame " << index;
      }
    }
  }
}

TEST_F(Hybrid, AnchorsWrittenTenPacketsLateStillFindTheirFrames) {
  // The engine writes an anchor when its SR is done, after later LR packets: the interleaver puts it back in place.
  media::StreamInfo info;
  const auto packets = read_packets(h264(), &info);
  const auto pts = display_pts(packets);
  const std::string output = file("late.mkv");
  {
    hybrid::HybridWriter writer(output, info, test_tags(imagecodec::Codec::jpeg), kWidth * kScale, kHeight * kScale);
    for (size_t i = 0; i < packets.size(); ++i) {
      writer.write_video(packets[i]);
      if (i < 10) continue;
      writer.write_anchor(pts[i - 10], anchor_codestream(static_cast<int64_t>(i) - 10, imagecodec::Codec::jpeg));
    }
  }  // the destructor finishes
  const ReadBack back = read_hybrid(output);
  ASSERT_EQ(back.frames.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(back.anchors_read, kFrames - 10);
  EXPECT_EQ(back.anchors_skipped, 0);
  for (int64_t i = 0; i < kFrames - 10; ++i) {
    ASSERT_TRUE(back.anchors.count(i)) << "no anchor on frame " << i;
    core::Frame expected;
    imagecodec::decode(imagecodec::Codec::jpeg, anchor_codestream(i, imagecodec::Codec::jpeg), expected);
    EXPECT_TRUE(test::same_pixels(back.anchors.at(i), expected)) << "anchor of frame " << i;
  }
}

// A program on PATH ("ffprobe", "ffmpeg"), or "" when it is not installed.
std::string find_tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (!dir.empty() && std::filesystem::exists(candidate)) return candidate.string();
  }
  return "";
}

std::string run_capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return "";
  std::string out;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) out.append(buffer, n);
  return out;
}

TEST_F(Hybrid, FfprobeSeesBothTracksAndTheTags) {
  const std::string ffprobe = find_tool("ffprobe");
  if (ffprobe.empty()) GTEST_SKIP() << "ffprobe is not installed";
  for (const auto& [input, codec] :
       {std::pair{vp9(), imagecodec::Codec::htj2k}, std::pair{h264(), imagecodec::Codec::jpeg}}) {
    SCOPED_TRACE(input);
    const std::string output = file("probe.mkv");
    mux(input, output, kAnchorIndices, codec);
    const std::string text = run_capture("'" + ffprobe + "' -v error -count_packets -show_streams -show_format " +
                                         "-of json '" + output + "' 2>/dev/null");
    const nlohmann::json probe = nlohmann::json::parse(text, nullptr, false);
    ASSERT_FALSE(probe.is_discarded()) << text;
    ASSERT_EQ(probe["streams"].size(), 2u) << text;
    const auto& lr = probe["streams"][0];
    const auto& anchors = probe["streams"][1];
    EXPECT_EQ(lr["codec_name"], input == vp9() ? "vp9" : "h264");
    EXPECT_EQ(lr["width"], kWidth);
    EXPECT_EQ(lr["nb_read_packets"], std::to_string(kFrames));
    EXPECT_EQ(lr["disposition"]["default"], 1);
    EXPECT_EQ(anchors["codec_name"], imagecodec::container_codec_name(codec));
    EXPECT_EQ(anchors["width"], kWidth * kScale);
    EXPECT_EQ(anchors["height"], kHeight * kScale);
    EXPECT_EQ(anchors["nb_read_packets"], std::to_string(kAnchorIndices.size()));
    EXPECT_EQ(anchors["disposition"]["default"], 0);
    const auto& tags = probe["format"]["tags"];
    EXPECT_EQ(probe["format"]["format_name"], "matroska,webm");
    EXPECT_EQ(tags["NEUROSCALER_SCALE"], "3");
    EXPECT_EQ(tags["NEUROSCALER_MODEL"], "EDSR_B8_F32_S3");
    EXPECT_EQ(tags["NEUROSCALER_METHOD"], "neuroscaler-q");
    EXPECT_EQ(tags["NEUROSCALER_FRACTION"], "0.1");
    EXPECT_EQ(tags["NEUROSCALER_ANCHOR_CODEC"], imagecodec::codec_name(codec));
    EXPECT_TRUE(tags.contains("NEUROSCALER_ANCHOR_QUALITY"));
  }
}

TEST_F(Hybrid, FilesRemuxedWithoutOurTagsStillGiveTheirAnchors) {
  // FFmpeg drops every tag (-map_metadata -1): tracks are then told apart by codec, the anchor codec comes from the
  // track, the other tags take their defaults.
  const std::string ffmpeg = find_tool("ffmpeg");
  if (ffmpeg.empty()) GTEST_SKIP() << "ffmpeg is not installed";
  const std::string ours = file("tagged.mkv");
  mux(h264(), ours, kAnchorIndices, imagecodec::Codec::jpeg);
  const std::string bare = file("bare.mkv");
  const std::string remux = "'" + ffmpeg + "' -v error -y -i '" + ours + "' -map 0 -c copy -map_metadata -1 ";
  ASSERT_EQ(std::system((remux + "'" + bare + "'").c_str()), 0);
  {
    hybrid::HybridReader reader(bare);
    EXPECT_TRUE(reader.info().has_anchors);
    EXPECT_EQ(reader.info().video.codec, "h264");
    EXPECT_EQ(reader.info().tags.anchor_codec, imagecodec::Codec::jpeg);
    EXPECT_EQ(reader.info().tags.model, "");
  }
  const ReadBack back = read_hybrid(bare);
  EXPECT_EQ(back.frames.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(back.anchors_read, static_cast<int64_t>(kAnchorIndices.size()));

  const std::string bad = file("bad_tag.mkv");
  ASSERT_EQ(std::system((remux + "-metadata NEUROSCALER_SCALE=three '" + bad + "'").c_str()), 0);
  EXPECT_EQ(test::error_code_of([&] { hybrid::HybridReader reader(bad); }), ErrorCode::corrupt);
}

TEST_F(Hybrid, DecoderFromStreamInfoDecodesLikeTheDemuxersDecoder) {
  for (const std::string& input : {vp9(), h264()}) {
    SCOPED_TRACE(input);
    media::StreamInfo info;
    const auto packets = read_packets(input, &info);
    media::Decoder decoder(info);
    const auto reference = test::read_all_frames(input);
    std::vector<core::Frame> frames;
    core::Frame frame;
    for (const auto& packet : packets) {
      decoder.send(packet);
      while (decoder.receive(frame)) frames.push_back(frame.clone());
    }
    decoder.flush();
    while (decoder.receive(frame)) frames.push_back(frame.clone());
    ASSERT_EQ(frames.size(), reference.size());
    for (size_t i = 0; i < frames.size(); ++i) EXPECT_TRUE(test::same_pixels(frames[i], reference[i])) << i;
  }
  media::StreamInfo unknown;
  unknown.codec = "no-such-codec";
  unknown.width = kWidth;
  unknown.height = kHeight;
  EXPECT_EQ(test::error_code_of([&] { media::Decoder decoder(unknown); }), ErrorCode::unsupported);
}

TEST_F(Hybrid, DamagedAndWrongSizeAnchorsAreSkippedAndCounted) {
  media::StreamInfo info;
  const auto packets = read_packets(vp9(), &info);
  const auto pts = display_pts(packets);
  const std::string output = file("bad_anchors.mkv");
  const auto good = anchor_codestream(2, imagecodec::Codec::htj2k);
  auto damaged = anchor_codestream(6, imagecodec::Codec::htj2k);
  damaged.resize(damaged.size() / 3);  // cut short
  const std::vector<uint8_t> garbage(500, 0x5a);
  const auto small = imagecodec::encode(test::synthetic_frame(kWidth, kHeight, 9), {.codec = imagecodec::Codec::htj2k});
  {
    hybrid::HybridWriter writer(output, info, test_tags(imagecodec::Codec::htj2k), kWidth * kScale, kHeight * kScale);
    for (const auto& packet : packets) writer.write_video(packet);
    writer.write_anchor(pts[2], good);
    writer.write_anchor(pts[6], damaged);
    writer.write_anchor(pts[8], garbage);
    writer.write_anchor(pts[9], small);
    writer.finish();
    writer.finish();  // idempotent
  }
  const ReadBack back = read_hybrid(output);
  EXPECT_EQ(back.frames.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(back.anchors_read, 1);
  EXPECT_EQ(back.anchors_skipped, 3);
  ASSERT_EQ(back.anchors.size(), 1u);
  EXPECT_TRUE(back.anchors.count(2));
}

TEST_F(Hybrid, AnchorsMatchingNoFrameAreDroppedAndReadingGoesOn) {
  // 8 anchors between every two frames (240 in all, more than kMaxPendingAnchors), one real anchor on frame 3, and
  // 100 anchors after the last frame: none but the real one may come out, and every frame must.
  media::StreamInfo info;
  const auto packets = read_packets(vp9(), &info);
  const auto pts = display_pts(packets);
  ASSERT_EQ(info.time_base.den, 1000);  // WebM: milliseconds, 16-17 per frame at 60 fps
  const std::string output = file("stray.mkv");
  const auto stray = anchor_codestream(0, imagecodec::Codec::jpeg);
  const auto real = anchor_codestream(3, imagecodec::Codec::jpeg);
  {
    hybrid::HybridWriter writer(output, info, test_tags(imagecodec::Codec::jpeg), kWidth * kScale, kHeight * kScale);
    for (const auto& packet : packets) writer.write_video(packet);
    for (int i = 0; i < kFrames; ++i) {
      if (i == 3) writer.write_anchor(pts[i], real);
      for (int k = 1; k <= 8; ++k) writer.write_anchor(pts[i] + k, stray);
    }
    for (int k = 0; k < 100; ++k) writer.write_anchor(pts.back() + 1000 + k, stray);
  }
  const ReadBack back = read_hybrid(output);
  EXPECT_EQ(back.frames.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(back.anchors_read, 1);
  EXPECT_EQ(back.anchors_skipped, kFrames * 8 + 100);
  ASSERT_EQ(back.anchors.size(), 1u);
  EXPECT_TRUE(back.anchors.count(3));
}

TEST_F(Hybrid, FileWithoutAnchorTrackGivesAllLrFrames) {
  for (const std::string& input : {vp9(), h264()}) {
    SCOPED_TRACE(input);
    hybrid::HybridReader reader(input);
    EXPECT_FALSE(reader.info().has_anchors);
    EXPECT_EQ(reader.info().tags.scale, 3);  // default
    const ReadBack back = read_hybrid(input);
    const auto reference = test::read_all_frames(input);
    ASSERT_EQ(back.frames.size(), reference.size());
    for (size_t i = 0; i < reference.size(); ++i) EXPECT_TRUE(test::same_pixels(back.frames[i], reference[i])) << i;
    EXPECT_TRUE(back.anchors.empty());
  }
}

TEST_F(Hybrid, TruncatedFilesGiveTheirGoodFramesOrCorrupt) {
  const std::string full = file("whole.mkv");
  const Muxed muxed = mux(vp9(), full, kAnchorIndices, imagecodec::Codec::jpeg);
  const auto reference = test::read_all_frames(vp9());
  const auto size = std::filesystem::file_size(full);
  size_t most = 0;
  for (const double fraction : {0.01, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99}) {
    SCOPED_TRACE(fraction);
    const std::string cut = file("cut.mkv");
    test::truncate_copy(full, cut, static_cast<uint64_t>(static_cast<double>(size) * fraction));
    try {
      const ReadBack back = read_hybrid(cut);
      EXPECT_LE(back.frames.size(), reference.size());
      most = std::max(most, back.frames.size());
      for (size_t i = 0; i < back.frames.size(); ++i) {
        EXPECT_TRUE(test::same_pixels(back.frames[i], reference[i])) << "frame " << i;
      }
      for (const auto& [index, anchor] : back.anchors) {
        core::Frame expected;
        imagecodec::decode(imagecodec::Codec::jpeg, muxed.anchors.at(index), expected);
        EXPECT_TRUE(test::same_pixels(anchor, expected)) << "anchor " << index;
      }
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
      EXPECT_NE(std::string(e.what()).find("cut.mkv"), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(most, reference.size() / 2);  // the late cuts keep most frames
}

TEST_F(Hybrid, DamagedBytesEndReadingWithoutCrashOrForeignErrors) {
  const std::string full = file("whole_h264.mkv");
  mux(h264(), full, kAnchorIndices, imagecodec::Codec::jpeg);
  const auto size = std::filesystem::file_size(full);
  for (const double fraction : {0.02, 0.1, 0.3, 0.5, 0.7, 0.9}) {
    SCOPED_TRACE(fraction);
    const std::string damaged = file("damaged.mkv");
    test::corrupt_copy(full, damaged, static_cast<uint64_t>(static_cast<double>(size) * fraction), 64);
    try {
      const ReadBack back = read_hybrid(damaged);
      EXPECT_LE(back.frames.size(), static_cast<size_t>(kFrames));
      EXPECT_LE(back.anchors_read, static_cast<int64_t>(kAnchorIndices.size()));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::corrupt) << e.what();
    }
  }
}

TEST_F(Hybrid, ReaderGivesTheDecodersMotionVectors) {
  const std::string output = file("vectors.mkv");
  mux(h264(), output, kAnchorIndices, imagecodec::Codec::jpeg);
  const media::ReaderOptions options{.threads = 1, .export_motion_vectors = true};
  media::VideoReader reference(h264(), options);
  hybrid::HybridReader reader(output, options);
  core::Frame expected;
  core::Frame lr;
  core::Frame anchor;
  bool has_anchor = false;
  size_t vectors = 0;
  while (reader.read(lr, anchor, has_anchor)) {
    ASSERT_TRUE(reference.read(expected));
    EXPECT_EQ(reader.motion_vectors(), reference.motion_vectors()) << "frame " << lr.index;
    vectors += reader.motion_vectors().size();
  }
  EXPECT_FALSE(reference.read(expected));
  EXPECT_GT(vectors, 0u);
}

TEST_F(Hybrid, ReaderRejectsMissingAndForeignFiles) {
  EXPECT_EQ(test::error_code_of([&] { hybrid::HybridReader reader(file("missing.mkv")); }), ErrorCode::not_found);
  const std::string garbage = file("garbage.mkv");
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 5000; ++i) out.put(static_cast<char>((i * 7919) % 251));
  }
  EXPECT_EQ(test::error_code_of([&] { hybrid::HybridReader reader(garbage); }), ErrorCode::corrupt);
  const std::string empty = file("empty.mkv");
  std::ofstream(empty).close();
  EXPECT_EQ(test::error_code_of([&] { hybrid::HybridReader reader(empty); }), ErrorCode::corrupt);
}

TEST_F(Hybrid, WriterReportsIoErrorsAndMisuse) {
  media::StreamInfo info;
  const auto packets = read_packets(vp9(), &info);
  const auto tags = test_tags(imagecodec::Codec::jpeg);
  const int w = kWidth * kScale;
  const int h = kHeight * kScale;
  EXPECT_EQ(test::error_code_of([&] { hybrid::HybridWriter writer(dir_->path().string(), info, tags, w, h); }),
            ErrorCode::io);
  EXPECT_EQ(test::error_code_of([&] { hybrid::HybridWriter writer(file("no/such/dir/x.mkv"), info, tags, w, h); }),
            ErrorCode::io);
  if (std::filesystem::exists("/dev/full")) {  // a disk that is always full
    EXPECT_EQ(test::error_code_of([&] {
                hybrid::HybridWriter writer("/dev/full", info, tags, w, h);
                for (const auto& packet : packets) writer.write_video(packet);
                writer.finish();
              }),
              ErrorCode::io);
  }
  EXPECT_EQ(test::error_code_of([&] { hybrid::HybridWriter writer(file("bad.mkv"), info, tags, 0, h); }),
            ErrorCode::invalid_argument);
  for (const auto& bad_tags : {hybrid::HybridTags{.scale = 0}, hybrid::HybridTags{.fraction = 1.5},
                               hybrid::HybridTags{.anchor_quality = -1}}) {
    EXPECT_EQ(test::error_code_of([&] { hybrid::HybridWriter writer(file("bad.mkv"), info, bad_tags, w, h); }),
              ErrorCode::invalid_argument);
  }
  hybrid::HybridWriter writer(file("misuse.mkv"), info, tags, w, h);
  writer.write_video(packets[0]);
  EXPECT_EQ(test::error_code_of([&] { writer.write_video(packets[0]); }), ErrorCode::invalid_argument);
  writer.write_anchor(packets[0].pts, anchor_codestream(0, imagecodec::Codec::jpeg));
  const auto codestream = anchor_codestream(0, imagecodec::Codec::jpeg);
  EXPECT_EQ(test::error_code_of([&] { writer.write_anchor(packets[0].pts, codestream); }), ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([&] { writer.write_anchor(packets[0].pts + 100, {}); }), ErrorCode::invalid_argument);
  writer.finish();
  EXPECT_EQ(test::error_code_of([&] { writer.write_video(packets[1]); }), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace ns
