// neuroscaler enhance: the server side for one stream, offline (reference §1.2, §6.5). NeuroScaler's methods select
// anchors from codec information, super-resolve and code them as images, and write the hybrid stream: the LR video
// untouched plus the anchor images. The baselines (reference §4) make HR video on the server and re-encode it:
// perframe (SR on every frame) and selective (uniform anchors, the rest rebuilt by reuse on the server).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "hr_output.h"
#include "ns/anchor/anchor.h"
#include "ns/core/error.h"
#include "ns/core/progress.h"
#include "ns/hybrid/hybrid.h"
#include "ns/imagecodec/imagecodec.h"
#include "ns/media/probe.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/reuse/reuse.h"
#include "ns/sr/sr.h"

namespace ns::app {

namespace {

struct EnhanceOptions {
  std::string in;
  std::string out;
  std::string model;
  std::string method = "neuroscaler-q";
  double fraction = 0.075;
  int epoch_frames = 40;
  std::string anchor_codec = "htj2k";
  double anchor_quality = 0;
  bool chroma_444 = false;
  std::string backend = "auto";
  std::string precision = "auto";
  int sr_threads = 0;
  int threads = 1;
  double anchor_weight = reuse::kSrAnchorWeight;
  std::string hr_codec = "vp9";
  int hr_kbps = 0;
  int64_t max_frames = -1;
  std::string json;
};

bool is_baseline(const std::string& method) { return method == "perframe" || method == "selective"; }

// Wall time of each server stage, in seconds.
struct Stages {
  double probe = 0, select = 0, decode = 0, sr = 0, anchor_encode = 0, reuse = 0, hr_encode = 0, mux = 0;
};

class StageClock {
 public:
  explicit StageClock(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~StageClock() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  StageClock(const StageClock&) = delete;
  StageClock& operator=(const StageClock&) = delete;

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

struct Summary {
  int64_t frames = 0;
  int64_t anchors = 0;
  double fps = 0;
  int64_t lr_bytes = 0;      // the LR video as delivered (hybrid) or as read (baselines: not delivered)
  int64_t anchor_bytes = 0;  // anchor images (hybrid)
  int64_t hr_bytes = 0;      // re-encoded HR video (baselines)
  Stages stages;
  double wall_s = 0;
};

// Display indices of the anchors: the anchor selector on the stream's coded frames (first max_frames shown).
std::set<int64_t> select_anchors(const EnhanceOptions& o, const std::string& method, Stages& stages) {
  media::StreamInfo info;
  std::vector<media::CodedFrame> coded;
  {
    StageClock clock(stages.probe);
    coded = media::probe_file(o.in, &info);
  }
  StageClock clock(stages.select);
  if (o.max_frames > 0) {
    size_t keep = 0;
    while (keep < coded.size() && coded[keep].display_index < o.max_frames) ++keep;
    coded.resize(keep);
  }
  anchor::SchedulerConfig config;
  config.method = anchor::method_from_name(method);
  config.fraction = o.fraction;
  config.epoch_frames = o.epoch_frames;
  if (info.frame_rate.num > 0) config.fps = info.frame_rate.value();
  const std::vector<anchor::StreamSpec> specs{{o.in, 0.0}};
  const std::vector<std::vector<media::CodedFrame>> streams{std::move(coded)};
  std::set<int64_t> anchors;
  for (const anchor::EpochResult& epoch : anchor::select_offline(config, specs, streams)) {
    for (const anchor::Anchor& a : epoch.anchors) anchors.insert(a.display_index);
  }
  return anchors;
}

sr::Upscaler make_upscaler(const EnhanceOptions& o, const sr::Model& model, int lr_w, int lr_h) {
  sr::UpscalerOptions options;
  options.backend = o.backend;
  options.backend_options.threads = o.sr_threads;
  options.backend_options.precision = sr::parse_precision(o.precision, o.backend, model.desc);
  return sr::Upscaler(model, lr_w, lr_h, options);
}

int64_t frame_limit(const EnhanceOptions& o, const media::StreamInfo& info) {
  return o.max_frames > 0 ? o.max_frames : info.frame_count;
}

// NeuroScaler: the LR packets copied into the hybrid file, SR anchors coded as images next to them.
Summary enhance_hybrid(const EnhanceOptions& o, const sr::Model& model) {
  Summary summary;
  const std::set<int64_t> anchors = select_anchors(o, o.method, summary.stages);

  media::Demuxer demuxer(o.in);
  media::Decoder decoder(demuxer);
  const media::StreamInfo& info = demuxer.info();
  const int hr_w = info.width * model.desc.scale;
  const int hr_h = info.height * model.desc.scale;
  sr::Upscaler upscaler = make_upscaler(o, model, info.width, info.height);
  imagecodec::EncodeSettings codec{.codec = imagecodec::parse_codec(o.anchor_codec), .quality = o.anchor_quality,
                                   .chroma_444 = o.chroma_444, .threads = 1};
  imagecodec::validate(codec);
  codec.quality = imagecodec::effective_quality(codec);  // the tag records the quality used
  const hybrid::HybridTags tags{.scale = model.desc.scale,
                                .model = model.desc.name(),
                                .method = o.method,
                                .fraction = o.fraction,
                                .anchor_codec = codec.codec,
                                .anchor_quality = codec.quality};
  hybrid::HybridWriter writer(o.out, info, tags, hr_w, hr_h);

  const int64_t limit = frame_limit(o, info);
  core::Progress progress("enhance", limit);
  core::Frame lr, hr;
  auto take_frames = [&] {
    for (;;) {
      {
        StageClock clock(summary.stages.decode);
        if (!decoder.receive(lr)) return;
      }
      if (o.max_frames > 0 && lr.index >= o.max_frames) continue;
      ++summary.frames;
      if (anchors.count(lr.index)) {
        {
          StageClock clock(summary.stages.sr);
          upscaler.upscale(lr, hr);
        }
        std::vector<uint8_t> image;
        {
          StageClock clock(summary.stages.anchor_encode);
          image = imagecodec::encode(hr, codec);
        }
        StageClock clock(summary.stages.mux);
        writer.write_anchor(lr.pts, image);
        ++summary.anchors;
      }
      progress.update(summary.frames);
    }
  };
  while (o.max_frames < 0 || summary.frames < o.max_frames) {
    std::optional<media::Packet> packet = demuxer.read();
    if (!packet) break;
    {
      StageClock clock(summary.stages.mux);
      writer.write_video(*packet);
    }
    {
      StageClock clock(summary.stages.decode);
      decoder.send(*packet);
    }
    take_frames();
  }
  {
    StageClock clock(summary.stages.decode);
    decoder.flush();
  }
  take_frames();
  {
    StageClock clock(summary.stages.mux);
    writer.finish();
  }
  progress.finish();
  summary.fps = info.frame_rate.num > 0 ? info.frame_rate.value() : 60.0;
  summary.lr_bytes = writer.video_bytes();
  summary.anchor_bytes = writer.anchor_bytes();
  return summary;
}

// The baselines: HR frames made on the server (SR on every frame, or uniform SR anchors and reuse), re-encoded.
Summary enhance_baseline(const EnhanceOptions& o, const sr::Model& model) {
  Summary summary;
  const bool selective = o.method == "selective";
  std::set<int64_t> anchors;
  if (selective) anchors = select_anchors(o, "uniform", summary.stages);

  media::VideoReader reader(o.in);
  const media::StreamInfo& info = reader.info();
  const int scale = model.desc.scale;
  const int hr_w = info.width * scale;
  const int hr_h = info.height * scale;
  sr::Upscaler upscaler = make_upscaler(o, model, info.width, info.height);
  std::optional<reuse::Reconstructor> reconstructor;
  if (selective) {
    reconstructor.emplace(
        reuse::ReuseSettings{.scale = scale, .anchor_weight = o.anchor_weight, .threads = o.threads}, info.width,
        info.height);
  }
  summary.fps = info.frame_rate.num > 0 ? info.frame_rate.value() : 60.0;
  HrOutput output(o.out, hr_w, hr_h, info.frame_rate.num > 0 ? info.frame_rate : media::Rational{60, 1},
                  media::EncoderSettings::baseline_hr(o.hr_codec, hr_w, hr_h, o.hr_kbps));

  const int64_t limit = frame_limit(o, info);
  core::Progress progress("enhance", limit);
  core::Frame lr, sr_frame;
  for (;;) {
    if (o.max_frames > 0 && summary.frames >= o.max_frames) break;
    {
      StageClock clock(summary.stages.decode);
      if (!reader.read(lr)) break;
    }
    const bool is_anchor = !selective || anchors.count(lr.index) > 0;
    if (is_anchor) {
      StageClock clock(summary.stages.sr);
      upscaler.upscale(lr, sr_frame);
      ++summary.anchors;
    }
    const core::Frame* hr = &sr_frame;
    if (reconstructor) {
      StageClock clock(summary.stages.reuse);
      hr = &reconstructor->push(lr, is_anchor ? &sr_frame : nullptr);
    }
    {
      StageClock clock(summary.stages.hr_encode);
      output.write(*hr);
    }
    progress.update(++summary.frames);
  }
  {
    StageClock clock(summary.stages.hr_encode);
    output.finish();
  }
  progress.finish();
  summary.hr_bytes = output.encoded_bytes();
  return summary;
}

double kbps(int64_t bytes, const Summary& s) {
  const double seconds = static_cast<double>(s.frames) / s.fps;
  return seconds > 0 ? static_cast<double>(bytes) * 8.0 / seconds / 1000.0 : 0.0;
}

void report(const EnhanceOptions& o, const sr::Model& model, const Summary& s) {
  const bool baseline = is_baseline(o.method);
  const double delivered = kbps(baseline ? s.hr_bytes : s.lr_bytes + s.anchor_bytes, s);
  const Stages& t = s.stages;
  std::fprintf(stderr,
               "enhance: %s, %lld frames, %lld anchors (%.2f %%) by %s; delivered %.0f kbps (%s)\n"
               "enhance: server time: probe %.2f s, select %.3f s, decode %.2f s, SR %.2f s, anchor coding %.2f s, "
               "reuse %.2f s, HR encoding %.2f s, mux %.2f s; %.1f s in all\n",
               o.out.c_str(), static_cast<long long>(s.frames), static_cast<long long>(s.anchors),
               s.frames ? 100.0 * static_cast<double>(s.anchors) / static_cast<double>(s.frames) : 0.0,
               model.desc.name().c_str(), delivered,
               baseline ? "re-encoded HR video"
                        : ("LR " + std::to_string(static_cast<int>(kbps(s.lr_bytes, s) + 0.5)) + " + anchors " +
                           std::to_string(static_cast<int>(kbps(s.anchor_bytes, s) + 0.5)))
                              .c_str(),
               t.probe, t.select, t.decode, t.sr, t.anchor_encode, t.reuse, t.hr_encode, t.mux, s.wall_s);
  if (o.json.empty()) return;
  nlohmann::ordered_json j;
  j["format"] = "neuroscaler-enhance";
  j["input"] = o.in;
  j["output"] = o.out;
  j["method"] = o.method;
  j["model"] = model.desc.name();
  j["sr_precision"] = o.precision;  // resolved by run_enhance
  j["fraction"] = baseline && o.method == "perframe" ? 1.0 : o.fraction;
  j["frames"] = s.frames;
  j["anchors"] = s.anchors;
  j["fps"] = s.fps;
  j["delivered_kbps"] = delivered;
  j["lr_kbps"] = baseline ? 0.0 : kbps(s.lr_bytes, s);
  j["anchor_kbps"] = kbps(s.anchor_bytes, s);
  j["hr_kbps"] = kbps(s.hr_bytes, s);
  if (!baseline) {
    j["anchor_codec"] = o.anchor_codec;
    j["anchor_bytes_mean"] = s.anchors ? static_cast<double>(s.anchor_bytes) / static_cast<double>(s.anchors) : 0.0;
  } else {
    j["hr_codec"] = o.hr_codec;
  }
  j["stages_s"] = {{"probe", t.probe},   {"select", t.select},         {"decode", t.decode},
                   {"sr", t.sr},         {"anchor_encode", t.anchor_encode}, {"reuse", t.reuse},
                   {"hr_encode", t.hr_encode}, {"mux", t.mux}};
  j["wall_s"] = s.wall_s;
  std::ofstream file(o.json);
  file << j.dump(2) << "\n";
  if (!file) throw Error(ErrorCode::io, "enhance: cannot write " + o.json + "; check the folder and free space");
}

void run_enhance(const EnhanceOptions& given) {
  const auto start = std::chrono::steady_clock::now();
  const sr::Model model = sr::load_model(given.model);
  EnhanceOptions o = given;  // "auto" precision resolved once: the upscaler runs it, the summary records it
  o.precision = sr::precision_name(sr::parse_precision(given.precision, given.backend, model.desc));
  Summary summary = is_baseline(o.method) ? enhance_baseline(o, model) : enhance_hybrid(o, model);
  if (summary.frames == 0) throw Error(ErrorCode::corrupt, "enhance: the input has no frames", {.file = o.in});
  summary.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report(o, model, summary);
}

}  // namespace

void register_enhance(CLI::App& app) {
  auto o = std::make_shared<EnhanceOptions>();
  CLI::App* cmd = app.add_subcommand(
      "enhance",
      "The server side for one stream. NeuroScaler's methods (neuroscaler-q, neuroscaler, uniform, keyframe)\n"
      "select anchors from codec information, super-resolve them, code them as images and write the hybrid\n"
      "stream (.mkv: the LR video copied bit-exact plus the anchor images; `neuroscaler decode` rebuilds HR).\n"
      "The baselines make HR video on the server and re-encode it (--out .webm for VP9, .mp4 for H.264):\n"
      "perframe (SR on every frame) and selective (uniform anchors, reuse for the rest).");
  cmd->add_option("--in,-i", o->in, "LR video (any input FFmpeg reads)")->required();
  cmd->add_option("--model,-m", o->model, "SR model (.safetensors)")->required();
  cmd->add_option("--out,-o", o->out, "output: hybrid .mkv, or the baselines' HR video")->required();
  cmd->add_option("--method", o->method, "neuroscaler-q | neuroscaler | uniform | keyframe | perframe | selective")
      ->check(CLI::IsMember({"neuroscaler-q", "neuroscaler", "uniform", "keyframe", "perframe", "selective"}))
      ->capture_default_str();
  cmd->add_option("--fraction", o->fraction, "anchors per displayed frame (0.075 = 7.5 %)")
      ->check(CLI::Range(1e-6, 1.0))
      ->capture_default_str();
  cmd->add_option("--epoch-frames", o->epoch_frames, "selection epoch in frames")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--anchor-codec", o->anchor_codec, "anchor images: htj2k | j2k | jpeg")
      ->check(CLI::IsMember({"htj2k", "j2k", "jpeg"}))
      ->capture_default_str();
  cmd->add_option("--anchor-quality", o->anchor_quality,
                  "codec quality (jpeg 1-100; j2k target PSNR dB; htj2k 1-100); default: the codec's");
  cmd->add_flag("--chroma-444", o->chroma_444, "JPEG anchors with full-resolution chroma");
  add_backend_option(cmd, o->backend);
  cmd->add_option("--precision", o->precision,
                  "SR precision: auto (fp16 on a GPU, bf16 where the CPU has avx512_bf16, else fp32) | fp32 | bf16 | fp16")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16"}))
      ->capture_default_str();
  cmd->add_option("--sr-threads", o->sr_threads, "SR inference threads (default: all cores)");
  cmd->add_option("--threads", o->threads, "reuse threads of the selective baseline")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  add_anchor_weight_option(cmd, o->anchor_weight, "; used by the selective baseline")->capture_default_str();
  cmd->add_option("--hr-codec", o->hr_codec, "baselines: vp9 (realtime, reference §9.2) | h264 (x264 zerolatency)")
      ->check(CLI::IsMember({"vp9", "h264"}))
      ->capture_default_str();
  cmd->add_option("--hr-kbps", o->hr_kbps,
                  "baselines: HR bitrate (default: the paper's 35.5 Mbps at 2160p, scaled by pixel count)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--frames", o->max_frames, "stop after this many frames")->check(CLI::PositiveNumber);
  cmd->add_option("--json", o->json, "write the summary (bitrates, anchors, time per stage) as JSON");
  cmd->callback([o] { run_enhance(*o); });
}

}  // namespace ns::app
