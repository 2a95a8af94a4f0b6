// ns/engine: the live server (reference §8): many streams at once; every epoch one scheduler picks the anchors of all
// streams (ns/anchor), a pool of SR workers super-resolves them, a pool of encoders codes them (ns/imagecodec) and
// each stream's hybrid output (ns/hybrid) gets its LR packets at once and its anchors when they are ready.
// In: an EngineConfig (streams: input URL or file, model, output), streams added and removed while running.
// Out: one hybrid .mkv per stream (baselines: re-encoded HR video), finalised on stop; EngineStats (JSON, Prometheus
// text) at any time.
// Policy when SR falls behind: an anchor still queued at its deadline (the next epoch's selection) is dropped and
// counted; a full SR queue drops new anchors (counted); the LR stream is never held back. Memory per stream is bounded:
// the decoded frames of at most kMaxPendingEpochs epochs wait for selection, older ones are released.
// Thread-safety: every Engine member may be called from any thread. Errors: ns::Error from the constructor and
// add_stream (invalid_argument: bad config, duplicate name); a stream's own failure (input, model, output) is reported
// in its stats and log, never thrown, and the other streams go on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ns/engine/nats_config.h"
#include "ns/imagecodec/imagecodec.h"

namespace ns::engine {

// Per-stream methods (reference §4). NeuroScaler's (neuroscaler-q, neuroscaler, uniform, keyframe): the cross-stream
// scheduler picks anchors, they are super-resolved and coded as images into a hybrid .mkv. The server-side baselines
// make HR video and re-encode it (.webm: VP9 realtime, .mp4: x264): perframe (every frame super-resolved) and
// selective (uniform anchors, the rest rebuilt by reuse on the server). A baseline's SR frame not super-resolved by its
// deadline (decoded + one epoch) is written without it, counted in anchors.dropped_*: perframe writes it bicubic-up-
// scaled, selective rebuilds it by reuse; the output never waits longer.
bool is_baseline_method(const std::string& method);  // perframe, selective
inline constexpr double kSelectiveFraction = 0.2;    // the paper's selective SR: 8 anchors per 40 frames

struct StreamConfig {
  std::string name;    // unique among the engine's streams; names the stream in stats, logs and errors
  std::string input;   // a file, or a URL FFmpeg opens (tcp, udp, srt, rtmp, http)
  std::string model;   // SR model (.safetensors)
  std::string output;  // hybrid stream (.mkv); baselines: the HR video (.webm VP9, .mp4 H.264)
  std::string method;  // empty: the engine's method
  double fraction = 0;  // selective only: SR frames per frame; 0: kSelectiveFraction
  bool realtime = true;  // read a file at its frame rate, as a live source would send it; false: as fast as it decodes
  int64_t frames = 0;    // stop reading after this many frames (benchmarks, tests); 0: the whole input
  imagecodec::Codec anchor_codec = imagecodec::Codec::htj2k;
  double anchor_quality = 0;  // 0: the codec's default
};

struct EngineConfig {
  std::string method = "neuroscaler-q";  // streams' default method: neuroscaler-q, neuroscaler, uniform, keyframe,
                                         // perframe, selective
  double fraction = 0.075;               // anchors per displayed frame, all NeuroScaler streams together
  int epoch_frames = 40;                 // epoch length in frames at `fps` (666.7 ms at 60 fps, reference §3.3)
  double fps = 60;                       // the epoch clock
  std::string backend = "auto";          // SR backend (ns/sr registry)
  std::string precision = "auto";        // SR precision: auto (the fastest the backend has) | fp32 | bf16 | fp16
  std::vector<int> devices = {0};        // GPU indices for GPU backends: SR worker i runs on devices[i % size]
  int sr_workers = 1;                    // SR worker threads (on a GPU backend, at least one per device)
  int sr_threads = 0;                    // inference threads per SR worker; 0 = the backend's choice
  int sr_batch = 0;                      // anchors an SR worker takes at once, of any streams; 0 = the backend's
                                         // (sr::default_max_batch: 8 on a GPU, 1 on CPU)
  int encode_workers = 1;                // anchor image encoder threads
  int sr_queue = 64;                     // anchors waiting for SR, all streams together
  int encode_queue = 64;                 // SR images waiting for coding
  double stall_timeout_s = 10;           // a stream whose source sends nothing for this long fails as stalled
  // SR on other machines (docs/scale-out.md): with nats.url set, anchors go as jobs to a JetStream work queue that
  // `neuroscaler sr-worker` processes pull from, and backend, devices, sr_workers, sr_threads and sr_batch are the
  // workers' business; precision travels with each job. Empty: SR workers are threads of this process.
  NatsConfig nats;
  std::vector<StreamConfig> streams;
};

// The config file is JSON: the EngineConfig fields by name (backend, sr_workers, ...), "sr": an object with the NATS
// settings ("nats": the URL, "token_file", "creds", "tls_ca", "tls_cert", "tls_key", "prefix") and "streams": a list
// of objects with the StreamConfig fields (anchor_codec by name: "htj2k", "j2k", "jpeg"). Unknown keys are errors (a typo must not
// pass silently). Relative paths of inputs, models and outputs are taken from the config file's folder.
// ns::Error not_found, corrupt (not JSON), invalid_argument (a bad or unknown key, naming it).
EngineConfig parse_config(const std::string& json_text, const std::string& base_dir, const std::string& where);
EngineConfig load_config(const std::string& path);
// One stream as JSON (the keys of a "streams" entry), e.g. the body of the admin API's POST /streams.
StreamConfig parse_stream_config(const std::string& json_text, const std::string& base_dir, const std::string& where);
void validate(const EngineConfig& config);  // ns::Error invalid_argument naming the field
void validate(const StreamConfig& stream);  // name, input, model and output given; ns::Error invalid_argument

// Latency percentiles of one stage over the latest samples (ms); count is all samples so far.
struct LatencyStats {
  int64_t count = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
};

enum class StreamState { starting, running, finished, failed, removed };
const char* stream_state_name(StreamState state);

struct StreamStats {
  std::string name;
  std::string input;
  std::string output;
  std::string method;
  StreamState state = StreamState::starting;
  std::string error;               // why it failed (empty otherwise)
  int64_t frames = 0;              // LR frames decoded
  double input_fps = 0;            // the stream's frame rate
  double decode_fps = 0;           // frames decoded per second of wall time, first to latest frame
  // Anchors; for the baselines, the frames selected for SR (every frame for perframe). A baseline's SR frame is
  // written when its SR is ready by its deadline, else dropped_deadline (or dropped_queue_full) and written without.
  int64_t anchors_selected = 0;
  int64_t anchors_written = 0;
  int64_t anchors_late = 0;           // written, but after their deadline
  int64_t anchors_dropped_deadline = 0;  // SR not done by their deadline
  int64_t anchors_dropped_full = 0;   // SR queue full when selected
  int64_t anchors_missed = 0;         // selected, but the frame was no longer (or not yet) held
  int64_t lr_bytes = 0;
  int64_t anchor_bytes = 0;
  int64_t hr_frames = 0;              // baselines: HR frames encoded into the output
  int64_t hr_bytes = 0;               // baselines: the re-encoded HR video so far
  double output_fps = 0;              // baselines: HR frames encoded per second of wall time, first to latest
  int64_t pending_frames = 0;      // decoded frames waiting for selection
  LatencyStats decode_ms;          // per frame: packet in to frame out
  LatencyStats sr_ms;              // per anchor: inference (count: the SR work done, on time or not)
  LatencyStats encode_ms;          // per anchor: image coding; baselines: per frame, reuse and HR encoding
  LatencyStats anchor_ms;          // per anchor: selection to written into the output
  // Reference §8.10: decode keeps the frame rate (realtime streams), no anchor dropped or late, and the encoders keep
  // up with inference (baselines: HR encoding keeps 98 % of the frame rate).
  bool realtime = true;
};

// SR through NATS (EngineConfig::nats); enabled is false and the rest zero when SR runs in-process.
struct RemoteSrStats {
  bool enabled = false;
  bool connected = false;
  int64_t published = 0;       // jobs on the work queue
  int64_t publish_failed = 0;  // not accepted by JetStream in time (server down): dropped, counted by their streams
  int64_t results = 0;         // whole results back in time
  int64_t expired = 0;         // no result by twice the allowed time (dropped_deadline of their streams)
  int64_t late_results = 0;    // results of jobs already expired (ignored)
  int64_t duplicates = 0;      // more results of jobs already done (a job done twice, a copy; ignored)
  int64_t worker_errors = 0;   // workers that answered with an error (model missing or broken)
  int64_t in_flight = 0;       // published, waiting for their results
  LatencyStats round_trip_ms;  // publish to the whole result back
};

struct EngineStats {
  double uptime_s = 0;
  int64_t epochs = 0;
  int64_t sr_queue_depth = 0;
  int64_t encode_queue_depth = 0;
  int64_t sr_batches = 0;       // network calls of the SR workers (warm-ups not counted)
  int64_t sr_batch_frames = 0;  // frames they super-resolved: sr_batch_frames / sr_batches is the mean batch
  int64_t sr_batch_max = 0;     // the largest batch so far
  RemoteSrStats remote;
  std::vector<StreamStats> streams;
};
std::string stats_json(const EngineStats& stats);
std::string stats_prometheus(const EngineStats& stats);  // Prometheus text exposition format, version 0.0.4

class Engine {
 public:
  // Validates the config, starts the epoch clock and the workers, then the config's streams.
  explicit Engine(const EngineConfig& config);
  ~Engine();  // stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts a stream; it takes part from the next epoch. ns::Error invalid_argument for a bad or duplicate config;
  // a stream that cannot open its input, model or output fails on its own (stats), it does not throw.
  void add_stream(const StreamConfig& config);
  // Stops reading the stream, lets its queued anchors finish and finalises its output. false if unknown.
  bool remove_stream(const std::string& name);

  // Blocks until every stream has ended (input finished, failed or removed) or stop() was called, then drains: a
  // last selection over the frames left, every queued anchor coded, every output finalised. Idempotent.
  void wait();
  // Stops reading every input and drains as wait() does (call from any thread, e.g. a signal-waiting thread).
  void stop();

  // The streams running, and the latest 64 that ended (older ended ones are forgotten: bounded memory).
  EngineStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::engine
