// ns/core: a bounded multi-producer multi-consumer queue (STYLE.md, Threads and queues).
// In: items pushed by any thread. Out: items popped in FIFO order by any thread, one at a time or in batches.
// push() blocks while full; try_push() reports full instead (the live engine drops, never grows); close() wakes every
// waiter: pushes then fail, pops drain what is left and then return nothing.
// Thread-safety: every member may be called from any thread. Errors: none (capacity 0 is an NS_ASSERT).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "ns/core/error.h"

namespace ns::core {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) { NS_ASSERT(capacity > 0); }

  // Waits for room; false when the queue is (or gets) closed, the item then dropped.
  bool push(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  // false when full or closed; the item is then left with the caller.
  bool try_push(T& item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
    }
    not_empty_.notify_one();
    return true;
  }

  // try_push for several items under one lock, so that a consumer waking up sees all of them (a batching worker
  // takes them in one call). Moves items from the front while there is room; returns how many it took (the rest
  // stay in `items`, moved-from only up to the returned count).
  size_t try_push_all(std::vector<T>& items) {
    size_t taken = 0;
    {
      std::lock_guard lock(mutex_);
      while (!closed_ && taken < items.size() && items_.size() < capacity_) items_.push_back(std::move(items[taken++]));
    }
    if (taken > 0) not_empty_.notify_all();
    return taken;
  }

  // Waits for an item; nullopt once the queue is closed and empty.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return item;
  }

  // Waits for an item, then takes it and whatever else is queued, up to `max` items in FIFO order (batching
  // consumers). Empty once the queue is closed and empty.
  std::vector<T> pop_batch(size_t max) {
    NS_ASSERT(max > 0);
    std::vector<T> batch;
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    while (!items_.empty() && batch.size() < max) {
      batch.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    lock.unlock();
    not_full_.notify_all();
    return batch;
  }

  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace ns::core
