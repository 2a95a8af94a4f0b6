// A remote SR worker's statistics as JSON and as Prometheus text.
#include "ns/engine/sr_worker.h"
#include "ns/engine/stats_format_impl.h"

namespace ns::engine {

using detail::latency_json;

std::string sr_worker_stats_json(const SrWorkerStats& s) {
  nlohmann::ordered_json root;
  root["uptime_s"] = s.uptime_s;
  root["connected"] = s.connected;
  root["jobs"] = {{"done", s.jobs_done},
                  {"dropped_deadline", s.jobs_dropped},
                  {"failed", s.jobs_failed},
                  {"redelivered", s.jobs_redelivered}};
  root["models_fetched"] = s.models_fetched;
  root["batches"] = {{"calls", s.batches},
                     {"frames", s.batch_frames},
                     {"mean", s.batches > 0 ? static_cast<double>(s.batch_frames) / s.batches : 0.0},
                     {"max", s.batch_max}};
  root["latency_ms"] = {{"sr", latency_json(s.sr_ms)}, {"job", latency_json(s.job_ms)}};
  return root.dump(2);
}

std::string sr_worker_prometheus(const SrWorkerStats& s) {
  detail::PrometheusText out;
  auto metric = [&](const char* name, const char* type, const char* help) { out.metric(name, type, help); };
  auto value = [&](const char* name, const std::string& labels, double v) { out.value(name, labels, v); };
  metric("neuroscaler_worker_up", "gauge", "1 while connected to the NATS server.");
  value("neuroscaler_worker_up", "", s.connected ? 1.0 : 0.0);
  metric("neuroscaler_worker_jobs_total", "counter", "Anchor jobs pulled, by outcome.");
  value("neuroscaler_worker_jobs_total", "outcome=\"done\"", static_cast<double>(s.jobs_done));
  value("neuroscaler_worker_jobs_total", "outcome=\"dropped_deadline\"", static_cast<double>(s.jobs_dropped));
  value("neuroscaler_worker_jobs_total", "outcome=\"failed\"", static_cast<double>(s.jobs_failed));
  metric("neuroscaler_worker_jobs_redelivered_total", "counter", "Jobs pulled that another worker had pulled before.");
  value("neuroscaler_worker_jobs_redelivered_total", "", static_cast<double>(s.jobs_redelivered));
  metric("neuroscaler_worker_models_fetched_total", "counter", "Models fetched from the models bucket.");
  value("neuroscaler_worker_models_fetched_total", "", static_cast<double>(s.models_fetched));
  metric("neuroscaler_worker_batches_total", "counter", "SR network calls.");
  value("neuroscaler_worker_batches_total", "", static_cast<double>(s.batches));
  metric("neuroscaler_worker_batch_frames_total", "counter", "Frames super-resolved in those calls.");
  value("neuroscaler_worker_batch_frames_total", "", static_cast<double>(s.batch_frames));
  metric("neuroscaler_worker_latency_ms", "gauge", "Latency percentiles over the latest samples.");
  out.quantiles("neuroscaler_worker_latency_ms", "stage=\"sr\"", s.sr_ms);
  out.quantiles("neuroscaler_worker_latency_ms", "stage=\"job\"", s.job_ms);
  return out.text();
}

}  // namespace ns::engine
