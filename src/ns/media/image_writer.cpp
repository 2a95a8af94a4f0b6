#include "ns/media/image_writer.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

#include "ns/media/ffmpeg_impl.h"

namespace ns::media {

using detail::check_av;

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

void save_png(const std::string& path, const core::RgbImage& image, const PngOptions& options) {
  detail::route_ffmpeg_logs();
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3) {
    throw Error(ErrorCode::invalid_argument, "png: the image is empty or its pixel buffer does not match its size",
                ErrorContext{.file = path});
  }
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (!codec) {
    throw Error(ErrorCode::unsupported, "png: this FFmpeg has no PNG encoder; install Debian's libavcodec",
                ErrorContext{.file = path});
  }
  detail::CodecContext context(avcodec_alloc_context3(codec));
  if (!context) throw std::bad_alloc();
  AVCodecContext* c = context.get();
  c->width = image.width;
  c->height = image.height;
  c->pix_fmt = AV_PIX_FMT_RGB24;
  c->time_base = AVRational{1, 1};
  c->compression_level = options.compression_level;
  c->thread_count = 1;
  AVDictionary* codec_options = nullptr;
  av_dict_set(&codec_options, "pred", "paeth", 0);  // the best single filter for photographs
  const int opened = avcodec_open2(c, codec, &codec_options);
  av_dict_free(&codec_options);
  check_av(opened, path, "png: opening the PNG encoder", "");

  detail::AvFrame picture = detail::make_av_frame();
  picture->format = AV_PIX_FMT_RGB24;
  picture->width = image.width;
  picture->height = image.height;
  picture->data[0] = const_cast<uint8_t*>(image.pixels.data());  // not reference-counted: the encoder copies
  picture->linesize[0] = image.width * 3;
  picture->pts = 0;
  const int sent = avcodec_send_frame(c, picture.get());
  picture->data[0] = nullptr;
  check_av(sent, path, "png: encoding", "");
  check_av(avcodec_send_frame(c, nullptr), path, "png: flushing the encoder", "");
  detail::AvPacket packet = detail::make_av_packet();
  check_av(avcodec_receive_packet(c, packet.get()), path, "png: encoding", "");

  // Written beside the target, then renamed over it.
  const std::filesystem::path target(path);
  const std::filesystem::path temp = target.parent_path() / (target.filename().string() + ".tmp");
  {
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(temp.c_str(), "wb"));
    if (!file) {
      throw Error(ErrorCode::io, "png: cannot create the file; check that the folder exists and is writable",
                  ErrorContext{.file = temp.string()});
    }
    const size_t size = static_cast<size_t>(packet->size);
    const bool written = std::fwrite(packet->data, 1, size, file.get()) == size && std::fflush(file.get()) == 0;
    if (!written || std::fclose(file.release()) != 0) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
      throw Error(ErrorCode::io, "png: cannot write the file; check free disk space", ErrorContext{.file = path});
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, target, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(temp, ec);
    throw Error(ErrorCode::io, "png: cannot move the written file into place (" + reason + ")",
                ErrorContext{.file = path});
  }
}

}  // namespace ns::media
