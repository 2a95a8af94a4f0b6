// One stream's lifecycle inside the engine: failure, anchors in flight, writing them in order, finalising the output.
#include <filesystem>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/engine_impl.h"

namespace ns::engine::detail {

std::string logger_name(const Stream& stream) { return "engine.stream." + stream.config.name; }

void Stream::fail(const std::string& message) {
  {
    std::lock_guard lock(stats_mutex);
    if (error.empty()) error = message;
  }
  state = StreamState::failed;
  log::error(logger_name(*this), "{}", message);
}

void Stream::set_warmed() {
  {
    std::lock_guard lock(warm_mutex);
    warmed = true;
  }
  warm_cv.notify_all();
}

void Stream::wait_warmed(std::stop_token stop) {
  std::unique_lock lock(warm_mutex);
  warm_cv.wait(lock, stop, [&] { return warmed; });
}

void Stream::add_in_flight() {
  std::lock_guard lock(flight_mutex);
  ++in_flight;
}

void Stream::settle(int64_t sequence, std::optional<CodedAnchor> anchor) {
  std::string failure;
  {
    std::lock_guard lock(writer_mutex);
    settled.emplace(sequence, std::move(anchor));
    while (!settled.empty() && settled.begin()->first == next_to_write) {
      const std::optional<CodedAnchor>& a = settled.begin()->second;
      if (a && writer && failure.empty()) {
        try {
          writer->write_anchor(a->pts, a->image);
          const Clock::time_point now = Clock::now();
          anchor_bytes += static_cast<int64_t>(a->image.size());
          ++anchors_written;
          if (now > a->deadline) ++anchors_late;
          std::lock_guard stats_lock(stats_mutex);
          anchor_ms.add(std::chrono::duration<double, std::milli>(now - a->selected).count());
        } catch (const Error& e) {
          failure = e.what();
        }
      }
      settled.erase(settled.begin());
      ++next_to_write;
    }
  }
  if (!failure.empty()) fail(failure);
  bool finalise_now = false;
  {
    std::lock_guard lock(flight_mutex);
    finalise_now = --in_flight == 0 && closing;
  }
  if (finalise_now) finalise();
}

void Stream::close_when_idle() {
  bool finalise_now = false;
  {
    std::lock_guard lock(flight_mutex);
    closing = true;
    finalise_now = in_flight == 0;
  }
  if (finalise_now) finalise();
}

bool Stream::is_closing() {
  std::lock_guard lock(flight_mutex);
  return closing;
}

bool Stream::ended() {
  if (!ingest_returned) return false;
  std::lock_guard lock(flight_mutex);
  // A stream in a scheduler has ended once it left it (closing); one that never joined one (a baseline, or a stream
  // that failed before opening) once its ingest returned.
  return (closing || scheduler_id < 0) && in_flight == 0;
}

void Stream::finalise() {
  std::call_once(finalised, [&] {
    std::string failure;
    {
      std::lock_guard lock(writer_mutex);
      if (!writer) return;
      try {
        writer->finish();
      } catch (const Error& e) {
        failure = e.what();
      }
      writer.reset();
    }
    if (!failure.empty()) {
      fail(failure);
      return;
    }
    if (frames == 0) {  // stopped before its first frame: a file without a frame helps no viewer
      std::error_code ignored;
      std::filesystem::remove(config.output, ignored);
      log::info(logger_name(*this), "no frames arrived: {} not kept", config.output);
      return;
    }
    log::info(logger_name(*this), "output {} finalised: {} frames, {} anchors", config.output, frames.load(),
              anchors_written.load());
  });
}

}  // namespace ns::engine::detail
