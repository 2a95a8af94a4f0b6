// neuroscaler anchor-codecs: rate-distortion of the anchor image codecs on real SR anchors. A few LR frames are
// super-resolved (the anchors a server would send), each anchor is coded by every codec at several qualities,
// and a table on stdout gives per codec and quality: mean bytes per image, bits per pixel, PSNR of the decoded
// image against the uncoded SR anchor and against the HR reference, and mean encode / decode wall time on one
// thread (J2K's encoder also with 2 threads). Then JPEG against JPEG 2000 at matched bits per pixel.
// With --lr-from-reference WxH the LR frames are the reference frames area-downscaled to WxH (e.g. 1280x720 from
// a 1080p reference gives 2160p anchors with an x3 model); PSNR against HR is then left out when sizes differ.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/core/machine_info.h"
#include "ns/core/error.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"
#include "ns/imagecodec/imagecodec.h"
#include "ns/media/reader.h"
#include "ns/sr/sr.h"

namespace ns::app {

namespace {

struct AnchorCodecsOptions {
  std::string lr;
  std::string model;
  std::string reference;
  std::string lr_from_reference;  // "WxH"
  std::vector<int64_t> frames = {0, 120, 240, 360, 480};
  std::string json;
  std::string backend = "auto";
  int sr_threads = 0;
  bool quick = false;  // fewer qualities (tests)
};

struct Setting {
  imagecodec::EncodeSettings settings;
  std::string label;  // "jpeg", "jpeg444", "j2k", "htj2k"
};

struct Row {
  std::string label;
  double quality = 0;
  double bytes = 0;
  double bpp = 0;
  double psnr_sr = 0;
  double psnr_hr = 0;  // NaN when there is no reference of the anchor's size
  double encode_ms = 0;
  double decode_ms = 0;
  double encode_ms_2t = 0;  // J2K only, else NaN
};

std::vector<Setting> codec_ladder(bool quick) {
  std::vector<Setting> ladder;
  const std::vector<double> jpeg = quick ? std::vector<double>{50, 90} : std::vector<double>{50, 60, 70, 80, 90, 95};
  const std::vector<double> j2k = quick ? std::vector<double>{36, 48} : std::vector<double>{36, 39, 42, 45, 48, 51, 54};
  const std::vector<double> htj2k =
      quick ? std::vector<double>{45, 70} : std::vector<double>{40, 45, 50, 55, 60, 65, 70, 75};
  for (double q : jpeg) ladder.push_back({{.codec = imagecodec::Codec::jpeg, .quality = q}, "jpeg"});
  for (double q : jpeg)
    ladder.push_back({{.codec = imagecodec::Codec::jpeg, .quality = q, .chroma_444 = true}, "jpeg444"});
  for (double q : j2k) ladder.push_back({{.codec = imagecodec::Codec::j2k, .quality = q}, "j2k"});
  for (double q : htj2k) ladder.push_back({{.codec = imagecodec::Codec::htj2k, .quality = q}, "htj2k"});
  return ladder;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Reads frames in order and keeps those whose index is wanted; returns false at the end of the stream.
bool read_until(media::VideoReader& reader, int64_t index, int64_t& next, core::Frame& frame) {
  while (next <= index) {
    if (!reader.read(frame)) return false;
    ++next;
  }
  return true;
}

std::pair<int, int> parse_size(const std::string& text) {
  int w = 0, h = 0;
  char x = 0;
  std::istringstream in(text);
  if (!(in >> w >> x >> h) || x != 'x' || w < 1 || h < 1 || !in.eof()) {
    throw Error(ErrorCode::invalid_argument, "anchor-codecs: --lr-from-reference '" + text +
                                                 "' is not a size; write it as WIDTHxHEIGHT, e.g. 1280x720");
  }
  return {w, h};
}

// The PSNR (member `psnr` of Row) of `b` at bits per pixel `bpp`, linearly interpolated on b's points sorted by
// bits per pixel; NaN outside their range.
double psnr_at(const std::vector<Row>& b, double Row::*psnr, double bpp) {
  for (size_t i = 1; i < b.size(); ++i) {
    const Row& lo = b[i - 1];
    const Row& hi = b[i];
    if (bpp >= lo.bpp && bpp <= hi.bpp && hi.bpp > lo.bpp) {
      return lo.*psnr + (hi.*psnr - lo.*psnr) * (bpp - lo.bpp) / (hi.bpp - lo.bpp);
    }
  }
  return std::nan("");
}

struct Matched {
  std::string a, b;
  int points = 0;
  double sr_db = 0;  // PSNR(b) - PSNR(a) against the SR anchor at a's bits per pixel, mean over a's points in b's range
  double hr_db = 0;  // the same against HR (NaN without a reference)
};

Matched compare_at_equal_rate(const std::vector<Row>& rows, const std::string& a, const std::string& b) {
  std::vector<Row> ra, rb;
  for (const Row& r : rows) {
    if (r.label == a) ra.push_back(r);
    if (r.label == b) rb.push_back(r);
  }
  std::sort(rb.begin(), rb.end(), [](const Row& x, const Row& y) { return x.bpp < y.bpp; });
  Matched m{a, b, 0, 0, 0};
  for (const Row& r : ra) {
    const double other = psnr_at(rb, &Row::psnr_sr, r.bpp);
    if (std::isnan(other)) continue;
    m.sr_db += other - r.psnr_sr;
    m.hr_db += psnr_at(rb, &Row::psnr_hr, r.bpp) - r.psnr_hr;
    ++m.points;
  }
  if (m.points > 0) {
    m.sr_db /= m.points;
    m.hr_db /= m.points;
  } else {
    m.sr_db = m.hr_db = std::nan("");  // the two ladders do not overlap in bits per pixel
  }
  return m;
}

std::string command_line(const AnchorCodecsOptions& o) {
  std::string frames;
  for (int64_t f : o.frames) frames += (frames.empty() ? "" : ",") + std::to_string(f);
  std::string c = "neuroscaler anchor-codecs";
  if (!o.lr.empty()) c += " --lr " + o.lr;
  c += " --model " + o.model;
  if (!o.reference.empty()) c += " --reference " + o.reference;
  if (!o.lr_from_reference.empty()) c += " --lr-from-reference " + o.lr_from_reference;
  c += " --frames " + frames;
  if (o.quick) c += " --quick";
  if (!o.json.empty()) c += " --json " + o.json;
  return c;
}

std::string number(double v, const char* format) { return std::isnan(v) ? "-" : fmt::format(fmt::runtime(format), v); }

void run_anchor_codecs(AnchorCodecsOptions o) {
  const bool from_reference = !o.lr_from_reference.empty();
  if (from_reference && o.reference.empty()) {
    throw Error(ErrorCode::invalid_argument, "anchor-codecs: --lr-from-reference needs --reference (the source)");
  }
  if (!from_reference && o.lr.empty()) {
    throw Error(ErrorCode::invalid_argument, "anchor-codecs: give --lr, or --reference with --lr-from-reference");
  }
  if (o.frames.empty())
    throw Error(ErrorCode::invalid_argument, "anchor-codecs: --frames is empty; list frame indices");
  std::sort(o.frames.begin(), o.frames.end());
  o.frames.erase(std::unique(o.frames.begin(), o.frames.end()), o.frames.end());
  if (o.frames.front() < 0) throw Error(ErrorCode::invalid_argument, "anchor-codecs: frame indices start at 0");

  const std::string load_before = core::load_average();
  std::unique_ptr<media::VideoReader> lr_reader;
  if (!from_reference) lr_reader = std::make_unique<media::VideoReader>(o.lr);
  std::unique_ptr<media::VideoReader> reference;
  if (!o.reference.empty()) reference = std::make_unique<media::VideoReader>(o.reference);
  int lr_w = 0, lr_h = 0;
  if (from_reference) {
    std::tie(lr_w, lr_h) = parse_size(o.lr_from_reference);
  } else {
    lr_w = lr_reader->info().width;
    lr_h = lr_reader->info().height;
  }
  sr::UpscalerOptions upscaler_options;
  upscaler_options.backend = o.backend;
  upscaler_options.backend_options.threads = o.sr_threads;
  sr::Upscaler upscaler(sr::load_model(o.model), lr_w, lr_h, upscaler_options);
  const int scale = upscaler.desc().scale;

  const std::vector<Setting> ladder = codec_ladder(o.quick);
  std::vector<Row> rows(ladder.size());
  for (size_t i = 0; i < ladder.size(); ++i) {
    rows[i].label = ladder[i].label;
    rows[i].quality = ladder[i].settings.quality;
    rows[i].encode_ms_2t = ladder[i].settings.codec == imagecodec::Codec::j2k ? 0 : std::nan("");
  }
  bool hr_psnr = reference != nullptr;
  core::Frame lr, hr, anchor, decoded;
  int64_t next_lr = 0, next_hr = 0;
  int images = 0;
  double sr_ms = 0;
  double uncoded_psnr_hr = 0;  // the SR anchor itself against HR
  for (int64_t index : o.frames) {
    if (reference && !read_until(*reference, index, next_hr, hr)) break;
    if (from_reference) {
      lr = core::resized(hr, lr_w, lr_h, core::ResizeFilter::area);
    } else if (!read_until(*lr_reader, index, next_lr, lr)) {
      break;
    }
    const auto sr_start = std::chrono::steady_clock::now();
    anchor = core::Frame();
    upscaler.upscale(lr, anchor);
    sr_ms += elapsed_ms(sr_start);
    if (reference && !core::same_size(hr, anchor)) hr_psnr = false;
    if (hr_psnr) uncoded_psnr_hr += core::psnr_pooled(hr, anchor);
    const double pixels = static_cast<double>(anchor.width()) * anchor.height();
    for (size_t i = 0; i < ladder.size(); ++i) {
      auto start = std::chrono::steady_clock::now();
      const std::vector<uint8_t> data = imagecodec::encode(anchor, ladder[i].settings);
      rows[i].encode_ms += elapsed_ms(start);
      start = std::chrono::steady_clock::now();
      imagecodec::decode(ladder[i].settings.codec, data, decoded);
      rows[i].decode_ms += elapsed_ms(start);
      rows[i].bytes += static_cast<double>(data.size());
      rows[i].bpp += 8.0 * static_cast<double>(data.size()) / pixels;
      rows[i].psnr_sr += core::psnr_pooled(anchor, decoded);
      if (hr_psnr) rows[i].psnr_hr += core::psnr_pooled(hr, decoded);
      if (ladder[i].settings.codec == imagecodec::Codec::j2k) {
        imagecodec::EncodeSettings two = ladder[i].settings;
        two.threads = 2;
        start = std::chrono::steady_clock::now();
        const std::vector<uint8_t> again = imagecodec::encode(anchor, two);
        rows[i].encode_ms_2t += elapsed_ms(start);
        if (again != data) {
          throw Error(ErrorCode::internal, "anchor-codecs: OpenJPEG's 2-thread codestream differs; report this bug");
        }
      }
    }
    ++images;
    std::fprintf(stderr, "anchor-codecs: frame %lld coded (%d of %zu)\n", static_cast<long long>(index), images,
                 o.frames.size());
  }
  if (images == 0) {
    throw Error(ErrorCode::invalid_argument,
                "anchor-codecs: the video has none of the requested frames; "
                "give smaller --frames indices");
  }
  for (Row& r : rows) {
    for (double* v : {&r.bytes, &r.bpp, &r.psnr_sr, &r.psnr_hr, &r.encode_ms, &r.decode_ms, &r.encode_ms_2t}) {
      *v /= images;
    }
    if (!hr_psnr) r.psnr_hr = std::nan("");
  }
  uncoded_psnr_hr = hr_psnr ? uncoded_psnr_hr / images : std::nan("");

  std::printf("# anchor-codecs: %d images %dx%d (SR x%d of %dx%d%s), model %s\n", images, lr_w * scale, lr_h * scale,
              scale, lr_w, lr_h, from_reference ? ", LR area-downscaled from the reference" : "",
              upscaler.desc().name().c_str());
  std::printf("# PSNR pooled over Y, U, V; times are mean wall ms on one thread (enc_2t: J2K with 2 threads)\n");
  std::printf("# the uncoded SR anchor against HR: %s dB; SR %.0f ms per image\n",
              number(uncoded_psnr_hr, "{:.2f}").c_str(), sr_ms / images);
  std::printf("%-8s %7s %10s %7s %8s %8s %8s %8s %8s\n", "codec", "quality", "bytes", "bpp", "psnr_sr", "psnr_hr",
              "enc_ms", "dec_ms", "enc_2t");
  for (const Row& r : rows) {
    std::printf("%-8s %7.0f %10.0f %7.3f %8.2f %8s %8.1f %8.1f %8s\n", r.label.c_str(), r.quality, r.bytes, r.bpp,
                r.psnr_sr, number(r.psnr_hr, "{:.2f}").c_str(), r.encode_ms, r.decode_ms,
                number(r.encode_ms_2t, "{:.1f}").c_str());
  }
  std::vector<Matched> matched;
  for (const char* a : {"jpeg", "jpeg444"}) {
    for (const char* b : {"j2k", "htj2k"}) matched.push_back(compare_at_equal_rate(rows, a, b));
  }
  matched.push_back(compare_at_equal_rate(rows, "htj2k", "j2k"));
  std::printf("# at equal bits per pixel (B interpolated at A's points inside B's range): PSNR of B - A in dB\n");
  std::printf("%-8s %-6s %6s %8s %8s\n", "A", "B", "points", "vs_sr", "vs_hr");
  for (const Matched& m : matched) {
    std::printf("%-8s %-6s %6d %8s %8s\n", m.a.c_str(), m.b.c_str(), m.points, number(m.sr_db, "{:+.2f}").c_str(),
                number(m.hr_db, "{:+.3f}").c_str());
  }

  if (o.json.empty()) return;
  nlohmann::json j;
  j["command"] = command_line(o);
  j["date"] = core::utc_now();
  j["machine"] = {{"cpu", core::cpu_model()},
                  {"cores", std::thread::hardware_concurrency()},
                  {"load_average_before", load_before},
                  {"load_average_after", core::load_average()}};
  j["images"] = images;
  j["anchor"] = {{"width", lr_w * scale}, {"height", lr_h * scale}};
  j["lr"] = {{"width", lr_w}, {"height", lr_h}, {"from_reference", from_reference}};
  j["model"] = upscaler.desc().name();
  j["sr_ms_per_image"] = sr_ms / images;
  j["uncoded_psnr_hr"] = std::isnan(uncoded_psnr_hr) ? nlohmann::json(nullptr) : nlohmann::json(uncoded_psnr_hr);
  j["psnr"] =
      "pooled over Y, U, V (reference 7.6); psnr_sr against the uncoded SR anchor, psnr_hr against the HR reference";
  nlohmann::json& out_rows = j["rows"];
  out_rows = nlohmann::json::array();
  for (const Row& r : rows) {
    out_rows.push_back({{"codec", r.label},
                        {"quality", r.quality},
                        {"bytes", r.bytes},
                        {"bpp", r.bpp},
                        {"psnr_sr", r.psnr_sr},
                        {"psnr_hr", std::isnan(r.psnr_hr) ? nlohmann::json(nullptr) : nlohmann::json(r.psnr_hr)},
                        {"encode_ms", r.encode_ms},
                        {"decode_ms", r.decode_ms},
                        {"encode_ms_2_threads",
                         std::isnan(r.encode_ms_2t) ? nlohmann::json(nullptr) : nlohmann::json(r.encode_ms_2t)}});
  }
  nlohmann::json& out_matched = j["equal_rate"];
  out_matched = nlohmann::json::array();
  for (const Matched& m : matched) {
    out_matched.push_back(
        {{"a", m.a},
         {"b", m.b},
         {"points", m.points},
         {"b_minus_a_db_vs_sr", std::isnan(m.sr_db) ? nlohmann::json(nullptr) : nlohmann::json(m.sr_db)},
         {"b_minus_a_db_vs_hr", std::isnan(m.hr_db) ? nlohmann::json(nullptr) : nlohmann::json(m.hr_db)}});
  }
  std::ofstream file(o.json);
  file << j.dump(2) << "\n";
  if (!file)
    throw Error(ErrorCode::io, "anchor-codecs: writing the JSON failed; check the path and free space",
                {.file = o.json});
}

}  // namespace

void register_anchor_codecs(CLI::App& app) {
  auto options = std::make_shared<AnchorCodecsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "anchor-codecs",
      "Rate-distortion of the anchor image codecs (JPEG 4:2:0 / 4:4:4, JPEG 2000, HTJ2K) on SR anchors of a few "
      "LR frames: bytes, bits per pixel, PSNR and encode / decode time per codec and quality (table on stdout).");
  cmd->add_option("--lr", options->lr, "LR video whose frames are super-resolved into anchors");
  cmd->add_option("--model,-m", options->model, "SR model (.safetensors)")->required();
  cmd->add_option("--reference", options->reference,
                  "HR reference video (PSNR against HR; source of "
                  "--lr-from-reference)");
  cmd->add_option("--lr-from-reference", options->lr_from_reference,
                  "make each LR frame by area-downscaling the reference frame to WIDTHxHEIGHT (e.g. 1280x720)");
  cmd->add_option("--frames", options->frames, "frame indices to use as anchors (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--json", options->json, "also write the results as JSON to this file");
  add_backend_option(cmd, options->backend);
  cmd->add_option("--sr-threads", options->sr_threads, "SR inference threads (default: all cores)");
  cmd->add_flag("--quick", options->quick, "two qualities per codec (smoke tests)");
  cmd->callback([options] { run_anchor_codecs(*options); });
}

}  // namespace ns::app
