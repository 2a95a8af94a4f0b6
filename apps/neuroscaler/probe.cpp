// neuroscaler probe: list every coded frame of a VP9 or H.264 stream (class, coded bytes, quantizer)
// without decoding, as a tab-separated table or JSON on stdout; a summary line on stderr.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/media/probe.h"

namespace ns::app {

namespace {

struct ProbeOptions {
  std::string input;
  bool json = false;
};

void print_table(const std::vector<media::CodedFrame>& frames) {
  std::string out = "decode\tpacket\tsuper\tdisplay\tpts\tshown\tclass\tbytes\tq\n";
  char line[160];
  for (const auto& f : frames) {
    char pts[24] = "-";
    if (f.pts != INT64_MIN) std::snprintf(pts, sizeof pts, "%" PRId64, f.pts);
    std::snprintf(line, sizeof line, "%" PRId64 "\t%" PRId64 "\t%d\t%" PRId64 "\t%s\t%d\t%s\t%u\t%d\n", f.decode_index,
                  f.packet_index, f.super_index, f.display_index, pts, f.shown ? 1 : 0, media::frame_class_name(f.cls),
                  f.bytes, f.base_q_index);
    out += line;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void print_json(const media::StreamInfo& info, const std::vector<media::CodedFrame>& frames, int64_t packets) {
  nlohmann::ordered_json doc;
  doc["stream"] = {
      {"url", info.url},
      {"codec", info.codec},
      {"width", info.width},
      {"height", info.height},
      {"fps", info.frame_rate.value()},
      {"packets", packets},
      {"frames", frames.size()},
  };
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& f : frames) {
    nlohmann::ordered_json item = {
        {"decode", f.decode_index},
        {"packet", f.packet_index},
        {"super", f.super_index},
        {"display", f.display_index},
        {"pts", f.pts == INT64_MIN ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(f.pts)},
        {"shown", f.shown},
        {"class", media::frame_class_name(f.cls)},
        {"bytes", f.bytes},
        {"q", f.base_q_index},
    };
    if (info.codec == "vp9") {
      item["show_existing"] = f.show_existing;
      item["intra_only"] = f.intra_only;
      item["refresh"] = f.refresh_flags;
    } else {
      item["slice_type"] = f.slice_type ? std::string(1, f.slice_type) : std::string();
    }
    list.push_back(std::move(item));
  }
  doc["frames"] = std::move(list);
  const std::string text = doc.dump(1) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void run_probe(const ProbeOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  media::StreamInfo info;
  const std::vector<media::CodedFrame> frames = media::probe_file(o.input, &info);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int64_t packets = 0;
  int64_t hidden = 0;
  int64_t key = 0;
  int64_t altref = 0;
  uint64_t total_bytes = 0;
  for (const auto& f : frames) {
    if (f.super_index == 0) ++packets;
    if (!f.shown) ++hidden;
    if (f.cls == media::FrameClass::key) ++key;
    if (f.cls == media::FrameClass::altref) ++altref;
    total_bytes += f.bytes;
  }
  if (o.json) {
    print_json(info, frames, packets);
  } else {
    print_table(frames);
  }
  std::fflush(stdout);
  std::fprintf(stderr,
               "probe: %s: %s %dx%d, %" PRId64 " packets, %zu frames (%" PRId64 " hidden, %" PRId64 " key, %" PRId64
               " altref), %" PRIu64 " bytes; probed in %.1f ms (%.0f packets/s)\n",
               o.input.c_str(), info.codec.c_str(), info.width, info.height, packets, frames.size(), hidden, key,
               altref, total_bytes, seconds * 1e3, seconds > 0 ? static_cast<double>(packets) / seconds : 0.0);
}

}  // namespace

void register_probe(CLI::App& app) {
  auto options = std::make_shared<ProbeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "probe",
      "List every coded frame of a VP9 or H.264 stream without decoding: decode order, packet,\n"
      "position in the superframe, display index, pts, shown or hidden, class (key / altref / normal),\n"
      "coded bytes and quantizer (VP9 base_q_idx, H.264 slice QP). Table on stdout (tab-separated)\n"
      "or --json; a summary line on stderr.");
  cmd->add_option("file", options->input, "input video (file or URL)")->required();
  cmd->add_flag("--json", options->json, "print JSON ({\"stream\": {...}, \"frames\": [...]}) instead of a table");
  cmd->callback([options]() { run_probe(*options); });
}

}  // namespace ns::app
