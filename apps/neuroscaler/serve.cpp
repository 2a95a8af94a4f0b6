// neuroscaler serve: the live engine (ns/engine) on the streams of a config file, until every input has ended or
// SIGINT / SIGTERM arrives; then it drains and finalises every output. Stats go to a file while running and to
// stdout (JSON) at the end.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "commands.h"
#include "ns/core/atomic_file.h"
#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/admin.h"
#include "ns/engine/engine.h"

namespace ns::app {

namespace {

struct ServeOptions {
  std::string config;
  std::string admin;
  std::string admin_token_file;
  std::string stats;
  double stats_every_s = 5;
  engine::NatsConfig nats;  // --nats and its options: replace the config's "sr" settings when the URL is given
};

// Writes the stats file atomically (a reader never sees half a file).
void write_stats(const std::string& path, const std::string& text) {
  core::write_text_atomically(path, text + "\n", "serve");
}

// The admin token from its file (a file, not an argument, so that it does not show in the process list).
std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) {
    throw Error(ErrorCode::not_found, "serve: cannot read the admin token file", {.file = path});
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16) {
    throw Error(ErrorCode::invalid_argument, "serve: the admin token is shorter than 16 characters; use a long "
                                             "random one (e.g. openssl rand -hex 32)", {.file = path});
  }
  return token;
}

void print_summary(const engine::EngineStats& stats) {
  int64_t frames = 0, written = 0, selected = 0, misses = 0;
  int running = 0, failed = 0;
  for (const engine::StreamStats& s : stats.streams) {
    frames += s.frames;
    written += s.anchors_written;
    selected += s.anchors_selected;
    misses += s.anchors_late + s.anchors_dropped_deadline + s.anchors_dropped_full;
    running += s.state == engine::StreamState::running ? 1 : 0;
    failed += s.state == engine::StreamState::failed ? 1 : 0;
  }
  std::fprintf(stderr, "serve: %.1f s, %zu streams (%d running, %d failed), %lld frames, anchors %lld of %lld written, "
                       "%lld deadline misses, SR queue %lld, SR batch mean %.2f\n",
               stats.uptime_s, stats.streams.size(), running, failed, static_cast<long long>(frames),
               static_cast<long long>(written), static_cast<long long>(selected), static_cast<long long>(misses),
               static_cast<long long>(stats.sr_queue_depth),
               stats.sr_batches > 0 ? static_cast<double>(stats.sr_batch_frames) / stats.sr_batches : 0.0);
}

// glibc gives threads their own malloc arenas, up to 8 per core, and keeps what a thread frees in its arena. With a
// reader thread per stream, streams that come and go spread their buffers over all of them, and the freed memory stays
// resident: in the soak, RSS crept by 7.6 MiB a minute after warm-up with the default, 0.6 with two arenas on two
// cores (bench/results/soak-600s.md). One arena per core keeps the memory flat; serve's threads spend their time
// decoding and in SR, not in malloc.
void cap_malloc_arenas() {
#if defined(__GLIBC__)
  const unsigned cores = std::max(2u, std::thread::hardware_concurrency());
  if (mallopt(M_ARENA_MAX, static_cast<int>(cores)) != 1) {
    log::warn("serve", "cannot cap glibc's malloc arenas; memory may creep as streams come and go");
  }
#endif
}

void run_serve(const ServeOptions& o) {
  engine::EngineConfig config = engine::load_config(o.config);
  if (o.nats.enabled()) {
    config.nats = o.nats;
    engine::validate(config);
  }
  if (config.streams.empty() && o.admin.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "serve: the config lists no streams; add one under \"streams\", or give --admin to add them later",
                {.file = o.config});
  }
  cap_malloc_arenas();
  // SIGINT / SIGTERM are taken by one thread with sigwait (every thread started from here inherits the mask), so the
  // drain runs on an ordinary thread and no handler races the engine. SIGUSR1 ends that thread when the inputs end.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  engine::Engine engine(config);
  std::unique_ptr<engine::AdminServer> admin;
  if (!o.admin.empty()) {
    const HostPort address = parse_host_port(o.admin, "serve: --admin");
    admin = std::make_unique<engine::AdminServer>(
        engine, engine::AdminOptions{.host = address.host,
                                     .port = address.port,
                                     .base_dir = std::filesystem::path(o.config).parent_path().string(),
                                     .token = o.admin_token_file.empty() ? "" : read_token(o.admin_token_file)});
    std::fprintf(stderr, "serve: admin API on http://%s:%d (GET /stats, GET /metrics, POST /streams, "
                         "DELETE /streams/NAME)\n", address.host.c_str(), admin->port());
  }
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    if (received != SIGUSR1) {
      std::fprintf(stderr, "serve: %s: stopping the inputs, finishing queued anchors and finalising outputs\n",
                   received == SIGINT ? "SIGINT" : "SIGTERM");
      engine.stop();
    }
  });

  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::thread reporter([&] {
    std::unique_lock lock(mutex);
    const auto every = std::chrono::duration<double>(o.stats_every_s);
    while (!done_cv.wait_for(lock, every, [&] { return done; })) {
      lock.unlock();
      const engine::EngineStats stats = engine.stats();
      print_summary(stats);
      try {
        if (!o.stats.empty()) write_stats(o.stats, engine::stats_json(stats));
      } catch (const Error& e) {
        std::fprintf(stderr, "serve: %s\n", e.what());  // the streams go on; the next interval tries again
      }
      lock.lock();
    }
  });

  if (admin) {
    signal_waiter.join();  // with an admin API streams come and go: run until SIGINT / SIGTERM (the waiter drains)
    admin->stop();
  } else {
    engine.wait();
    pthread_kill(signal_waiter.native_handle(), SIGUSR1);
    signal_waiter.join();
  }
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  done_cv.notify_all();
  reporter.join();

  const engine::EngineStats stats = engine.stats();
  print_summary(stats);
  const std::string json = engine::stats_json(stats);
  if (!o.stats.empty()) write_stats(o.stats, json);
  std::printf("%s\n", json.c_str());
}

}  // namespace

void register_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "The live engine: many streams at once on one SR budget (reference §8). Reads each stream's input at its\n"
      "frame rate (files replayed in real time, or live URLs), selects anchors across all streams every epoch,\n"
      "super-resolves and codes them, and writes each stream's hybrid .mkv. Runs until every input ends (with\n"
      "--admin: until SIGINT/SIGTERM); on SIGINT/SIGTERM it stops the inputs, finishes queued anchors and\n"
      "finalises every output. Final stats as JSON on stdout. Config: JSON, see docs/engine.md.");
  cmd->add_option("--config,-c", o->config, "engine config (JSON)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--admin", o->admin,
                  "serve the admin API on HOST:PORT (port 0: any free one): GET /stats, GET /metrics (Prometheus), "
                  "POST /streams, DELETE /streams/NAME. Loopback only unless --admin-token-file is given; bodies "
                  "over 64 KiB get 413, more than 50 requests/s 429");
  cmd->add_option("--admin-token-file", o->admin_token_file,
                  "file holding the admin API's bearer token (at least 16 characters): every request must send "
                  "\"Authorization: Bearer TOKEN\"; needed to listen on a non-loopback address")
      ->check(CLI::ExistingFile);
  cmd->add_option("--nats", o->nats.url,
                  "super-resolve on remote workers (`neuroscaler sr-worker`) through this NATS server, e.g. "
                  "nats://127.0.0.1:4222, instead of in-process (docs/scale-out.md); replaces the config's \"sr\"");
  add_nats_options(cmd, o->nats);
  cmd->add_option("--stats", o->stats, "also write the stats (JSON) to this file while running");
  cmd->add_option("--stats-every", o->stats_every_s, "seconds between stats lines on stderr (and the stats file)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->callback([o] { run_serve(*o); });
}

}  // namespace ns::app
