// Inside remote SR: one NATS connection with its JetStream context, the jobs stream and the models bucket, over the
// NATS C client (libnats). The connection retries on its own: at start while the server is down, and after every
// disconnect (subscriptions come back with it); published messages wait in an 8 MiB buffer meanwhile.
// Thread-safety: every member may be called from any thread (libnats is thread-safe; the bucket handle is guarded).
// Errors: ns::Error io naming the NATS status and what we were doing.
#pragma once

#include <nats/nats.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ns/engine/nats_config.h"

namespace ns::engine::detail {

// ns::Error io "<what>: <NATS status text> (<last error>)" unless status is NATS_OK.
void check_nats(natsStatus status, const std::string& what);

struct NatsMsgFree {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};
using NatsMsgPtr = std::unique_ptr<natsMsg, NatsMsgFree>;
struct NatsSubscriptionFree {
  void operator()(natsSubscription* s) const { natsSubscription_Destroy(s); }
};
using NatsSubscriptionPtr = std::unique_ptr<natsSubscription, NatsSubscriptionFree>;

class NatsLink {
 public:
  // `client` names this connection in the server's monitoring (e.g. "neuroscaler-serve").
  NatsLink(const NatsConfig& config, const std::string& client);
  ~NatsLink();
  NatsLink(const NatsLink&) = delete;
  NatsLink& operator=(const NatsLink&) = delete;

  const NatsConfig& config() const { return config_; }
  natsConnection* connection() const { return connection_; }
  jsCtx* jetstream() const { return jetstream_; }
  bool connected() const;
  // The largest message the server takes (its max_payload; 1 MiB by default).
  size_t max_message_bytes() const;

  // Creates the work-queue stream of jobs if it does not exist (file storage, so that it and the workers' consumer
  // survive a server restart; jobs older than a minute are discarded).
  void ensure_jobs_stream();

  // Models by content hash in the key-value bucket, in chunks under the server's max_payload: "<hash>.<i>", then
  // "<hash>" = the byte count and chunk count (written last: a reader that sees it finds every chunk).
  void put_model(const std::string& hash, const std::vector<uint8_t>& bytes);
  bool has_model(const std::string& hash);
  std::optional<std::vector<uint8_t>> get_model(const std::string& hash);  // nullopt: not in the bucket

 private:
  kvStore* bucket();
  static void on_connected(natsConnection*, void* self);  // the first connection, when made in the background
  static void on_disconnected(natsConnection*, void* self);
  static void on_reconnected(natsConnection*, void* self);
  static void on_closed(natsConnection*, void* self);

  NatsConfig config_;
  std::string client_;  // the connection's callbacks log it
  std::mutex close_mutex_;
  std::condition_variable closed_cv_;
  bool closing_ = false;  // our own close: not worth a warning
  bool closed_ = false;   // the closed callback ran: no callback is left to run
  natsConnection* connection_ = nullptr;
  jsCtx* jetstream_ = nullptr;
  std::mutex bucket_mutex_;
  kvStore* bucket_ = nullptr;
};

}  // namespace ns::engine::detail
