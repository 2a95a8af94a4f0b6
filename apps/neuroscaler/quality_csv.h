// The per-frame quality table (CSV) of `quality` and `decode`: to stdout or a file; write errors name the destination.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "ns/core/metrics.h"

namespace ns::app {

class QualityCsv {
 public:
  // `command` prefixes error messages; an empty `path` writes to stdout. `with_anchor` adds an "anchor" column.
  QualityCsv(std::string command, const std::string& path, bool with_anchor = false);
  ~QualityCsv();
  QualityCsv(const QualityCsv&) = delete;
  QualityCsv& operator=(const QualityCsv&) = delete;

  // The header goes out with the first row, so that a run failing on its first frame prints no table.
  void row(int64_t index, const core::FrameQuality& q, bool anchor = false);
  void close();  // flushes; throws ns::Error io when anything failed to write

 private:
  std::string command_;
  std::string path_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  bool with_anchor_ = false;
  bool header_written_ = false;
};

}  // namespace ns::app
