// neuroscaler demo and eval, end to end at a tiny size (192x108 sample, tiny random models, seconds of
// fine-tuning): every step runs, the report's fields agree with the per-frame tables and the method settings, the
// plots are SVG; a missing model, a missing sample and a too-short video give one clear line.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ns/eval/sample.h"
#include "ns/media/writer.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns {
namespace {

namespace fs = std::filesystem;

constexpr int kFps = 20;
constexpr int kTestFrames = 20;  // 1 s at 20 fps

void write_tiny_sample(const test::TempDir& dir) {
  eval::SampleOptions o = test::tiny_sample_options();
  o.out_dir = dir.file("sample");
  o.fps = kFps;
  o.train_seconds = 1;
  o.test_seconds = 1;
  eval::make_sample(o);
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 3), dir.file("f4.safetensors"));
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 8, .scale = 3}, 4), dir.file("f8.safetensors"));
}

std::vector<std::string> tiny_study_args(const test::TempDir& dir) {
  return {"--generic-f16", dir.file("f4.safetensors"), "--generic-f32", dir.file("f8.safetensors"),
          "--finetune-minutes", "0.05", "--finetune-steps", "2", "--finetune-batch", "2", "--finetune-patch", "16",
          "--curve-frames", "10", "--curve-fractions", "0.1", "0.2", "--engine-seconds", "0.5",
          "--engine-max-streams", "2"};
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream file(path);
  return nlohmann::json::parse(file);
}

double mean_psnr_of_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header: frame,anchor,psnr,... (decode) or frame,psnr,... (quality)
  const bool has_anchor = line.find("anchor") != std::string::npos;
  double sum = 0;
  int rows = 0;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::string cell;
    for (int i = 0; i <= (has_anchor ? 2 : 1); ++i) std::getline(cells, cell, ',');
    sum += std::stod(cell);
    ++rows;
  }
  return rows ? sum / rows : std::nan("");
}

const nlohmann::json& method(const nlohmann::json& report, const std::string& key) {
  for (const nlohmann::json& m : report.at("methods")) {
    if (m.at("key") == key) return m;
  }
  ADD_FAILURE() << "no method " << key;
  static const nlohmann::json none;
  return none;
}

TEST(DemoCli, TinyDemoWritesACompleteReport) {
  test::TempDir dir;
  write_tiny_sample(dir);
  std::vector<std::string> args = {"demo", "--sample", dir.file("sample"), "--out", dir.file("out")};
  for (const std::string& a : tiny_study_args(dir)) args.push_back(a);
  const test::CliResult run = test::run_cli(args);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("| method | PSNR | SSIM Y |"), std::string::npos) << run.out;

  const nlohmann::json report = read_json(dir.file("out/report.json"));
  EXPECT_EQ(report.at("format"), "neuroscaler-report");
  EXPECT_EQ(report.at("content").at("test_frames"), kTestFrames);
  EXPECT_EQ(report.at("content").at("hr").at("width"), 192);
  std::set<std::string> keys;
  for (const nlohmann::json& m : report.at("methods")) {
    keys.insert(m.at("key").get<std::string>());
    EXPECT_TRUE(std::isfinite(m.at("psnr_db").get<double>())) << m.at("key");
    EXPECT_GT(m.at("ssim_y").get<double>(), 0.0) << m.at("key");
    EXPECT_EQ(m.at("frames"), kTestFrames) << m.at("key");
    EXPECT_GT(m.at("delivered_kbps").get<double>(), 0.0) << m.at("key");
  }
  EXPECT_EQ(keys, (std::set<std::string>{"bilinear", "bicubic", "perframe", "selective", "neuroscaler"}));

  // The settings reach the methods: every frame is super-resolved by per-frame SR, 20 % by selective.
  EXPECT_EQ(method(report, "perframe").at("sr_frames"), kTestFrames);
  EXPECT_EQ(method(report, "selective").at("sr_frames"), 4);
  EXPECT_GE(method(report, "neuroscaler").at("sr_frames").get<int>(), 1);
  EXPECT_GT(method(report, "neuroscaler").at("anchor_kbps").get<double>(), 0.0);
  // The live engine ran each method; its numbers and the offline estimate are both in the report.
  for (const char* key : {"perframe", "selective", "neuroscaler"}) {
    const nlohmann::json& streams = method(report, key).at("streams_realtime");
    EXPECT_GE(streams.at("engine").at("largest_realtime_streams").get<int>(), 0) << key;
    EXPECT_GT(streams.at("engine").at("sr_stream_equivalents").get<double>(), 0.0) << key;
    EXPECT_GT(streams.at("estimate").at("value").get<double>(), 0.0) << key;
  }

  // Report numbers are the per-frame tables' means; gains are differences of the reported PSNRs.
  for (const char* key : {"bicubic", "perframe", "neuroscaler"}) {
    EXPECT_NEAR(method(report, key).at("psnr_db").get<double>(), mean_psnr_of_csv(dir.file("out/frames/") + key + ".csv"),
                1e-3)
        << key;
  }
  const double bicubic = method(report, "bicubic").at("psnr_db");
  const double ns_psnr = method(report, "neuroscaler").at("psnr_db");
  EXPECT_NEAR(method(report, "neuroscaler").at("gain_over_bicubic_db").get<double>(), ns_psnr - bicubic, 1e-9);
  EXPECT_NEAR(report.at("neuroscaler_vs_perframe").at("gap_db").get<double>(),
              ns_psnr - method(report, "perframe").at("psnr_db").get<double>(), 1e-9);

  // Quality against anchor fraction: four selection methods at the two fractions asked for.
  std::set<std::pair<std::string, double>> points;
  for (const nlohmann::json& p : report.at("quality_vs_fraction").at("points")) {
    points.insert({p.at("method").get<std::string>(), p.at("fraction").get<double>()});
    EXPECT_TRUE(std::isfinite(p.at("psnr_db").get<double>()));
  }
  for (const char* m : {"uniform", "neuroscaler", "neuroscaler-q", "oracle"}) {
    EXPECT_EQ(points.count({m, 0.1}) + points.count({m, 0.2}), 2u) << m;
  }

  // Fine-tuning ran when the trainer is built; either way the report says which model each method used.
  const nlohmann::json& f32 = report.at("finetune").at("f32");
  if (fs::exists(fs::path(NS_CLI_PATH).parent_path() / "neuroscaler-train")) {
    EXPECT_TRUE(f32.at("trained").get<bool>());
    EXPECT_GE(f32.at("steps").get<int>(), 1);
    EXPECT_TRUE(fs::exists(f32.at("model").get<std::string>()));
    EXPECT_EQ(method(report, "neuroscaler").at("model"), "EDSR_B1_F8_S3");
  } else {
    EXPECT_FALSE(f32.at("trained").get<bool>());
    EXPECT_NE(f32.at("note").get<std::string>().find("not built"), std::string::npos);
  }

  for (const nlohmann::json& plot : report.at("plots")) {
    const std::string svg = test::read_text_file(dir.file("out/") + plot.get<std::string>());
    EXPECT_EQ(svg.rfind("<svg", 0), 0u) << plot;
    EXPECT_NE(svg.find("</svg>"), std::string::npos) << plot;
  }
  const std::string md = test::read_text_file(dir.file("out/report.md"));
  for (const char* part : {"## Summary", "plots/psnr_per_frame.svg", "## Quality against anchor fraction", "estimate"}) {
    EXPECT_NE(md.find(part), std::string::npos) << part;
  }
}

TEST(DemoCli, EvalPreparesTheUsersVideo) {
  test::TempDir dir;
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 3), dir.file("f4.safetensors"));
  // 200x110 is cropped to 198x108 (a multiple of 6): LR 66x36.
  test::write_synthetic_video(dir.file("hr.mkv"), 200, 110, 50, media::EncoderSettings::lossless());
  const test::CliResult run =
      test::run_cli({"eval", "--reference", dir.file("hr.mkv"), "--out", dir.file("out"), "--train-seconds", "0.25",
                     "--test-seconds", "0.25", "--generic-f16", dir.file("f4.safetensors"), "--generic-f32",
                     dir.file("f4.safetensors"), "--finetune-minutes", "0", "--curve-frames", "10", "--no-oracle",
                     "--no-engine",
                     "--curve-fractions", "0.2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const eval::SampleManifest content = eval::load_sample_manifest(dir.file("out/content"));
  EXPECT_EQ(content.hr_width, 198);
  EXPECT_EQ(content.lr_height, 36);
  EXPECT_EQ(content.segment("train").frame_count, 15);
  EXPECT_EQ(content.segment("test").frame_count, 15);
  const nlohmann::json report = read_json(dir.file("out/report.json"));
  EXPECT_EQ(report.at("content").at("test_frames"), 15);
  EXPECT_FALSE(report.at("finetune").at("f16").at("trained").get<bool>());
  for (const nlohmann::json& p : report.at("quality_vs_fraction").at("points")) EXPECT_NE(p.at("method"), "oracle");
  EXPECT_FALSE(report.at("methods").at(4).at("streams_realtime").contains("engine"));
}

TEST(DemoCli, BadInputsGiveOneClearLine) {
  test::TempDir dir;
  test::write_synthetic_video(dir.file("short.mkv"), 192, 108, 5, media::EncoderSettings::lossless());
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 3), dir.file("f4.safetensors"));
  const std::vector<std::string> models = {"--generic-f16", dir.file("f4.safetensors"), "--generic-f32",
                                           dir.file("f4.safetensors")};

  std::vector<std::string> no_model = {"demo", "--sample", dir.file("damaged"), "--out", dir.file("o1"),
                                       "--generic-f16", dir.file("missing.safetensors")};
  test::CliResult run = test::run_cli(no_model);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("missing.safetensors"), std::string::npos) << run.err;

  // A sample folder whose manifest is damaged (a missing one would be made: the demo's default).
  fs::create_directories(dir.file("damaged"));
  std::ofstream(dir.file("damaged/manifest.json")) << "{\"format\": \"neuroscaler-sample\", ";
  std::vector<std::string> damaged = {"demo", "--sample", dir.file("damaged"), "--out", dir.file("o2")};
  damaged.insert(damaged.end(), models.begin(), models.end());
  run = test::run_cli(damaged);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("sample manifest is not valid JSON"), std::string::npos) << run.err;

  // 5 frames at 60 fps: the 0.25 s train segment takes them all, nothing is left to test on.
  std::vector<std::string> too_short = {"eval", "--reference", dir.file("short.mkv"), "--out", dir.file("o3"),
                                        "--train-seconds", "0.25"};
  too_short.insert(too_short.end(), models.begin(), models.end());
  run = test::run_cli(too_short);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("before the test segment"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace ns
