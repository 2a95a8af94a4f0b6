// ns/media: YUV4MPEG2 (Y4M) writer for 8-bit 4:2:0 frames, to a file or stdout ("-"), pipe-friendly.
// In: frames of the size given at construction. Out: "YUV4MPEG2 W H F<n>:<d> Ip A1:1 C420jpeg" + FRAME
// records. Reading Y4M goes through VideoReader (FFmpeg's demuxer), which keeps us honest about interop.
// Thread-safety: one writer per thread.
// Errors: ns::Error io (cannot create, disk full, closed pipe), invalid_argument (wrong frame size).
#pragma once

#include <cstdio>
#include <string>

#include "ns/core/frame.h"
#include "ns/media/reader.h"

namespace ns::media {

class Y4mWriter {
 public:
  Y4mWriter(const std::string& path, int width, int height, Rational frame_rate);
  ~Y4mWriter();
  Y4mWriter(const Y4mWriter&) = delete;
  Y4mWriter& operator=(const Y4mWriter&) = delete;

  void write(const core::Frame& frame);
  void close();  // flushes and closes; throws io if the data could not be written

 private:
  std::string path_;
  int width_;
  int height_;
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
};

}  // namespace ns::media
