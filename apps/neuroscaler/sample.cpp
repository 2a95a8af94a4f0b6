// neuroscaler sample: render the built-in sample (real photographs, moving camera and objects, a scene cut) or
// another content kind, and write the HR reference (lossless) and the LR streamer encodes (VP9, H.264) with
// manifest.json.
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "ns/eval/sample.h"

namespace ns::app {

void register_sample(CLI::App& app) {
  auto options = std::make_shared<eval::SampleOptions>();
  auto content = std::make_shared<std::string>("sample");
  CLI::App* cmd = app.add_subcommand(
      "sample",
      "Render the built-in sample from photographs in Debian packages (camera pan and zoom, moving cut-outs, one "
      "scene cut), or another content (--content): HR reference as lossless FFV1, LR = HR / 3 (area) as VP9 and "
      "H.264 streamer encodes, a train segment then a test segment, and manifest.json");
  cmd->add_option("--out", options->out_dir, "Output directory (created if needed)")->required();
  cmd->add_option("--content", *content,
                  "What it shows: sample (camera pan and zoom at varying speed, moving cut-outs, one scene cut), "
                  "pan (a constant-speed pan over one photo), zoom (a steady zoom in and out over one photo), "
                  "static (a fixed camera, two small cut-outs moving slowly), fast (fast camera and cut-outs, a "
                  "cut every 2 to 3 s), grain (the sample with film grain, 24 fps), low-light (the sample "
                  "under-exposed with sensor noise, 30 fps)")
      ->capture_default_str();
  cmd->add_option("--hr", options->hr_height, "HR height: 1080 (LR 640x360) or 2160 (LR 1280x720)")
      ->check(CLI::IsMember({1080, 2160}))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed of the camera and object paths")->capture_default_str();
  cmd->add_option("--train-seconds", options->train_seconds, "Length of the train segment (first)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--test-seconds", options->test_seconds,
                  "Length of the test segment (holds the sample's scene cut)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--fps", options->fps,
                  "Frame rate; default: the content's native rate (60; grain 24, low-light 30)")
      ->check(CLI::Range(1, 240));
  cmd->add_option("--photos", options->photos,
                  "Photos (files, or directories of .jpg/.png): shot 1 background, shot 2 background, then the "
                  "moving cut-outs' photos (zoom takes the largest); default: photographs from "
                  "lomiri-wallpapers-20.04 and plasma-workspace-wallpapers");
  cmd->callback([options, content] {
    options->content = eval::parse_sample_content(*content);
    const eval::SampleManifest m = eval::make_sample(*options);
    std::string cuts = "no scene cut";
    if (m.shots.size() == 2) cuts = fmt::format("scene cut at frame {}", m.scene_cut_frame);
    if (m.shots.size() > 2) {
      cuts = fmt::format("{} scene cuts, the first at frame {}", m.shots.size() - 1, m.scene_cut_frame);
    }
    std::printf("sample (%s): %dx%d -> %dx%d at %d fps, %lld frames (%s), %.1f s\n",
                std::string(eval::sample_content_name(options->content)).c_str(), m.hr_width, m.hr_height,
                m.lr_width, m.lr_height, m.fps, static_cast<long long>(m.total_frames()), cuts.c_str(),
                m.elapsed_seconds);
    for (const eval::SampleFile& f : m.files) {
      std::printf("  %-22s %-5s %-6s %5lld frames %10.1f kB %9.1f kbps", f.path.c_str(), f.segment.c_str(),
                  f.codec.c_str(), static_cast<long long>(f.frame_count), static_cast<double>(f.bytes) / 1000,
                  f.measured_kbps);
      if (f.target_kbps > 0) std::printf(" (target %d)", f.target_kbps);
      std::printf("\n");
    }
    std::printf("  manifest: %s\n", (m.dir / "manifest.json").string().c_str());
  });
}

}  // namespace ns::app
