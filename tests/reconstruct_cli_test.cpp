// neuroscaler reconstruct: ground-truth anchors beat bicubic; SR anchors from a model, every frame SR'd equals
// neuroscaler upscale; H.264 decoder vectors; bad anchor sources, missing anchors, empty input and codecs without
// vectors fail with one clear line.
#include <gtest/gtest.h>

#include <sstream>

#include "ns/core/resize.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns {
namespace {

// HR frames of a panning texture, and LR = HR area-down-scaled x3, both stored losslessly.
void write_pair(const test::TempDir& dir, int frames) {
  media::VideoWriter hr(dir.file("hr.mkv"), 192, 108, {60, 1}, media::EncoderSettings::lossless());
  media::VideoWriter lr(dir.file("lr.mkv"), 64, 36, {60, 1}, media::EncoderSettings::lossless());
  for (int i = 0; i < frames; ++i) {
    const core::Frame frame = test::synthetic_frame(192, 108, i, 7, 1, 0);
    hr.write(frame);
    lr.write(core::resized(frame, 64, 36, core::ResizeFilter::area));
  }
  hr.finish();
  lr.finish();
}

TEST(ReconstructCli, GroundTruthAnchorsBeatBicubic) {
  test::TempDir dir;
  write_pair(dir, 20);
  const test::CliResult r = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--reference", dir.file("hr.mkv"),
                                           "--anchor-video", dir.file("hr.mkv"), "--every", "10",
                                           "--out", dir.file("out.y4m")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream table(r.out);
  std::string header;
  std::getline(table, header);
  EXPECT_EQ(header, "frames\tanchors\tpsnr\tssim_y\tbicubic_psnr\tbicubic_ssim_y\tgain_db");
  int64_t frames = 0, anchors = 0;
  double psnr = 0, ssim = 0, bicubic = 0, bicubic_ssim = 0, gain = 0;
  table >> frames >> anchors >> psnr >> ssim >> bicubic >> bicubic_ssim >> gain;
  EXPECT_EQ(frames, 20);
  EXPECT_EQ(anchors, 2);  // frames 0 and 10
  EXPECT_GT(psnr, bicubic + 1.0);
  EXPECT_NEAR(gain, psnr - bicubic, 1e-3);
}

TEST(ReconstructCli, NeedsExactlyOneAnchorSource) {
  test::TempDir dir;
  write_pair(dir, 3);
  const test::CliResult r =
      test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--reference", dir.file("hr.mkv"), "--every", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--anchor-video"), std::string::npos) << r.err;
}

TEST(ReconstructCli, MissingAnchorImageIsNamed) {
  test::TempDir dir;
  write_pair(dir, 3);
  const test::CliResult r = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--out", dir.file("o.y4m"),
                                           "--anchor-dir", dir.path().string(), "--anchors", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no anchor image for frame 1"), std::string::npos) << r.err;
}

TEST(ReconstructCli, ReferenceOfWrongSizeIsAMismatch) {
  test::TempDir dir;
  write_pair(dir, 3);
  const test::CliResult r = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--reference", dir.file("lr.mkv"),
                                           "--anchor-video", dir.file("hr.mkv"), "--every", "2"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("check --scale"), std::string::npos) << r.err;
}

struct Table {
  int64_t frames = 0, anchors = 0;
  double psnr = 0, ssim = 0, bicubic = 0, bicubic_ssim = 0, gain = 0;
};

Table parse_table(const std::string& out) {
  std::istringstream table(out);
  std::string header;
  std::getline(table, header);
  Table t;
  table >> t.frames >> t.anchors >> t.psnr >> t.ssim >> t.bicubic >> t.bicubic_ssim >> t.gain;
  return t;
}

// A tiny random model: its pictures are meaningless, but every frame SR'd through reconstruct must be exactly what
// neuroscaler upscale writes, and model anchors must go through the reuse chain.
TEST(ReconstructCli, ModelAnchorsAndPerFrameSrMatchUpscale) {
  test::TempDir dir;
  write_pair(dir, 6);
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 7), dir.file("m.safetensors"));
  // SR anchors on every frame replace their frame (the default there): per-frame SR.
  const test::CliResult every = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--model",
                                               dir.file("m.safetensors"), "--fraction", "1", "--out",
                                               dir.file("all.y4m"), "--reference", dir.file("hr.mkv")});
  ASSERT_EQ(every.exit_code, 0) << every.err;
  EXPECT_EQ(parse_table(every.out).anchors, 6);
  const test::CliResult upscale = test::run_cli(
      {"upscale", "--model", dir.file("m.safetensors"), "--in", dir.file("lr.mkv"), "--out", dir.file("up.y4m")});
  ASSERT_EQ(upscale.exit_code, 0) << upscale.err;
  media::VideoReader a(dir.file("all.y4m")), b(dir.file("up.y4m"));
  core::Frame fa, fb;
  int frames = 0;
  while (a.read(fa)) {
    ASSERT_TRUE(b.read(fb));
    EXPECT_TRUE(test::same_pixels(fa, fb)) << "frame " << frames;
    ++frames;
  }
  EXPECT_EQ(frames, 6);
  // With --anchor-weight below 1 SR anchors are blended into the reuse prediction: the first frame (no chain yet)
  // is the anchor itself, the next ones are not. (Fewer anchors than frames blend by default; see below.)
  const test::CliResult blended = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--model",
                                                 dir.file("m.safetensors"), "--fraction", "1", "--anchor-weight",
                                                 "0.25", "--out", dir.file("blend.y4m")});
  ASSERT_EQ(blended.exit_code, 0) << blended.err;
  media::VideoReader c(dir.file("blend.y4m")), d(dir.file("up.y4m"));
  for (int n = 0; n < 2; ++n) {
    ASSERT_TRUE(c.read(fa));
    ASSERT_TRUE(d.read(fb));
    EXPECT_EQ(test::same_pixels(fa, fb), n == 0) << "frame " << n;
  }
  // A few SR anchors, the rest reused: runs and counts its anchors; --scale must agree with the model's.
  // A few SR anchors are blended by default (reuse::kSrAnchorWeight); --anchor-weight 1 replaces them.
  double some_psnr[2] = {0, 0};
  for (const bool replace : {false, true}) {
    std::vector<std::string> args = {"reconstruct", "--lr", dir.file("lr.mkv"), "--model", dir.file("m.safetensors"),
                                     "--every", "3", "--reference", dir.file("hr.mkv")};
    if (replace) args.insert(args.end(), {"--anchor-weight", "1"});
    const test::CliResult some = test::run_cli(args);
    ASSERT_EQ(some.exit_code, 0) << some.err;
    EXPECT_EQ(parse_table(some.out).anchors, 2);
    some_psnr[replace] = parse_table(some.out).psnr;
  }
  EXPECT_NE(some_psnr[0], some_psnr[1]);
  const test::CliResult wrong_scale = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--model",
                                                     dir.file("m.safetensors"), "--every", "3", "--scale", "2",
                                                     "--out", dir.file("x.y4m")});
  EXPECT_EQ(wrong_scale.exit_code, 1);
  EXPECT_NE(wrong_scale.err.find("up-scales x3"), std::string::npos) << wrong_scale.err;
  EXPECT_NE(wrong_scale.err.find("drop --scale"), std::string::npos) << wrong_scale.err;
}

TEST(ReconstructCli, DecoderVectorsOfH264) {
  test::TempDir dir;
  write_pair(dir, 12);
  {
    media::VideoReader lossless(dir.file("lr.mkv"));
    media::VideoWriter h264(dir.file("lr.mp4"), 64, 36, {60, 1}, media::EncoderSettings::streamer_h264(64, 36, 600));
    core::Frame f;
    while (lossless.read(f)) h264.write(f);
    h264.finish();
  }
  Table tables[3];
  const char* modes[] = {"own", "decoder", "both"};
  for (int m = 0; m < 3; ++m) {
    const test::CliResult r = test::run_cli({"reconstruct", "--lr", dir.file("lr.mp4"), "--reference",
                                             dir.file("hr.mkv"), "--anchor-video", dir.file("hr.mkv"), "--every",
                                             "6", "--motion", modes[m]});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    tables[m] = parse_table(r.out);
    EXPECT_NE(r.err.find(std::string("motion (") + modes[m] + ")"), std::string::npos) << r.err;
    EXPECT_GT(tables[m].psnr, tables[m].bicubic + 1.0) << modes[m];
  }
  // The decoder's vectors change the result (they are used), and a lossless LR stream has none to give.
  EXPECT_NE(tables[0].psnr, tables[1].psnr);
  const test::CliResult ffv1 = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--reference",
                                              dir.file("hr.mkv"), "--anchor-video", dir.file("hr.mkv"), "--every",
                                              "6", "--motion", "decoder"});
  EXPECT_EQ(ffv1.exit_code, 1);
  EXPECT_NE(ffv1.err.find("--motion own"), std::string::npos) << ffv1.err;
}

TEST(ReconstructCli, MissingAnchorsAndEmptyInputAreNamed) {
  test::TempDir dir;
  write_pair(dir, 4);
  // An anchor video shorter than the LR video runs out of anchors.
  {
    media::VideoReader hr(dir.file("hr.mkv"));
    media::VideoWriter short_hr(dir.file("short.mkv"), 192, 108, {60, 1}, media::EncoderSettings::lossless());
    core::Frame f;
    for (int i = 0; i < 2 && hr.read(f); ++i) short_hr.write(f);
    short_hr.finish();
  }
  const test::CliResult short_anchors = test::run_cli({"reconstruct", "--lr", dir.file("lr.mkv"), "--anchor-video",
                                                       dir.file("short.mkv"), "--every", "3", "--out",
                                                       dir.file("o.y4m")});
  EXPECT_EQ(short_anchors.exit_code, 1);
  EXPECT_NE(short_anchors.err.find("the anchor video ended before the LR video"), std::string::npos)
      << short_anchors.err;
  // A stream with no frames.
  {
    media::Y4mWriter empty(dir.file("empty.y4m"), 64, 36, {60, 1});
    empty.close();
  }
  const test::CliResult empty = test::run_cli({"reconstruct", "--lr", dir.file("empty.y4m"), "--anchor-video",
                                               dir.file("hr.mkv"), "--every", "3", "--out", dir.file("e.y4m")});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("has no frames"), std::string::npos) << empty.err;
}

}  // namespace
}  // namespace ns
