// Engine statistics: latency windows, per-stream snapshots, JSON and Prometheus text.
#include <algorithm>

#include "ns/engine/engine_impl.h"
#include "ns/engine/stats_format_impl.h"

namespace ns::engine {

namespace detail {

void LatencyWindow::add(double ms) {
  if (samples_.size() < kSamples) {
    samples_.push_back(ms);
  } else {
    samples_[next_] = ms;
    next_ = (next_ + 1) % kSamples;
  }
  ++count_;
  max_ = std::max(max_, ms);
}

LatencyStats LatencyWindow::summary() const {
  LatencyStats s;
  s.count = count_;
  s.max = max_;
  if (samples_.empty()) return s;
  std::vector<double> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  auto at = [&](double q) { return sorted[std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()))]; };
  s.p50 = at(0.50);
  s.p95 = at(0.95);
  s.p99 = at(0.99);
  return s;
}

StreamStats Stream::stats() const {
  StreamStats s;
  s.name = config.name;
  s.input = config.input;
  s.output = config.output;
  s.method = config.method;
  s.state = state;
  s.frames = frames;
  s.input_fps = opened ? fps : 0.0;
  s.anchors_selected = anchors_selected;
  s.anchors_written = anchors_written;
  s.anchors_late = anchors_late;
  s.anchors_dropped_deadline = anchors_dropped_deadline;
  s.anchors_dropped_full = anchors_dropped_full;
  s.anchors_missed = anchors_missed;
  s.lr_bytes = lr_bytes;
  s.anchor_bytes = anchor_bytes;
  s.hr_frames = hr_frames;
  s.hr_bytes = hr_bytes;
  {
    std::lock_guard lock(stats_mutex);
    s.error = error;
    s.decode_ms = decode_ms.summary();
    s.sr_ms = sr_ms.summary();
    s.encode_ms = encode_ms.summary();
    s.anchor_ms = anchor_ms.summary();
    if (s.frames > 1 && first_frame != Clock::time_point{}) {  // over the frames so far, not the time since
      const double seconds = std::chrono::duration<double>(last_frame - first_frame).count();
      if (seconds > 0) s.decode_fps = static_cast<double>(s.frames - 1) / seconds;
    }
    if (s.hr_frames > 1) {
      const double seconds = std::chrono::duration<double>(last_output - first_output).count();
      if (seconds > 0) s.output_fps = static_cast<double>(s.hr_frames - 1) / seconds;
    }
  }
  {
    std::lock_guard lock(frames_mutex);
    s.pending_frames = static_cast<int64_t>(pending.size());
  }
  // Judged once two seconds of frames are in, while the stream runs.
  auto keeps_rate = [&](int64_t done, double rate) {
    return !config.realtime || done < 2 * std::max(1.0, s.input_fps) || s.state != StreamState::running ||
           rate >= 0.98 * s.input_fps;
  };
  const bool encode_ok = !baseline || keeps_rate(s.hr_frames, s.output_fps);
  s.realtime = keeps_rate(s.frames, s.decode_fps) && encode_ok && s.anchors_late == 0 && s.anchors_dropped_deadline == 0 && s.anchors_dropped_full == 0 &&
               s.state != StreamState::failed;
  return s;
}

}  // namespace detail

using detail::latency_json;

std::string stats_json(const EngineStats& stats) {
  nlohmann::ordered_json root;
  root["uptime_s"] = stats.uptime_s;
  root["epochs"] = stats.epochs;
  root["sr_queue_depth"] = stats.sr_queue_depth;
  root["encode_queue_depth"] = stats.encode_queue_depth;
  root["sr_batches"] = {{"calls", stats.sr_batches},
                        {"frames", stats.sr_batch_frames},
                        {"mean", stats.sr_batches > 0 ? static_cast<double>(stats.sr_batch_frames) / stats.sr_batches : 0.0},
                        {"max", stats.sr_batch_max}};
  if (stats.remote.enabled) {
    const RemoteSrStats& r = stats.remote;
    root["remote_sr"] = {{"connected", r.connected},         {"published", r.published},
                         {"publish_failed", r.publish_failed}, {"results", r.results},
                         {"expired", r.expired},             {"late_results", r.late_results},
                         {"duplicates", r.duplicates},
                         {"worker_errors", r.worker_errors}, {"in_flight", r.in_flight},
                         {"round_trip_ms", latency_json(r.round_trip_ms)}};
  }
  root["streams"] = nlohmann::ordered_json::array();
  for (const StreamStats& s : stats.streams) {
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["input"] = s.input;
    j["output"] = s.output;
    j["method"] = s.method;
    j["state"] = stream_state_name(s.state);
    if (!s.error.empty()) j["error"] = s.error;
    j["frames"] = s.frames;
    j["input_fps"] = s.input_fps;
    j["decode_fps"] = s.decode_fps;
    j["anchors"] = {{"selected", s.anchors_selected},         {"written", s.anchors_written},
                    {"late", s.anchors_late},                 {"dropped_deadline", s.anchors_dropped_deadline},
                    {"dropped_queue_full", s.anchors_dropped_full}, {"missed", s.anchors_missed}};
    j["bytes"] = {{"lr", s.lr_bytes}, {"anchors", s.anchor_bytes}, {"hr", s.hr_bytes}};
    j["hr_frames"] = s.hr_frames;
    j["output_fps"] = s.output_fps;
    j["pending_frames"] = s.pending_frames;
    j["latency_ms"] = {{"decode", latency_json(s.decode_ms)},
                       {"sr", latency_json(s.sr_ms)},
                       {"encode", latency_json(s.encode_ms)},
                       {"anchor", latency_json(s.anchor_ms)}};
    j["realtime"] = s.realtime;
    root["streams"].push_back(std::move(j));
  }
  return root.dump(2);
}

std::string stats_prometheus(const EngineStats& stats) {
  detail::PrometheusText out;
  auto metric = [&](const char* name, const char* type, const char* help) { out.metric(name, type, help); };
  auto value = [&](const char* name, const std::string& labels, double v) { out.value(name, labels, v); };
  // Label values escape backslash, quote and newline (the exposition format's rule).
  auto label = [](const std::string& name) {
    std::string escaped;
    for (char c : name) {
      if (c == '\\' || c == '"') escaped += '\\';
      escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    return "stream=\"" + escaped + "\"";
  };
  metric("neuroscaler_uptime_seconds", "gauge", "Seconds since the engine started.");
  value("neuroscaler_uptime_seconds", "", stats.uptime_s);
  metric("neuroscaler_epochs_total", "counter", "Anchor selection epochs run.");
  value("neuroscaler_epochs_total", "", static_cast<double>(stats.epochs));
  metric("neuroscaler_queue_depth", "gauge", "Items waiting in the engine's queues.");
  value("neuroscaler_queue_depth", "queue=\"sr\"", static_cast<double>(stats.sr_queue_depth));
  value("neuroscaler_queue_depth", "queue=\"encode\"", static_cast<double>(stats.encode_queue_depth));
  metric("neuroscaler_sr_batches_total", "counter", "SR network calls (batches of anchors of any streams).");
  value("neuroscaler_sr_batches_total", "", static_cast<double>(stats.sr_batches));
  metric("neuroscaler_sr_batch_frames_total", "counter", "Frames super-resolved in those calls.");
  value("neuroscaler_sr_batch_frames_total", "", static_cast<double>(stats.sr_batch_frames));
  if (stats.remote.enabled) {
    const RemoteSrStats& r = stats.remote;
    metric("neuroscaler_remote_sr_connected", "gauge", "1 while connected to the NATS server of remote SR.");
    value("neuroscaler_remote_sr_connected", "", r.connected ? 1.0 : 0.0);
    metric("neuroscaler_remote_sr_jobs_total", "counter", "Anchor jobs sent to remote SR workers, by outcome.");
    for (const auto& [outcome, n] : {std::pair{"published", r.published}, std::pair{"publish_failed", r.publish_failed},
                                     std::pair{"result", r.results}, std::pair{"expired", r.expired},
                                     std::pair{"late_result", r.late_results}, std::pair{"duplicate", r.duplicates},
                                     std::pair{"worker_error", r.worker_errors}}) {
      value("neuroscaler_remote_sr_jobs_total", std::string("outcome=\"") + outcome + "\"", static_cast<double>(n));
    }
    metric("neuroscaler_remote_sr_in_flight", "gauge", "Jobs published and waiting for their results.");
    value("neuroscaler_remote_sr_in_flight", "", static_cast<double>(r.in_flight));
    metric("neuroscaler_remote_sr_round_trip_ms", "gauge", "Publish to whole result, percentiles of the latest jobs.");
    out.quantiles("neuroscaler_remote_sr_round_trip_ms", "", r.round_trip_ms);
  }
  metric("neuroscaler_stream_info", "gauge", "1 per stream, labelled with its method.");
  for (const auto& s : stats.streams) {
    value("neuroscaler_stream_info", label(s.name) + ",method=\"" + s.method + "\"", 1.0);
  }
  metric("neuroscaler_stream_frames_total", "counter", "LR frames decoded per stream.");
  for (const auto& s : stats.streams) value("neuroscaler_stream_frames_total", label(s.name), static_cast<double>(s.frames));
  metric("neuroscaler_stream_decode_fps", "gauge", "Frames decoded per second per stream.");
  for (const auto& s : stats.streams) value("neuroscaler_stream_decode_fps", label(s.name), s.decode_fps);
  metric("neuroscaler_stream_anchors_total", "counter", "Anchors per stream by outcome.");
  for (const auto& s : stats.streams) {
    const std::string l = label(s.name);
    value("neuroscaler_stream_anchors_total", l + ",outcome=\"selected\"", static_cast<double>(s.anchors_selected));
    value("neuroscaler_stream_anchors_total", l + ",outcome=\"written\"", static_cast<double>(s.anchors_written));
    value("neuroscaler_stream_anchors_total", l + ",outcome=\"late\"", static_cast<double>(s.anchors_late));
    value("neuroscaler_stream_anchors_total", l + ",outcome=\"dropped_deadline\"",
          static_cast<double>(s.anchors_dropped_deadline));
    value("neuroscaler_stream_anchors_total", l + ",outcome=\"dropped_queue_full\"",
          static_cast<double>(s.anchors_dropped_full));
    value("neuroscaler_stream_anchors_total", l + ",outcome=\"missed\"", static_cast<double>(s.anchors_missed));
  }
  metric("neuroscaler_stream_deadline_misses_total", "counter", "Anchors dropped at or written after their deadline.");
  for (const auto& s : stats.streams) {
    value("neuroscaler_stream_deadline_misses_total", label(s.name),
          static_cast<double>(s.anchors_late + s.anchors_dropped_deadline));
  }
  metric("neuroscaler_stream_pending_frames", "gauge", "Decoded frames waiting for anchor selection.");
  for (const auto& s : stats.streams) {
    value("neuroscaler_stream_pending_frames", label(s.name), static_cast<double>(s.pending_frames));
  }
  metric("neuroscaler_stream_latency_ms", "gauge", "Per-stage latency percentiles over the latest samples.");
  for (const auto& s : stats.streams) {
    const std::pair<const char*, const LatencyStats*> stages[] = {
        {"decode", &s.decode_ms}, {"sr", &s.sr_ms}, {"encode", &s.encode_ms}, {"anchor", &s.anchor_ms}};
    for (const auto& [stage, l] : stages) {
      out.quantiles("neuroscaler_stream_latency_ms", label(s.name) + ",stage=\"" + stage + "\"", *l);
    }
  }
  metric("neuroscaler_stream_realtime", "gauge", "1 while the stream meets the real-time criteria (reference 8.10).");
  for (const auto& s : stats.streams) value("neuroscaler_stream_realtime", label(s.name), s.realtime ? 1.0 : 0.0);
  metric("neuroscaler_stream_up", "gauge", "1 while the stream is starting or running.");
  for (const auto& s : stats.streams) {
    value("neuroscaler_stream_up", label(s.name),
          s.state == StreamState::starting || s.state == StreamState::running ? 1.0 : 0.0);
  }
  return out.text();
}

}  // namespace ns::engine
