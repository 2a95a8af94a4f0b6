// Remote SR, the serve side: anchor jobs out to the JetStream work queue, results back on this instance's subject.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "ns/core/log.h"
#include "ns/engine/nats_impl.h"
#include "ns/engine/remote_impl.h"
#include "ns/engine/remote_wire.h"

namespace ns::engine::detail {

namespace {

constexpr const char* kLogger = "engine.remote";
constexpr int kResultBufferBytes = 256 * 1024 * 1024;  // results waiting for this instance's handler (bounded)

std::string random_instance() {
  std::random_device device;
  std::uniform_int_distribution<int> digit(0, 15);
  std::string id;
  for (int i = 0; i < 12; ++i) id += "0123456789abcdef"[digit(device)];
  return id;
}

// The steady-clock deadline as Unix time, which another machine can compare with its own clock.
int64_t unix_ms(Clock::time_point deadline) {
  return unix_now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

struct RemoteSr::Impl {
  struct Pending {
    AnchorJob job;
    Clock::time_point published;
    ResultAssembly result;
  };

  Impl(const NatsConfig& config, const std::string& p, RemoteHooks h)
      : link(config, "neuroscaler-serve"),
        instance(random_instance()),
        reply(results_subject(config, instance)),
        precision(p),
        hooks(std::move(h)) {
    natsSubscription* sub = nullptr;
    check_nats(natsConnection_Subscribe(&sub, link.connection(), reply.c_str(), on_message, this),
               "NATS: subscribing to " + reply);
    results.reset(sub);
    check_nats(natsSubscription_SetPendingLimits(sub, -1, kResultBufferBytes), "NATS: result buffer");
    sweeper = std::jthread([this](std::stop_token stop) { sweep(stop); });
    log::info(kLogger, "SR through NATS at {}: jobs on {}, results on {}", config.url, jobs_subject(config), reply);
  }

  ~Impl() {
    sweeper = {};
    // Waits for a result handler that is running: it must not outlive this object.
    if (natsSubscription_Drain(results.get()) == NATS_OK) {
      natsSubscription_WaitForDrainCompletion(results.get(), 2000);
    }
  }

  NatsLink link;  // first: destroyed last, after everything that uses it
  const std::string instance;
  const std::string reply;
  const std::string precision;
  const RemoteHooks hooks;
  NatsSubscriptionPtr results;

  mutable std::mutex mutex;  // pending, done_recently, round_trip and the counters
  std::condition_variable settled_cv;
  std::map<std::string, Pending> pending;
  int64_t settling = 0;  // taken out of `pending`, their hook still running: finish() waits for them too
  // The latest jobs that got their result, to tell a copy (duplicate) from a result too late (bounded).
  static constexpr size_t kDoneRemembered = 4096;
  std::deque<std::string> done_order;
  std::unordered_set<std::string> done_recently;
  LatencyWindow round_trip;
  RemoteSrStats counts;

  // The dispatcher's own state.
  int64_t next_job = 0;
  bool stream_ready = false;  // the jobs stream exists (checked again after a failed publish)
  std::map<int, std::pair<std::weak_ptr<Stream>, std::string>> hash_by_stream;
  std::set<std::string> stored_models;

  std::jthread sweeper;

  static void on_message(natsConnection*, natsSubscription*, natsMsg* raw, void* self) {
    const NatsMsgPtr message(raw);
    const auto* data = reinterpret_cast<const uint8_t*>(natsMsg_GetData(raw));
    static_cast<Impl*>(self)->receive({data, static_cast<size_t>(natsMsg_GetDataLength(raw))});
  }

  void receive(std::span<const uint8_t> bytes) {
    SrResultChunk chunk;
    try {
      chunk = decode_result(bytes);
    } catch (const std::exception& e) {
      log::warn(kLogger, "a result was dropped: {}", e.what());
      return;
    }
    std::optional<Pending> done;
    {
      std::lock_guard lock(mutex);
      const auto it = pending.find(chunk.header.job);
      if (it == pending.end()) {
        if (chunk.header.chunk == 0) ++(was_done(chunk.header.job) ? counts.duplicates : counts.late_results);
        return;
      }
      try {
        if (!it->second.result.add(chunk)) return;  // copies the bytes out of the message
      } catch (const std::exception& e) {
        log::warn(kLogger, "job {}: {}", it->first, e.what());
        return;
      }
      done = std::move(it->second);
      pending.erase(it);
      remember_done(done->result.header().job);
      ++settling;
      if (done->result.header().error.empty()) {
        ++counts.results;
        round_trip.add(ms_between(done->published, Clock::now()));
      } else {
        ++counts.worker_errors;
      }
    }
    hand_over(*done);
    settled();
  }

  void hand_over(Pending& done) {
    const SrResultHeader& header = done.result.header();
    if (!header.error.empty()) {
      log::warn(kLogger, "{}: worker {} could not super-resolve an anchor: {}", done.job.stream->config.name,
                header.worker, header.error);
      hooks.expired(done.job);
      return;
    }
    core::Frame hr;
    try {
      hr = done.result.frame();
    } catch (const std::exception& e) {
      log::warn(kLogger, "job {}: {}", header.job, e.what());
      hooks.expired(done.job);
      return;
    }
    hooks.done(done.job, std::move(hr), header.sr_ms);
  }

  void settled(int64_t jobs = 1) {
    {
      std::lock_guard lock(mutex);
      settling -= jobs;
    }
    settled_cv.notify_all();
  }

  void remember_done(const std::string& job) {  // under mutex
    done_order.push_back(job);
    done_recently.insert(job);
    if (done_order.size() > kDoneRemembered) {
      done_recently.erase(done_order.front());
      done_order.pop_front();
    }
  }
  bool was_done(const std::string& job) const { return done_recently.count(job) > 0; }  // under mutex

  // Settles the jobs without a whole result by their give-up time: as in-process SR, a job a worker started before
  // its deadline (workers drop the others unstarted) is still written when it comes back late, counted as late; one
  // that has not come back by twice its allowed time is settled as dropped (expired).
  void sweep(std::stop_token stop) {
    while (wait_until(stop, Clock::now() + std::chrono::milliseconds(10))) {
      std::vector<Pending> late;
      {
        std::lock_guard lock(mutex);
        const Clock::time_point now = Clock::now();
        for (auto it = pending.begin(); it != pending.end();) {
          const AnchorJob& job = it->second.job;
          if (job.deadline + (job.deadline - job.selected) >= now) {
            ++it;
            continue;
          }
          late.push_back(std::move(it->second));
          it = pending.erase(it);
          ++counts.expired;
          ++settling;
        }
      }
      if (late.empty()) continue;
      for (Pending& p : late) hooks.expired(p.job);
      settled(static_cast<int64_t>(late.size()));
    }
  }

  // The stream's model in the bucket (once per content hash); returns its hash.
  std::string store_model(const std::shared_ptr<Stream>& stream) {
    auto found = hash_by_stream.find(stream->id);
    if (found == hash_by_stream.end()) {
      found = hash_by_stream.emplace(stream->id, std::pair{std::weak_ptr<Stream>(stream), sr::model_hash(*stream->model)})
                  .first;
    }
    const std::string& hash = found->second.second;
    if (!stored_models.count(hash)) {
      if (!link.has_model(hash)) link.put_model(hash, sr::serialize_model(*stream->model));
      stored_models.insert(hash);
      log::info(kLogger, "{}: model {} is in the bucket as {}", stream->config.name, stream->tags.model, hash);
    }
    return hash;
  }

  void publish(AnchorJob& job) {
    Stream& stream = *job.stream;
    if (Clock::now() > job.deadline) {
      hooks.expired(job);
      return;
    }
    std::vector<uint8_t> message;
    std::string id;
    try {
      if (!stream_ready) link.ensure_jobs_stream();
      stream_ready = true;
      SrJobHeader header{.job = instance + "." + std::to_string(next_job++),
                         .reply = reply,
                         .stream = stream.config.name,
                         .model = store_model(job.stream),
                         .precision = precision,
                         .deadline_ms = unix_ms(job.deadline)};
      message = encode_job(header, job.frame);
      id = header.job;
    } catch (const std::exception& e) {
      not_published(job, e.what());
      return;
    }
    if (message.size() > link.max_message_bytes()) {
      stream.fail("an LR picture of " + std::to_string(message.size()) + " bytes is larger than the NATS server's " +
                  "max_payload (" + std::to_string(link.max_message_bytes()) + "); raise max_payload in its config");
      hooks.expired(job);
      return;
    }
    job.frame = core::Frame();  // the job's bytes are in the message now
    const Clock::time_point published = Clock::now();
    const Clock::time_point deadline = job.deadline;
    {
      std::lock_guard lock(mutex);
      pending.emplace(id, Pending{std::move(job), published, {}});
    }
    jsPubOptions options;
    jsPubOptions_Init(&options);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - published).count();
    options.MaxWait = std::clamp<int64_t>(left, 10, 2000);
    jsPubAck* ack = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus status =
        js_Publish(&ack, link.jetstream(), jobs_subject(link.config()).c_str(), message.data(),
                   static_cast<int>(message.size()), &options, &code);
    jsPubAck_Destroy(ack);
    if (status == NATS_OK) {
      std::lock_guard lock(mutex);
      ++counts.published;
      return;
    }
    std::optional<Pending> unsent;
    {
      std::lock_guard lock(mutex);
      if (const auto it = pending.find(id); it != pending.end()) {
        unsent = std::move(it->second);
        pending.erase(it);
        ++settling;
      }
    }
    stream_ready = false;
    if (unsent) {
      not_published(unsent->job, natsStatus_GetText(status));
      settled();
    }
  }

  void not_published(AnchorJob& job, const std::string& why) {
    int64_t failures = 0;
    {
      std::lock_guard lock(mutex);
      failures = ++counts.publish_failed;
    }
    if (failures == 1 || failures % 100 == 0) {
      log::warn(kLogger, "{}: an anchor job could not be published ({}); {} so far", job.stream->config.name, why,
                failures);
    }
    hooks.expired(job);
  }

  // The model into the bucket, and a notice to every worker to prepare it now rather than on the first anchor.
  void warm_up(AnchorJob& job) {
    try {
      const Stream& stream = *job.stream;
      const std::vector<uint8_t> notice = encode_prepare({.model = store_model(job.stream),
                                                          .precision = precision,
                                                          .width = stream.lr_width,
                                                          .height = stream.lr_height});
      check_nats(natsConnection_Publish(link.connection(), prepare_subject(link.config()).c_str(), notice.data(),
                                        static_cast<int>(notice.size())),
                 "NATS: publishing the prepare notice");
    } catch (const std::exception& e) {
      log::warn(kLogger, "{}: the model is not in the bucket yet ({}); trying again with its first anchor",
                job.stream->config.name, e.what());
    }
    job.stream->set_warmed();
  }
};

RemoteSr::RemoteSr(const NatsConfig& config, const std::string& precision, RemoteHooks hooks)
    : impl_(std::make_unique<Impl>(config, precision, std::move(hooks))) {}

RemoteSr::~RemoteSr() = default;

void RemoteSr::dispatch(core::BoundedQueue<AnchorJob>& queue) {
  for (std::vector<AnchorJob> batch = queue.pop_batch(16); !batch.empty(); batch = queue.pop_batch(16)) {
    for (AnchorJob& job : batch) {
      if (job.frame.empty()) {
        impl_->warm_up(job);
      } else {
        impl_->publish(job);
      }
    }
    std::erase_if(impl_->hash_by_stream, [](const auto& entry) {
      const std::shared_ptr<Stream> s = entry.second.first.lock();
      return !s || s->is_closing();
    });
  }
}

void RemoteSr::finish() {
  std::unique_lock lock(impl_->mutex);
  impl_->settled_cv.wait(lock, [&] { return impl_->pending.empty() && impl_->settling == 0; });
}

RemoteSrStats RemoteSr::stats() const {
  std::lock_guard lock(impl_->mutex);
  RemoteSrStats s = impl_->counts;
  s.enabled = true;
  s.connected = impl_->link.connected();
  s.in_flight = static_cast<int64_t>(impl_->pending.size());
  s.round_trip_ms = impl_->round_trip.summary();
  return s;
}

}  // namespace ns::engine::detail
