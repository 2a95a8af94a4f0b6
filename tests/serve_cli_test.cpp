// neuroscaler serve, end to end on loopback: several streams (one faulty) from a config file, the admin API answers
// stats, metrics, adds and removes streams, and SIGTERM finalises every output, which then decodes.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "ns/core/child_process.h"
#include "ns/core/loopback.h"
#include "ns/hybrid/hybrid.h"
#include "ns/media/writer.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns {
namespace {

TEST(ServeCli, StreamsAdminApiAndShutdown) {
  test::TempDir dir;
  constexpr int kFrames = 600;  // 10 s at 60 fps: still playing when the test ends the server
  media::VideoWriter lr(dir.file("in.webm"), 64, 36, {60, 1}, media::EncoderSettings::streamer_vp9(64, 36, 200));
  for (int i = 0; i < kFrames; ++i) lr.write(test::synthetic_frame(64, 36, i, 5));
  lr.finish();
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 7), dir.file("m.safetensors"));
  std::ofstream(dir.file("config.json")) << R"({
    "fraction": 0.1, "epoch_frames": 12, "backend": "ref", "sr_threads": 1,
    "streams": [
      {"name": "a", "input": "in.webm", "model": "m.safetensors", "output": "a.mkv"},
      {"name": "b", "input": "in.webm", "model": "m.safetensors", "output": "b.mkv", "anchor_codec": "jpeg"},
      {"name": "bad", "input": "missing.webm", "model": "m.safetensors", "output": "bad.mkv"}
    ]})";

  const int port = core::free_loopback_port();
  core::RunningChild server(NS_CLI_PATH,
                            {"serve", "--config", dir.file("config.json"), "--admin",
                             "127.0.0.1:" + std::to_string(port), "--stats-every", "0.2"},
                            dir.file("out.json"), dir.file("err.txt"));
  httplib::Client client("127.0.0.1", port);
  // Wait (up to 20 s) until the server answers and stream a has frames: there is no event to wait on from outside.
  nlohmann::json stats;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    if (auto response = client.Get("/stats"); response && response->status == 200) {
      stats = nlohmann::json::parse(response->body);
      if (stats["streams"].size() == 3 && stats["streams"][0]["frames"].get<int64_t>() > 30) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << test::read_text_file(dir.file("err.txt"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(stats["streams"][0]["state"], "running");
  EXPECT_EQ(stats["streams"][2]["state"], "failed");
  EXPECT_NE(stats["streams"][2]["error"].get<std::string>().find("missing.webm"), std::string::npos);

  const auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("neuroscaler_stream_frames_total{stream=\"a\"}"), std::string::npos);
  EXPECT_NE(metrics->body.find("neuroscaler_stream_up{stream=\"bad\"} 0"), std::string::npos);

  const auto added = client.Post("/streams",
                                 R"({"name": "c", "input": "in.webm", "model": "m.safetensors", "output": "c.mkv"})",
                                 "application/json");
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 201) << added->body;
  const auto duplicate = client.Post(
      "/streams", R"({"name": "a", "input": "in.webm", "model": "m.safetensors", "output": "x.mkv"})", "application/json");
  ASSERT_TRUE(duplicate);
  EXPECT_EQ(duplicate->status, 400);
  const auto typo = client.Post("/streams", R"({"nam": "d"})", "application/json");
  ASSERT_TRUE(typo);
  EXPECT_EQ(typo->status, 400);
  EXPECT_NE(typo->body.find("nam"), std::string::npos);
  const auto removed = client.Delete("/streams/b");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204);
  const auto unknown = client.Delete("/streams/zzz");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  EXPECT_EQ(server.stop(SIGTERM), 0) << test::read_text_file(dir.file("err.txt"));
  const nlohmann::json final_stats = nlohmann::json::parse(test::read_text_file(dir.file("out.json")));
  ASSERT_EQ(final_stats["streams"].size(), 4u);
  for (const auto& s : final_stats["streams"]) {
    const std::string name = s["name"];
    SCOPED_TRACE(name);
    if (name == "bad") continue;
    EXPECT_EQ(s["state"], name == "b" ? "removed" : "finished");
    const int64_t frames = s["frames"];
    EXPECT_LT(frames, kFrames);  // stopped while playing
    if (frames > 0) {
      EXPECT_EQ(hybrid::count_hybrid(dir.file(name + ".mkv")).frames, frames);
    }
  }
}

}  // namespace
}  // namespace ns
