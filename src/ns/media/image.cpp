#include "ns/media/image.h"

#include "ns/media/ffmpeg_impl.h"

namespace ns::media {

using detail::check_av;

core::RgbImage load_image(const std::string& path) {
  detail::FormatInput input = detail::open_input(path);
  const int stream_index = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream_index < 0) {
    throw Error(ErrorCode::unsupported, "not an image FFmpeg can decode", ErrorContext{.file = path});
  }
  const AVCodecParameters* par = input->streams[stream_index]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) throw Error(ErrorCode::unsupported, "no decoder for this image type", ErrorContext{.file = path});
  detail::CodecContext context(avcodec_alloc_context3(codec));
  if (!context) throw std::bad_alloc();
  check_av(avcodec_parameters_to_context(context.get(), par), path, "reading image parameters", "");
  check_av(avcodec_open2(context.get(), codec, nullptr), path, "opening the image decoder", "");

  detail::AvPacket packet = detail::make_av_packet();
  detail::AvFrame picture = detail::make_av_frame();
  bool have_picture = false;
  while (!have_picture) {
    const int read = av_read_frame(input.get(), packet.get());
    const bool at_end = read == AVERROR_EOF;
    if (read < 0 && !at_end) check_av(read, path, "reading the image", "the file looks damaged or truncated");
    if (!at_end && packet->stream_index != stream_index) {
      av_packet_unref(packet.get());
      continue;
    }
    const int sent = avcodec_send_packet(context.get(), at_end ? nullptr : packet.get());
    av_packet_unref(packet.get());
    check_av(sent, path, "decoding the image", "the file looks damaged or truncated");
    const int received = avcodec_receive_frame(context.get(), picture.get());
    if (received == 0) {
      have_picture = true;
    } else if (received == AVERROR(EAGAIN) && !at_end) {
      continue;
    } else {
      check_av(received == AVERROR(EAGAIN) ? AVERROR_INVALIDDATA : received, path, "decoding the image",
               "the file looks damaged or truncated");
    }
  }
  if (picture->decode_error_flags != 0) {
    throw Error(ErrorCode::corrupt, "the image is damaged (decoder reported errors)", ErrorContext{.file = path});
  }

  core::RgbImage image(picture->width, picture->height);
  SwsContext* scaler =
      sws_getContext(picture->width, picture->height, static_cast<AVPixelFormat>(picture->format), picture->width,
                     picture->height, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr,
                     nullptr, nullptr);
  if (!scaler) throw Error(ErrorCode::unsupported, "cannot convert the image to RGB", ErrorContext{.file = path});
  uint8_t* planes[4] = {image.pixels.data(), nullptr, nullptr, nullptr};
  int strides[4] = {image.width * 3, 0, 0, 0};
  sws_scale(scaler, picture->data, picture->linesize, 0, picture->height, planes, strides);
  sws_freeContext(scaler);
  return image;
}

}  // namespace ns::media
