#include "quality_csv.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include "ns/core/error.h"

namespace ns::app {

QualityCsv::QualityCsv(std::string command, const std::string& path, bool with_anchor)
    : command_(std::move(command)), path_(path.empty() ? "stdout" : path), with_anchor_(with_anchor) {
  if (path.empty()) {
    file_ = stdout;
    return;
  }
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) {
    throw Error(ErrorCode::io, command_ + ": cannot create the CSV file (" + std::string(std::strerror(errno)) +
                                   "); check the directory exists and is writable",
                ErrorContext{.file = path});
  }
  owned_ = true;
}

QualityCsv::~QualityCsv() {
  if (owned_ && file_) std::fclose(file_);
}

void QualityCsv::row(int64_t index, const core::FrameQuality& q, bool anchor) {
  if (!header_written_) {
    std::fputs(with_anchor_ ? "frame,anchor,psnr,psnr_y,psnr_u,psnr_v,ssim_y\n" : "frame,psnr,psnr_y,psnr_u,psnr_v,ssim_y\n",
               file_);
    header_written_ = true;
  }
  std::fprintf(file_, "%lld,", static_cast<long long>(index));
  if (with_anchor_) std::fprintf(file_, "%d,", anchor ? 1 : 0);
  std::fprintf(file_, "%.4f,%.4f,%.4f,%.4f,%.6f\n", q.psnr, q.psnr_y, q.psnr_u, q.psnr_v, q.ssim_y);
}

void QualityCsv::close() {
  const bool failed = std::fflush(file_) != 0 || std::ferror(file_) != 0;
  if (owned_) {
    const bool close_failed = std::fclose(file_) != 0;
    file_ = nullptr;
    owned_ = false;
    if (failed || close_failed) {
      throw Error(ErrorCode::io, command_ + ": writing the CSV failed; check free space", ErrorContext{.file = path_});
    }
  } else if (failed) {
    throw Error(ErrorCode::io, command_ + ": writing the CSV to stdout failed (closed pipe?)");
  }
}

}  // namespace ns::app
