// ns/sr/train (internal): what building the stream set (stream_set.cpp) and its manifest (stream_set_manifest.cpp)
// share: the manifest's file and format names, the still clip's length it records, and the manifest writer.
#pragma once

#include "ns/sr/train/stream_set.h"

namespace ns::sr::train {

inline constexpr const char* kManifestName = "manifest.json";
inline constexpr const char* kFormatName = "neuroscaler-stream-set";  // the manifest's "format"; the marker's text
inline constexpr int kStillClipFrames = 8;  // a still is encoded as this many copies; its frame 0 (intra) is kept

// Writes m.dir/manifest.json (beside it first, then renamed), recording `options`. Throws io when it cannot.
void write_manifest(const StreamSetManifest& m, const StreamSetOptions& options);

}  // namespace ns::sr::train
