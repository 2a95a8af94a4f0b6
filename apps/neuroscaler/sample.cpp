// neuroscaler sample: render the built-in sample (real photographs, moving camera and objects, a scene cut)
// and write the HR reference (lossless) and the LR streamer encodes (VP9, H.264) with manifest.json.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "ns/eval/sample.h"

namespace ns::app {

void register_sample(CLI::App& app) {
  auto options = std::make_shared<eval::SampleOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sample",
      "Render the built-in sample from photographs in Debian packages (camera pan and zoom, moving cut-outs, one "
      "scene cut): HR reference as lossless FFV1, LR = HR / 3 (area) as VP9 and H.264 streamer encodes, a train "
      "segment then a test segment, and manifest.json");
  cmd->add_option("--out", options->out_dir, "Output directory (created if needed)")->required();
  cmd->add_option("--hr", options->hr_height, "HR height: 1080 (LR 640x360) or 2160 (LR 1280x720)")
      ->check(CLI::IsMember({1080, 2160}))
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Seed of the camera and object paths")->capture_default_str();
  cmd->add_option("--train-seconds", options->train_seconds, "Length of the train segment (first)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--test-seconds", options->test_seconds, "Length of the test segment (holds the scene cut)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--fps", options->fps, "Frame rate")->check(CLI::Range(1, 240))->capture_default_str();
  cmd->add_option("--photos", options->photos,
                  "Photos (files, or directories of .jpg/.png): shot 1 background, shot 2 background, then the "
                  "moving cut-outs' photos; default: photographs from lomiri-wallpapers-20.04 and "
                  "plasma-workspace-wallpapers");
  cmd->callback([options] {
    const eval::SampleManifest m = eval::make_sample(*options);
    std::printf("sample: %dx%d -> %dx%d at %d fps, %lld frames (scene cut at frame %lld), %.1f s\n", m.hr_width,
                m.hr_height, m.lr_width, m.lr_height, m.fps, static_cast<long long>(m.total_frames()),
                static_cast<long long>(m.scene_cut_frame), m.elapsed_seconds);
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
