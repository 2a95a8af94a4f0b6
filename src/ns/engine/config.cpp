// The engine's config file (JSON) and its validation.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ns/anchor/anchor.h"
#include "ns/core/error.h"
#include "ns/core/json_fields.h"
#include "ns/engine/engine.h"

namespace ns::engine {

namespace {

using nlohmann::json;

void check_keys(const json& object, const std::set<std::string>& known, const std::string& where) {
  if (!object.is_object()) throw Error(ErrorCode::invalid_argument, where + ": expected a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (!known.count(key)) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(ErrorCode::invalid_argument, where + ": unknown key \"" + key + "\"; the keys are " + list);
    }
  }
}

template <typename T>
void read_key(const json& object, const char* key, T& out, const std::string& where) {
  if (!object.contains(key)) return;
  std::optional<T> value = core::json_value<T>(object.at(key));
  if (!value) {
    throw Error(ErrorCode::invalid_argument,
                where + ": \"" + key + "\" has the wrong type or is out of range (" + object.at(key).dump() + ")");
  }
  out = std::move(*value);
}

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty() || path.find("://") != std::string::npos) return path;
  const std::filesystem::path p(path);
  return p.is_absolute() ? path : (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

StreamConfig parse_stream(const json& object, const std::string& base_dir, const std::string& where) {
  check_keys(object,
             {"name", "input", "model", "output", "method", "fraction", "realtime", "frames", "anchor_codec",
              "anchor_quality"},
             where);
  StreamConfig s;
  read_key(object, "name", s.name, where);
  read_key(object, "input", s.input, where);
  read_key(object, "model", s.model, where);
  read_key(object, "output", s.output, where);
  read_key(object, "method", s.method, where);
  read_key(object, "fraction", s.fraction, where);
  read_key(object, "realtime", s.realtime, where);
  read_key(object, "frames", s.frames, where);
  read_key(object, "anchor_quality", s.anchor_quality, where);
  std::string codec = imagecodec::codec_name(s.anchor_codec);
  read_key(object, "anchor_codec", codec, where);
  s.anchor_codec = imagecodec::parse_codec(codec);
  s.input = resolve(s.input, base_dir);
  s.model = resolve(s.model, base_dir);
  s.output = resolve(s.output, base_dir);
  return s;
}

NatsConfig parse_nats(const json& object, const std::string& base_dir, const std::string& where) {
  check_keys(object, {"nats", "token_file", "creds", "tls_ca", "tls_cert", "tls_key", "prefix"}, where);
  NatsConfig n;
  read_key(object, "nats", n.url, where);
  read_key(object, "token_file", n.token_file, where);
  read_key(object, "creds", n.creds_file, where);
  read_key(object, "tls_ca", n.tls_ca, where);
  read_key(object, "tls_cert", n.tls_cert, where);
  read_key(object, "tls_key", n.tls_key, where);
  read_key(object, "prefix", n.prefix, where);
  for (std::string* path : {&n.token_file, &n.creds_file, &n.tls_ca, &n.tls_cert, &n.tls_key}) {
    *path = resolve(*path, base_dir);
  }
  return n;
}

}  // namespace

EngineConfig parse_config(const std::string& json_text, const std::string& base_dir, const std::string& where) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number beyond double (1e999)
    throw Error(ErrorCode::corrupt, where + ": not valid JSON (" + e.what() + "); fix the file");
  }
  check_keys(root,
             {"method", "fraction", "epoch_frames", "fps", "backend", "precision", "devices", "sr_workers", "sr_threads",
              "sr_batch",
              "encode_workers", "sr_queue", "encode_queue", "stall_timeout_s", "sr", "streams"},
             where);
  EngineConfig c;
  read_key(root, "method", c.method, where);
  read_key(root, "fraction", c.fraction, where);
  read_key(root, "epoch_frames", c.epoch_frames, where);
  read_key(root, "fps", c.fps, where);
  read_key(root, "backend", c.backend, where);
  read_key(root, "precision", c.precision, where);
  read_key(root, "devices", c.devices, where);
  read_key(root, "sr_workers", c.sr_workers, where);
  read_key(root, "sr_threads", c.sr_threads, where);
  read_key(root, "sr_batch", c.sr_batch, where);
  read_key(root, "encode_workers", c.encode_workers, where);
  read_key(root, "sr_queue", c.sr_queue, where);
  read_key(root, "encode_queue", c.encode_queue, where);
  read_key(root, "stall_timeout_s", c.stall_timeout_s, where);
  if (root.contains("sr")) c.nats = parse_nats(root["sr"], base_dir, where + ": sr");
  if (root.contains("streams")) {
    if (!root["streams"].is_array()) throw Error(ErrorCode::invalid_argument, where + ": \"streams\" must be a list");
    for (size_t i = 0; i < root["streams"].size(); ++i) {
      c.streams.push_back(parse_stream(root["streams"][i], base_dir, where + ": streams[" + std::to_string(i) + "]"));
    }
  }
  validate(c);
  return c;
}

StreamConfig parse_stream_config(const std::string& json_text, const std::string& base_dir, const std::string& where) {
  json object;
  try {
    object = json::parse(json_text);
  } catch (const json::exception& e) {  // as in parse_config
    throw Error(ErrorCode::invalid_argument, where + ": not valid JSON (" + e.what() + ")");
  }
  StreamConfig s = parse_stream(object, base_dir, where);
  validate(s);
  return s;
}

EngineConfig load_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error(ErrorCode::not_found, "cannot open the config file; check the path", {.file = path});
  std::ostringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), std::filesystem::path(path).parent_path().string(), path);
}

namespace {

void validate_method(const std::string& method, const std::string& where) {
  if (is_baseline_method(method)) return;
  try {
    if (anchor::method_from_name(method) != anchor::Method::oracle) return;
  } catch (const Error&) {
  }
  throw Error(ErrorCode::invalid_argument, where + ": unknown method \"" + method +
                                               "\"; use neuroscaler-q, neuroscaler, uniform, keyframe, perframe or "
                                               "selective (oracle needs the HR reference: offline only)");
}

}  // namespace

bool is_baseline_method(const std::string& method) { return method == "perframe" || method == "selective"; }

void validate(const EngineConfig& c) {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "engine config: " + what); };
  validate_method(c.method, "engine config");
  if (!(c.fraction > 0 && c.fraction <= 1)) bad("fraction must be in (0, 1], got " + std::to_string(c.fraction));
  if (c.epoch_frames < 1) bad("epoch_frames must be at least 1");
  if (!(c.fps > 0 && c.fps <= 1000)) bad("fps must be in (0, 1000]");
  if (c.sr_workers < 1 || c.sr_workers > 64) bad("sr_workers must be 1 .. 64");
  if (c.sr_threads < 0) bad("sr_threads must be >= 0");
  if (c.devices.empty() || std::any_of(c.devices.begin(), c.devices.end(), [](int d) { return d < 0; })) {
    bad("devices must list GPU indices >= 0 (e.g. [0, 1])");
  }
  if (c.sr_batch < 0 || c.sr_batch > 64) bad("sr_batch must be 0 (the backend's) .. 64");
  if (c.precision != "auto" && c.precision != "fp32" && c.precision != "bf16" && c.precision != "fp16") {
    bad("precision must be auto, fp32, bf16 or fp16, got \"" + c.precision + "\"");
  }
  if (c.encode_workers < 1 || c.encode_workers > 64) bad("encode_workers must be 1 .. 64");
  if (c.sr_queue < 1 || c.encode_queue < 1) bad("sr_queue and encode_queue must be at least 1");
  if (!(c.stall_timeout_s > 0)) bad("stall_timeout_s must be positive");
  validate(c.nats);
  std::set<std::string> names;
  for (StreamConfig s : c.streams) {
    if (s.method.empty()) s.method = c.method;
    validate(s);
    if (!names.insert(s.name).second) bad("two streams are named \"" + s.name + "\"; names must be unique");
  }
}

void validate(const StreamConfig& s) {
  const std::string where = "engine config: stream \"" + s.name + "\"";
  if (s.name.empty() || s.input.empty() || s.model.empty() || s.output.empty()) {
    throw Error(ErrorCode::invalid_argument, where + " needs \"name\", \"input\", \"model\" and \"output\"");
  }
  if (!s.method.empty()) validate_method(s.method, where);
  if (s.frames < 0) throw Error(ErrorCode::invalid_argument, where + ": frames must be >= 0 (0: the whole input)");
  if (!(s.fraction >= 0 && s.fraction <= 1)) {
    throw Error(ErrorCode::invalid_argument, where + ": fraction must be in [0, 1] (0: the default)");
  }
  if (s.fraction > 0 && s.method != "selective") {
    throw Error(ErrorCode::invalid_argument, where + ": a stream's fraction is for method selective only; the "
                                                     "NeuroScaler methods share the engine's fraction");
  }
  if (is_baseline_method(s.method)) {
    const std::string ext = std::filesystem::path(s.output).extension().string();
    if (ext != ".webm" && ext != ".mkv" && ext != ".mp4") {
      throw Error(ErrorCode::invalid_argument, where + ": the baselines re-encode HR video; name the output .webm "
                                                       "(VP9) or .mp4 (H.264)");
    }
  }
}

const char* stream_state_name(StreamState state) {
  switch (state) {
    case StreamState::starting: return "starting";
    case StreamState::running: return "running";
    case StreamState::finished: return "finished";
    case StreamState::failed: return "failed";
    case StreamState::removed: return "removed";
  }
  return "?";
}

}  // namespace ns::engine
