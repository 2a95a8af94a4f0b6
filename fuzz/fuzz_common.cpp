#include "fuzz_common.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "ns/core/log.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ns::log::set_level(ns::log::Level::off);
  return 0;
}

namespace ns::fuzz {

namespace {

// Removes the process's temp file at exit (libFuzzer exits through exit() when a run ends normally).
struct TempFile {
  std::string path;
  ~TempFile() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove(path, ignored);
  }
};

}  // namespace

std::string write_temp_file(const uint8_t* data, size_t size, const std::string& extension) {
  static TempFile file_of_process;  // one per process: a target always asks with the same extension
  std::string& path = file_of_process.path;
  if (path.empty()) {
    const std::filesystem::path dir =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    path = (dir / ("ns-fuzz-" + std::to_string(getpid()) + extension)).string();
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw std::runtime_error("fuzz: cannot create " + path);
  const bool written = std::fwrite(data, 1, size, file) == size;
  if (std::fclose(file) != 0 || !written) throw std::runtime_error("fuzz: cannot write " + path);
  return path;
}

}  // namespace ns::fuzz
