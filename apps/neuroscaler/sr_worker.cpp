// neuroscaler sr-worker: a remote SR worker (ns/engine/sr_worker.h) until SIGINT / SIGTERM; a stats line on stderr
// every few seconds, the final stats (JSON) on stdout.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "ns/core/error.h"
#include "ns/engine/sr_worker.h"

namespace ns::app {

namespace {

struct WorkerCli {
  engine::SrWorkerOptions worker;
  std::string metrics;  // HOST:PORT
  double stats_every_s = 10;
};

void print_line(const engine::SrWorkerStats& s) {
  std::fprintf(stderr, "sr-worker: %.0f s, %s, jobs %lld done, %lld dropped (deadline), %lld failed, %lld "
                       "redelivered; SR p50 %.1f ms, job p95 %.1f ms\n",
               s.uptime_s, s.connected ? "connected" : "NOT connected", static_cast<long long>(s.jobs_done),
               static_cast<long long>(s.jobs_dropped), static_cast<long long>(s.jobs_failed),
               static_cast<long long>(s.jobs_redelivered), s.sr_ms.p50, s.job_ms.p95);
}

void run_worker(WorkerCli cli) {
  if (!cli.metrics.empty()) {
    const HostPort address = parse_host_port(cli.metrics, "sr-worker: --metrics");
    cli.worker.metrics_host = address.host;
    cli.worker.metrics_port = address.port;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: they all inherit it

  engine::SrWorker worker(cli.worker);
  if (worker.metrics_port() > 0) {
    std::fprintf(stderr, "sr-worker: metrics on http://%s:%d/metrics\n", cli.worker.metrics_host.c_str(),
                 worker.metrics_port());
  }
  const auto every = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(cli.stats_every_s));
  timespec wait{static_cast<time_t>(every.count() / 1000000000), static_cast<long>(every.count() % 1000000000)};
  for (;;) {
    const int received = sigtimedwait(&signals, nullptr, &wait);
    if (received == SIGINT || received == SIGTERM) break;
    print_line(worker.stats());
  }
  std::fprintf(stderr, "sr-worker: stopping; the batch in progress is finished and acked\n");
  worker.stop();
  const engine::SrWorkerStats stats = worker.stats();
  print_line(stats);
  std::printf("%s\n", engine::sr_worker_stats_json(stats).c_str());
}

}  // namespace

void add_nats_options(CLI::App* cmd, engine::NatsConfig& nats) {
  cmd->add_option("--nats-token-file", nats.token_file, "file holding the NATS server's auth token")
      ->check(CLI::ExistingFile);
  cmd->add_option("--nats-creds", nats.creds_file, "NATS credentials file (user JWT and seed)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--nats-tls-ca", nats.tls_ca, "TLS: CA certificate to trust for the NATS server")
      ->check(CLI::ExistingFile);
  cmd->add_option("--nats-tls-cert", nats.tls_cert, "TLS: client certificate (with --nats-tls-key)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--nats-tls-key", nats.tls_key, "TLS: client key")->check(CLI::ExistingFile);
  cmd->add_option("--nats-prefix", nats.prefix,
                  "prefix of the subjects, stream, consumer and bucket (several deployments on one server)");
}

void register_sr_worker(CLI::App& app) {
  auto cli = std::make_shared<WorkerCli>();
  engine::SrWorkerOptions& w = cli->worker;
  CLI::App* cmd = app.add_subcommand(
      "sr-worker",
      "A remote SR worker (docs/scale-out.md): pulls anchor jobs of any streams of any `serve` instances from\n"
      "the NATS JetStream work queue in batches, super-resolves them with models fetched once from the models\n"
      "bucket, sends each result back and only then acks its job. Jobs past their deadline are dropped and\n"
      "counted. Runs until SIGINT/SIGTERM. One per GPU machine (--devices: one puller per GPU).");
  cmd->add_option("--nats", w.nats.url, "NATS server URL(s), e.g. nats://127.0.0.1:4222 (comma-separated)")
      ->required();
  add_nats_options(cmd, w.nats);
  add_backend_option(cmd, w.backend);
  cmd->add_option("--devices", w.devices, "GPU indices, one puller each (CPU backends: one puller per entry)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--threads", w.threads, "inference threads per puller (0: the backend's choice)")
      ->capture_default_str();
  cmd->add_option("--batch", w.batch, "jobs per pull and per network call (0: 8 on a GPU, 1 on CPU)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  cmd->add_option("--ack-wait-ms", w.ack_wait_ms,
                  "a job not acked this long after delivery goes to another worker; keep it below one epoch")
      ->check(CLI::Range(10, 600000))
      ->capture_default_str();
  cmd->add_option("--max-deliver", w.max_deliver, "deliveries of one job at most")->capture_default_str();
  cmd->add_option("--name", w.name, "this worker's name in results and logs (default: HOST-PID)");
  cmd->add_option("--metrics", cli->metrics,
                  "serve GET /metrics (Prometheus) and GET /stats (JSON) on HOST:PORT (port 0: any free one)");
  cmd->add_option("--stats-every", cli->stats_every_s, "seconds between stats lines on stderr")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->callback([cli] { run_worker(*cli); });
}

}  // namespace ns::app
