// ns/hybrid internal: what the writer and the reader of the hybrid stream share: the Matroska tag names and values
// (tags.cpp) and the track roles. Never included outside src/ns/hybrid.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ns/hybrid/hybrid.h"

namespace ns::hybrid::detail {

// Global (file) tags, one per HybridTags field.
inline constexpr const char* kTagScale = "NEUROSCALER_SCALE";
inline constexpr const char* kTagModel = "NEUROSCALER_MODEL";
inline constexpr const char* kTagMethod = "NEUROSCALER_METHOD";
inline constexpr const char* kTagFraction = "NEUROSCALER_FRACTION";
inline constexpr const char* kTagAnchorCodec = "NEUROSCALER_ANCHOR_CODEC";
inline constexpr const char* kTagAnchorQuality = "NEUROSCALER_ANCHOR_QUALITY";
inline constexpr const char* kTagNames[] = {kTagScale,        kTagModel,      kTagMethod,
                                            kTagFraction,     kTagAnchorCodec, kTagAnchorQuality};

// Track tag saying what a track holds, so that the reader never has to guess from codecs.
inline constexpr const char* kTagRole = "NEUROSCALER_ROLE";
inline constexpr const char* kRoleVideo = "video";
inline constexpr const char* kRoleAnchors = "anchors";

// The tags of `tags` as (name, value) strings; numbers in the shortest form that reads back exactly.
std::vector<std::pair<std::string, std::string>> tag_values(const HybridTags& tags);

// Throws ns::Error invalid_argument naming `file` when a value is out of the range the reader accepts.
void validate_tags(const HybridTags& tags, const std::string& file);

// Reads tags back from the values found in a file (name -> value, names from kTagNames). A missing tag keeps its
// default and is listed in `missing`; a value that does not parse throws ns::Error corrupt naming `file` and the tag.
HybridTags parse_tags(const std::map<std::string, std::string>& found, const std::string& file,
                      std::vector<std::string>& missing);

}  // namespace ns::hybrid::detail
