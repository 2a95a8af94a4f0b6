// neuroscaler reconstruct: ground-truth anchors beat bicubic; bad anchor sources fail with one clear line.
#include <gtest/gtest.h>

#include <sstream>

#include "ns/core/resize.h"
#include "ns/media/writer.h"
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

}  // namespace
}  // namespace ns
