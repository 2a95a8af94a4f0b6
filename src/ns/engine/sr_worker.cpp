// The remote SR worker: pullers (one per device) on the shared durable consumer, resident models, results out, acks.
#include "ns/engine/sr_worker.h"

#include <unistd.h>

#include <list>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/engine_impl.h"
#include "ns/engine/http_impl.h"
#include "ns/engine/nats_impl.h"
#include "ns/engine/remote_wire.h"
#include "ns/sr/batch.h"

namespace ns::engine {

using detail::Clock;

namespace {

constexpr const char* kLogger = "sr-worker";
constexpr int64_t kNsPerMs = 1000000;
// A pull request lives this long: a job published between two of them waits for the next one, and stop() is noticed
// within it. 250 ms added up to 250 ms to the round trip (p95 897 vs 690 ms with 50, scripts/bench-remote).
constexpr int kFetchWaitMs = 50;
constexpr int kRetryMs = 500;         // after a NATS failure (server down, consumer gone)
constexpr int kFlushTimeoutMs = 2000;  // results must reach the server before their jobs are acked

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string default_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

void validate(const SrWorkerOptions& o) {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "sr-worker: " + what); };
  if (!o.nats.enabled()) bad("give the NATS server's URL (--nats nats://HOST:PORT)");
  validate(o.nats);
  if (o.devices.empty() || o.devices.size() > 64) bad("devices must list 1 .. 64 indices");
  if (o.threads < 0) bad("threads must be >= 0");
  if (o.batch < 0 || o.batch > 64) bad("batch must be 0 (the backend's) .. 64");
  if (o.ack_wait_ms < 10 || o.ack_wait_ms > 600000) bad("ack_wait_ms must be 10 .. 600000");
  if (o.max_deliver < 1) bad("max_deliver must be at least 1");
  if (o.max_models < 1) bad("max_models must be at least 1");
}

// The models one puller keeps prepared, by content hash, LR size and precision; the least recently used leave first.
class ResidentModels {
 public:
  ResidentModels(sr::BatchUpscaler& upscalers, detail::NatsLink& link, const std::string& backend, size_t max)
      : upscalers_(upscalers), link_(link), backend_(backend), max_(max) {}

  // The BatchUpscaler id for this model at this LR size and precision; fetches and prepares it when new (one run on
  // a blank frame: a backend's first run is slow). ns::Error when missing or broken.
  int id_for(const SrPrepare& job, std::atomic<int64_t>& fetched) {
    const std::string key = job.model + "/" + std::to_string(job.width) + "x" + std::to_string(job.height) + "/" +
                            job.precision;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->key != key) continue;
      entries_.splice(entries_.begin(), entries_, it);  // most recently used first
      return it->id;
    }
    auto model = models_.find(job.model);
    if (model == models_.end()) {
      const std::optional<std::vector<uint8_t>> bytes = link_.get_model(job.model);
      if (!bytes) {
        throw Error(ErrorCode::not_found, "model " + job.model + " is not in the models bucket (its serve instance "
                                                                 "could not store it: check its NATS permissions)");
      }
      sr::Model parsed = sr::parse_model(bytes->data(), bytes->size(), "model " + job.model);
      if (sr::model_hash(parsed) != job.model) {
        throw Error(ErrorCode::corrupt, "model " + job.model + " in the bucket does not match its hash");
      }
      ++fetched;
      model = models_.emplace(job.model, std::move(parsed)).first;
    }
    const sr::Precision precision = sr::parse_precision(job.precision, backend_, model->second.desc);
    const int id = upscalers_.add_model(model->second, job.width, job.height, precision);
    entries_.push_front({key, job.model, id});
    core::Frame blank(job.width, job.height), out;
    blank.fill(16, 128, 128);
    const sr::BatchUpscaler::Job warm{id, &blank, &out};
    upscalers_.upscale({&warm, 1});
    if (entries_.size() > max_) {
      const Entry old = entries_.back();
      entries_.pop_back();
      upscalers_.remove_model(old.id);
      const bool used = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.hash == old.hash; });
      if (!used) models_.erase(old.hash);
    }
    return id;
  }

 private:
  struct Entry {
    std::string key;
    std::string hash;
    int id = 0;
  };
  sr::BatchUpscaler& upscalers_;
  detail::NatsLink& link_;
  const std::string backend_;
  const size_t max_;
  std::list<Entry> entries_;
  std::map<std::string, sr::Model> models_;
};

struct MsgListFree {
  void operator()(natsMsgList* list) const { natsMsgList_Destroy(list); }
};

}  // namespace

struct SrWorker::Impl {
  explicit Impl(const SrWorkerOptions& o)
      : options(o),
        name(o.name.empty() ? default_name() : o.name),
        batch(o.batch > 0 ? o.batch : sr::default_max_batch(o.backend)),
        link(o.nats, "neuroscaler-sr-worker " + name) {}

  const SrWorkerOptions options;
  const std::string name;
  const int batch;
  const Clock::time_point start = Clock::now();
  detail::NatsLink link;

  std::atomic<int64_t> done{0}, dropped{0}, failed{0}, redelivered{0}, fetched{0}, batches{0}, batch_frames{0},
      batch_max{0};
  mutable std::mutex latency_mutex;
  detail::LatencyWindow sr_ms, job_ms;

  // Prepare notices, one mailbox per puller (each has its own prepared models); bounded, the oldest dropped.
  static constexpr size_t kMailbox = 64;
  std::mutex mailbox_mutex;
  std::vector<std::vector<SrPrepare>> mailboxes;
  detail::NatsSubscriptionPtr prepare_sub;

  httplib::Server metrics;
  std::thread metrics_thread;
  int metrics_port = -1;
  std::vector<std::jthread> pullers;
  std::mutex working_mutex;  // the jobs being worked on, kept alive by keeper
  std::set<natsMsg*> working;
  std::jthread keeper;
  std::once_flag stopped;

  // One pulled job on its way through a batch.
  struct Item {
    natsMsg* message = nullptr;  // owned by the pull's list
    SrJob job;
    int model = 0;
    core::Frame hr;
    std::string error;
  };

  detail::NatsSubscriptionPtr subscribe() {
    link.ensure_jobs_stream();
    const std::string stream = jobs_stream_name(options.nats);
    const std::string durable = workers_consumer_name(options.nats);
    jsSubOptions sub_options;
    jsSubOptions_Init(&sub_options);
    sub_options.Stream = stream.c_str();
    sub_options.Config.AckPolicy = js_AckExplicit;
    sub_options.Config.AckWait = options.ack_wait_ms * kNsPerMs;
    sub_options.Config.MaxDeliver = options.max_deliver;
    natsSubscription* sub = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    detail::check_nats(js_PullSubscribe(&sub, link.jetstream(), jobs_subject(options.nats).c_str(), durable.c_str(),
                                        nullptr, &sub_options, &code),
                       "NATS: pulling from " + stream + " as " + durable);
    return detail::NatsSubscriptionPtr(sub);
  }

  static void on_prepare(natsConnection*, natsSubscription*, natsMsg* raw, void* self) {
    const detail::NatsMsgPtr message(raw);
    const auto* data = reinterpret_cast<const uint8_t*>(natsMsg_GetData(raw));
    auto& impl = *static_cast<Impl*>(self);
    try {
      const SrPrepare notice = decode_prepare({data, static_cast<size_t>(natsMsg_GetDataLength(raw))});
      std::lock_guard lock(impl.mailbox_mutex);
      for (auto& box : impl.mailboxes) {
        if (box.size() == kMailbox) box.erase(box.begin());
        box.push_back(notice);
      }
    } catch (const std::exception& e) {
      log::warn(kLogger, "{}: a prepare notice was dropped: {}", impl.name, e.what());
    }
  }

  // Models the streams that start will need, prepared between pulls.
  void prepare_announced(size_t puller, ResidentModels& models) {
    std::vector<SrPrepare> notices;
    {
      std::lock_guard lock(mailbox_mutex);
      notices.swap(mailboxes[puller]);
    }
    for (const SrPrepare& notice : notices) {
      try {
        models.id_for(notice, fetched);
      } catch (const std::exception& e) {
        log::warn(kLogger, "{}: preparing model {}: {}", name, notice.model, e.what());
      }
    }
  }

  void pull_loop(std::stop_token stop, size_t puller, int device) {
    sr::UpscalerOptions upscaler_options;
    upscaler_options.backend = options.backend;
    upscaler_options.backend_options.threads = options.threads;
    upscaler_options.backend_options.device = device;
    sr::BatchUpscaler upscalers(upscaler_options, batch);
    ResidentModels models(upscalers, link, options.backend, static_cast<size_t>(options.max_models));
    detail::NatsSubscriptionPtr sub;
    int64_t failures = 0;
    auto trouble = [&](const std::string& what) {
      if (failures++ % 20 == 0) log::warn(kLogger, "{}: {}; retrying", name, what);
      detail::wait_until(stop, Clock::now() + std::chrono::milliseconds(kRetryMs));
    };
    while (!stop.stop_requested()) {
      prepare_announced(puller, models);
      if (!sub && !link.connected()) {  // the connection retries by itself; wait for it quietly
        detail::wait_until(stop, Clock::now() + std::chrono::milliseconds(kFetchWaitMs));
        continue;
      }
      if (!sub) {
        try {
          sub = subscribe();
          log::info(kLogger, "{}: pulling jobs from {} (device {}, batch {})", name, options.nats.url, device, batch);
          failures = 0;
        } catch (const std::exception& e) {
          trouble(e.what());
          continue;
        }
      }
      // One job as soon as there is one, then whatever else is waiting, up to the batch: a full batch is never
      // waited for (a lone stream's anchor must not sit out a pull's timeout).
      natsMsgList first{}, more{};
      const std::unique_ptr<natsMsgList, MsgListFree> owned_first(&first), owned_more(&more);
      jsErrCode code = static_cast<jsErrCode>(0);
      const natsStatus status = natsSubscription_Fetch(&first, sub.get(), 1, kFetchWaitMs, &code);
      if (status == NATS_TIMEOUT) continue;
      if (status != NATS_OK) {
        sub.reset();  // the consumer may be gone (a server that lost its store): subscribe again
        trouble(std::string("pulling failed: ") + natsStatus_GetText(status));
        continue;
      }
      if (batch > 1) {
        jsFetchRequest request;
        jsFetchRequest_Init(&request);
        request.Batch = batch - 1;
        request.NoWait = true;
        request.Expires = kFetchWaitMs * kNsPerMs;
        natsSubscription_FetchRequest(&more, sub.get(), &request);  // none waiting is no error here
      }
      std::vector<natsMsg*> messages(first.Msgs, first.Msgs + first.Count);
      if (more.Count > 0) messages.insert(messages.end(), more.Msgs, more.Msgs + more.Count);
      process(messages, upscalers, models);
    }
  }

  // The pulled jobs are kept alive from now until each is acked (keep_alive), then done.
  void process(const std::vector<natsMsg*>& messages, sr::BatchUpscaler& upscalers, ResidentModels& models) {
    {
      std::lock_guard lock(working_mutex);
      working.insert(messages.begin(), messages.end());
    }
    work(messages, upscalers, models);
    std::lock_guard lock(working_mutex);
    for (natsMsg* message : messages) working.erase(message);
  }

  void work(const std::vector<natsMsg*>& messages, sr::BatchUpscaler& upscalers, ResidentModels& models) {
    const Clock::time_point pulled = Clock::now();
    std::vector<Item> items;
    for (natsMsg* message : messages) {
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, message) == NATS_OK) {
        if (meta->NumDelivered > 1) ++redelivered;
        jsMsgMetaData_Destroy(meta);
      }
      Item item{message, {}, 0, {}, {}};
      try {
        const auto* data = reinterpret_cast<const uint8_t*>(natsMsg_GetData(message));
        item.job = decode_job({data, static_cast<size_t>(natsMsg_GetDataLength(message))});
      } catch (const std::exception& e) {
        log::warn(kLogger, "{}: a job was dropped: {}", name, e.what());
        ++failed;
        natsMsg_Term(message, nullptr);  // no reply subject to answer: never deliver it again
        continue;
      }
      if (unix_now_ms() > item.job.header.deadline_ms) {
        ++dropped;
        natsMsg_Ack(message, nullptr);
        continue;
      }
      try {
        const SrJobHeader& h = item.job.header;
        item.model = models.id_for({.model = h.model, .precision = h.precision, .width = h.width, .height = h.height},
                                   fetched);
      } catch (const std::exception& e) {
        item.error = e.what();
      }
      items.push_back(std::move(item));
    }
    if (items.empty()) return;
    const double inference_ms = run(items, upscalers);
    publish(items, pulled, inference_ms);
  }

  // While a batch is worked on, its jobs' ack wait restarts every third of it ("in progress"), so that only a dead
  // worker's jobs go to another worker, not a slow one's.
  void keep_alive(std::stop_token stop) {
    const auto every = std::chrono::milliseconds(std::max(1, options.ack_wait_ms / 3));
    while (detail::wait_until(stop, Clock::now() + every)) {
      std::lock_guard lock(working_mutex);
      for (natsMsg* message : working) natsMsg_InProgress(message, nullptr);
    }
  }

  // One network call for the items with a model; when it fails, each alone (one broken model fails its own jobs).
  // Returns the inference time (ms).
  double run(std::vector<Item>& items, sr::BatchUpscaler& upscalers) {
    std::vector<sr::BatchUpscaler::Job> calls;
    std::vector<Item*> ready;
    for (Item& item : items) {
      if (!item.error.empty()) continue;
      calls.push_back({item.model, &item.job.lr, &item.hr});
      ready.push_back(&item);
    }
    if (calls.empty()) return 0;
    const Clock::time_point begin = Clock::now();
    try {
      upscalers.upscale(calls);
      count_batch(static_cast<int64_t>(calls.size()));
    } catch (const std::exception&) {
      for (size_t i = 0; i < calls.size(); ++i) {
        try {
          upscalers.upscale({&calls[i], 1});
          count_batch(1);
        } catch (const std::exception& e) {
          ready[i]->error = std::string("super-resolution failed: ") + e.what();
        }
      }
    }
    const double elapsed = ms_since(begin);
    std::lock_guard lock(latency_mutex);
    sr_ms.add(elapsed);
    return elapsed;
  }

  void count_batch(int64_t frames) {
    ++batches;
    batch_frames += frames;
    int64_t max = batch_max.load();
    while (frames > max && !batch_max.compare_exchange_weak(max, frames)) {
    }
  }

  // Every result (or error) to its reply subject; the jobs are acked once the server has them all.
  void publish(std::vector<Item>& items, Clock::time_point pulled, double inference_ms) {
    std::vector<Item*> sent;
    for (Item& item : items) {
      SrResultHeader header{.job = item.job.header.job, .worker = name, .error = item.error, .pts = item.job.header.pts,
                            .sr_ms = inference_ms};
      try {
        const auto messages =
            encode_result(header, item.error.empty() ? &item.hr : nullptr, link.max_message_bytes());
        for (const std::vector<uint8_t>& m : messages) {
          detail::check_nats(natsConnection_Publish(link.connection(), item.job.header.reply.c_str(), m.data(),
                                                    static_cast<int>(m.size())),
                             "NATS: publishing a result");
        }
        sent.push_back(&item);
      } catch (const std::exception& e) {
        log::warn(kLogger, "{}: job {}: {}", name, item.job.header.job, e.what());
      }
    }
    if (natsConnection_FlushTimeout(link.connection(), kFlushTimeoutMs) != NATS_OK) {
      log::warn(kLogger, "{}: results of {} jobs may not have reached the server; leaving them unacked", name,
                sent.size());
      return;
    }
    for (Item* item : sent) {
      natsMsg_Ack(item->message, nullptr);
      if (item->error.empty()) {
        ++done;
      } else {
        ++failed;
      }
      std::lock_guard lock(latency_mutex);
      job_ms.add(ms_since(pulled));
    }
  }
};

SrWorker::SrWorker(const SrWorkerOptions& options) {
  validate(options);
  impl_ = std::make_unique<Impl>(options);
  Impl& impl = *impl_;
  if (options.metrics_port >= 0) {
    impl.metrics.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content(sr_worker_prometheus(stats()), "text/plain; version=0.0.4");
    });
    impl.metrics.Get("/stats", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content(sr_worker_stats_json(stats()) + "\n", "application/json");
    });
    impl.metrics_port = detail::listen_http(impl.metrics, options.metrics_host, options.metrics_port,
                                            impl.metrics_thread, "sr-worker metrics", "--metrics");
  }
  impl.mailboxes.resize(options.devices.size());
  natsSubscription* prepare = nullptr;
  detail::check_nats(natsConnection_Subscribe(&prepare, impl.link.connection(), prepare_subject(options.nats).c_str(),
                                              Impl::on_prepare, &impl),
                     "NATS: subscribing to " + prepare_subject(options.nats));
  impl.prepare_sub.reset(prepare);
  for (size_t i = 0; i < options.devices.size(); ++i) {
    const int device = options.devices[i];
    impl.pullers.emplace_back([&impl, i, device](std::stop_token stop) { impl.pull_loop(stop, i, device); });
  }
  impl.keeper = std::jthread([&impl](std::stop_token stop) { impl.keep_alive(stop); });
}

SrWorker::~SrWorker() { stop(); }

void SrWorker::stop() {
  std::call_once(impl_->stopped, [&] {
    // No notice handler may run on a stopped worker.
    if (natsSubscription_Drain(impl_->prepare_sub.get()) == NATS_OK) {
      natsSubscription_WaitForDrainCompletion(impl_->prepare_sub.get(), 2000);
    }
    for (auto& p : impl_->pullers) p.request_stop();
    for (auto& p : impl_->pullers) p.join();
    impl_->keeper = {};
    impl_->metrics.stop();
    if (impl_->metrics_thread.joinable()) impl_->metrics_thread.join();
  });
}

int SrWorker::metrics_port() const { return impl_->metrics_port; }

SrWorkerStats SrWorker::stats() const {
  const Impl& impl = *impl_;
  SrWorkerStats s;
  s.uptime_s = std::chrono::duration<double>(Clock::now() - impl.start).count();
  s.connected = impl.link.connected();
  s.jobs_done = impl.done;
  s.jobs_dropped = impl.dropped;
  s.jobs_failed = impl.failed;
  s.jobs_redelivered = impl.redelivered;
  s.models_fetched = impl.fetched;
  s.batches = impl.batches;
  s.batch_frames = impl.batch_frames;
  s.batch_max = impl.batch_max;
  std::lock_guard lock(impl.latency_mutex);
  s.sr_ms = impl.sr_ms.summary();
  s.job_ms = impl.job_ms.summary();
  return s;
}

}  // namespace ns::engine
