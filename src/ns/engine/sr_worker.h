// ns/engine: a remote SR worker (`neuroscaler sr-worker`, docs/scale-out.md): pulls anchor jobs of any streams and
// any `serve` instances from the JetStream work queue in batches, super-resolves them with models fetched once by
// content hash from the models bucket and kept resident, publishes each result to the job's reply subject and acks
// the job only then. A job past its deadline is dropped (acked unprocessed) and counted. While it works on a batch the
// worker tells the server so every third of ack_wait; a worker killed mid-batch stops telling, and the server gives its
// jobs to another worker after ack_wait.
// In: SrWorkerOptions. Out: results on NATS; SrWorkerStats (JSON, Prometheus text on an optional HTTP port).
// Thread-safety: every member may be called from any thread. Errors: ns::Error invalid_argument from the constructor
// for bad options (a NATS URL off loopback without credentials); NATS outages are waited out, logged and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ns/engine/engine.h"
#include "ns/engine/nats_config.h"

namespace ns::engine {

struct SrWorkerOptions {
  NatsConfig nats;
  std::string name;                // in results and logs; empty: <host>-<pid>
  std::string backend = "auto";    // SR backend (ns/sr registry)
  std::vector<int> devices = {0};  // one puller per device (GPU index; CPU backends: one puller per entry)
  int threads = 0;                 // inference threads per puller; 0: the backend's choice
  int batch = 0;                   // jobs per pull and per network call; 0: the backend's (8 on a GPU, 1 on CPU)
  int ack_wait_ms = 300;           // a job neither acked nor reported in progress for this long goes to another
                                   // worker; keep it well below the deadline (one epoch, 667 ms at 60 fps) so that a
                                   // dead worker's jobs still make it
  int max_deliver = 3;             // deliveries of one job at most
  int max_models = 16;             // models resident per puller (least recently used ones leave first)
  std::string metrics_host = "127.0.0.1";
  int metrics_port = -1;           // GET /metrics (Prometheus) and /stats (JSON); -1: none, 0: any free port
};

struct SrWorkerStats {
  double uptime_s = 0;
  bool connected = false;
  int64_t jobs_done = 0;          // results published and acked
  int64_t jobs_dropped = 0;       // past their deadline when pulled: acked unprocessed
  int64_t jobs_failed = 0;        // answered with an error (model missing or broken, SR failed, corrupt job)
  int64_t jobs_redelivered = 0;   // pulled more than once (their first worker died or was too slow)
  int64_t models_fetched = 0;     // from the bucket
  int64_t batches = 0;            // network calls
  int64_t batch_frames = 0;
  int64_t batch_max = 0;
  LatencyStats sr_ms;             // per batch: inference
  LatencyStats job_ms;            // per job: pulled to result published
};
std::string sr_worker_stats_json(const SrWorkerStats& stats);
std::string sr_worker_prometheus(const SrWorkerStats& stats);

class SrWorker {
 public:
  // Validates the options, connects (in the background while the server is down) and starts pulling.
  explicit SrWorker(const SrWorkerOptions& options);
  ~SrWorker();  // stop()
  SrWorker(const SrWorker&) = delete;
  SrWorker& operator=(const SrWorker&) = delete;

  // Stops pulling; a batch in progress is finished and acked. Idempotent.
  void stop();
  SrWorkerStats stats() const;
  int metrics_port() const;  // the bound port; -1 without metrics

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::engine
