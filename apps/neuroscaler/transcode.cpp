// neuroscaler transcode: re-encode any video like a streamer (VP9 / H.264), losslessly, or to Y4M.
#include <algorithm>
#include <memory>
#include <string>

#include "commands.h"
#include "ns/core/progress.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"
#include "ns/media/y4m.h"

namespace ns::app {

namespace {

struct TranscodeOptions {
  std::string input;
  std::string output;
  std::string codec = "vp9";
  int bitrate_kbps = 0;
  int gop = 0;
  int speed = -1;
  int threads = 0;
  int64_t max_frames = -1;
};

media::EncoderSettings settings_for(const TranscodeOptions& o, int width, int height) {
  media::EncoderSettings s;
  if (o.codec == "vp9") {
    s = media::EncoderSettings::streamer_vp9(width, height, o.bitrate_kbps);
    if (o.speed >= 0) s.options["cpu-used"] = std::to_string(o.speed);
  } else if (o.codec == "h264") {
    s = media::EncoderSettings::streamer_h264(width, height, o.bitrate_kbps);
    static const char* presets[] = {"veryslow", "slower", "slow",     "medium",   "fast",
                                    "faster",   "veryfast", "superfast", "ultrafast"};
    if (o.speed >= 0) s.options["preset"] = presets[std::min(o.speed, 8)];
  } else {
    s = media::EncoderSettings::lossless();
  }
  if (o.gop > 0) s.gop = o.gop;
  if (o.threads > 0) s.threads = o.threads;
  return s;
}

void run_transcode(const TranscodeOptions& o) {
  media::VideoReader reader(o.input);
  const media::StreamInfo& info = reader.info();
  const media::Rational rate = info.frame_rate.num > 0 ? info.frame_rate : media::Rational{60, 1};
  std::unique_ptr<media::Y4mWriter> y4m;
  std::unique_ptr<media::VideoWriter> encoded;
  if (o.codec == "y4m") {
    y4m = std::make_unique<media::Y4mWriter>(o.output, info.width, info.height, rate);
  } else {
    encoded = std::make_unique<media::VideoWriter>(o.output, info.width, info.height, rate,
                                                   settings_for(o, info.width, info.height));
  }
  core::Progress progress("transcode " + o.codec, o.max_frames > 0 ? o.max_frames : info.frame_count);
  core::Frame frame;
  int64_t done = 0;
  while ((o.max_frames < 0 || done < o.max_frames) && reader.read(frame)) {
    if (y4m) y4m->write(frame);
    else encoded->write(frame);
    progress.update(++done);
  }
  if (y4m) y4m->close();
  else encoded->finish();
  progress.finish();
}

}  // namespace

void register_transcode(CLI::App& app) {
  auto options = std::make_shared<TranscodeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "transcode",
      "Re-encode a video like a streamer would (VP9 realtime as reference §9.2, or H.264 zerolatency),\n"
      "losslessly (FFV1), or to Y4M. Any input FFmpeg reads; the container follows the output extension.");
  cmd->add_option("--in,-i", options->input, "input video (file, URL, or - for stdin)")->required();
  cmd->add_option("--out,-o", options->output, "output file (.webm .mkv .mp4 .ivf .h264; .y4m or - for Y4M)")
      ->required();
  cmd->add_option("--codec,-c", options->codec, "vp9 | h264 | lossless | y4m")
      ->check(CLI::IsMember({"vp9", "h264", "lossless", "y4m"}))
      ->capture_default_str();
  cmd->add_option("--bitrate", options->bitrate_kbps, "target kbps (default: the streamer rate for the size)");
  cmd->add_option("--gop", options->gop, "key frame interval in frames (default 120)");
  cmd->add_option("--speed", options->speed, "VP9 cpu-used (0-9) or x264 preset index (0 veryslow .. 8 ultrafast)");
  cmd->add_option("--threads", options->threads, "encoder threads (default: preset's)");
  cmd->add_option("--frames", options->max_frames, "stop after this many frames");
  cmd->callback([options] {
    if (options->output == "-" || options->output.ends_with(".y4m")) options->codec = "y4m";
    run_transcode(*options);
  });
}

}  // namespace ns::app
