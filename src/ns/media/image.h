// ns/media: load a still image (JPEG, PNG, WebP, ... anything FFmpeg decodes) as packed 8-bit RGB.
// In: a path. Out: core::RgbImage in the image's own size (alpha dropped, 16-bit reduced to 8-bit).
// Thread-safety: free function, reentrant.
// Errors: ns::Error naming the file: not_found, corrupt, unsupported.
#pragma once

#include <string>

#include "ns/core/frame.h"

namespace ns::media {

core::RgbImage load_image(const std::string& path);

}  // namespace ns::media
