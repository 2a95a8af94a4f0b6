// neuroscaler enhance and decode, end to end: the viewer's frames equal an in-memory reconstruction from the same
// coded anchors; the summary's bitrates add up; the baselines write HR video; a truncated hybrid file, a file without
// anchors, a missing model and a damaged input give a warning or one clear line.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "ns/anchor/anchor.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"
#include "ns/hybrid/hybrid.h"
#include "ns/imagecodec/imagecodec.h"
#include "ns/media/probe.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/reuse/reuse.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns {
namespace {

constexpr int kFrames = 40;

// HR frames of a panning texture (lossless), LR = HR area-down-scaled x3 and coded like a streamer (VP9), and a
// tiny random x3 model: its pictures are meaningless, but they are deterministic, which is what these tests need.
void write_fixtures(const test::TempDir& dir) {
  media::VideoWriter hr(dir.file("hr.mkv"), 192, 108, {60, 1}, media::EncoderSettings::lossless());
  media::VideoWriter lr(dir.file("lr.webm"), 64, 36, {60, 1}, media::EncoderSettings::streamer_vp9(64, 36, 200));
  for (int i = 0; i < kFrames; ++i) {
    const core::Frame frame = test::synthetic_frame(192, 108, i, 7, 1, 0);
    hr.write(frame);
    lr.write(core::resized(frame, 64, 36, core::ResizeFilter::area));
  }
  hr.finish();
  lr.finish();
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 7), dir.file("m.safetensors"));
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file);
}

TEST(EnhanceCli, DecodeEqualsInMemoryReconstruction) {
  test::TempDir dir;
  write_fixtures(dir);
  for (const char* codec : {"htj2k", "jpeg", "j2k"}) {
    SCOPED_TRACE(codec);
    const test::CliResult enhanced =
        test::run_cli({"enhance", "--in", dir.file("lr.webm"), "--model", dir.file("m.safetensors"), "--fraction",
                       "0.1", "--anchor-codec", codec, "--out", dir.file("h.mkv"), "--json", dir.file("s.json"),
                       "--backend", "ref"});
    ASSERT_EQ(enhanced.exit_code, 0) << enhanced.err;
    const nlohmann::json summary = read_json(dir.file("s.json"));
    EXPECT_EQ(summary["frames"], kFrames);
    EXPECT_EQ(summary["anchors"], 4);  // 7.5 % .. 10 % of 40 frames in epochs of 40
    EXPECT_NEAR(summary["delivered_kbps"].get<double>(),
                summary["lr_kbps"].get<double>() + summary["anchor_kbps"].get<double>(), 1e-6);
    EXPECT_GT(summary["anchor_kbps"].get<double>(), 0.0);

    const test::CliResult decoded = test::run_cli({"decode", "--in", dir.file("h.mkv"), "--out",
                                                   dir.file("hr.y4m"), "--reference", dir.file("hr.mkv")});
    ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
    const std::vector<core::Frame> viewer = test::read_all_frames(dir.file("hr.y4m"));
    ASSERT_EQ(viewer.size(), static_cast<size_t>(kFrames));

    // In memory, independently of the hybrid file: SR of the anchor frames the file names, coded and decoded as the
    // file's codec does it, pushed with the LR frames through a reconstructor.
    hybrid::HybridReader hybrid(dir.file("h.mkv"));
    std::set<int64_t> anchor_indices;
    {
      core::Frame lr, anchor;
      bool has_anchor = false;
      while (hybrid.read(lr, anchor, has_anchor)) {
        if (has_anchor) anchor_indices.insert(lr.index);
      }
    }
    EXPECT_EQ(anchor_indices.size(), 4u);
    const imagecodec::EncodeSettings coding{.codec = imagecodec::parse_codec(codec),
                                            .quality = hybrid.info().tags.anchor_quality};
    sr::UpscalerOptions sr_options;
    sr_options.backend = "ref";
    sr::Upscaler upscaler(sr::load_model(dir.file("m.safetensors")), 64, 36, sr_options);
    reuse::Reconstructor memory(reuse::ReuseSettings{.scale = 3, .anchor_weight = reuse::kSrAnchorWeight}, 64, 36);
    media::VideoReader lr_reader(dir.file("lr.webm"));
    const std::vector<core::Frame> reference = test::read_all_frames(dir.file("hr.mkv"));
    core::Frame lr, sr_frame, coded;
    double psnr_viewer = 0, psnr_memory = 0;
    int identical = 0;
    for (int i = 0; lr_reader.read(lr); ++i) {
      const core::Frame* anchor = nullptr;
      if (anchor_indices.count(i)) {
        upscaler.upscale(lr, sr_frame);
        imagecodec::decode(coding.codec, imagecodec::encode(sr_frame, coding), coded);
        anchor = &coded;
      }
      const core::Frame& hr = memory.push(lr, anchor);
      identical += test::same_pixels(hr, viewer[i]) ? 1 : 0;
      psnr_viewer += core::psnr_pooled(reference[i], viewer[i]) / kFrames;
      psnr_memory += core::psnr_pooled(reference[i], hr) / kFrames;
    }
    EXPECT_NEAR(psnr_viewer, psnr_memory, 0.05);
    EXPECT_EQ(identical, kFrames);  // same anchors, same LR frames, deterministic reuse
  }
}

// The anchors the selective baseline should make: uniform selection at its default 0.075 in epochs of 40 frames.
int64_t uniform_anchors(const std::string& lr) {
  anchor::SchedulerConfig config;
  config.method = anchor::Method::uniform;
  config.fraction = 0.075;
  const std::vector<anchor::StreamSpec> specs{{lr, 0.0}};
  const std::vector<std::vector<media::CodedFrame>> streams{media::probe_file(lr)};
  int64_t anchors = 0;
  for (const anchor::EpochResult& e : anchor::select_offline(config, specs, streams)) {
    anchors += static_cast<int64_t>(e.anchors.size());
  }
  return anchors;
}

TEST(EnhanceCli, BaselinesWriteHrVideo) {
  test::TempDir dir;
  write_fixtures(dir);
  for (const char* method : {"perframe", "selective"}) {
    SCOPED_TRACE(method);
    const test::CliResult r = test::run_cli({"enhance", "--in", dir.file("lr.webm"), "--model",
                                             dir.file("m.safetensors"), "--method", method, "--out",
                                             dir.file("hr.webm"), "--json", dir.file("s.json"), "--hr-kbps", "500"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json summary = read_json(dir.file("s.json"));
    EXPECT_EQ(summary["anchors"], std::string(method) == "perframe" ? kFrames : uniform_anchors(dir.file("lr.webm")));
    EXPECT_GT(summary["hr_kbps"].get<double>(), 0.0);
    EXPECT_EQ(summary["delivered_kbps"], summary["hr_kbps"]);
    media::VideoReader out(dir.file("hr.webm"));
    EXPECT_EQ(out.info().codec, "vp9");
    EXPECT_EQ(out.info().width, 192);
    EXPECT_EQ(test::read_all_frames(dir.file("hr.webm")).size(), static_cast<size_t>(kFrames));
  }
}

// A hybrid file cut short still plays up to where it ends, with a warning, or fails with one line naming it.
TEST(EnhanceCli, TruncatedHybridFile) {
  test::TempDir dir;
  write_fixtures(dir);
  ASSERT_EQ(test::run_cli({"enhance", "--in", dir.file("lr.webm"), "--model", dir.file("m.safetensors"), "--out",
                           dir.file("h.mkv")})
                .exit_code,
            0);
  const uint64_t size = std::filesystem::file_size(dir.file("h.mkv"));
  for (const uint64_t cut : {size / 2, size * 9 / 10}) {
    test::truncate_copy(dir.file("h.mkv"), dir.file("cut.mkv"), cut);
    const test::CliResult r = test::run_cli({"decode", "--in", dir.file("cut.mkv"), "--out", dir.file("o.y4m")});
    if (r.exit_code == 0) {
      EXPECT_LT(test::read_all_frames(dir.file("o.y4m")).size(), static_cast<size_t>(kFrames));
    } else {
      EXPECT_EQ(r.exit_code, 1);
      EXPECT_NE(r.err.find("cut.mkv"), std::string::npos) << r.err;
    }
  }
}

// Without an anchor track (a plain LR video) the viewer warns and up-scales: its PSNR is bicubic's.
TEST(EnhanceCli, NoAnchorTrackFallsBackToBicubic) {
  test::TempDir dir;
  write_fixtures(dir);
  const test::CliResult r = test::run_cli({"decode", "--in", dir.file("lr.webm"), "--reference", dir.file("hr.mkv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("anchor"), std::string::npos) << r.err;
  std::istringstream table(r.out);
  std::string header;
  std::getline(table, header);
  int64_t frames = 0, anchors = 0;
  double psnr = 0, ssim = 0, bicubic = 0;
  table >> frames >> anchors >> psnr >> ssim >> bicubic;
  EXPECT_EQ(frames, kFrames);
  EXPECT_EQ(anchors, 0);
  EXPECT_NEAR(psnr, bicubic, 1e-3);
}

TEST(EnhanceCli, BadInputsFailWithOneLine) {
  test::TempDir dir;
  write_fixtures(dir);
  const test::CliResult no_model = test::run_cli({"enhance", "--in", dir.file("lr.webm"), "--model",
                                                  dir.file("missing.safetensors"), "--out", dir.file("h.mkv")});
  EXPECT_EQ(no_model.exit_code, 1);
  EXPECT_NE(no_model.err.find("missing.safetensors"), std::string::npos) << no_model.err;

  test::corrupt_copy(dir.file("lr.webm"), dir.file("bad.webm"), 0, 64);
  const test::CliResult bad = test::run_cli({"enhance", "--in", dir.file("bad.webm"), "--model",
                                             dir.file("m.safetensors"), "--out", dir.file("h.mkv")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.webm"), std::string::npos) << bad.err;

  const test::CliResult no_output =
      test::run_cli({"enhance", "--in", dir.file("lr.webm"), "--model", dir.file("m.safetensors"), "--out",
                     dir.file("no/such/dir/h.mkv")});
  EXPECT_EQ(no_output.exit_code, 1);
  EXPECT_NE(no_output.err.find("h.mkv"), std::string::npos) << no_output.err;
}

}  // namespace
}  // namespace ns
