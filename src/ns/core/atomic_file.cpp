#include "ns/core/atomic_file.h"

#include <fstream>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "ns/core/error.h"

namespace ns::core {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path& path, std::string_view who, const std::string& reason) {
  throw Error(ErrorCode::io,
              fmt::format("{}: cannot write {} ({}); check the disk (full?)", who, path.filename().string(), reason),
              ErrorContext{.file = path.string()});
}

}  // namespace

fs::path temporary_path(const fs::path& path) { return fs::path(path.string() + ".tmp"); }

void rename_into_place(const fs::path& temp, const fs::path& path, std::string_view who) {
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) fail(path, who, ec.message());
}

void write_text_atomically(const fs::path& path, std::string_view text, std::string_view who) {
  const fs::path temp = temporary_path(path);
  {
    std::ofstream f(temp, std::ios::binary | std::ios::trunc);
    if (!f) fail(path, who, "cannot create " + temp.filename().string());
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!f.flush()) fail(path, who, "short write");
  }
  rename_into_place(temp, path, who);
}

}  // namespace ns::core
