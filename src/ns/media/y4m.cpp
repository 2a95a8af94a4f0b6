#include "ns/media/y4m.h"

#include <cerrno>
#include <cstring>

#include "ns/core/error.h"
#include "ns/core/log.h"

namespace ns::media {

static Error write_error(const std::string& path, int error_number) {
  return Error(ErrorCode::io,
               std::string("writing Y4M failed (") + std::strerror(error_number) +
                   "); check free disk space, or that the reading end of the pipe is still open",
               ErrorContext{.file = path});
}

Y4mWriter::Y4mWriter(const std::string& path, int width, int height, Rational frame_rate)
    : path_(path), width_(width), height_(height) {
  if (width <= 0 || height <= 0 || frame_rate.num <= 0 || frame_rate.den <= 0) {
    throw Error(ErrorCode::invalid_argument, "invalid size or frame rate for Y4M", ErrorContext{.file = path});
  }
  if (path == "-") {
    file_ = stdout;
  } else {
    file_ = std::fopen(path.c_str(), "wb");
    if (!file_) {
      throw Error(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                  std::string("cannot create the file (") + std::strerror(errno) +
                      "); check that the folder exists and is writable",
                  ErrorContext{.file = path});
    }
    owns_file_ = true;
  }
  if (std::fprintf(file_, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg\n", width, height, frame_rate.num,
                   frame_rate.den) < 0) {
    throw write_error(path_, errno);
  }
}

Y4mWriter::~Y4mWriter() {
  if (!file_) return;
  try {
    close();
  } catch (const Error& e) {
    log::error("media", "{}", e.what());
  }
}

void Y4mWriter::write(const core::Frame& frame) {
  if (!file_) throw Error(ErrorCode::invalid_argument, "write after close", ErrorContext{.file = path_});
  if (frame.width() != width_ || frame.height() != height_) {
    throw Error(ErrorCode::invalid_argument,
                "frame of " + std::to_string(frame.width()) + "x" + std::to_string(frame.height()) +
                    " given to a Y4M stream of " + std::to_string(width_) + "x" + std::to_string(height_),
                ErrorContext{.file = path_, .frame_index = frame.index});
  }
  if (std::fputs("FRAME\n", file_) < 0) throw write_error(path_, errno);
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const size_t row_bytes = static_cast<size_t>(frame.plane_width(p));
    for (int y = 0; y < frame.plane_height(p); ++y) {
      if (std::fwrite(frame.row(p, y), 1, row_bytes, file_) != row_bytes) throw write_error(path_, errno);
    }
  }
}

void Y4mWriter::close() {
  if (!file_) return;
  std::FILE* file = file_;
  file_ = nullptr;
  const bool flushed = std::fflush(file) == 0;
  const int flush_errno = errno;
  const bool closed = owns_file_ ? std::fclose(file) == 0 : true;
  if (!flushed) throw write_error(path_, flush_errno);
  if (!closed) throw write_error(path_, errno);
}

}  // namespace ns::media
