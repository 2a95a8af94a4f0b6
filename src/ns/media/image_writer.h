// ns/media: write a packed 8-bit RGB image as a lossless PNG file with FFmpeg's PNG encoder (the counterpart of
// load_image, which reads it back sample for sample).
// In: a core::RgbImage (any size >= 1x1) and a path. Out: the file, replaced atomically (written beside it, then
// renamed), so that a crash never leaves half a PNG under the final name.
// Thread-safety: free function, reentrant. Errors: ns::Error naming the file: invalid_argument (empty image),
// io (cannot create or write: permissions, disk full), unsupported (FFmpeg built without its PNG encoder).
#pragma once

#include <string>

#include "ns/core/frame.h"

namespace ns::media {

struct PngOptions {
  // zlib level 0..9. A 1080p photo at 3: 0.14 s, 1.9 MB; at 6: 3x slower, 10 % smaller; at 9: 25x slower, 15 %.
  int compression_level = 3;
};

void save_png(const std::string& path, const core::RgbImage& image, const PngOptions& options = {});

}  // namespace ns::media
