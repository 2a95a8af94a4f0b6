// The engine: the stream table, the epoch clock that runs the cross-stream scheduler, the SR workers and the anchor
// encoders, and the drain that finalises every output.
#include "ns/engine/engine.h"

#include <algorithm>
#include <condition_variable>
#include <map>

#include "ns/anchor/anchor.h"
#include "ns/core/bounded_queue.h"
#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/engine_impl.h"
#include "ns/engine/remote_impl.h"
#include "ns/sr/batch.h"

namespace ns::engine {

using detail::AnchorJob;
using detail::Clock;
using detail::Stream;

namespace {

constexpr const char* kLogger = "engine";

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

anchor::SchedulerConfig scheduler_config(const EngineConfig& config, anchor::Method method) {
  anchor::SchedulerConfig s;
  s.method = method;
  s.fraction = config.fraction;
  s.epoch_frames = config.epoch_frames;
  s.fps = config.fps;
  return s;
}

}  // namespace

struct Engine::Impl final : detail::Scheduling {
  explicit Impl(const EngineConfig& c)
      : config(c),
        start(Clock::now()),
        epoch(detail::epoch_duration(c)),
        sr_batch(c.sr_batch > 0 ? c.sr_batch : sr::default_max_batch(c.backend)),
        sr_queue(static_cast<size_t>(c.sr_queue)),
        encode_queue(static_cast<size_t>(c.encode_queue)) {}

  EngineConfig config;
  const Clock::time_point start;
  const Clock::duration epoch;

  // One cross-stream scheduler per NeuroScaler method in use (created with its first stream), and the streams each
  // selects for by (method, scheduler id). scheduler_mutex guards them and every Stream::pushed_display.
  using SchedulerKey = std::pair<anchor::Method, int>;
  std::mutex scheduler_mutex;
  std::map<anchor::Method, anchor::Scheduler> schedulers;
  std::map<SchedulerKey, std::shared_ptr<Stream>> by_scheduler_id;

  // Ended streams stay in the stats, the latest kKeptEndedStreams of them: a server whose streams come and go for
  // days must not keep them all (found by `neuroscaler soak`).
  static constexpr size_t kKeptEndedStreams = 64;
  std::mutex streams_mutex;  // streams (running ones, and the latest ended ones, for stats) and next_id
  std::vector<std::shared_ptr<Stream>> streams;
  int next_id = 0;

  const int sr_batch;  // anchors per SR call at most
  core::BoundedQueue<AnchorJob> sr_queue;
  std::atomic<int64_t> sr_batches{0}, sr_batch_frames{0}, sr_batch_max{0};
  core::BoundedQueue<AnchorJob> encode_queue;
  std::vector<std::jthread> sr_workers;
  std::unique_ptr<detail::RemoteSr> remote;  // SR through NATS: one dispatcher in place of the SR workers
  std::vector<std::jthread> encoders;
  std::jthread clock;
  std::atomic<int64_t> epochs{0};

  std::mutex life_mutex;  // stopping, drained, active_ingests; taken before streams_mutex
  std::condition_variable ended_cv;
  int active_ingests = 0;  // ingest threads that have not returned
  bool stopping = false;
  bool drained = false;
  std::mutex drain_mutex;  // one drain at a time

  // detail::Scheduling, called by the ingest threads.
  void open(Stream& stream, const media::StreamInfo&) override {
    std::shared_ptr<Stream> shared = stream.shared_from_this();
    if (!stream.baseline) {
      const anchor::Method method = anchor::method_from_name(stream.config.method);
      std::lock_guard lock(scheduler_mutex);
      auto scheduler = schedulers.try_emplace(method, scheduler_config(config, method)).first;
      stream.scheduler_id = scheduler->second.add_stream({stream.config.name, 0.0});
      by_scheduler_id[{method, stream.scheduler_id}] = shared;
    }
    // Warm-up jobs (no frame): SR workers prepare this stream's upscaler now, not on its first anchor's deadline.
    bool queued = false;
    for (int i = 0; i < config.sr_workers; ++i) {
      AnchorJob warm_up{shared, -1, core::Frame(), Clock::now(), Clock::now(), nullptr};
      queued = sr_queue.try_push(warm_up) || queued;  // full: busy workers; the first anchor then prepares it
    }
    if (!queued) stream.set_warmed();
  }
  void push(Stream& stream, const std::vector<media::CodedFrame>& coded) override {
    std::lock_guard lock(scheduler_mutex);
    const auto scheduler = schedulers.find(anchor::method_from_name(stream.config.method));
    if (scheduler == schedulers.end() || !scheduler->second.has_stream(stream.scheduler_id)) return;
    for (const media::CodedFrame& f : coded) {
      scheduler->second.push(stream.scheduler_id, f);
      if (f.shown) stream.pushed_display = std::max(stream.pushed_display, f.display_index);
    }
  }
  std::shared_future<core::Frame> submit(Stream& stream, core::Frame lr, Clock::time_point deadline) override {
    auto result = std::make_shared<std::promise<core::Frame>>();
    std::shared_future<core::Frame> future = result->get_future().share();
    AnchorJob job{stream.shared_from_this(), -1, std::move(lr), Clock::now(), deadline, std::move(result)};
    if (!sr_queue.try_push(job)) return {};
    return future;
  }

  void start_workers() {
    if (config.nats.enabled()) {
      detail::RemoteHooks hooks{
          .done = [this](AnchorJob& job, core::Frame hr, double sr_ms) { deliver(job, std::move(hr), sr_ms); },
          .expired = [](AnchorJob& job) { expire(job); }};
      remote = std::make_unique<detail::RemoteSr>(config.nats, config.precision, std::move(hooks));
      sr_workers.emplace_back([this] { remote->dispatch(sr_queue); });
    } else {
      for (int i = 0; i < config.sr_workers; ++i) {
        const int device = config.devices[static_cast<size_t>(i) % config.devices.size()];
        sr_workers.emplace_back([this, device] { sr_loop(device); });
      }
    }
    for (int i = 0; i < config.encode_workers; ++i) encoders.emplace_back([this] { encode_loop(); });
    clock = std::jthread([this](std::stop_token stop) { clock_loop(stop); });
  }

  void add_stream(const StreamConfig& sc) {
    auto stream = std::make_shared<Stream>();
    stream->config = sc;
    stream->coding = imagecodec::EncodeSettings{.codec = sc.anchor_codec, .quality = sc.anchor_quality};
    imagecodec::validate(stream->coding);
    stream->coding.quality = imagecodec::effective_quality(stream->coding);  // the tag records the quality used
    if (stream->config.method.empty()) stream->config.method = config.method;
    validate(stream->config);
    stream->baseline = is_baseline_method(stream->config.method);
    stream->tags = hybrid::HybridTags{.scale = 0,  // scale and model: the ingest thread fills them in
                                      .model = {},
                                      .method = stream->config.method,
                                      .fraction = config.fraction,
                                      .anchor_codec = sc.anchor_codec,
                                      .anchor_quality = stream->coding.quality};
    // Under life_mutex, so that a drain either sees this stream (and joins its thread) or refuses it.
    std::lock_guard life(life_mutex);
    if (stopping) throw Error(ErrorCode::invalid_argument, "engine: stopping; no new streams");
    {
      std::lock_guard lock(streams_mutex);
      for (const auto& s : streams) {
        if (s->config.name == sc.name && (s->state == StreamState::starting || s->state == StreamState::running)) {
          throw Error(ErrorCode::invalid_argument, "engine: a stream named \"" + sc.name + "\" is running already");
        }
      }
      stream->id = next_id++;
      streams.push_back(stream);
    }
    ++active_ingests;
    Stream* raw = stream.get();
    stream->ingest = std::jthread([this, raw](std::stop_token stop) {
      detail::run_ingest(stop, *raw, *this, config);
      {
        std::lock_guard lock(life_mutex);
        --active_ingests;
      }
      ended_cv.notify_all();
      raw->ingest_returned = true;
    });
  }

  // Drops the ended streams beyond the latest kKeptEndedStreams from `streams` (oldest first).
  void forget_old_ended() {
    std::vector<std::shared_ptr<Stream>> forgotten;  // destroyed after the lock: that joins their (returned) threads
    std::lock_guard lock(streams_mutex);
    size_t ended = 0;
    for (const auto& s : streams) ended += s->ended() ? 1 : 0;
    for (auto it = streams.begin(); it != streams.end() && ended > kKeptEndedStreams;) {
      if (!(*it)->ended()) {
        ++it;
        continue;
      }
      forgotten.push_back(std::move(*it));
      it = streams.erase(it);
      --ended;
    }
  }

  bool remove_stream(const std::string& name) {
    std::shared_ptr<Stream> stream;
    {
      std::lock_guard lock(streams_mutex);
      for (const auto& s : streams) {
        if (s->config.name == name && s->state != StreamState::removed) stream = s;
      }
    }
    if (!stream) return false;
    stream->state = StreamState::removed;
    stream->ingest.request_stop();
    log::info(detail::logger_name(*stream), "removed; its queued anchors finish, then its output is finalised");
    return true;
  }

  // Every epoch_frames / fps: one selection over every stream (absolute deadlines: no drift).
  void clock_loop(std::stop_token stop) {
    Clock::time_point next = start + epoch;
    for (;;) {
      if (!detail::wait_until(stop, next)) return;
      run_epoch(next + epoch);
      next += epoch;
      const Clock::time_point now = Clock::now();
      if (next < now) {  // an epoch took longer than an epoch: skip the ticks that passed
        const auto behind = (now - next) / epoch + 1;
        log::warn(kLogger, "anchor selection fell {} epoch(s) behind; skipping them", static_cast<int64_t>(behind));
        next += behind * epoch;
      }
    }
  }

  void run_epoch(Clock::time_point deadline) {
    std::vector<std::pair<anchor::Method, anchor::EpochResult>> results;
    // The streams of this selection by scheduler key, with the last display index each had pushed.
    std::map<SchedulerKey, std::pair<std::shared_ptr<Stream>, int64_t>> selected_up_to;
    std::vector<std::shared_ptr<Stream>> leaving;
    {
      std::lock_guard lock(scheduler_mutex);
      for (auto& [method, scheduler] : schedulers) results.emplace_back(method, scheduler.run_epoch());
      for (auto it = by_scheduler_id.begin(); it != by_scheduler_id.end();) {
        const std::shared_ptr<Stream>& s = it->second;
        selected_up_to.emplace(it->first, std::pair{s, s->pushed_display});
        const StreamState state = s->state;
        if (state != StreamState::running && state != StreamState::starting) {
          schedulers.at(it->first.first).remove_stream(it->first.second);
          leaving.push_back(s);
          it = by_scheduler_id.erase(it);
        } else {
          ++it;
        }
      }
    }
    ++epochs;
    const Clock::time_point now = Clock::now();
    std::vector<AnchorJob> jobs;
    for (const auto& [method, result] : results) {
      for (const anchor::Anchor& a : result.anchors) prepare(selected_up_to, {method, a.stream}, a, now, deadline, jobs);
      if (!result.anchors.empty()) {
        log::debug(kLogger, "epoch {} ({}): {} anchors from {} frames", result.index, anchor::method_name(method),
                   result.anchors.size(), result.frames);
      }
    }
    dispatch(jobs);
    for (const auto& [id, selected] : selected_up_to) {
      const auto& [s, upto] = selected;
      std::lock_guard lock(s->frames_mutex);
      s->pending.erase(s->pending.begin(), s->pending.upper_bound(upto));
    }
    for (const auto& s : leaving) s->close_when_idle();
    forget_old_ended();
  }

  // One selected anchor: its LR frame taken from the stream's pending frames into a job for the SR queue.
  void prepare(const std::map<SchedulerKey, std::pair<std::shared_ptr<Stream>, int64_t>>& selected_up_to,
               const SchedulerKey& key, const anchor::Anchor& a, Clock::time_point now, Clock::time_point deadline,
               std::vector<AnchorJob>& jobs) {
    const auto found = selected_up_to.find(key);
    if (found == selected_up_to.end()) return;
    const std::shared_ptr<Stream>& stream = found->second.first;
    ++stream->anchors_selected;
    core::Frame lr;
    {
      std::lock_guard lock(stream->frames_mutex);
      auto it = stream->pending.find(a.display_index);
      if (it != stream->pending.end()) {
        lr = std::move(it->second);
        stream->pending.erase(it);
      }
    }
    if (lr.empty()) {
      ++stream->anchors_missed;
      return;
    }
    stream->add_in_flight();
    jobs.push_back(AnchorJob{stream, stream->next_sequence++, std::move(lr), now, deadline, nullptr});
  }

  // An epoch's jobs enter the SR queue together; those that do not fit are dropped.
  void dispatch(std::vector<AnchorJob>& jobs) {
    for (size_t i = sr_queue.try_push_all(jobs); i < jobs.size(); ++i) {
      ++jobs[i].stream->anchors_dropped_full;
      jobs[i].stream->settle(jobs[i].sequence, std::nullopt);
    }
  }

  // A job the SR worker does not super-resolve: a baseline's frame gets an empty result (its output counts the
  // outcome); an anchor is settled as dropped.
  static void skip(AnchorJob& job) {
    if (job.result) {
      job.result->set_value(core::Frame());
    } else {
      job.stream->settle(job.sequence, std::nullopt);
    }
  }

  // A job whose deadline passed before its SR was done.
  static void expire(AnchorJob& job) {
    if (!job.result) ++job.stream->anchors_dropped_deadline;
    skip(job);
  }

  // An SR worker: takes up to sr_batch queued anchors (of any streams) at once and super-resolves them in one call,
  // each with its stream's model (prepared on the stream's warm-up, kept until the stream closes).
  void sr_loop(int device) {
    sr::UpscalerOptions options;
    options.backend = config.backend;
    options.backend_options.threads = config.sr_threads;
    options.backend_options.device = device;
    sr::BatchUpscaler upscalers(options, sr_batch);
    std::map<int, std::pair<std::weak_ptr<Stream>, int>> model_ids;  // stream id -> (stream, BatchUpscaler model id)
    auto model_for = [&](const std::shared_ptr<Stream>& stream) {
      auto found = model_ids.find(stream->id);
      if (found != model_ids.end()) return found->second.second;
      // The fastest precision this backend runs the stream's model at (bf16 on CPUs with avx512_bf16).
      const sr::Precision precision = sr::parse_precision(config.precision, config.backend, stream->model->desc);
      const int id = upscalers.add_model(*stream->model, stream->lr_width, stream->lr_height, precision);
      model_ids.emplace(stream->id, std::make_pair(std::weak_ptr<Stream>(stream), id));
      return id;
    };
    for (std::vector<AnchorJob> batch = sr_queue.pop_batch(static_cast<size_t>(sr_batch)); !batch.empty();
         batch = sr_queue.pop_batch(static_cast<size_t>(sr_batch))) {
      std::vector<AnchorJob*> ready;
      std::vector<sr::BatchUpscaler::Job> calls;
      std::vector<core::Frame> hr(batch.size());
      for (AnchorJob& job : batch) {
        Stream& stream = *job.stream;
        if (job.frame.empty()) {  // warm-up: prepare the model and run it once (the backend's first run is slow)
          try {
            core::Frame blank(stream.lr_width, stream.lr_height), out;
            blank.fill(16, 128, 128);
            const sr::BatchUpscaler::Job warm{model_for(job.stream), &blank, &out};
            upscalers.upscale({&warm, 1});
          } catch (const std::exception& e) {
            stream.fail(std::string("preparing super-resolution failed: ") + e.what());
          }
          stream.set_warmed();
          continue;
        }
        if (Clock::now() > job.deadline) {
          expire(job);
          continue;
        }
        try {
          calls.push_back({model_for(job.stream), &job.frame, &hr[ready.size()]});
          ready.push_back(&job);
        } catch (const std::exception& e) {
          stream.fail(std::string("super-resolution failed: ") + e.what());
          skip(job);
        }
      }
      if (!ready.empty()) run_batch(upscalers, ready, calls, hr);
      std::erase_if(model_ids, [&](const auto& entry) {
        const std::shared_ptr<Stream> s = entry.second.first.lock();
        if (s && !s->is_closing()) return false;
        upscalers.remove_model(entry.second.second);
        return true;
      });
    }
  }

  // One network call for the ready jobs; when it fails, each job alone, so that a bad stream (e.g. a model that
  // produces NaN) fails by itself and the others in its batch still get their frames.
  void run_batch(sr::BatchUpscaler& upscalers, const std::vector<AnchorJob*>& ready,
                 const std::vector<sr::BatchUpscaler::Job>& calls, std::vector<core::Frame>& hr) {
    std::vector<bool> done(ready.size(), false);
    const Clock::time_point begin = Clock::now();
    try {
      upscalers.upscale(calls);
      std::fill(done.begin(), done.end(), true);
      count_batch(static_cast<int64_t>(ready.size()));
    } catch (const std::exception&) {
      for (size_t i = 0; i < ready.size(); ++i) {
        try {
          upscalers.upscale({&calls[i], 1});
          done[i] = true;
          count_batch(1);
        } catch (const std::exception& e) {
          ready[i]->stream->fail(std::string("super-resolution failed: ") + e.what());
          skip(*ready[i]);
        }
      }
    }
    const double elapsed = ms_since(begin);  // each anchor of a batch waits for the whole call
    for (size_t i = 0; i < ready.size(); ++i) {
      if (done[i]) deliver(*ready[i], std::move(hr[i]), elapsed);
    }
  }

  // A super-resolved frame, in-process or remote: to its baseline's output, or an anchor to the encoders.
  void deliver(AnchorJob& job, core::Frame hr, double sr_ms) {
    Stream& stream = *job.stream;
    {
      std::lock_guard lock(stream.stats_mutex);
      stream.sr_ms.add(sr_ms);
    }
    if (job.result) {
      job.result->set_value(std::move(hr));
    } else {
      job.frame = std::move(hr);
      const int64_t sequence = job.sequence;
      if (!encode_queue.push(std::move(job))) stream.settle(sequence, std::nullopt);
    }
  }

  void count_batch(int64_t frames) {
    ++sr_batches;
    sr_batch_frames += frames;
    int64_t max = sr_batch_max.load();
    while (frames > max && !sr_batch_max.compare_exchange_weak(max, frames)) {
    }
  }

  void encode_loop() {
    while (std::optional<AnchorJob> job = encode_queue.pop()) {
      Stream& stream = *job->stream;
      std::optional<detail::CodedAnchor> coded;
      try {
        const Clock::time_point begin = Clock::now();
        coded = detail::CodedAnchor{job->frame.pts, imagecodec::encode(job->frame, stream.coding), job->selected,
                                    job->deadline};
        std::lock_guard lock(stream.stats_mutex);
        stream.encode_ms.add(ms_since(begin));
      } catch (const std::exception& e) {
        stream.fail(std::string("anchor coding failed: ") + e.what());
      }
      stream.settle(job->sequence, std::move(coded));
    }
  }

  void wait_for_end() {
    std::unique_lock lock(life_mutex);
    ended_cv.wait(lock, [&] { return stopping || active_ingests == 0; });
  }

  void drain(bool stop_inputs) {
    std::lock_guard drain_lock(drain_mutex);
    {
      std::lock_guard lock(life_mutex);
      if (drained) return;
      stopping = true;
      ended_cv.notify_all();
    }
    std::vector<std::shared_ptr<Stream>> all;
    {
      std::lock_guard lock(streams_mutex);
      all = streams;
    }
    if (stop_inputs) {
      for (const auto& s : all) s->ingest.request_stop();
    }
    for (const auto& s : all) {
      if (s->ingest.joinable()) s->ingest.join();
    }
    clock.request_stop();
    if (clock.joinable()) clock.join();
    // A last selection over the frames that arrived since the previous epoch; every stream then leaves.
    run_epoch(Clock::now() + epoch);  // every input has ended: every stream leaves the scheduler here
    sr_queue.close();
    for (auto& w : sr_workers) w.join();
    if (remote) remote->finish();  // every published job back or past its deadline
    encode_queue.close();
    for (auto& w : encoders) w.join();
    for (const auto& s : all) {
      s->close_when_idle();
      s->finalise();
    }
    all.clear();
    forget_old_ended();  // every stream has ended now, also those whose anchors were in flight at the last epoch
    std::lock_guard lock(life_mutex);
    drained = true;
    log::info(kLogger, "stopped after {} epochs; every output finalised", epochs.load());
  }

  EngineStats stats() {
    EngineStats s;
    s.uptime_s = std::chrono::duration<double>(Clock::now() - start).count();
    s.epochs = epochs;
    s.sr_queue_depth = static_cast<int64_t>(sr_queue.size());
    s.sr_batches = sr_batches;
    s.sr_batch_frames = sr_batch_frames;
    s.sr_batch_max = sr_batch_max;
    s.encode_queue_depth = static_cast<int64_t>(encode_queue.size());
    if (remote) s.remote = remote->stats();
    std::lock_guard lock(streams_mutex);
    for (const auto& stream : streams) s.streams.push_back(stream->stats());
    return s;
  }
};

namespace {
const EngineConfig& validated(const EngineConfig& config) {
  validate(config);
  return config;
}
}  // namespace

Engine::Engine(const EngineConfig& config) : impl_(std::make_unique<Impl>(validated(config))) {
  impl_->start_workers();
  for (const StreamConfig& s : config.streams) impl_->add_stream(s);
}

Engine::~Engine() { stop(); }

void Engine::add_stream(const StreamConfig& config) { impl_->add_stream(config); }
bool Engine::remove_stream(const std::string& name) { return impl_->remove_stream(name); }

void Engine::wait() {
  impl_->wait_for_end();
  impl_->drain(false);
}

void Engine::stop() { impl_->drain(true); }

EngineStats Engine::stats() const { return impl_->stats(); }

}  // namespace ns::engine
