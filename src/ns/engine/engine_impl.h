// Inside the engine: the state of one stream and the jobs that travel between its threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "ns/core/frame.h"
#include "ns/engine/engine.h"
#include "ns/hybrid/hybrid.h"
#include "ns/media/probe.h"
#include "ns/media/reader.h"
#include "ns/sr/sr.h"

namespace ns::engine::detail {

using Clock = std::chrono::steady_clock;

// Decoded frames of this many epochs may wait for selection; older ones are released (bounded memory per stream).
inline constexpr int kMaxPendingEpochs = 3;

// The latest samples of one stage, for percentiles (bounded: a ring of kSamples).
class LatencyWindow {
 public:
  static constexpr size_t kSamples = 1024;
  void add(double ms);
  LatencyStats summary() const;

 private:
  std::vector<double> samples_;
  size_t next_ = 0;
  int64_t count_ = 0;
  double max_ = 0;
};

struct CodedAnchor {
  int64_t pts = 0;
  std::vector<uint8_t> image;
  Clock::time_point selected;
  Clock::time_point deadline;
};

struct Stream {
  int id = 0;            // engine-wide, never reused
  int scheduler_id = -1;  // the anchor::Scheduler's id, -1 until the input opened
  StreamConfig config;
  hybrid::HybridTags tags;            // set by the engine before the ingest thread starts
  imagecodec::EncodeSettings coding;  // likewise
  std::shared_ptr<const sr::Model> model;  // loaded by the ingest thread before `opened` is set

  // Written by the ingest thread before `opened` is set, read-only afterwards.
  int lr_width = 0;
  int lr_height = 0;
  double fps = 0;
  std::atomic<bool> opened{false};

  std::atomic<StreamState> state{StreamState::starting};
  std::jthread ingest;

  // The hybrid output: LR packets from the ingest thread, anchors from the encoders.
  std::mutex writer_mutex;
  std::unique_ptr<hybrid::HybridWriter> writer;

  // Decoded frames waiting for the epoch's selection, by display index; and the display index of the last coded
  // frame given to the scheduler (guarded by the engine's scheduler mutex).
  mutable std::mutex frames_mutex;
  std::map<int64_t, core::Frame> pending;
  int64_t pushed_display = -1;

  // Anchors reach the output in selection order (increasing pts, as the muxer needs) whatever order the workers
  // finish them in: each gets a sequence number at selection, and a coded one waits in `settled` until every earlier
  // one is written or dropped. next_sequence is the epoch thread's; the rest is guarded by writer_mutex.
  int64_t next_sequence = 0;
  int64_t next_to_write = 0;
  std::map<int64_t, std::optional<CodedAnchor>> settled;

  // Anchors between selection and written. close_when_idle() (the input ended and the stream left the scheduler)
  // finalises the output at once, or when the last anchor in flight is done.
  std::mutex flight_mutex;
  int64_t in_flight = 0;
  bool closing = false;
  std::once_flag finalised;

  // Statistics (stats_mutex guards the windows, the error and the first-frame time).
  mutable std::mutex stats_mutex;
  std::string error;
  Clock::time_point first_frame{};
  Clock::time_point last_frame{};
  LatencyWindow decode_ms, sr_ms, encode_ms, anchor_ms;
  std::atomic<int64_t> frames{0};
  std::atomic<int64_t> anchors_selected{0}, anchors_written{0}, anchors_late{0}, anchors_dropped_deadline{0},
      anchors_dropped_full{0}, anchors_missed{0};
  std::atomic<int64_t> lr_bytes{0}, anchor_bytes{0};

  void fail(const std::string& message);  // records the error, sets failed, logs it
  void add_in_flight();
  // Anchor `sequence` is coded (written in its turn) or dropped (nullopt); one less in flight.
  void settle(int64_t sequence, std::optional<CodedAnchor> anchor);
  void close_when_idle();
  bool is_closing();
  void finalise();          // finishes the output once (the file is then complete and playable)
  StreamStats stats() const;
};

// An anchor on its way: selected (LR frame), super-resolved (HR frame), coded and written. A job without a frame asks
// an SR worker to prepare the stream's upscaler (warm-up); it is not an anchor.
struct AnchorJob {
  std::shared_ptr<Stream> stream;
  int64_t sequence = 0;
  core::Frame frame;  // LR, then HR
  Clock::time_point selected;
  Clock::time_point deadline;
};

std::string logger_name(const Stream& stream);  // "engine.stream.<name>"

// Waits until `due`, or less when a stop is requested (the token wakes the wait: no polling). false when stopped.
bool wait_until(std::stop_token stop, Clock::time_point due);

// The ingest thread of one stream (ingest.cpp): opens input and output, then reads, paces, copies, probes and decodes
// until the input ends, `stop` is requested or the stream fails; `on_coded` gives the scheduler its coded frames.
class Scheduling {
 public:
  virtual ~Scheduling() = default;
  virtual void open(Stream& stream, const media::StreamInfo& info) = 0;  // joins the scheduler
  virtual void push(Stream& stream, const std::vector<media::CodedFrame>& coded) = 0;
};
void run_ingest(std::stop_token stop, Stream& stream, Scheduling& scheduling, const EngineConfig& config);

}  // namespace ns::engine::detail
