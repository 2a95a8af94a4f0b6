// ns/sr/train: the stream set's manifest.json: written (from the manifest and the options it was built with) and read
// back with every field checked; the pairs summarized per LR kind; load_stream_set, which loads the PNG pairs it
// lists as a TrainingSet. Building the set is in stream_set.cpp.
#include "ns/sr/train/stream_set.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "ns/core/atomic_file.h"
#include "ns/core/error.h"
#include "ns/core/json_fields.h"
#include "ns/media/image.h"
#include "ns/sr/train/dataset_impl.h"
#include "ns/sr/train/stream_set_impl.h"

namespace ns::sr::train {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr const char* kRebuildHint = "run `neuroscaler train data --out DIR` again to rebuild the set";

Json manifest_to_json(const StreamSetManifest& m, const StreamSetOptions& options) {
  Json j;
  j["format"] = kFormatName;
  j["version"] = m.version;
  j["scale"] = m.scale;
  j["fps"] = m.fps;
  j["seed"] = m.seed;
  j["lr_filter"] = "area";
  j["note"] = "Each pair: HR = a rendered video frame (camera moving over the photo) or the photo itself (a still), "
              "as I420 (BT.709) converted to RGB; LR = HR down-scaled x3 (area), then encoded like a streamer "
              "(codec, kbps) and decoded, or left clean. lr_psnr_db: LR up-scaled (bicubic) vs HR; clean_psnr_db: the "
              "same for the clean LR of that frame.";
  j["options"] = {{"codecs", options.codecs},
                  {"bitrate_factors", options.bitrate_factors},
                  {"clean_share", options.clean_share},
                  {"frames_per_clip", options.frames_per_clip},
                  {"clip_frames", options.clip_frames},
                  {"still_clip_frames", kStillClipFrames},
                  {"validation_every", options.validation_every},
                  {"max_side", options.max_side}};
  j["photos"] = m.photos;
  j["validation_photos"] = m.validation_photos;
  j["pairs"] = Json::array();
  for (const StreamPair& p : m.pairs) {
    j["pairs"].push_back({{"hr", p.hr},
                          {"lr", p.lr},
                          {"split", p.validation ? "validation" : "train"},
                          {"photo", p.photo},
                          {"kind", p.kind},
                          {"codec", p.codec},
                          {"kbps", p.codec == "clean" ? Json("clean") : Json(p.kbps)},
                          {"frame", p.frame},
                          {"hr_size", {p.hr_width, p.hr_height}},
                          {"lr_size", {p.lr_width, p.lr_height}},
                          {"lr_psnr_db", std::round(p.lr_psnr_db * 1000) / 1000},
                          {"clean_psnr_db", std::round(p.clean_psnr_db * 1000) / 1000}});
  }
  Json summary = Json::object();
  for (const StreamSetGroup& g : summarize_stream_set(m)) {
    summary[g.codec] = {{"pairs", g.pairs},
                        {"train_pairs", g.train_pairs},
                        {"mean_lr_psnr_db", std::round(g.mean_lr_psnr_db * 100) / 100},
                        {"mean_clean_psnr_db", std::round(g.mean_clean_psnr_db * 100) / 100}};
  }
  j["summary"] = summary;
  j["bytes"] = m.bytes;
  j["generator"] = {{"command", m.command_line}, {"elapsed_seconds", std::round(m.elapsed_seconds * 100) / 100}};
  return j;
}


std::string size_text(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

std::vector<StreamSetGroup> summarize_stream_set(const StreamSetManifest& m) {
  std::vector<StreamSetGroup> groups;
  for (const char* codec : {"clean", "vp9", "h264"}) {
    StreamSetGroup g;
    g.codec = codec;
    for (const StreamPair& p : m.pairs) {
      if (p.codec != codec) continue;
      ++g.pairs;
      g.train_pairs += p.validation ? 0 : 1;
      g.mean_lr_psnr_db += p.lr_psnr_db;
      g.mean_clean_psnr_db += p.clean_psnr_db;
    }
    if (g.pairs == 0) continue;
    g.mean_lr_psnr_db /= g.pairs;
    g.mean_clean_psnr_db /= g.pairs;
    groups.push_back(g);
  }
  return groups;
}

void write_manifest(const StreamSetManifest& m, const StreamSetOptions& options) {
  core::write_text_atomically(m.dir / kManifestName, manifest_to_json(m, options).dump(2) + '\n', "train data");
}

StreamSetManifest load_stream_set_manifest(const fs::path& dir) {
  std::error_code ec;
  const fs::path path = dir / kManifestName;
  const bool dir_exists = fs::is_directory(dir, ec);
  if (!dir_exists || !fs::is_regular_file(path, ec)) {
    throw Error(ErrorCode::not_found,
                std::string("train data: no stream set here (") + (dir_exists ? "no manifest.json" : "no such folder") +
                    "); run `neuroscaler train data --out DIR` first",
                ErrorContext{.file = dir_exists ? path.string() : dir.string()});
  }
  const core::JsonFieldReader r(path.string(), "train data: the stream set's manifest is damaged (",
                                std::string("); ") + kRebuildHint);
  Json j;
  {
    std::ifstream f(path);
    try {
      j = Json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      r.fail(std::string("not JSON: ") + e.what());
    }
  }
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() || j["format"] != kFormatName) {
    r.fail(std::string("not a '") + kFormatName + "' file");
  }
  StreamSetManifest m;
  m.dir = dir;
  m.version = r.get<int>(j, "version");
  if (m.version > kStreamSetVersion) {
    throw Error(ErrorCode::unsupported,
                "train data: the stream set was written by a newer NeuroScaler (version " + std::to_string(m.version) +
                    "); " + kRebuildHint,
                ErrorContext{.file = path.string()});
  }
  m.scale = r.get<int>(j, "scale");
  if (m.scale < 2 || m.scale > 4) r.fail("scale " + std::to_string(m.scale) + " is not 2, 3 or 4");
  m.fps = r.get<int>(j, "fps");
  m.seed = r.get<uint32_t>(j, "seed");
  m.photos = r.get<std::vector<std::string>>(j, "photos");
  m.validation_photos = r.get<std::vector<std::string>>(j, "validation_photos");
  m.bytes = r.get<uint64_t>(j, "bytes");
  const Json& generator = j.contains("generator") ? j["generator"] : Json::object();
  if (generator.is_object()) {
    m.command_line = generator.value("command", "");
    m.elapsed_seconds = generator.value("elapsed_seconds", 0.0);
  }
  const std::set<std::string> held_out(m.validation_photos.begin(), m.validation_photos.end());
  for (const Json& e : r.array(j, "pairs")) {
    StreamPair p;
    p.hr = r.get<std::string>(e, "hr");
    p.lr = r.get<std::string>(e, "lr");
    p.photo = r.get<std::string>(e, "photo");
    p.kind = r.get<std::string>(e, "kind");
    p.codec = r.get<std::string>(e, "codec");
    const std::string split = r.get<std::string>(e, "split");
    if (split != "train" && split != "validation") r.fail("split '" + split + "' of " + p.hr);
    p.validation = split == "validation";
    if (p.validation != (held_out.count(p.photo) > 0)) {
      r.fail("pair " + p.hr + " is in the " + split + " part but its photo is " +
             (p.validation ? "not held out" : "held out"));
    }
    if (p.codec != "clean") p.kbps = r.get<int>(e, "kbps");
    p.frame = r.get<int64_t>(e, "frame");
    const auto hr_size = r.get<std::vector<int>>(e, "hr_size");
    const auto lr_size = r.get<std::vector<int>>(e, "lr_size");
    if (hr_size.size() != 2 || lr_size.size() != 2) r.fail("hr_size or lr_size of " + p.hr + " is not [w, h]");
    p.hr_width = hr_size[0];
    p.hr_height = hr_size[1];
    p.lr_width = lr_size[0];
    p.lr_height = lr_size[1];
    p.lr_psnr_db = r.get<double>(e, "lr_psnr_db");
    p.clean_psnr_db = r.get<double>(e, "clean_psnr_db");
    m.pairs.push_back(std::move(p));
  }
  return m;
}

TrainingSet load_stream_set(const fs::path& dir, const StreamSetLoadOptions& options) {
  const StreamSetManifest m = load_stream_set_manifest(dir);
  for (const std::string& c : options.codecs) {
    if (c != "clean" && c != "vp9" && c != "h264") {
      throw Error(ErrorCode::invalid_argument, "train data: unknown LR kind '" + c + "'; use clean, vp9 or h264");
    }
  }
  if (options.validation_crop < 0) {
    throw Error(ErrorCode::invalid_argument, "train data: the validation crop must be >= 0");
  }
  TrainingSet set;
  set.scale = m.scale;
  for (const StreamPair& p : m.pairs) {
    if (!options.codecs.empty() &&
        std::find(options.codecs.begin(), options.codecs.end(), p.codec) == options.codecs.end()) {
      continue;
    }
    ImagePair pair;
    for (const auto& [rel, image] : {std::pair{&p.hr, &pair.hr}, std::pair{&p.lr, &pair.lr}}) {
      const fs::path file = dir / *rel;
      std::error_code ec;
      if (!fs::is_regular_file(file, ec)) {
        throw Error(ErrorCode::not_found,
                    std::string("train data: an image of the stream set is missing; ") + kRebuildHint,
                    ErrorContext{.file = file.string()});
      }
      *image = media::load_image(file.string());
    }
    const std::string files = p.hr + " (" + size_text(pair.hr.width, pair.hr.height) + ") and " + p.lr + " (" +
                              size_text(pair.lr.width, pair.lr.height) + ")";
    if (pair.hr.width != m.scale * pair.lr.width || pair.hr.height != m.scale * pair.lr.height) {
      throw Error(ErrorCode::mismatch,
                  "train data: HR is not " + std::to_string(m.scale) + " x LR: " + files + "; " + kRebuildHint,
                  ErrorContext{.file = (dir / p.hr).string()});
    }
    if (pair.hr.width != p.hr_width || pair.hr.height != p.hr_height) {
      throw Error(ErrorCode::mismatch,
                  "train data: the images are not the size the manifest says (" +
                      size_text(p.hr_width, p.hr_height) + " HR): " + files + "; " + kRebuildHint,
                  ErrorContext{.file = (dir / p.hr).string()});
    }
    pair.origin = fs::path(p.photo).filename().string() + "#" + p.kind + "-" + std::to_string(p.frame) + "-" +
                  (p.codec == "clean" ? "clean" : p.codec + "@" + std::to_string(p.kbps) + "k");
    if (p.validation) {
      centre_crop(pair, options.validation_crop, m.scale);
      set.validation.push_back(std::move(pair));
    } else {
      set.train.push_back(std::move(pair));
    }
  }
  if (set.train.empty() || set.validation.empty()) {
    throw Error(ErrorCode::invalid_argument,
                "train data: the stream set has " + std::to_string(set.train.size()) + " training and " +
                    std::to_string(set.validation.size()) +
                    " validation pairs of the kinds asked for; both are needed (keep more kinds, or rebuild with "
                    "more photos)",
                ErrorContext{.file = (dir / kManifestName).string()});
  }
  return set;
}

}  // namespace ns::sr::train
