// Inside the engine: SR through NATS JetStream (docs/scale-out.md). Takes the engine's SR queue in place of its
// in-process SR workers: publishes each anchor job to the work queue, gathers the results from this instance's result
// subject and hands each to the engine exactly once (late ones too, as in-process SR writes an anchor that finishes
// after its deadline); a job without its result by twice its allowed time is settled as dropped.
// Warm-up jobs put the stream's model into the models bucket (once per content hash) and tell every worker to prepare
// it.
// Thread-safety: dispatch() runs on one thread; results arrive on libnats' thread; finish() and stats() from any.
// Errors: ns::Error from the constructor (bad NATS config); NATS failures later are counted and logged, never thrown.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ns/core/bounded_queue.h"
#include "ns/engine/engine_impl.h"

namespace ns::engine::detail {

struct RemoteHooks {
  std::function<void(AnchorJob& job, core::Frame hr, double sr_ms)> done;  // the HR frame is back in time
  std::function<void(AnchorJob& job)> expired;  // no result by twice its allowed time, or not published
};

class RemoteSr {
 public:
  RemoteSr(const NatsConfig& config, const std::string& precision, RemoteHooks hooks);
  ~RemoteSr();
  RemoteSr(const RemoteSr&) = delete;
  RemoteSr& operator=(const RemoteSr&) = delete;

  // Publishes the queue's jobs until it is closed and empty.
  void dispatch(core::BoundedQueue<AnchorJob>& queue);
  // Waits until every published job has its result or has passed its give-up time (then settled as expired).
  void finish();
  RemoteSrStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ns::engine::detail
