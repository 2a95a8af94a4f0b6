// Inside the engine: the pieces every statistics page shares (the engine's and a remote SR worker's): latency as JSON,
// and Prometheus' text exposition format, version 0.0.4.
#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ns/engine/engine.h"

namespace ns::engine::detail {

inline nlohmann::ordered_json latency_json(const LatencyStats& l) {
  return {{"count", l.count}, {"p50", l.p50}, {"p95", l.p95}, {"p99", l.p99}, {"max", l.max}};
}

class PrometheusText {
 public:
  void metric(const char* name, const char* type, const char* help) {
    text_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void value(const char* name, const std::string& labels, double v) {
    char number[64];
    std::snprintf(number, sizeof number, "%.6g", v);
    text_ += std::string(name) + (labels.empty() ? "" : "{" + labels + "}") + " " + number + "\n";
  }
  // The p50, p95 and p99 of `l` as name{labels,quantile="..."} (labels may be empty).
  void quantiles(const char* name, const std::string& labels, const LatencyStats& l) {
    for (const auto& [q, v] : {std::pair{"0.5", l.p50}, std::pair{"0.95", l.p95}, std::pair{"0.99", l.p99}}) {
      value(name, (labels.empty() ? "" : labels + ",") + "quantile=\"" + q + "\"", v);
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace ns::engine::detail
