// Test support: temporary directories, synthetic frames and videos generated at test time, and a way
// to run the neuroscaler program and capture what it prints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ns/core/error.h"
#include "ns/core/frame.h"
#include "ns/eval/sample.h"
#include "ns/media/writer.h"

namespace ns::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Deterministic content: smooth gradients plus seeded noise blobs, translated by (dx, dy) pixels per
// frame index so that codecs see real motion. Same (w, h, index, seed) -> same pixels.
core::Frame synthetic_frame(int width, int height, int64_t index, uint32_t seed = 1, int dx = 2, int dy = 1);

// Seeded uniform noise on every plane (worst case for kernels, no structure).
core::Frame random_frame(int width, int height, uint32_t seed);

// True when both frames have the same size and identical visible samples (padding ignored).
bool same_pixels(const core::Frame& a, const core::Frame& b);

// Runs `action` and returns the code of the ns::Error it throws; records a test failure if it throws none.
ErrorCode error_code_of(const std::function<void()>& action);
// The ns::Error `action` throws (a test failure, and an internal error, if it throws none).
Error error_of(const std::function<void()>& action);

// Writes `count` synthetic frames at 60 fps through VideoWriter with `settings`.
void write_synthetic_video(const std::string& path, int width, int height, int count,
                           const media::EncoderSettings& settings, uint32_t seed = 1);

// The whole file as text ("" when it cannot be read: the caller's checks then fail).
std::string read_text_file(const std::string& path);

// A tiny built-in sample (192x108, LR 64x36) from small photographs of plasma-workspace-wallpapers; callers set
// out_dir, and the segment lengths and frame rate they need.
eval::SampleOptions tiny_sample_options();

// Every frame of a video, decoded by media::VideoReader.
std::vector<core::Frame> read_all_frames(const std::string& path);

// Copies the first `bytes` bytes of `from` into `to` (truncated fixtures), or flips bytes from
// `offset` on with a fixed xor pattern (corrupt fixtures).
void truncate_copy(const std::string& from, const std::string& to, uint64_t bytes);
void corrupt_copy(const std::string& from, const std::string& to, uint64_t offset, uint64_t length);

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the neuroscaler program built next to the tests with the given arguments (no shell involved).
CliResult run_cli(const std::vector<std::string>& args);

}  // namespace ns::test
