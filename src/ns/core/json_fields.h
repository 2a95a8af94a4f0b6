// ns/core: reading the fields of a JSON document (manifests) with errors that name the file and the field.
// In: a parsed nlohmann::json (or ordered_json). Out: typed values. Errors: ns::Error corrupt, message = prefix + what + suffix, with
// the file in its context (e.g. prefix "sample manifest: ", suffix "; run 'neuroscaler sample' again").
// Thread-safety: a const reader is shared freely.
#pragma once

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"

namespace ns::core {

class JsonFieldReader {
 public:
  JsonFieldReader(std::string file, std::string prefix, std::string suffix)
      : file_(std::move(file)), prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}

  // j[key] as T; `where` prefixes the field's name in messages ("hr." for a nested object). Json: nlohmann::json
  // or nlohmann::ordered_json.
  template <typename T, typename Json>
  T get(const Json& j, const char* key, const char* where = "") const {
    if (!j.is_object() || !j.contains(key)) fail(std::string("field '") + where + key + "' is missing");
    try {
      return j.at(key).template get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(std::string("field '") + where + key + "' has the wrong type");
    }
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
