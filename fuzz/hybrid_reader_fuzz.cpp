// Fuzz target for the hybrid stream reader (ns/hybrid/reader.cpp): the input is a hybrid file (Matroska: the LR
// track, the anchor track and our tags), read through the public HybridReader from a temp file, frame by frame
// with the anchors decoded. FFmpeg's demuxers and decoders are not instrumented: coverage is that of our code.
#include "fuzz_common.h"
#include "ns/core/error.h"
#include "ns/hybrid/hybrid.h"

namespace {
constexpr int kMaxFrames = 32;  // enough to pair anchors with frames, few enough to keep runs fast
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ns::fuzz::write_temp_file(data, size, ".mkv");
  try {
    ns::hybrid::HybridReader reader(path, {.threads = 1});
    ns::core::Frame lr;
    ns::core::Frame anchor;
    bool has_anchor = false;
    for (int i = 0; i < kMaxFrames && reader.read(lr, anchor, has_anchor); ++i) {
      // hybrid.h: an anchor of another size than the track's is skipped, never given out.
      if (has_anchor) {
        NS_ASSERT(anchor.width() == reader.info().anchor_width && anchor.height() == reader.info().anchor_height);
      }
    }
  } catch (const ns::Error&) {
  }
  return 0;
}
