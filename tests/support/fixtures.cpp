#include "support/fixtures.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace ns::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ns-test-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary directory");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

core::Frame synthetic_frame(int width, int height, int64_t index, uint32_t seed, int dx, int dy) {
  core::Frame frame(width, height);
  frame.index = index;
  frame.pts = index;
  // Blobs at seeded positions on a canvas that moves by (dx, dy) per frame.
  std::mt19937 rng(seed);
  struct Blob {
    double x, y, r;
    int value;
  };
  std::vector<Blob> blobs;
  for (int i = 0; i < 24; ++i) {
    blobs.push_back({std::uniform_real_distribution<double>(0, width * 1.5)(rng),
                     std::uniform_real_distribution<double>(0, height * 1.5)(rng),
                     std::uniform_real_distribution<double>(3, width / 6.0 + 4)(rng),
                     std::uniform_int_distribution<int>(-90, 90)(rng)});
  }
  const double ox = static_cast<double>(dx) * index;
  const double oy = static_cast<double>(dy) * index;
  for (int y = 0; y < height; ++y) {
    uint8_t* row = frame.row(0, y);
    for (int x = 0; x < width; ++x) {
      const double cx = x + ox;
      const double cy = y + oy;
      double v = 110 + 40 * std::sin(cx * 0.05) * std::cos(cy * 0.04) + 20 * std::sin((cx + cy) * 0.21);
      for (const Blob& b : blobs) {
        const double d2 = (cx - b.x) * (cx - b.x) + (cy - b.y) * (cy - b.y);
        if (d2 < b.r * b.r) v += b.value;
      }
      row[x] = static_cast<uint8_t>(std::clamp(v, 16.0, 235.0));
    }
  }
  for (int p = 1; p < 3; ++p) {
    for (int y = 0; y < frame.plane_height(p); ++y) {
      uint8_t* row = frame.row(p, y);
      for (int x = 0; x < frame.plane_width(p); ++x) {
        const double cx = 2 * x + ox;
        const double cy = 2 * y + oy;
        const double v = 128 + (p == 1 ? 30 : -25) * std::sin(cx * 0.03 + cy * 0.02);
        row[x] = static_cast<uint8_t>(std::lround(v));
      }
    }
  }
  return frame;
}

core::Frame random_frame(int width, int height, uint32_t seed) {
  core::Frame frame(width, height);
  std::mt19937 rng(seed);
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < frame.plane_height(p); ++y) {
      for (int x = 0; x < frame.plane_width(p); ++x) frame.row(p, y)[x] = static_cast<uint8_t>(rng() & 0xFF);
    }
  }
  return frame;
}

std::vector<core::Frame> read_all_frames(const std::string& path) {
  media::VideoReader reader(path);
  std::vector<core::Frame> frames;
  core::Frame frame;
  while (reader.read(frame)) frames.push_back(frame.clone());
  return frames;
}

bool same_pixels(const core::Frame& a, const core::Frame& b) {
  if (!core::same_size(a, b)) return false;
  for (int p = 0; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < a.plane_height(p); ++y) {
      if (std::memcmp(a.row(p, y), b.row(p, y), a.plane_width(p)) != 0) return false;
    }
  }
  return true;
}

ErrorCode error_code_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "expected an ns::Error, none was thrown";
  return ErrorCode::internal;
}

Error error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an ns::Error, none was thrown";
  return Error(ErrorCode::internal, "no error");
}

void write_synthetic_video(const std::string& path, int width, int height, int count,
                           const media::EncoderSettings& settings, uint32_t seed) {
  media::VideoWriter writer(path, width, height, media::Rational{60, 1}, settings);
  for (int i = 0; i < count; ++i) writer.write(synthetic_frame(width, height, i, seed));
  writer.finish();
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void truncate_copy(const std::string& from, const std::string& to, uint64_t bytes) {
  std::string data = read_text_file(from);
  data.resize(std::min<uint64_t>(bytes, data.size()));
  std::ofstream(to, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

void corrupt_copy(const std::string& from, const std::string& to, uint64_t offset, uint64_t length) {
  std::string data = read_text_file(from);
  for (uint64_t i = offset; i < offset + length && i < data.size(); ++i) data[i] = static_cast<char>(data[i] ^ 0x5a);
  std::ofstream(to, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

CliResult run_cli(const std::vector<std::string>& args) {
  TempDir scratch;
  const std::string out_path = scratch.file("stdout");
  const std::string err_path = scratch.file("stderr");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    std::vector<char*> argv;
    std::string program = NS_CLI_PATH;
    argv.push_back(program.data());
    std::vector<std::string> copies(args);
    for (std::string& a : copies) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text_file(out_path);
  result.err = read_text_file(err_path);
  return result;
}

eval::SampleOptions tiny_sample_options() {
  eval::SampleOptions o;
  o.hr_width = 192;
  o.hr_height = 108;
  // Small versions of photographs (fast to decode, still 3x the output).
  for (const char* name : {"EveningGlow", "Path", "FallenLeaf", "BytheWater"}) {
    o.photos.push_back(std::string("/usr/share/wallpapers/") + name + "/contents/images/640x480.jpg");
  }
  return o;
}

}  // namespace ns::test
