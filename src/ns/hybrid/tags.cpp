#include <charconv>
#include <cmath>
#include <system_error>

#include <fmt/format.h>

#include "ns/core/error.h"
#include "ns/hybrid/hybrid_impl.h"

namespace ns::hybrid::detail {

namespace {

constexpr int kMaxScale = 16;
constexpr const char* kScaleRange = "an integer from 1 to 16";
constexpr const char* kFractionRange = "a number from 0 to 1";
constexpr const char* kQualityRange = "a number >= 0";

bool scale_ok(int scale) { return scale >= 1 && scale <= kMaxScale; }
bool fraction_ok(double fraction) { return fraction >= 0 && fraction <= 1; }
bool quality_ok(double quality) { return quality >= 0 && std::isfinite(quality); }

[[noreturn]] void bad_tag(const std::string& file, const char* name, const std::string& value, const char* expected) {
  throw Error(ErrorCode::corrupt,
              std::string("tag ") + name + " is \"" + value + "\" (expected " + expected +
                  "); the file is damaged or was not written by neuroscaler",
              ErrorContext{.file = file});
}

template <typename Number>
Number parse_number(const std::string& value, const std::string& file, const char* name, const char* expected) {
  Number number{};
  const char* end = value.data() + value.size();
  const auto [stop, status] = std::from_chars(value.data(), end, number);
  if (status != std::errc() || stop != end) bad_tag(file, name, value, expected);
  return number;
}

}  // namespace

void validate_tags(const HybridTags& tags, const std::string& file) {
  auto fail = [&](const char* name, const std::string& value, const char* range) {
    throw Error(ErrorCode::invalid_argument, std::string(name) + " is " + value + "; give " + range,
                ErrorContext{.file = file});
  };
  if (!scale_ok(tags.scale)) fail("the scale", std::to_string(tags.scale), kScaleRange);
  if (!fraction_ok(tags.fraction)) fail("the anchor fraction", fmt::format("{}", tags.fraction), kFractionRange);
  if (!quality_ok(tags.anchor_quality)) {
    fail("the anchor quality", fmt::format("{}", tags.anchor_quality), kQualityRange);
  }
}

std::vector<std::pair<std::string, std::string>> tag_values(const HybridTags& tags) {
  return {{kTagScale, std::to_string(tags.scale)},
          {kTagModel, tags.model},
          {kTagMethod, tags.method},
          {kTagFraction, fmt::format("{}", tags.fraction)},
          {kTagAnchorCodec, imagecodec::codec_name(tags.anchor_codec)},
          {kTagAnchorQuality, fmt::format("{}", tags.anchor_quality)}};
}

HybridTags parse_tags(const std::map<std::string, std::string>& found, const std::string& file,
                      std::vector<std::string>& missing) {
  HybridTags tags;
  missing.clear();
  auto value_of = [&](const char* name) -> const std::string* {
    const auto it = found.find(name);
    if (it != found.end()) return &it->second;
    missing.emplace_back(name);
    return nullptr;
  };
  if (const std::string* v = value_of(kTagScale)) {
    tags.scale = parse_number<int>(*v, file, kTagScale, kScaleRange);
    if (!scale_ok(tags.scale)) bad_tag(file, kTagScale, *v, kScaleRange);
  }
  if (const std::string* v = value_of(kTagModel)) tags.model = *v;
  if (const std::string* v = value_of(kTagMethod)) tags.method = *v;
  if (const std::string* v = value_of(kTagFraction)) {
    tags.fraction = parse_number<double>(*v, file, kTagFraction, kFractionRange);
    if (!fraction_ok(tags.fraction)) bad_tag(file, kTagFraction, *v, kFractionRange);
  }
  if (const std::string* v = value_of(kTagAnchorCodec)) {
    try {
      tags.anchor_codec = imagecodec::parse_codec(*v);
    } catch (const Error&) {
      bad_tag(file, kTagAnchorCodec, *v, "jpeg, j2k or htj2k");
    }
  }
  if (const std::string* v = value_of(kTagAnchorQuality)) {
    tags.anchor_quality = parse_number<double>(*v, file, kTagAnchorQuality, kQualityRange);
    if (!quality_ok(tags.anchor_quality)) bad_tag(file, kTagAnchorQuality, *v, kQualityRange);
  }
  return tags;
}

}  // namespace ns::hybrid::detail
