// neuroscaler upscale: per-frame SR of a whole video (the "per-frame SR" baseline), I420 in and out.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.h"
#include "ns/core/error.h"
#include "ns/core/progress.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"
#include "ns/sr/sr.h"

namespace ns::app {

namespace {

struct UpscaleOptions {
  std::string model;
  std::string input;
  std::string output;
  std::string backend = "auto";
  std::string precision;  // empty: fp16 for the cuda backend, else fp32
  int device = 0;
  int threads = 0;
  int tile = 0;
  int64_t max_frames = -1;
};

void run_upscale(const UpscaleOptions& o) {
  sr::Model model = sr::load_model(o.model);
  media::VideoReader reader(o.input);
  const media::StreamInfo& info = reader.info();
  const media::Rational rate = info.frame_rate.num > 0 ? info.frame_rate : media::Rational{60, 1};
  const int scale = model.desc.scale;
  const std::string name = model.desc.name();
  sr::UpscalerOptions options;
  options.backend = o.backend;
  const std::string precision = o.precision.empty() ? (o.backend == "cuda" ? "fp16" : "fp32") : o.precision;
  options.backend_options.precision = precision == "bf16"   ? sr::Precision::bf16
                                      : precision == "fp16" ? sr::Precision::fp16
                                                            : sr::Precision::fp32;
  options.backend_options.device = o.device;
  options.backend_options.threads = o.threads;
  options.backend_options.tile = o.tile;
  sr::Upscaler upscaler(std::move(model), info.width, info.height, options);

  std::unique_ptr<media::Y4mWriter> y4m;
  std::unique_ptr<media::VideoWriter> encoded;
  const int hr_w = info.width * scale;
  const int hr_h = info.height * scale;
  if (o.output == "-" || o.output.ends_with(".y4m")) {
    y4m = std::make_unique<media::Y4mWriter>(o.output, hr_w, hr_h, rate);
  } else {
    encoded = std::make_unique<media::VideoWriter>(o.output, hr_w, hr_h, rate, media::EncoderSettings::lossless());
  }
  core::Progress progress(fmt::format("upscale {} ({})", name, upscaler.backend_name()),
                          o.max_frames > 0 ? o.max_frames : info.frame_count);
  core::Frame lr;
  core::Frame hr;
  int64_t done = 0;
  while ((o.max_frames < 0 || done < o.max_frames) && reader.read(lr)) {
    if (lr.width() != info.width || lr.height() != info.height) {
      throw Error(ErrorCode::unsupported,
                  fmt::format("{}: frame {} is {}x{} but the stream started at {}x{}; split the input at the size "
                              "change",
                              o.input, lr.index, lr.width(), lr.height(), info.width, info.height));
    }
    upscaler.upscale(lr, hr);
    if (y4m) y4m->write(hr);
    else encoded->write(hr);
    progress.update(++done);
  }
  if (y4m) y4m->close();
  else encoded->finish();
  progress.finish();
}

}  // namespace

void register_upscale(CLI::App& app) {
  auto options = std::make_shared<UpscaleOptions>();
  CLI::App* cmd = app.add_subcommand(
      "upscale",
      "Super-resolve every frame of a video with an SR model (the per-frame SR baseline).\n"
      "Output: Y4M when OUT ends in .y4m or is -, else lossless FFV1 in the container of its extension.");
  cmd->add_option("--model,-m", options->model, "model file (.safetensors; see 'neuroscaler model init')")
      ->required();
  cmd->add_option("--in,-i", options->input, "input video (file, URL, or - for stdin)")->required();
  cmd->add_option("--out,-o", options->output, "output file (.mkv, .y4m, or - for Y4M on stdout)")->required();
  add_backend_option(cmd, options->backend, " (ref is the slow specification)");
  cmd->add_option("--precision", options->precision,
                  "fp32 | bf16 | fp16 (bf16 needs avx512_bf16; fp16 is the cuda backend's; default: fp16 for cuda, "
                  "else fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  cmd->add_option("--device", options->device, "GPU index for the cuda backend")->capture_default_str();
  cmd->add_option("--threads", options->threads, "inference threads (default: all cores)");
  cmd->add_option("--tile", options->tile, "LR tile edge in pixels (default 256; bounds memory)");
  cmd->add_option("--frames", options->max_frames, "stop after this many frames");
  cmd->callback([options] { run_upscale(*options); });
}

}  // namespace ns::app
