// neuroscaler bench-streams at tiny size: a generated 64x36 VP9 file replayed as 1, 2 streams with a random model; the
// JSON carries the machine, the command, per-N runs with the criteria and the verdict; a missing sample is a clear
// error naming the command that makes it.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ns/media/writer.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns {
namespace {

TEST(BenchStreamsCli, TinyRunWritesJsonWithVerdict) {
  test::TempDir dir;
  test::write_synthetic_video(dir.file("in.webm"), 64, 36, 60, media::EncoderSettings::streamer_vp9(64, 36, 200));
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 3), dir.file("m.safetensors"));
  const test::CliResult r =
      test::run_cli({"bench-streams", "--method", "selective", "--in", dir.file("in.webm"), "--model",
                     dir.file("m.safetensors"), "--max", "2", "--seconds", "0.6", "--backend", "ref", "--json",
                     dir.file("bench.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("largest N in real time"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stream-equivalents"), std::string::npos) << r.out;

  std::ifstream file(dir.file("bench.json"));
  const nlohmann::json j = nlohmann::json::parse(file);
  EXPECT_EQ(j["format"], "neuroscaler-bench-streams");
  EXPECT_EQ(j["method"], "selective");
  EXPECT_DOUBLE_EQ(j["fraction"].get<double>(), 0.2);
  EXPECT_FALSE(j["machine"]["cpu"].get<std::string>().empty());
  EXPECT_NE(j["command"].get<std::string>().find("--method selective"), std::string::npos);
  const nlohmann::json& runs = j["runs"];
  ASSERT_GE(runs.size(), 1u);
  ASSERT_LE(runs.size(), 2u);
  EXPECT_EQ(runs[0]["streams"], 1);
  for (const char* key : {"realtime", "criteria", "on_time_percent_min", "sr_ms_p50", "sr_ms_p95", "decode_fps_min",
                          "encode_load", "engine_stats"}) {
    EXPECT_TRUE(runs[0].contains(key)) << key;
  }
  // Every stream of a run is in the engine's stats, with the method; the verdict is the last real-time N.
  EXPECT_EQ(runs[0]["engine_stats"]["streams"].size(), 1u);
  EXPECT_EQ(runs[0]["engine_stats"]["streams"][0]["method"], "selective");
  EXPECT_GT(runs[0]["engine_stats"]["streams"][0]["hr_frames"].get<int>(), 0);
  int largest = 0;
  for (const auto& run : runs) {
    if (!run["realtime"].get<bool>()) break;
    largest = run["streams"].get<int>();
  }
  EXPECT_EQ(j["largest_realtime_streams"], largest);
  EXPECT_GT(j["sr_stream_equivalents"]["sr_frames_demanded"].get<int>(), 0);
  EXPECT_GE(j["sr_stream_equivalents"]["measured"].get<double>(), 0.0);
}

TEST(BenchStreamsCli, MissingSampleSaysHowToMakeIt) {
  test::TempDir dir;
  const test::CliResult r = test::run_cli({"bench-streams", "--sample", dir.file("nowhere")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("neuroscaler sample --out"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ns
