// The live engine: config parsing refuses what it does not know; several streams run at once and their hybrid outputs
// decode with every frame and the anchors the stats count; a missing input, a missing model and an unwritable output
// fail their own stream only; stop() finalises every output; stats come as JSON and Prometheus text.
// Also run under ThreadSanitizer in CI (scripts/test).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/core/bounded_queue.h"
#include "ns/core/resize.h"
#include "ns/engine/engine.h"
#include "ns/hybrid/hybrid.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"

namespace ns {
namespace {

constexpr int kFrames = 48;

void write_inputs(const test::TempDir& dir) {
  for (int s = 0; s < 2; ++s) {
    media::VideoWriter lr(dir.file("in" + std::to_string(s) + ".webm"), 64, 36, {60, 1},
                          media::EncoderSettings::streamer_vp9(64, 36, 200));
    for (int i = 0; i < kFrames; ++i) lr.write(test::synthetic_frame(64, 36, i, 3 + s));
    lr.finish();
  }
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 7), dir.file("m.safetensors"));
}

engine::StreamConfig stream(const test::TempDir& dir, const std::string& name, const std::string& input,
                            bool realtime = false) {
  return engine::StreamConfig{.name = name,
                              .input = dir.file(input),
                              .model = dir.file("m.safetensors"),
                              .output = dir.file(name + ".mkv"),
                              .realtime = realtime};
}

engine::EngineConfig small_config() {
  engine::EngineConfig config;
  config.fraction = 0.1;
  config.epoch_frames = 8;
  config.fps = 60;
  config.backend = "ref";
  config.sr_threads = 1;
  config.sr_workers = 2;  // anchors finish out of order: the output must still get them in order
  config.encode_workers = 2;
  return config;
}

// One decoder thread: FFmpeg's frame threads synchronise inside libavcodec, where ThreadSanitizer cannot see it.
hybrid::HybridCount decode_hybrid(const std::string& path) {
  return hybrid::count_hybrid(path, media::ReaderOptions{.threads = 1});
}

// Waits (up to 20 s) until `name` has decoded at least `frames` frames; the engine offers no event for it, so the
// test looks every few milliseconds.
void wait_for_frames(const engine::Engine& engine, const std::string& name, int64_t frames) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    for (const auto& s : engine.stats().streams) {
      if (s.name == name && s.frames >= frames) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL() << name << " did not reach " << frames << " frames";
}

const engine::StreamStats& find(const engine::EngineStats& stats, const std::string& name) {
  for (const auto& s : stats.streams) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no stream " << name;
  return stats.streams.front();
}

TEST(EngineConfig, ParsesAndResolvesRelativePaths) {
  const engine::EngineConfig c = engine::parse_config(
      R"({"fraction": 0.05, "sr_workers": 2, "devices": [0, 1], "sr_batch": 4, "streams": [{"name": "cam1", "input": "a.webm", "model": "/m/x.safetensors",
          "output": "out/cam1.mkv", "realtime": false, "anchor_codec": "jpeg", "anchor_quality": 90},
          {"name": "cam2", "input": "srt://127.0.0.1:9000", "model": "m.safetensors", "output": "cam2.mkv"}]})",
      "/srv/ns", "test.json");
  EXPECT_DOUBLE_EQ(c.fraction, 0.05);
  EXPECT_EQ(c.sr_workers, 2);
  EXPECT_EQ(c.devices, (std::vector<int>{0, 1}));
  EXPECT_EQ(c.sr_batch, 4);
  ASSERT_EQ(c.streams.size(), 2u);
  EXPECT_EQ(c.streams[0].input, "/srv/ns/a.webm");
  EXPECT_EQ(c.streams[0].model, "/m/x.safetensors");
  EXPECT_EQ(c.streams[0].output, "/srv/ns/out/cam1.mkv");
  EXPECT_FALSE(c.streams[0].realtime);
  EXPECT_EQ(c.streams[0].anchor_codec, imagecodec::Codec::jpeg);
  EXPECT_EQ(c.streams[1].input, "srt://127.0.0.1:9000");  // URLs are left alone
  EXPECT_TRUE(c.streams[1].realtime);
}

TEST(EngineConfig, PerStreamMethods) {
  const engine::EngineConfig c = engine::parse_config(
      R"({"method": "neuroscaler", "streams": [{"name": "a", "input": "a.webm", "model": "m", "output": "a.mkv"},
          {"name": "b", "input": "b.webm", "model": "m", "output": "b.mp4", "method": "selective", "fraction": 0.25},
          {"name": "c", "input": "c.webm", "model": "m", "output": "c.webm", "method": "perframe", "frames": 30}]})",
      "", "test.json");
  ASSERT_EQ(c.streams.size(), 3u);
  EXPECT_EQ(c.streams[0].method, "");  // the engine's method
  EXPECT_EQ(c.streams[1].method, "selective");
  EXPECT_DOUBLE_EQ(c.streams[1].fraction, 0.25);
  EXPECT_EQ(c.streams[2].method, "perframe");
  EXPECT_EQ(c.streams[2].frames, 30);
  EXPECT_EQ(c.streams[0].frames, 0);  // the whole input
  auto parse_stream = [](const std::string& json) { engine::parse_stream_config(json, "", "post"); };
  // A baseline's output is HR video; a fraction per stream is selective's; unknown methods and oracle are refused.
  EXPECT_EQ(test::error_code_of([&] {
              parse_stream(R"({"name": "a", "input": "i", "model": "m", "output": "o.y4m", "method": "perframe"})");
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([&] {
              parse_stream(R"({"name": "a", "input": "i", "model": "m", "output": "o.mkv", "fraction": 0.1})");
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([&] {
              parse_stream(R"({"name": "a", "input": "i", "model": "m", "output": "o.mkv", "method": "magic"})");
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([&] {
              parse_stream(R"({"name": "a", "input": "i", "model": "m", "output": "o.mkv", "method": "oracle"})");
            }),
            ErrorCode::invalid_argument);
}

TEST(EngineConfig, RefusesUnknownKeysBadValuesAndDuplicates) {
  EXPECT_EQ(test::error_code_of([] { engine::parse_config(R"({"fraktion": 0.1})", "", "c.json"); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { engine::parse_config(R"({"fraction": "high"})", "", "c.json"); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { engine::parse_config(R"({"fraction": 0})", "", "c.json"); }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { engine::parse_config(R"({"method": "oracle"})", "", "c.json"); }),
            ErrorCode::invalid_argument);
  // Integer keys take only JSON integers that fit (a cast of 4e57 to int is undefined behaviour; 2.5 frames is a typo).
  for (const char* bad : {R"({"devices": []})", R"({"devices": [-1]})", R"({"sr_batch": 65})",
                          R"({"epoch_frames": 4e57})", R"({"epoch_frames": 2.5})", R"({"sr_workers": 4294967296})"}) {
    EXPECT_EQ(test::error_code_of([&] { engine::parse_config(bad, "", "c.json"); }), ErrorCode::invalid_argument)
        << bad;
  }
  EXPECT_EQ(test::error_code_of([] { engine::parse_config("{\"streams\": [", "", "c.json"); }), ErrorCode::corrupt);
  EXPECT_EQ(test::error_code_of([] {
              engine::parse_config(R"({"streams": [{"name": "a", "input": "i", "model": "m", "output": "o"},
                                                   {"name": "a", "input": "i", "model": "m", "output": "p"}]})",
                                   "", "c.json");
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] {
              engine::parse_config(R"({"streams": [{"name": "a", "input": "i", "model": "m"}]})", "", "c.json");
            }),
            ErrorCode::invalid_argument);
  EXPECT_EQ(test::error_code_of([] { engine::load_config("/no/such/config.json"); }), ErrorCode::not_found);
}

// Two good streams and three bad ones at once: the good outputs carry every frame and every written anchor, the bad
// streams fail with their reason and the others never notice.
TEST(Engine, ManyStreamsOneFaultyEach) {
  test::TempDir dir;
  write_inputs(dir);
  test::truncate_copy(dir.file("in0.webm"), dir.file("cut.webm"), 200);
  engine::EngineConfig config = small_config();
  config.streams = {stream(dir, "a", "in0.webm"), stream(dir, "b", "in1.webm"), stream(dir, "missing", "nope.webm"),
                    stream(dir, "broken", "cut.webm")};
  engine::StreamConfig no_model = stream(dir, "nomodel", "in0.webm");
  no_model.model = dir.file("none.safetensors");
  config.streams.push_back(no_model);
  engine::StreamConfig no_output = stream(dir, "nooutput", "in1.webm");
  no_output.output = dir.file("no/such/dir/out.mkv");
  config.streams.push_back(no_output);

  engine::Engine engine(config);
  engine.wait();
  const engine::EngineStats stats = engine.stats();
  ASSERT_EQ(stats.streams.size(), 6u);
  for (const std::string name : {"a", "b"}) {
    SCOPED_TRACE(name);
    const engine::StreamStats& s = find(stats, name);
    EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
    EXPECT_EQ(s.frames, kFrames);
    EXPECT_GT(s.anchors_selected, 0);
    EXPECT_EQ(s.anchors_written + s.anchors_dropped_deadline + s.anchors_dropped_full + s.anchors_missed,
              s.anchors_selected);
    const hybrid::HybridCount d = decode_hybrid(dir.file(name + ".mkv"));
    EXPECT_EQ(d.frames, kFrames);
    EXPECT_EQ(d.anchors, s.anchors_written);
    EXPECT_EQ(s.pending_frames, 0);
  }
  EXPECT_EQ(find(stats, "missing").state, engine::StreamState::failed);
  EXPECT_NE(find(stats, "missing").error.find("nope.webm"), std::string::npos) << find(stats, "missing").error;
  EXPECT_EQ(find(stats, "nomodel").state, engine::StreamState::failed);
  EXPECT_NE(find(stats, "nomodel").error.find("none.safetensors"), std::string::npos);
  EXPECT_EQ(find(stats, "nooutput").state, engine::StreamState::failed);
  EXPECT_NE(find(stats, "nooutput").error.find("out.mkv"), std::string::npos);
  // The cut input either fails or ends early; either way it did not take the others down (checked above).
  const engine::StreamStats& broken = find(stats, "broken");
  EXPECT_TRUE(broken.state == engine::StreamState::failed || broken.frames < kFrames);

  const nlohmann::json json = nlohmann::json::parse(engine::stats_json(stats));
  EXPECT_EQ(json["streams"].size(), 6u);
  EXPECT_EQ(json["streams"][0]["name"], "a");
  const std::string metrics = engine::stats_prometheus(stats);
  EXPECT_NE(metrics.find("neuroscaler_stream_frames_total{stream=\"a\"} " + std::to_string(kFrames)), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("neuroscaler_stream_up{stream=\"missing\"} 0"), std::string::npos);
}

// A model that is finite on a black frame (the warm-up's) but overflows to NaN on any real picture: huge head weights.
void save_overflowing_model(const std::string& path) {
  sr::Model model = sr::random_model(sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}, 7);
  std::vector<float>& head = model.tensors.at("head.0.weight").data;
  for (size_t i = 0; i < head.size(); ++i) head[i] = i % 2 ? 3e38f : -3e38f;
  sr::save_model(model, path);
}

TEST(Engine, BatchedSrFailsOnlyTheStreamWhoseModelFails) {
  // One SR worker taking up to 4 anchors of any streams per call; one stream's model produces NaN. Its stream fails;
  // the others' anchors in the same batches are still super-resolved and written (how many make their deadline
  // depends on the machine's speed: under ThreadSanitizer most of the last stream's do not).
  test::TempDir dir;
  write_inputs(dir);
  save_overflowing_model(dir.file("nan.safetensors"));
  engine::EngineConfig config = small_config();
  config.sr_workers = 1;
  config.sr_batch = 4;
  config.fraction = 0.15;
  // One epoch of 48 frames on a 30 fps clock (1.6 s, twice the inputs' 0.8 s): its 22 anchors are queued at once, the
  // worker takes them 4 by 4, and each has 1.6 s to make its deadline even under ThreadSanitizer on a loaded machine.
  config.epoch_frames = 48;
  config.fps = 30;
  // Real-time inputs (0.8 s each): every epoch has frames of every stream to select from.
  engine::StreamConfig bad = stream(dir, "nan", "in0.webm", true);
  bad.model = dir.file("nan.safetensors");
  config.streams = {stream(dir, "a", "in0.webm", true), bad, stream(dir, "b", "in1.webm", true)};

  engine::Engine engine(config);
  engine.wait();
  const engine::EngineStats stats = engine.stats();
  EXPECT_EQ(find(stats, "nan").state, engine::StreamState::failed);
  EXPECT_NE(find(stats, "nan").error.find("NaN"), std::string::npos) << find(stats, "nan").error;
  int64_t written = 0;
  for (const std::string name : {"a", "b"}) {
    SCOPED_TRACE(name);
    const engine::StreamStats& s = find(stats, name);
    EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
    EXPECT_EQ(s.anchors_written + s.anchors_dropped_deadline + s.anchors_dropped_full + s.anchors_missed,
              s.anchors_selected);
    EXPECT_EQ(decode_hybrid(dir.file(name + ".mkv")).anchors, s.anchors_written);
    written += s.anchors_written;
  }
  EXPECT_GT(written, 0);
  EXPECT_GT(stats.sr_batches, 0);
  EXPECT_GE(stats.sr_batch_frames, stats.sr_batches);
  // The epoch clock queues an epoch's anchors at once while the one worker is busy with the first of them.
  EXPECT_GE(stats.sr_batch_max, 2);
  EXPECT_LE(stats.sr_batch_max, 4);
  const nlohmann::json json = nlohmann::json::parse(engine::stats_json(stats));
  EXPECT_EQ(json["sr_batches"]["calls"], stats.sr_batches);
  EXPECT_NE(engine::stats_prometheus(stats).find("neuroscaler_sr_batch_frames_total " +
                                                 std::to_string(stats.sr_batch_frames)),
            std::string::npos);
}

TEST(EngineQueue, PopBatchTakesWhatIsQueuedUpToItsLimit) {
  core::BoundedQueue<int> queue(8);
  for (int i = 0; i < 5; ++i) queue.push(i);
  EXPECT_EQ(queue.pop_batch(3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(queue.pop_batch(3), (std::vector<int>{3, 4}));
  // A waiting consumer wakes for the first item; a producer blocked on a full queue wakes when a batch leaves.
  core::BoundedQueue<int> small(2);
  std::vector<int> got;
  std::thread consumer([&] { got = small.pop_batch(4); });
  small.push(7);
  consumer.join();
  EXPECT_EQ(got, std::vector<int>{7});
  small.push(1);
  small.push(2);
  std::thread producer([&] { small.push(3); });
  EXPECT_EQ(small.pop_batch(4), (std::vector<int>{1, 2}));
  producer.join();
  small.close();
  EXPECT_EQ(small.pop_batch(4), std::vector<int>{3});
  EXPECT_TRUE(small.pop_batch(4).empty());
}

TEST(EngineQueue, TryPushAllQueuesWhatFitsAndAWaitingBatchSeesItAll) {
  core::BoundedQueue<int> queue(3);
  std::vector<int> got;
  std::thread consumer([&] { got = queue.pop_batch(4); });
  std::vector<int> items{1, 2, 3, 4};
  EXPECT_EQ(queue.try_push_all(items), 3u);  // the fourth does not fit
  consumer.join();
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));  // pushed under one lock: the waiting consumer takes them together
  queue.close();
  std::vector<int> late{5};
  EXPECT_EQ(queue.try_push_all(late), 0u);
}

// stop() while real-time inputs are still playing: every output is finalised and decodes (a prefix of the input).
TEST(Engine, StopFinalisesEveryOutput) {
  test::TempDir dir;
  write_inputs(dir);
  engine::EngineConfig config = small_config();
  config.streams = {stream(dir, "a", "in0.webm", true), stream(dir, "b", "in1.webm", true)};
  engine::Engine engine(config);
  wait_for_frames(engine, "a", 10);
  engine.stop();
  engine.stop();  // idempotent
  const engine::EngineStats stats = engine.stats();
  const engine::StreamStats& a = find(stats, "a");
  EXPECT_EQ(a.state, engine::StreamState::finished) << a.error;
  EXPECT_GE(a.frames, 10);
  EXPECT_LT(a.frames, kFrames);  // stopped at about frame 10 of a 0.8 s real-time input
  const hybrid::HybridCount d = decode_hybrid(dir.file("a.mkv"));
  EXPECT_EQ(d.frames, a.frames);
  EXPECT_EQ(d.anchors, a.anchors_written);
  // A stream stopped before its first frame keeps no output.
  if (find(stats, "b").frames == 0) {
    EXPECT_FALSE(std::filesystem::exists(dir.file("b.mkv")));
  }
  EXPECT_EQ(test::error_code_of([&] { engine.add_stream(stream(dir, "c", "in0.webm")); }),
            ErrorCode::invalid_argument);
}

// A live source on loopback that sends the start of a stream and then nothing: after the stall timeout that stream
// fails as stalled, while a file stream beside it finishes untouched.
TEST(Engine, StalledLiveSourceFailsAlone) {
  test::TempDir dir;
  write_inputs(dir);
  std::ifstream file(dir.file("in0.webm"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  std::thread source([&] {
    const int client = accept(listener, nullptr, nullptr);
    if (client < 0) return;
    const size_t half = bytes.size() / 2;
    EXPECT_EQ(write(client, bytes.data(), half), static_cast<ssize_t>(half));
    std::unique_lock lock(mutex);  // then silence, the connection open, until the test is over
    finished.wait(lock, [&] { return done; });
    close(client);
  });

  engine::EngineConfig config = small_config();
  config.stall_timeout_s = 0.5;
  engine::StreamConfig live = stream(dir, "live", "in0.webm");
  live.input = "tcp://127.0.0.1:" + std::to_string(port);
  config.streams = {live, stream(dir, "file", "in1.webm")};
  engine::Engine engine(config);
  engine.wait();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  finished.notify_all();
  source.join();
  close(listener);

  const engine::EngineStats stats = engine.stats();
  EXPECT_EQ(find(stats, "live").state, engine::StreamState::failed);
  EXPECT_NE(find(stats, "live").error.find("stall"), std::string::npos) << find(stats, "live").error;
  EXPECT_EQ(find(stats, "file").state, engine::StreamState::finished) << find(stats, "file").error;
  EXPECT_EQ(decode_hybrid(dir.file("file.mkv")).frames, kFrames);
}

struct HrVideo {
  int64_t frames = 0;
  int width = 0, height = 0;
};

HrVideo read_hr_video(const std::string& path) {
  media::VideoReader reader(path, media::ReaderOptions{.threads = 1});  // see decode_hybrid
  HrVideo v;
  core::Frame frame;
  while (reader.read(frame)) {
    ++v.frames;
    v.width = frame.width();
    v.height = frame.height();
  }
  return v;
}

// The baselines next to a NeuroScaler stream: perframe super-resolves every frame, selective 2 of every 8 (0.25 of an
// 8-frame epoch); both write every frame as HR video (x3), each SR frame written on time or counted as dropped.
TEST(Engine, BaselinesWriteEveryFrameAsHrVideo) {
  test::TempDir dir;
  write_inputs(dir);
  engine::EngineConfig config = small_config();
  engine::StreamConfig perframe = stream(dir, "perframe", "in0.webm");
  perframe.method = "perframe";
  perframe.output = dir.file("perframe.webm");
  engine::StreamConfig selective = stream(dir, "selective", "in1.webm");
  selective.method = "selective";
  selective.fraction = 0.25;
  selective.output = dir.file("selective.mp4");
  config.streams = {perframe, selective, stream(dir, "hybrid", "in0.webm")};
  engine::Engine engine(config);
  engine.wait();
  const engine::EngineStats stats = engine.stats();
  for (const std::string name : {"perframe", "selective"}) {
    SCOPED_TRACE(name);
    const engine::StreamStats& s = find(stats, name);
    EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
    EXPECT_EQ(s.method, name);
    EXPECT_EQ(s.frames, kFrames);
    EXPECT_EQ(s.hr_frames, kFrames);
    EXPECT_GT(s.hr_bytes, 0);
    EXPECT_EQ(s.anchors_selected, name == "perframe" ? kFrames : kFrames / 4);
    EXPECT_EQ(s.anchors_written + s.anchors_dropped_deadline + s.anchors_dropped_full, s.anchors_selected);
    EXPECT_LE(s.anchors_late, s.anchors_written);
    const HrVideo v = read_hr_video(s.output);
    EXPECT_EQ(v.frames, kFrames);
    EXPECT_EQ(v.width, 64 * 3);
    EXPECT_EQ(v.height, 36 * 3);
  }
  EXPECT_EQ(find(stats, "hybrid").method, "neuroscaler-q");
  EXPECT_EQ(decode_hybrid(dir.file("hybrid.mkv")).frames, kFrames);
  const nlohmann::json json = nlohmann::json::parse(engine::stats_json(stats));
  EXPECT_EQ(json["streams"][0]["method"], "perframe");
  EXPECT_EQ(json["streams"][0]["hr_frames"], kFrames);
}

// SR far slower than the deadline (a large model on the reference backend, 1 ms epochs): the perframe stream does not
// wait; nearly every frame misses its SR, is counted and written bicubic-up-scaled; the output has every frame.
TEST(Engine, BaselineMissingDeadlinesIsCountedAndNeverStalls) {
  test::TempDir dir;
  write_inputs(dir);
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 2, .channels = 32, .scale = 3}, 7),
                 dir.file("big.safetensors"));
  engine::EngineConfig config = small_config();
  config.sr_workers = 1;
  config.epoch_frames = 2;
  config.fps = 1000;  // deadline: 2 ms after decoding
  engine::StreamConfig perframe = stream(dir, "perframe", "in0.webm");
  perframe.method = "perframe";
  perframe.model = dir.file("big.safetensors");
  perframe.output = dir.file("perframe.webm");
  config.streams = {perframe};
  engine::Engine engine(config);
  engine.wait();
  const engine::EngineStats stats = engine.stats();
  const engine::StreamStats& s = find(stats, "perframe");
  EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
  EXPECT_EQ(s.anchors_selected, kFrames);
  EXPECT_GE(s.anchors_dropped_deadline + s.anchors_dropped_full, kFrames / 2);
  EXPECT_EQ(s.anchors_written + s.anchors_dropped_deadline + s.anchors_dropped_full, kFrames);
  EXPECT_FALSE(s.realtime);
  const HrVideo v = read_hr_video(s.output);
  EXPECT_EQ(v.frames, kFrames);
  EXPECT_EQ(v.width, 64 * 3);
}

TEST(Engine, AddAndRemoveWhileRunning) {
  test::TempDir dir;
  write_inputs(dir);
  engine::EngineConfig config = small_config();
  config.streams = {stream(dir, "a", "in0.webm", true)};
  engine::Engine engine(config);
  wait_for_frames(engine, "a", 5);
  engine.add_stream(stream(dir, "b", "in1.webm"));
  EXPECT_EQ(test::error_code_of([&] { engine.add_stream(stream(dir, "a", "in1.webm")); }),
            ErrorCode::invalid_argument);  // name in use
  EXPECT_TRUE(engine.remove_stream("a"));
  EXPECT_FALSE(engine.remove_stream("zzz"));
  engine.wait();
  const engine::EngineStats stats = engine.stats();
  EXPECT_EQ(find(stats, "a").state, engine::StreamState::removed);
  EXPECT_EQ(find(stats, "b").state, engine::StreamState::finished);
  EXPECT_EQ(decode_hybrid(dir.file("b.mkv")).frames, kFrames);
  const hybrid::HybridCount a = decode_hybrid(dir.file("a.mkv"));
  EXPECT_GE(a.frames, 5);
  EXPECT_LT(a.frames, kFrames);
}

// A server whose streams come and go keeps only the latest 64 ended ones in its stats (bounded memory).
TEST(Engine, ForgetsEndedStreamsBeyondTheLatest64) {
  test::TempDir dir;
  write_inputs(dir);
  engine::EngineConfig config = small_config();
  engine::Engine engine(config);
  constexpr int kStreams = 70;
  // Names by fmt: GCC 12 at -O3 warns falsely (-Wrestrict) on "s" + std::to_string(i).
  for (int i = 0; i < kStreams; ++i) {
    engine::StreamConfig s = stream(dir, fmt::format("s{}", i), "in0.webm");
    s.frames = 2;
    engine.add_stream(s);
    wait_for_frames(engine, s.name, 2);  // one at a time: each has ended before the next is added, or soon after
  }
  engine.wait();
  const engine::EngineStats stats = engine.stats();
  EXPECT_LE(stats.streams.size(), 65u);  // 64 ended ones, and the last one if it had not ended when it was added
  EXPECT_GE(stats.streams.size(), 64u);
  EXPECT_EQ(stats.streams.back().name, fmt::format("s{}", kStreams - 1));  // the oldest went first
}

// An encoder restarting at another size inside one MPEG-TS feed (the second part continues the timestamps and carries
// its own SPS): the stream fails at the switch saying so, and its output keeps every frame before it, decodable.
TEST(Engine, InputChangingSizeFailsAtTheSwitchAndKeepsItsOutput) {
  test::TempDir dir;
  write_inputs(dir);
  constexpr int kBefore = 24;
  {
    media::VideoWriter a(dir.file("a.ts"), 64, 36, {60, 1}, media::EncoderSettings::streamer_h264(64, 36, 200));
    for (int i = 0; i < kBefore; ++i) a.write(test::synthetic_frame(64, 36, i, 3));
    a.finish();
    media::EncoderSettings continuing = media::EncoderSettings::streamer_h264(96, 54, 300);
    continuing.muxer_options = {{"output_ts_offset", fmt::format("{}", kBefore / 60.0)},
                                {"mpegts_flags", "initial_discontinuity"}};
    media::VideoWriter b(dir.file("b.ts"), 96, 54, {60, 1}, continuing);
    for (int i = 0; i < kBefore; ++i) b.write(test::synthetic_frame(96, 54, kBefore + i, 3));
    b.finish();
  }
  {
    std::ofstream joined(dir.file("switch.ts"), std::ios::binary);
    for (const char* part : {"a.ts", "b.ts"}) joined << std::ifstream(dir.file(part), std::ios::binary).rdbuf();
  }
  engine::EngineConfig config = small_config();
  config.streams = {stream(dir, "switch", "switch.ts"), stream(dir, "good", "in0.webm")};
  engine::Engine engine(config);
  engine.wait();
  const engine::EngineStats stats = engine.stats();
  const engine::StreamStats& s = find(stats, "switch");
  EXPECT_EQ(s.state, engine::StreamState::failed);
  EXPECT_NE(s.error.find("changed its picture size from 64x36 to 96x54 at frame 24"), std::string::npos) << s.error;
  EXPECT_EQ(s.frames, kBefore);
  const hybrid::HybridCount d = decode_hybrid(dir.file("switch.mkv"));
  EXPECT_EQ(d.frames, kBefore);  // nothing of the new size slipped into the output
  EXPECT_EQ(d.anchors, s.anchors_written);
  EXPECT_EQ(find(stats, "good").state, engine::StreamState::finished);
}

}  // namespace
}  // namespace ns
