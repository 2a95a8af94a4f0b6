// neuroscaler-train data: parses the options, builds the stream-like training set (sr::train::build_stream_set) and
// prints what it holds: pairs per LR kind and how far each kind's LR is from the HR (bicubic up-scaling, RGB PSNR).
#include "data_command.h"

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ns/core/log.h"
#include "ns/eval/sample.h"
#include "ns/sr/train/stream_set.h"
#include "ns/sr/train/train.h"

namespace ns::app {

namespace {

struct DataCommandOptions {
  std::vector<std::string> photos;
  sr::train::StreamSetOptions set;
};

template <typename T>
std::string joined(const std::vector<T>& values) {
  std::ostringstream s;
  for (size_t i = 0; i < values.size(); ++i) s << (i ? "," : "") << values[i];
  return s.str();
}

std::string command_line(const DataCommandOptions& o) {
  const sr::train::StreamSetOptions& s = o.set;
  std::ostringstream line;
  line << "neuroscaler train data --out " << s.out_dir.string() << " --codecs " << joined(s.codecs)
       << " --bitrate-factors " << joined(s.bitrate_factors) << " --clean-share " << s.clean_share
       << " --frames-per-clip " << s.frames_per_clip << " --clip-frames " << s.clip_frames << " --validation-every "
       << s.validation_every << " --max-side " << s.max_side << " --seed " << s.seed;
  if (!o.photos.empty()) line << " --photos " << joined(o.photos);
  return line.str();
}

void run_data(DataCommandOptions o) {
  std::vector<std::string> photos;
  if (o.photos.empty()) {
    photos = sr::train::default_photos(true);
  } else {
    for (const std::string& argument : o.photos) {
      for (std::string& p : eval::expand_photo_argument(argument)) photos.push_back(std::move(p));
    }
  }
  o.set.command_line = command_line(o);
  log::info("train.data", "{} photos -> {}: codecs {}, bitrate factors {}, clean share {}", photos.size(),
            o.set.out_dir.string(), joined(o.set.codecs), joined(o.set.bitrate_factors), o.set.clean_share);
  const sr::train::StreamSetManifest m = sr::train::build_stream_set(photos, o.set);

  nlohmann::ordered_json kinds = nlohmann::ordered_json::array();
  for (const sr::train::StreamSetGroup& g : sr::train::summarize_stream_set(m)) {
    log::info("train.data", "{}: {} pairs ({} train), LR (bicubic) vs HR {:.2f} dB, clean LR of those frames {:.2f} dB",
              g.codec, g.pairs, g.train_pairs, g.mean_lr_psnr_db, g.mean_clean_psnr_db);
    kinds.push_back({{"kind", g.codec},
                     {"pairs", g.pairs},
                     {"train_pairs", g.train_pairs},
                     {"mean_lr_psnr_db", g.mean_lr_psnr_db},
                     {"mean_clean_psnr_db", g.mean_clean_psnr_db},
                     {"encoder_loss_db", g.mean_clean_psnr_db - g.mean_lr_psnr_db}});
  }
  size_t validation_pairs = 0;
  for (const sr::train::StreamPair& p : m.pairs) validation_pairs += p.validation ? 1 : 0;
  const nlohmann::ordered_json report = {{"out", m.dir.string()},
                                         {"photos", m.photos.size()},
                                         {"validation_photos", m.validation_photos},
                                         {"pairs", m.pairs.size()},
                                         {"train_pairs", m.pairs.size() - validation_pairs},
                                         {"validation_pairs", validation_pairs},
                                         {"bytes", m.bytes},
                                         {"seconds", m.elapsed_seconds},
                                         {"kinds", kinds}};
  std::printf("%s\n", report.dump(2).c_str());
}

}  // namespace

void register_data_command(CLI::App& train_app) {
  auto o = std::make_shared<DataCommandOptions>();
  sr::train::StreamSetOptions& s = o->set;
  CLI::App* cmd = train_app.add_subcommand(
      "data", "Build a training set whose LR looks like a streamer's: HR = video of a camera moving over each photo\n"
              "(the built-in sample's renderer) and the photo itself as a still; LR = HR / 3 (area) encoded with\n"
              "VP9 realtime or H.264 zerolatency at a mix of streamer bitrates and decoded, or left clean (a share).\n"
              "Writes PNG pairs (hr/, lr/) and manifest.json; every N-th photo (sorted by path) is held out.\n"
              "Default photos: Debian's wallpaper packages, minus those the built-in sample shows.");
  cmd->add_option("--out,-o", s.out_dir, "folder of the set (an older set there is replaced)")->required();
  cmd->add_option("--photos", o->photos, "photo files or directories (default: the Debian wallpapers)");
  cmd->add_option("--codecs", s.codecs, "streamer encoders, comma-separated: vp9, h264")
      ->delimiter(',')
      ->check(CLI::IsMember({"vp9", "h264"}))
      ->capture_default_str();
  cmd->add_option("--bitrate-factors", s.bitrate_factors,
                  "bitrates as factors of the streamer bitrate for the LR size (700 kbps at 640x360), one per clip")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--clean-share", s.clean_share, "share of clips whose LR is the area down-scale alone (0..1)")
      ->capture_default_str();
  cmd->add_option("--frames-per-clip", s.frames_per_clip, "frames sampled from each video clip")->capture_default_str();
  cmd->add_option("--clip-frames", s.clip_frames, "frames rendered and encoded per video clip (60 fps)")
      ->capture_default_str();
  cmd->add_option("--validation-every", s.validation_every, "hold out every N-th photo for validation")
      ->capture_default_str();
  cmd->add_option("--max-side", s.max_side, "longest HR side (stills scaled down; video 16:9, at most 1080p)")
      ->capture_default_str();
  cmd->add_option("--seed", s.seed, "seed of camera paths, sampled frames and codec/bitrate per clip")
      ->capture_default_str();
  cmd->add_option("--threads", s.threads, "photos processed at once (0: up to 2)")->capture_default_str();
  cmd->callback([o] { run_data(*o); });
}

}  // namespace ns::app
