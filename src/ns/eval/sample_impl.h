// ns/eval (internal): what the sample driver (sample.cpp) and the sample made from a user's video
// (video_sample.cpp) share: the writable-folder check, each segment's three encoders, the manifest file.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ns/eval/sample.h"
#include "ns/media/writer.h"

namespace ns::eval::detail {

void check_writable(const std::filesystem::path& dir);  // creates it; throws io naming what to do

// One segment's three encoders: HR lossless (FFV1), LR VP9 and H.264 like a streamer.
struct SegmentWriters {
  struct Output {
    SampleFile file;
    std::unique_ptr<media::VideoWriter> writer;
  };
  std::vector<Output> outputs;  // hr, lr_vp9, lr_h264
};
SegmentWriters open_segment(const std::filesystem::path& dir, const std::string& segment, int hr_w, int hr_h,
                            int lr_w, int lr_h, int fps);
// Finishes the encoders and appends their files (sizes, measured bitrates) to `files`.
void close_segment(SegmentWriters& writers, const std::filesystem::path& dir, const SampleSegment& segment,
                   std::vector<SampleFile>& files);

void remove_manifest(const std::filesystem::path& dir);  // a stale one would describe files about to be replaced
void write_manifest(const SampleManifest& m);             // m.dir / manifest.json, atomically

}  // namespace ns::eval::detail
