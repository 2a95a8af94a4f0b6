// Remote SR through NATS JetStream (docs/scale-out.md), against a real nats-server started by the test: the messages
// refuse what they do not claim; anchors super-resolved by a worker are bit-identical to in-process SR of the same
// frame; two serve instances and two workers each get their own results; a worker killed with SIGKILL mid-job has
// its job redelivered to another, a slow one keeps its jobs; results that arrive twice are written once; a NATS
// restart costs anchors, not the stream.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nats/nats.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>
#include <tuple>

#include "ns/core/child_process.h"
#include "ns/core/loopback.h"
#include "ns/engine/engine.h"
#include "ns/engine/remote_wire.h"
#include "ns/engine/sr_worker.h"
#include "ns/hybrid/hybrid.h"
#include "ns/imagecodec/imagecodec.h"
#include "ns/media/writer.h"
#include "ns/sr/sr.h"
#include "support/fixtures.h"
#include "support/nats_server.h"

namespace ns {
namespace {

using Clock = std::chrono::steady_clock;

// Sanitizer builds run the ref backend several times slower: the tests that need jobs to finish on it give them longer
// deadlines there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr int kSlowdown = 4;
#else
constexpr int kSlowdown = 1;
#endif

void write_input(const std::string& path, int frames, uint32_t seed) {
  media::VideoWriter lr(path, 64, 36, {60, 1}, media::EncoderSettings::streamer_vp9(64, 36, 200));
  for (int i = 0; i < frames; ++i) lr.write(test::synthetic_frame(64, 36, i, seed));
  lr.finish();
}

sr::ModelDesc small_desc() { return sr::ModelDesc{.blocks = 1, .channels = 4, .scale = 3}; }
// Slow enough on the ref backend (tens of ms per 64x36 frame) that a worker is caught in the middle of a job.
sr::ModelDesc slow_desc() { return sr::ModelDesc{.blocks = 2, .channels = 16, .scale = 3}; }

engine::EngineConfig remote_config(const std::string& url) {
  engine::EngineConfig config;
  config.fraction = 0.2;
  config.epoch_frames = 40;  // deadlines of 667 ms: room for a redelivery
  config.fps = 60;
  config.precision = "fp32";
  config.nats.url = url;
  return config;
}

engine::StreamConfig stream(const test::TempDir& dir, const std::string& name, const std::string& input,
                            const std::string& model, bool realtime = true) {
  return engine::StreamConfig{.name = name,
                              .input = dir.file(input),
                              .model = dir.file(model),
                              .output = dir.file(name + ".mkv"),
                              .realtime = realtime};
}

engine::SrWorkerOptions worker_options(const std::string& url, const std::string& name,
                                       const std::string& backend = "onednn") {
  engine::SrWorkerOptions o;
  o.nats.url = url;
  o.name = name;
  o.backend = backend;
  o.threads = 1;
  o.batch = 2;
  return o;
}

const engine::StreamStats& find(const engine::EngineStats& stats, const std::string& name) {
  for (const auto& s : stats.streams) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no stream " << name;
  return stats.streams.front();
}

struct Checked {
  int64_t frames = 0;
  int64_t anchors = 0;
};

// Reads a hybrid output; every anchor must equal in-process SR of its LR frame (same model, backend and precision),
// coded and decoded as the engine codes anchors.
Checked check_anchors(const std::string& path, const std::string& model_path, const std::string& backend) {
  const sr::Model model = sr::load_model(model_path);
  sr::UpscalerOptions options;
  options.backend = backend;
  options.backend_options.threads = 1;
  sr::Upscaler upscaler(model, 64, 36, options);
  hybrid::HybridReader reader(path);
  Checked checked;
  core::Frame lr, anchor, hr, expected;
  bool has_anchor = false;
  while (reader.read(lr, anchor, has_anchor)) {
    ++checked.frames;
    if (!has_anchor) continue;
    ++checked.anchors;
    upscaler.upscale(lr, hr);
    const imagecodec::EncodeSettings coding;
    imagecodec::decode(coding.codec, imagecodec::encode(hr, coding), expected);
    EXPECT_TRUE(test::same_pixels(anchor, expected)) << path << ": anchor of frame " << checked.frames - 1;
  }
  return checked;
}

// The anchors a stream selected all end up somewhere: written, or counted as dropped or missed.
void expect_accounted(const engine::StreamStats& s) {
  EXPECT_EQ(s.anchors_selected,
            s.anchors_written + s.anchors_dropped_deadline + s.anchors_dropped_full + s.anchors_missed)
      << s.name;
}

TEST(RemoteWire, JobsAndChunkedResultsRoundTrip) {
  const core::Frame lr = test::random_frame(33, 17, 5);
  const engine::SrJobHeader header{.job = "a.1", .reply = "ns.sr.results.a", .stream = "cam", .model = "abc",
                                   .precision = "fp32", .deadline_ms = 123};
  const engine::SrJob job = engine::decode_job(engine::encode_job(header, lr));
  EXPECT_EQ(job.header.job, "a.1");
  EXPECT_EQ(job.header.deadline_ms, 123);
  EXPECT_TRUE(test::same_pixels(job.lr, lr));

  core::Frame hr = test::random_frame(99, 51, 6);
  hr.pts = 42;
  const auto chunks = engine::encode_result({.job = "a.1", .worker = "w"}, &hr, 2048);
  ASSERT_GT(chunks.size(), 2u);
  engine::ResultAssembly assembly;
  bool complete = false;
  for (size_t i = chunks.size(); i-- > 0;) {  // any order, one chunk twice
    complete = assembly.add(engine::decode_result(chunks[i]));
    if (i == 1) {
      EXPECT_FALSE(assembly.add(engine::decode_result(chunks[i])));
    }
  }
  ASSERT_TRUE(complete);
  EXPECT_TRUE(test::same_pixels(assembly.frame(), hr));
  EXPECT_EQ(assembly.frame().pts, 42);
}

TEST(RemoteWire, RefusesMessagesThatLie) {
  const core::Frame lr = test::random_frame(16, 8, 1);
  std::vector<uint8_t> job = engine::encode_job({.job = "j", .reply = "r", .model = "m"}, lr);
  auto code = [](std::vector<uint8_t> bytes, bool result) {
    return test::error_code_of([&] {
      if (result) {
        engine::decode_result(bytes);
      } else {
        engine::decode_job(bytes);
      }
    });
  };
  EXPECT_EQ(code({job.begin(), job.end() - 1}, false), ErrorCode::corrupt);  // one byte short
  std::vector<uint8_t> wrong_magic = job;
  wrong_magic[0] = 'X';
  EXPECT_EQ(code(wrong_magic, false), ErrorCode::corrupt);
  std::vector<uint8_t> long_header = job;
  long_header[7] = 0x7f;  // a header length beyond the message
  EXPECT_EQ(code(long_header, false), ErrorCode::corrupt);
  EXPECT_EQ(code(job, true), ErrorCode::corrupt);  // a job is not a result

  core::Frame hr = test::random_frame(48, 24, 2);
  const auto chunks = engine::encode_result({.job = "j"}, &hr, 1300);
  engine::ResultAssembly assembly;
  const auto other_job = engine::encode_result({.job = "k"}, &hr, 1300);
  assembly.add(engine::decode_result(chunks[0]));
  EXPECT_EQ(test::error_code_of([&] { assembly.add(engine::decode_result(other_job[1])); }), ErrorCode::corrupt);
}

TEST(RemoteConfig, NothingLeavesLoopbackUnauthenticated) {
  engine::NatsConfig config;
  config.url = "nats://10.0.0.5:4222";
  EXPECT_EQ(test::error_code_of([&] { engine::validate(config); }), ErrorCode::invalid_argument);
  config.url = "nats://127.0.0.1:4222,nats://gpu-1:4222";
  EXPECT_EQ(test::error_code_of([&] { engine::validate(config); }), ErrorCode::invalid_argument);
  config.url = "nats://worker:secret@gpu-1:4222";
  EXPECT_NO_THROW(engine::validate(config));
  config.url = "nats://gpu-1:4222";
  config.token_file = "/run/secrets/nats-token";
  EXPECT_NO_THROW(engine::validate(config));
  config.prefix = "a.b";  // a dot would split the subjects
  EXPECT_EQ(test::error_code_of([&] { engine::validate(config); }), ErrorCode::invalid_argument);

  test::TempDir dir;
  std::ofstream(dir.file("engine.json")) << R"({"sr": {"nats": "nats://127.0.0.1:4222", "token_file": "token"},
                                               "streams": []})";
  const engine::EngineConfig parsed = engine::load_config(dir.file("engine.json"));
  EXPECT_EQ(parsed.nats.url, "nats://127.0.0.1:4222");
  EXPECT_EQ(parsed.nats.token_file, dir.file("token"));
  std::ofstream(dir.file("typo.json")) << R"({"sr": {"nats_url": "nats://127.0.0.1:4222"}})";
  EXPECT_EQ(test::error_code_of([&] { engine::load_config(dir.file("typo.json")); }), ErrorCode::invalid_argument);
}

// Two serve instances with different models, two workers: every anchor is the right stream's, bit-identical to
// in-process SR.
TEST(RemoteSr, TwoInstancesTwoWorkersMatchInProcessSr) {
  test::NatsServer nats;
  test::TempDir dir;
  constexpr int kFrames = 120;
  write_input(dir.file("a.webm"), kFrames, 3);
  write_input(dir.file("b.webm"), kFrames, 4);
  sr::save_model(sr::random_model(small_desc(), 7), dir.file("m7.safetensors"));
  sr::save_model(sr::random_model(small_desc(), 8), dir.file("m8.safetensors"));

  engine::SrWorkerOptions with_metrics = worker_options(nats.url(), "w1");
  with_metrics.metrics_port = 0;
  engine::SrWorker worker1(with_metrics);
  engine::SrWorker worker2(worker_options(nats.url(), "w2"));
  engine::EngineConfig config1 = remote_config(nats.url());
  config1.streams = {stream(dir, "a", "a.webm", "m7.safetensors")};
  engine::EngineConfig config2 = remote_config(nats.url());
  config2.streams = {stream(dir, "b", "b.webm", "m8.safetensors")};
  engine::Engine serve1(config1);
  engine::Engine serve2(config2);
  serve1.wait();
  serve2.wait();

  int64_t results = 0;
  const std::pair<engine::Engine*, const char*> instances[] = {{&serve1, "a"}, {&serve2, "b"}};
  for (const auto& [serve, name] : instances) {
    const engine::EngineStats stats = serve->stats();
    const engine::StreamStats& s = find(stats, name);
    EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
    EXPECT_EQ(s.frames, kFrames);
    EXPECT_GT(stats.remote.results, 0) << name;
    EXPECT_EQ(s.anchors_written, stats.remote.results) << name;
    EXPECT_EQ(stats.remote.in_flight, 0);
    expect_accounted(s);
    results += stats.remote.results;
    const Checked checked = check_anchors(dir.file(std::string(name) + ".mkv"),
                                          dir.file(std::string(name) == "a" ? "m7.safetensors" : "m8.safetensors"),
                                          "onednn");
    EXPECT_EQ(checked.frames, kFrames);
    EXPECT_EQ(checked.anchors, s.anchors_written);
  }
  // The remote side in serve's stats, and the worker's own metrics over HTTP.
  EXPECT_NE(engine::stats_json(serve1.stats()).find("\"remote_sr\""), std::string::npos);
  EXPECT_NE(engine::stats_prometheus(serve1.stats()).find("neuroscaler_remote_sr_round_trip_ms"), std::string::npos);
  httplib::Client client("127.0.0.1", worker1.metrics_port());
  const auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  const std::string done_line =
      "neuroscaler_worker_jobs_total{outcome=\"done\"} " + std::to_string(worker1.stats().jobs_done) + "\n";
  EXPECT_NE(metrics->body.find(done_line), std::string::npos) << metrics->body;
  worker1.stop();
  worker2.stop();
  EXPECT_GE(worker1.stats().jobs_done + worker2.stats().jobs_done, results);  // more: results past their deadline
  EXPECT_GE(worker1.stats().models_fetched + worker2.stats().models_fetched, 2);
}

// Jobs delivered but not acked by a consumer (the jobs a worker holds).
int64_t jobs_held(const std::string& url) {
  natsConnection* connection = nullptr;
  if (natsConnection_ConnectTo(&connection, url.c_str()) != NATS_OK) return -1;
  jsCtx* js = nullptr;
  jsConsumerInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  int64_t held = -1;
  if (natsConnection_JetStream(&js, connection, nullptr) == NATS_OK &&
      js_GetConsumerInfo(&info, js, "NS_SR_JOBS", "ns-sr-workers", nullptr, &code) == NATS_OK) {
    held = info->NumAckPending;
    jsConsumerInfo_Destroy(info);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(connection);
  return held;
}

TEST(RemoteSr, KilledWorkersJobGoesToAnother) {
  test::NatsServer nats;
  test::TempDir dir;
  constexpr int kFrames = 180;
  write_input(dir.file("a.webm"), kFrames, 3);
  sr::save_model(sr::random_model(slow_desc(), 7), dir.file("m.safetensors"));
  // Worker A: a process of its own, killed with SIGKILL while it holds a job.
  core::RunningChild worker_a(NS_CLI_PATH,
                              {"sr-worker", "--nats", nats.url(), "--backend", "ref", "--threads", "1", "--batch", "1",
                               "--ack-wait-ms", "100", "--name", "A"},
                              {}, dir.file("worker-a.log"));
  engine::EngineConfig config = remote_config(nats.url());
  config.epoch_frames *= kSlowdown;
  config.streams = {stream(dir, "a", "a.webm", "m.safetensors")};
  engine::Engine serve(config);
  const auto give_up = Clock::now() + std::chrono::seconds(20);
  while (jobs_held(nats.url()) < 1 && Clock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GE(jobs_held(nats.url()), 1) << "worker A never held a job";
  worker_a.stop(SIGKILL);
  engine::SrWorkerOptions b = worker_options(nats.url(), "B", "ref");
  b.ack_wait_ms = 100;
  engine::SrWorker worker_b(b);
  serve.wait();
  worker_b.stop();

  EXPECT_GE(worker_b.stats().jobs_redelivered, 1);
  const engine::EngineStats stats = serve.stats();
  const engine::StreamStats& s = find(stats, "a");
  EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
  EXPECT_EQ(s.frames, kFrames);  // the LR track never waits for SR
  EXPECT_GT(s.anchors_written, 0);
  expect_accounted(s);
  const Checked checked = check_anchors(dir.file("a.mkv"), dir.file("m.safetensors"), "ref");
  EXPECT_EQ(checked.frames, kFrames);
  EXPECT_EQ(checked.anchors, s.anchors_written);
}

// Every result chunk arrives twice (a test client republishes what it sees on the results subjects, as a redelivered
// job done again would): each anchor is written once, the copies are counted.
struct Echo {
  natsConnection* connection = nullptr;
  natsSubscription* sub = nullptr;
  static void on_message(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
    natsConnection_Publish(nc, natsMsg_GetSubject(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
  }
  explicit Echo(const std::string& url) {
    natsOptions* options = nullptr;
    natsOptions_Create(&options);
    natsOptions_SetURL(options, url.c_str());
    natsOptions_SetNoEcho(options, true);  // not its own copies again
    EXPECT_EQ(natsConnection_Connect(&connection, options), NATS_OK);
    natsOptions_Destroy(options);
    EXPECT_EQ(natsConnection_Subscribe(&sub, connection, "ns.sr.results.>", on_message, nullptr), NATS_OK);
    natsConnection_Flush(connection);
  }
  ~Echo() {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(connection);
  }
};

TEST(RemoteSr, ResultsThatArriveTwiceAreWrittenOnce) {
  test::NatsServer nats;
  test::TempDir dir;
  constexpr int kFrames = 90;
  write_input(dir.file("a.webm"), kFrames, 3);
  sr::save_model(sr::random_model(small_desc(), 7), dir.file("m.safetensors"));
  const Echo echo(nats.url());
  engine::SrWorker worker(worker_options(nats.url(), "w"));
  engine::EngineConfig config = remote_config(nats.url());
  config.streams = {stream(dir, "a", "a.webm", "m.safetensors")};
  engine::Engine serve(config);
  serve.wait();
  worker.stop();

  const engine::EngineStats stats = serve.stats();
  const engine::StreamStats& s = find(stats, "a");
  EXPECT_GT(stats.remote.results, 0);
  EXPECT_GE(stats.remote.duplicates, stats.remote.results / 2) << "the echo did not come through";
  EXPECT_EQ(s.anchors_written, stats.remote.results);
  expect_accounted(s);
  const Checked checked = check_anchors(dir.file("a.mkv"), dir.file("m.safetensors"), "onednn");
  EXPECT_EQ(checked.frames, kFrames);
  EXPECT_EQ(checked.anchors, s.anchors_written);  // one anchor per job, however many results came
}

// A worker slower than the ack wait keeps its jobs (it reports them in progress): none is done twice.
TEST(RemoteSr, SlowWorkerKeepsItsJobs) {
  test::NatsServer nats;
  test::TempDir dir;
  constexpr int kFrames = 90;
  write_input(dir.file("a.webm"), kFrames, 3);
  // Hundreds of ms per frame on the ref backend: several ack waits.
  sr::save_model(sr::random_model(sr::ModelDesc{.blocks = 3, .channels = 32, .scale = 3}, 7), dir.file("m.safetensors"));
  engine::SrWorkerOptions o = worker_options(nats.url(), "w1", "ref");
  o.ack_wait_ms = 100;
  o.batch = 1;
  engine::SrWorker worker1(o);
  o.name = "w2";
  engine::SrWorker worker2(o);
  engine::EngineConfig config = remote_config(nats.url());
  config.epoch_frames = 120 * kSlowdown;  // seconds to finish a job
  config.streams = {stream(dir, "a", "a.webm", "m.safetensors")};
  engine::Engine serve(config);
  serve.wait();
  worker1.stop();
  worker2.stop();

  const engine::EngineStats stats = serve.stats();
  EXPECT_GT(stats.remote.results, 0);
  ASSERT_GT(worker1.stats().sr_ms.p50, o.ack_wait_ms) << "the model is too fast for this test";
  EXPECT_EQ(worker1.stats().jobs_redelivered + worker2.stats().jobs_redelivered, 0);
  EXPECT_EQ(stats.remote.duplicates, 0);
  expect_accounted(find(stats, "a"));
}

// serve and a worker started while the NATS server is not up yet: the stream runs from the start, both connect when
// the server comes, and anchors flow from then on.
TEST(RemoteSr, ServeAndWorkerStartBeforeTheServer) {
  test::TempDir dir;
  constexpr int kFrames = 180;
  write_input(dir.file("a.webm"), kFrames, 3);
  sr::save_model(sr::random_model(small_desc(), 7), dir.file("m.safetensors"));
  const int port = core::free_loopback_port();
  const std::string url = "nats://127.0.0.1:" + std::to_string(port);
  engine::SrWorker worker(worker_options(url, "w"));
  engine::EngineConfig config = remote_config(url);
  config.epoch_frames = 20;
  config.streams = {stream(dir, "a", "a.webm", "m.safetensors")};
  engine::Engine serve(config);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_FALSE(worker.stats().connected);
  const test::NatsServer nats(port);
  serve.wait();
  const auto stop_begins = Clock::now();
  worker.stop();
  EXPECT_LT(Clock::now() - stop_begins, std::chrono::seconds(2));

  const engine::EngineStats stats = serve.stats();
  const engine::StreamStats& s = find(stats, "a");
  EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
  EXPECT_EQ(s.frames, kFrames);
  EXPECT_GT(stats.remote.results, 0) << "no anchor came back once the server was up";
  expect_accounted(s);
}

// A server that requires a token: serve and the worker pass it from their token file and work; a worker without it
// is refused at once (ns::Error) or, when the refusal comes after its first try, never gets in nor a job.
TEST(RemoteSr, TokenFromTheConfigIsPassedThrough) {
  const std::string token = "s3cret-token-for-the-test";
  test::NatsServer nats(0, token);
  test::TempDir dir;
  constexpr int kFrames = 90;
  write_input(dir.file("a.webm"), kFrames, 3);
  sr::save_model(sr::random_model(small_desc(), 7), dir.file("m.safetensors"));
  std::ofstream(dir.file("token")) << token << "\n";
  std::unique_ptr<engine::SrWorker> intruder;
  try {
    intruder = std::make_unique<engine::SrWorker>(worker_options(nats.url(), "intruder"));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io) << e.what();
  }
  engine::SrWorkerOptions with = worker_options(nats.url(), "w");
  with.nats.token_file = dir.file("token");
  engine::SrWorker worker(with);
  engine::EngineConfig config = remote_config(nats.url());
  config.nats.token_file = dir.file("token");
  config.streams = {stream(dir, "a", "a.webm", "m.safetensors")};
  engine::Engine serve(config);
  serve.wait();
  worker.stop();

  EXPECT_GT(serve.stats().remote.results, 0);
  EXPECT_GT(worker.stats().jobs_done, 0);
  if (intruder) {
    intruder->stop();
    EXPECT_FALSE(intruder->stats().connected);
    EXPECT_EQ(intruder->stats().jobs_done, 0);
  }
}

TEST(RemoteSr, NatsRestartCostsAnchorsNotTheStream) {
  test::NatsServer server;
  test::NatsServer* nats = &server;
  test::TempDir dir;
  constexpr int kFrames = 240;  // 4 s at 60 fps
  write_input(dir.file("a.webm"), kFrames, 3);
  sr::save_model(sr::random_model(small_desc(), 7), dir.file("m.safetensors"));
  engine::SrWorker worker(worker_options(nats->url(), "w"));
  engine::EngineConfig config = remote_config(nats->url());
  config.epoch_frames = 20;
  config.streams = {stream(dir, "a", "a.webm", "m.safetensors")};
  engine::Engine serve(config);
  const auto give_up = Clock::now() + std::chrono::seconds(20);
  while (serve.stats().remote.results < 1 && Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  nats->stop();
  const int64_t results_before = serve.stats().remote.results;
  const int64_t done_before = worker.stats().jobs_done;
  ASSERT_GE(results_before, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(serve.stats().remote.connected);
  nats->start();  // same port, same store
  serve.wait();
  worker.stop();

  const engine::EngineStats stats = serve.stats();
  const engine::StreamStats& s = find(stats, "a");
  EXPECT_EQ(s.state, engine::StreamState::finished) << s.error;
  EXPECT_EQ(s.frames, kFrames);
  EXPECT_GT(stats.remote.results, results_before) << "no anchor came back after the restart";
  EXPECT_GT(worker.stats().jobs_done, done_before);
  EXPECT_GE(stats.remote.publish_failed + stats.remote.expired, 1);
  EXPECT_GE(s.anchors_dropped_deadline + s.anchors_dropped_full, 1);
  expect_accounted(s);
  EXPECT_EQ(check_anchors(dir.file("a.mkv"), dir.file("m.safetensors"), "onednn").frames, kFrames);
}

}  // namespace
}  // namespace ns
