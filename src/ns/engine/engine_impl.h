// Inside the engine: the state of one stream and the jobs that travel between its threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "ns/anchor/anchor.h"
#include "ns/core/bounded_queue.h"
#include "ns/core/frame.h"
#include "ns/engine/engine.h"
#include "ns/hybrid/hybrid.h"
#include "ns/media/probe.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/reuse/reuse.h"
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

class BaselineOutput;

struct Stream : std::enable_shared_from_this<Stream> {
  int id = 0;            // engine-wide, never reused
  int scheduler_id = -1;  // the id in its method's anchor::Scheduler, -1 until the input opened (and for baselines)
  StreamConfig config;    // config.method is set (the engine's method when the stream gave none)
  bool baseline = false;  // perframe or selective: HR video re-encoded on the server, no scheduler
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
  std::atomic<bool> ingest_returned{false};  // the ingest thread is done (it only has to exit)

  // Reading starts once an SR worker has prepared this stream's upscaler (or none was asked to, the SR queue being
  // full): the first anchors and a file's replay do not pay the preparation (about one SR run).
  std::mutex warm_mutex;
  std::condition_variable_any warm_cv;
  bool warmed = false;
  void set_warmed();
  void wait_warmed(std::stop_token stop);

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
  std::atomic<int64_t> hr_frames{0}, hr_bytes{0};  // baselines
  Clock::time_point first_output{}, last_output{};  // baselines: HR frames encoded (stats_mutex)

  void fail(const std::string& message);  // records the error, sets failed, logs it
  void add_in_flight();
  // Anchor `sequence` is coded (written in its turn) or dropped (nullopt); one less in flight.
  void settle(int64_t sequence, std::optional<CodedAnchor> anchor);
  void close_when_idle();
  bool is_closing();
  bool ended();             // input ended, out of the scheduler, nothing in flight: its stats no longer change
  void finalise();          // finishes the output once (the file is then complete and playable)
  StreamStats stats() const;
};

// An anchor on its way: selected (LR frame), super-resolved (HR frame), coded and written. A job without a frame asks
// an SR worker to prepare the stream's upscaler (warm-up); it is not an anchor. A baseline's SR frame carries
// `result` instead of a sequence: the SR worker sets it to the HR frame, or to an empty frame when it skipped the job
// (deadline passed, failure); the stream's BaselineOutput waits for it until the deadline.
struct AnchorJob {
  std::shared_ptr<Stream> stream;
  int64_t sequence = 0;
  core::Frame frame;  // LR, then HR
  Clock::time_point selected;
  Clock::time_point deadline;
  std::shared_ptr<std::promise<core::Frame>> result;  // baselines only
};

// One decoded frame of a baseline stream on its way to the HR output. `hr` is valid when the frame went to the SR
// queue (sr and not dropped because the queue was full).
struct BaselineFrame {
  core::Frame lr;
  bool sr = false;
  std::shared_future<core::Frame> hr;
  Clock::time_point deadline;
};

// A baseline stream's HR output: one thread takes the decoded frames in display order, waits for each SR frame's
// result until its deadline (never longer), rebuilds the frame (selective: ns::reuse on the server, SR frames as
// anchors; perframe without its SR frame: bicubic) and re-encodes it (.mp4: H.264, else VP9). The file is created
// with the first frame. Bounded: push() blocks while kQueueFrames frames wait (HR encoding behind the source).
class BaselineOutput {
 public:
  static constexpr size_t kQueueFrames = 64;
  BaselineOutput(Stream& stream, int scale, media::Rational frame_rate);
  ~BaselineOutput();  // finish()
  BaselineOutput(const BaselineOutput&) = delete;
  BaselineOutput& operator=(const BaselineOutput&) = delete;

  bool push(BaselineFrame frame);  // false once the output failed (the stream has failed then)
  void finish();                   // writes every queued frame, then finalises the file; idempotent

 private:
  void run();
  void write(const BaselineFrame& frame);

  Stream& stream_;
  const int scale_;
  const media::Rational frame_rate_;
  core::BoundedQueue<BaselineFrame> queue_{kQueueFrames};
  std::unique_ptr<media::VideoWriter> writer_;
  std::optional<reuse::Reconstructor> reconstructor_;
  core::Frame upscaled_;
  std::jthread thread_;
};

std::string logger_name(const Stream& stream);  // "engine.stream.<name>"

// One selection epoch of wall time: epoch_frames / fps.
Clock::duration epoch_duration(const EngineConfig& config);

// Waits until `due`, or less when a stop is requested (the token wakes the wait: no polling). false when stopped.
bool wait_until(std::stop_token stop, Clock::time_point due);

// The ingest thread of one stream (ingest.cpp): opens input and output, then reads, paces, copies, probes and decodes
// until the input ends, `stop` is requested or the stream fails; `on_coded` gives the scheduler its coded frames.
// Baselines: `submit` gives an SR frame to the SR queue and returns its result; an invalid future when the queue is
// full (counted in anchors_dropped_full).
class Scheduling {
 public:
  virtual ~Scheduling() = default;
  virtual void open(Stream& stream, const media::StreamInfo& info) = 0;  // joins its method's scheduler
  virtual void push(Stream& stream, const std::vector<media::CodedFrame>& coded) = 0;
  virtual std::shared_future<core::Frame> submit(Stream& stream, core::Frame lr, Clock::time_point deadline) = 0;
};
void run_ingest(std::stop_token stop, Stream& stream, Scheduling& scheduling, const EngineConfig& config);

}  // namespace ns::engine::detail
