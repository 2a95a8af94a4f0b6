// ns/core: reading the fields of a JSON document (manifests) with errors that name the file and the field.
// In: a parsed nlohmann::json (or ordered_json). Out: typed values. Errors: ns::Error corrupt, message = prefix + what + suffix, with
// the file in its context (e.g. prefix "sample manifest: ", suffix "; run 'neuroscaler sample' again").
// Thread-safety: a const reader is shared freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"

namespace ns::core {

// v as T, or nothing when v does not fit T. An integer T takes only a JSON integer within its range: nlohmann's
// own get<int>() casts 1e300 or 2^40 unchecked (undefined behaviour), and a config with "frames": 2.5 deserves an
// error, not 2.
template <typename T, typename Json>
std::optional<T> json_value(const Json& v) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (v.is_number_unsigned()) {
      const auto u = v.template get<uint64_t>();
      if (!std::in_range<T>(u)) return std::nullopt;
      return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
      const auto i = v.template get<int64_t>();
      if (!std::in_range<T>(i)) return std::nullopt;
      return static_cast<T>(i);
    }
    return std::nullopt;
  } else {
    try {
      return v.template get<T>();
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;
    }
  }
}

class JsonFieldReader {
 public:
  JsonFieldReader(std::string file, std::string prefix, std::string suffix)
      : file_(std::move(file)), prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}

  // j[key] as T; `where` prefixes the field's name in messages ("hr." for a nested object). Json: nlohmann::json
  // or nlohmann::ordered_json.
  template <typename T, typename Json>
  T get(const Json& j, const char* key, const char* where = "") const {
    if (!j.is_object() || !j.contains(key)) fail(std::string("field '") + where + key + "' is missing");
    std::optional<T> value = json_value<T>(j.at(key));
    if (!value) fail(std::string("field '") + where + key + "' has the wrong type or is out of range");
    return std::move(*value);
  }

  // j[key], which must be a list.
  template <typename Json>
  const Json& array(const Json& j, const char* key) const {
    if (!j.is_object() || !j.contains(key) || !j.at(key).is_array()) {
      fail(std::string("field '") + key + "' is missing or not a list");
    }
    return j.at(key);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::corrupt, prefix_ + what + suffix_, ErrorContext{.file = file_});
  }

 private:
  std::string file_, prefix_, suffix_;
};

}  // namespace ns::core
