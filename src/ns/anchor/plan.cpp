// Plan JSON (format "neuroscaler-anchor-plan", version 1): anchors per stream per epoch with their scores.
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ns/anchor/anchor.h"
#include "ns/core/error.h"
#include "ns/core/json_fields.h"

namespace ns::anchor {

namespace {

constexpr const char* kFormat = "neuroscaler-anchor-plan";
constexpr int kVersion = 1;

}  // namespace

std::string plan_to_json(const Plan& plan) {
  nlohmann::ordered_json doc;
  doc["format"] = kFormat;
  doc["version"] = kVersion;
  doc["method"] = plan.method;
  doc["mode"] = plan.mode;
  doc["fraction"] = plan.fraction;
  doc["budget_ms"] = plan.budget_ms;
  doc["epoch_frames"] = plan.epoch_frames;
  doc["fps"] = plan.fps;
  nlohmann::ordered_json streams = nlohmann::ordered_json::array();
  for (size_t i = 0; i < plan.streams.size(); ++i) {
    const PlanStream& s = plan.streams[i];
    streams.push_back({{"id", i},
                       {"name", s.name},
                       {"codec", s.codec},
                       {"width", s.width},
                       {"height", s.height},
                       {"frames", s.frames},
                       {"anchor_ms", s.anchor_ms}});
  }
  doc["streams"] = std::move(streams);
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
  for (const EpochResult& e : plan.epochs) {
    nlohmann::ordered_json anchors = nlohmann::ordered_json::array();
    for (const Anchor& a : e.anchors) {
      anchors.push_back({{"stream", a.stream},
                         {"display", a.display_index},
                         {"decode", a.decode_index},
                         {"class", unit_class_name(a.cls)},
                         {"score", a.score}});
    }
    epochs.push_back({{"index", e.index},
                      {"start_s", e.start_s},
                      {"deadline_s", e.deadline_s},
                      {"frames", e.frames},
                      {"quota", e.quota},
                      {"budget_ms", e.budget_ms},
                      {"used_ms", e.used_ms},
                      {"skipped", e.skipped},
                      {"anchors", std::move(anchors)}});
  }
  doc["epochs"] = std::move(epochs);
  return doc.dump(1) + "\n";
}

Plan plan_from_json(const std::string& text, const std::string& where) {
  Plan plan;
  const core::JsonFieldReader fields("", where + ": ", "; regenerate it with `neuroscaler select`");
  try {
    const nlohmann::json doc = nlohmann::json::parse(text);
    const std::string format = fields.get<std::string>(doc, "format");
    if (format != kFormat || fields.get<int>(doc, "version") != kVersion) {
      throw Error(ErrorCode::corrupt, where + ": not a version 1 anchor plan (format \"" + format +
                                          "\"); write it with `neuroscaler select`");
    }
    plan.method = fields.get<std::string>(doc, "method");
    plan.mode = fields.get<std::string>(doc, "mode");
    plan.fraction = fields.get<double>(doc, "fraction");
    plan.budget_ms = fields.get<double>(doc, "budget_ms");
    plan.epoch_frames = fields.get<int>(doc, "epoch_frames");
    plan.fps = fields.get<double>(doc, "fps");
    for (const auto& s : doc.at("streams")) {
      PlanStream ps;
      ps.name = fields.get<std::string>(s, "name");
      ps.codec = fields.get<std::string>(s, "codec");
      ps.width = fields.get<int>(s, "width");
      ps.height = fields.get<int>(s, "height");
      ps.frames = fields.get<int64_t>(s, "frames");
      ps.anchor_ms = fields.get<double>(s, "anchor_ms");
      plan.streams.push_back(std::move(ps));
    }
    for (const auto& e : doc.at("epochs")) {
      EpochResult r;
      r.index = fields.get<int64_t>(e, "index");
      r.start_s = fields.get<double>(e, "start_s");
      r.deadline_s = fields.get<double>(e, "deadline_s");
      r.frames = fields.get<int64_t>(e, "frames");
      r.quota = fields.get<int64_t>(e, "quota");
      r.budget_ms = fields.get<double>(e, "budget_ms");
      r.used_ms = fields.get<double>(e, "used_ms");
      r.skipped = fields.get<int64_t>(e, "skipped");
      for (const auto& a : e.at("anchors")) {
        Anchor anchor;
        anchor.stream = fields.get<int>(a, "stream");
        if (anchor.stream < 0 || static_cast<size_t>(anchor.stream) >= plan.streams.size()) {
          throw Error(ErrorCode::corrupt, where + ": anchor of unknown stream " + std::to_string(anchor.stream) +
                                              " in epoch " + std::to_string(r.index) + "; regenerate the plan");
        }
        anchor.display_index = fields.get<int64_t>(a, "display");
        anchor.decode_index = fields.get<int64_t>(a, "decode");
        anchor.cls = unit_class_from_name(fields.get<std::string>(a, "class"));
        anchor.score = fields.get<double>(a, "score");
        r.anchors.push_back(anchor);
      }
      plan.epochs.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::corrupt,
                where + ": bad plan JSON (" + e.what() + "); regenerate it with `neuroscaler select`");
  } catch (const Error& e) {
    if (e.code() == ErrorCode::corrupt) throw;
    throw Error(ErrorCode::corrupt, where + ": " + e.what());
  }
  return plan;
}

void write_plan(const Plan& plan, const std::string& path) {
  const std::string text = plan_to_json(plan);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::io, "plan: cannot create file; check the directory", ErrorContext{"", path, -1});
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw Error(ErrorCode::io, "plan: write failed; check free space", ErrorContext{"", path, -1});
}

Plan read_plan(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::not_found, "plan: cannot open file; check the path", ErrorContext{"", path, -1});
  std::stringstream buffer;
  buffer << in.rdbuf();
  return plan_from_json(buffer.str(), path);
}

}  // namespace ns::anchor
