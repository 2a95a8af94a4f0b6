// neuroscaler quality: identical inputs, up-scaled test videos (the summary equals PSNR computed here
// from the same frames), CSV and JSON outputs, --frames, and the failures: different lengths, different
// sizes without --upscale, a missing file. Videos are small, lossless (FFV1 / Y4M), made at test time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ns/core/frame.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"
#include "support/fixtures.h"

namespace {

using ns::test::run_cli;

constexpr int kWidth = 96;
constexpr int kHeight = 64;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  return fields;
}

// HR reference: lossless FFV1 of the synthetic frames.
std::string write_reference(const ns::test::TempDir& dir, const std::string& name, int count) {
  const std::string path = dir.file(name);
  ns::test::write_synthetic_video(path, kWidth, kHeight, count, ns::media::EncoderSettings::lossless());
  return path;
}

// LR test video: the synthetic frames down-scaled x2 (area), stored losslessly as Y4M.
std::string write_low_resolution(const ns::test::TempDir& dir, const std::string& name, int count) {
  const std::string path = dir.file(name);
  ns::media::Y4mWriter writer(path, kWidth / 2, kHeight / 2, ns::media::Rational{60, 1});
  for (int i = 0; i < count; ++i) {
    writer.write(ns::core::resized(ns::test::synthetic_frame(kWidth, kHeight, i), kWidth / 2, kHeight / 2,
                                   ns::core::ResizeFilter::area));
  }
  writer.close();
  return path;
}

TEST(QualityCli, IdenticalVideosScoreCapAndSsimOne) {
  ns::test::TempDir dir;
  const std::string video = write_reference(dir, "ref.mkv", 5);
  const auto result = run_cli({"quality", "--reference", video, "--test", video});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 6u) << result.out;
  EXPECT_EQ(lines[0], "frame,psnr,psnr_y,psnr_u,psnr_v,ssim_y");
  for (int i = 0; i < 5; ++i) {
    const auto f = fields_of(lines[i + 1]);
    ASSERT_EQ(f.size(), 6u) << lines[i + 1];
    EXPECT_EQ(f[0], std::to_string(i));
    for (int c = 1; c <= 4; ++c) EXPECT_EQ(f[c], "100.0000") << lines[i + 1];
    EXPECT_EQ(f[5], "1.000000") << lines[i + 1];
  }
  EXPECT_NE(result.err.find("5 frames"), std::string::npos) << result.err;
}

// With --upscale the CLI's numbers equal PSNR computed here from the same (losslessly stored) frames.
TEST(QualityCli, UpscaleMatchesLibraryComputation) {
  ns::test::TempDir dir;
  const int count = 4;
  const std::string hr = write_reference(dir, "hr.mkv", count);
  const std::string lr = write_low_resolution(dir, "lr.y4m", count);
  for (const char* filter_name : {"bilinear", "bicubic"}) {
    const std::string json_path = dir.file(std::string(filter_name) + ".json");
    const std::string csv_path = dir.file(std::string(filter_name) + ".csv");
    const auto result = run_cli(
        {"quality", "--reference", hr, "--test", lr, "--upscale", filter_name, "--json", json_path, "--csv", csv_path});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_TRUE(result.out.empty()) << "the table goes to --csv, not stdout: " << result.out;

    const ns::core::ResizeFilter filter = ns::core::parse_resize_filter(filter_name);
    double sum_psnr = 0, sum_y = 0, sum_ssim = 0, min_psnr = 1e9;
    for (int i = 0; i < count; ++i) {
      const ns::core::Frame ref = ns::test::synthetic_frame(kWidth, kHeight, i);
      const ns::core::Frame low =
          ns::core::resized(ref, kWidth / 2, kHeight / 2, ns::core::ResizeFilter::area);
      const ns::core::FrameQuality q = ns::core::measure_quality(ref, ns::core::resized(low, kWidth, kHeight, filter));
      sum_psnr += q.psnr;
      sum_y += q.psnr_y;
      sum_ssim += q.ssim_y;
      min_psnr = std::min(min_psnr, q.psnr);
    }
    const nlohmann::json j = nlohmann::json::parse(ns::test::read_text_file(json_path));
    EXPECT_EQ(j["frames"].get<int>(), count);
    EXPECT_EQ(j["width"].get<int>(), kWidth);
    EXPECT_EQ(j["upscale"].get<std::string>(), filter_name);
    const double mean_psnr = j["mean_psnr"].get<double>();
    EXPECT_TRUE(std::isfinite(mean_psnr));
    EXPECT_GT(mean_psnr, 15.0);
    EXPECT_LT(mean_psnr, 60.0) << "an up-scaled LR video cannot be near-lossless";
    EXPECT_NEAR(mean_psnr, sum_psnr / count, 1e-9) << filter_name;
    EXPECT_NEAR(j["mean_psnr_y"].get<double>(), sum_y / count, 1e-9) << filter_name;
    EXPECT_NEAR(j["mean_ssim_y"].get<double>(), sum_ssim / count, 1e-9) << filter_name;
    EXPECT_NEAR(j["min_psnr"].get<double>(), min_psnr, 1e-9) << filter_name;
    EXPECT_EQ(lines_of(ns::test::read_text_file(csv_path)).size(), static_cast<size_t>(count + 1));
  }
}

TEST(QualityCli, LengthMismatchNamesBothCounts) {
  ns::test::TempDir dir;
  const std::string five = write_reference(dir, "five.mkv", 5);
  const std::string three = write_reference(dir, "three.mkv", 3);
  const auto result = run_cli({"quality", "--reference", five, "--test", three});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("has 5 frames"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("has 3"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--frames"), std::string::npos) << result.err;
  // The other way round too.
  const auto reversed = run_cli({"quality", "--reference", three, "--test", five});
  EXPECT_EQ(reversed.exit_code, 1);
  EXPECT_NE(reversed.err.find("has 3 frames"), std::string::npos) << reversed.err;
  EXPECT_NE(reversed.err.find("has 5"), std::string::npos) << reversed.err;
  // --frames limits the comparison to what both have.
  const auto limited = run_cli({"quality", "--reference", five, "--test", three, "--frames", "3"});
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  EXPECT_EQ(lines_of(limited.out).size(), 4u) << limited.out;
}

TEST(QualityCli, SizeMismatchWithoutUpscaleFails) {
  ns::test::TempDir dir;
  const std::string hr = write_reference(dir, "hr.mkv", 2);
  const std::string lr = write_low_resolution(dir, "lr.y4m", 2);
  const auto result = run_cli({"quality", "--reference", hr, "--test", lr});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("96x64"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("48x32"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--upscale"), std::string::npos) << result.err;
  EXPECT_TRUE(result.out.empty()) << "no table when the first frame fails: " << result.out;
}

TEST(QualityCli, MissingFileIsNamed) {
  ns::test::TempDir dir;
  const std::string video = write_reference(dir, "ref.mkv", 2);
  const std::string missing = dir.file("does-not-exist.mkv");
  const auto result = run_cli({"quality", "--reference", video, "--test", missing});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("does-not-exist.mkv"), std::string::npos) << result.err;
}

TEST(QualityCli, UnknownUpscaleFilterIsRejected) {
  ns::test::TempDir dir;
  const std::string video = write_reference(dir, "ref.mkv", 1);
  const auto result = run_cli({"quality", "--reference", video, "--test", video, "--upscale", "lanczos"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("lanczos"), std::string::npos) << result.err;
}

}  // namespace
