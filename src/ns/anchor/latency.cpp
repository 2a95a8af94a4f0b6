// Latency model for budget mode: GPU ms per anchor keyed by (model, input size, backend), loaded from JSON.
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ns/anchor/anchor.h"
#include "ns/core/error.h"
#include "ns/core/json_fields.h"

namespace ns::anchor {

namespace {

std::string latency_key(const std::string& model, int width, int height, const std::string& backend) {
  return model + " " + std::to_string(width) + "x" + std::to_string(height) + " " + backend;
}

}  // namespace

void LatencyModel::set(const std::string& model, int width, int height, const std::string& backend, double ms) {
  if (!(std::isfinite(ms) && ms >= 0) || width <= 0 || height <= 0) {
    throw Error(ErrorCode::invalid_argument, "latency: bad entry (" + latency_key(model, width, height, backend) +
                                                 ", " + std::to_string(ms) + " ms); use positive sizes and ms >= 0");
  }
  table_[latency_key(model, width, height, backend)] = ms;
}

double LatencyModel::ms(const std::string& model, int width, int height, const std::string& backend) const {
  auto it = table_.find(latency_key(model, width, height, backend));
  if (it != table_.end()) return it->second;
  std::string known;
  for (const auto& [key, value] : table_) known += (known.empty() ? "" : ", ") + key;
  throw Error(ErrorCode::not_found, "latency: no entry for " + latency_key(model, width, height, backend) +
                                        " (known: " + (known.empty() ? "none" : known) +
                                        "); add it to the latency file or pick another model/backend");
}

LatencyModel LatencyModel::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::not_found, "latency: cannot open file; check the path", ErrorContext{"", path, -1});
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  LatencyModel model;
  const core::JsonFieldReader fields(path, "latency: ",
                                     "; each entry is {\"model\": text, \"width\": integer, \"height\": integer, "
                                     "\"backend\": text, \"ms\": number}");
  try {
    const nlohmann::json doc = nlohmann::json::parse(buffer.str());
    for (const auto& e : doc.at("entries")) {
      model.set(fields.get<std::string>(e, "model"), fields.get<int>(e, "width"), fields.get<int>(e, "height"),
                fields.get<std::string>(e, "backend"), fields.get<double>(e, "ms"));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::corrupt,
                std::string("latency: bad JSON (") + e.what() +
                    "); expected {\"entries\": [{\"model\", \"width\", \"height\", \"backend\", \"ms\"}, ...]}",
                ErrorContext{"", path, -1});
  }
  return model;
}

}  // namespace ns::anchor
