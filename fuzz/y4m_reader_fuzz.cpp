// Fuzz target for reading Y4M (ns/media/reader.cpp: media::VideoReader, which reads Y4M through FFmpeg's demuxer
// and converts every frame to I420): the input is written to a temp .y4m file and read frame by frame. Mutated
// inputs may probe as another format; whatever FFmpeg opens, our wrapper must fail with ns::Error or read it.
#include "fuzz_common.h"
#include "ns/core/error.h"
#include "ns/media/reader.h"

namespace {
constexpr int kMaxFrames = 16;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ns::fuzz::write_temp_file(data, size, ".y4m");
  try {
    ns::media::VideoReader reader(path, {.threads = 1});
    ns::core::Frame frame;
    for (int i = 0; i < kMaxFrames && reader.read(frame); ++i) {
    }
  } catch (const ns::Error&) {
  }
  return 0;
}
