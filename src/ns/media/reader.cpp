#include "ns/media/reader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "ns/core/log.h"
#include "ns/media/ffmpeg_impl.h"

extern "C" {
#include <libavutil/motion_vector.h>
#include <libavutil/pixdesc.h>
}

namespace ns::media {

using detail::check_av;

struct Demuxer::Impl {
  std::function<bool()> interrupt;  // before `input`: FFmpeg may call it until the input is closed
  detail::FormatInput input;
  detail::AvPacket packet = detail::make_av_packet();
  int stream_index = -1;
  int64_t next_index = 0;
  int64_t end_pts = INT64_MIN;  // largest pts + duration seen, in the stream's time base
  StreamInfo info;

  void check_complete() const {
    const std::optional<double> reached = detail::cut_short_at(*input->streams[stream_index], info, end_pts);
    if (!reached) return;
    char detail[96];
    std::snprintf(detail, sizeof detail, "data ends at %.2f s of the %.2f s the container declares", *reached,
                  info.duration_s);
    throw Error(ErrorCode::corrupt, std::string("the file is truncated (") + detail + "); copy it again",
                ErrorContext{.file = info.url});
  }
};

namespace detail {

std::optional<double> cut_short_at(const AVStream& stream, const StreamInfo& info, int64_t end_pts) {
  if (info.duration_s <= 0) return std::nullopt;
  const double start =
      stream.start_time == AV_NOPTS_VALUE ? 0.0 : static_cast<double>(stream.start_time) * av_q2d(stream.time_base);
  const double reached = end_pts == INT64_MIN ? 0.0 : static_cast<double>(end_pts) * av_q2d(stream.time_base) - start;
  const double frame_s = info.frame_rate.num > 0 ? 1.0 / info.frame_rate.value() : 0.04;
  if (reached + std::max(0.1, 3 * frame_s) < info.duration_s) return reached;
  return std::nullopt;
}

namespace {

// An enum field of an FFmpeg struct read as the int it is stored as. Demuxers copy some of them from the file
// unchecked (Matroska's colour elements), and reading a number beyond the enum's range as the enum is undefined
// behaviour (found by fuzz/hybrid_reader_fuzz.cpp).
template <typename Enum>
int stored_value(const Enum& field) {
  static_assert(sizeof(Enum) == sizeof(int));
  int value = 0;
  std::memcpy(&value, &field, sizeof value);
  return value;
}

// FFmpeg's name of an enum field's value, or "" for its "unspecified" value (whose name FFmpeg gives as "unknown")
// and for numbers from `count` (FFmpeg's *_NB) on or below 0.
template <typename Enum>
std::string known_name(const Enum& field, Enum unspecified, Enum count, const char* (*name_of)(Enum)) {
  const int value = stored_value(field);
  if (value < 0 || value >= count || value == unspecified) return "";
  const char* name = name_of(static_cast<Enum>(value));
  return name ? name : "";
}

// The reverse: the value of an FFmpeg name, `unspecified` for "" or a name FFmpeg does not know.
template <typename Enum>
Enum value_of(const std::string& name, Enum unspecified, int (*from_name)(const char*)) {
  const int value = name.empty() ? -1 : from_name(name.c_str());
  return value < 0 ? unspecified : static_cast<Enum>(value);
}

// ffprobe's words for the field order (FFmpeg has no name function for it).
constexpr std::pair<AVFieldOrder, const char*> kFieldOrders[] = {
    {AV_FIELD_PROGRESSIVE, "progressive"}, {AV_FIELD_TT, "tt"}, {AV_FIELD_BB, "bb"},
    {AV_FIELD_TB, "tb"},                   {AV_FIELD_BT, "bt"}};

}  // namespace

StreamInfo describe_stream(const AVFormatContext& input, int stream_index, const std::string& url) {
  const AVStream* stream = input.streams[stream_index];
  const AVCodecParameters* par = stream->codecpar;
  StreamInfo info;
  info.url = url;
  info.codec = avcodec_get_name(par->codec_id);
  info.width = par->width;
  info.height = par->height;
  const AVRational rate = stream->avg_frame_rate.num ? stream->avg_frame_rate : stream->r_frame_rate;
  info.frame_rate = {rate.num, rate.den};
  info.time_base = {stream->time_base.num, stream->time_base.den};
  info.frame_count = stream->nb_frames > 0 ? stream->nb_frames : -1;
  if (stream->duration != AV_NOPTS_VALUE) {
    info.duration_s = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
  } else if (input.duration != AV_NOPTS_VALUE) {
    info.duration_s = static_cast<double>(input.duration) / AV_TIME_BASE;
  }
  info.bitrate_bps = par->bit_rate > 0 ? par->bit_rate : input.bit_rate;
  if (par->extradata && par->extradata_size > 0) {
    info.extradata.assign(par->extradata, par->extradata + par->extradata_size);
  }
  const char* format = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
  info.pixel_format = format ? format : "";
  info.color_range = known_name(par->color_range, AVCOL_RANGE_UNSPECIFIED, AVCOL_RANGE_NB, av_color_range_name);
  info.color_primaries =
      known_name(par->color_primaries, AVCOL_PRI_UNSPECIFIED, AVCOL_PRI_NB, av_color_primaries_name);
  info.color_transfer = known_name(par->color_trc, AVCOL_TRC_UNSPECIFIED, AVCOL_TRC_NB, av_color_transfer_name);
  info.color_space = known_name(par->color_space, AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_NB, av_color_space_name);
  info.chroma_location =
      known_name(par->chroma_location, AVCHROMA_LOC_UNSPECIFIED, AVCHROMA_LOC_NB, av_chroma_location_name);
  for (const auto& [order, name] : kFieldOrders) {
    if (stored_value(par->field_order) == order) info.field_order = name;
  }
  info.sample_aspect_ratio = {par->sample_aspect_ratio.num, par->sample_aspect_ratio.den};
  info.profile = par->profile;
  info.level = par->level;
  return info;
}

void codec_parameters_from(const StreamInfo& info, AVCodecParameters& par) {
  const AVCodecDescriptor* descriptor = avcodec_descriptor_get_by_name(info.codec.c_str());
  if (!descriptor || descriptor->type != AVMEDIA_TYPE_VIDEO) {
    throw Error(ErrorCode::unsupported, "\"" + info.codec + "\" is not a video codec this FFmpeg build knows",
                ErrorContext{.file = info.url});
  }
  par.codec_type = AVMEDIA_TYPE_VIDEO;
  par.codec_id = descriptor->id;
  par.width = info.width;
  par.height = info.height;
  av_freep(&par.extradata);
  par.extradata_size = 0;
  if (!info.extradata.empty()) {
    par.extradata = static_cast<uint8_t*>(av_mallocz(info.extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!par.extradata) throw std::bad_alloc();
    std::memcpy(par.extradata, info.extradata.data(), info.extradata.size());
    par.extradata_size = static_cast<int>(info.extradata.size());
  }
  par.format = info.pixel_format.empty() ? AV_PIX_FMT_NONE : av_get_pix_fmt(info.pixel_format.c_str());
  par.color_range = value_of(info.color_range, AVCOL_RANGE_UNSPECIFIED, av_color_range_from_name);
  par.color_primaries = value_of(info.color_primaries, AVCOL_PRI_UNSPECIFIED, av_color_primaries_from_name);
  par.color_trc = value_of(info.color_transfer, AVCOL_TRC_UNSPECIFIED, av_color_transfer_from_name);
  par.color_space = value_of(info.color_space, AVCOL_SPC_UNSPECIFIED, av_color_space_from_name);
  par.chroma_location = value_of(info.chroma_location, AVCHROMA_LOC_UNSPECIFIED, av_chroma_location_from_name);
  par.field_order = AV_FIELD_UNKNOWN;
  for (const auto& [order, name] : kFieldOrders) {
    if (info.field_order == name) par.field_order = order;
  }
  par.sample_aspect_ratio = AVRational{info.sample_aspect_ratio.num, info.sample_aspect_ratio.den};
  par.profile = info.profile;
  par.level = info.level;
}

Packet copy_packet(const AVPacket& packet, int64_t index) {
  Packet out;
  out.data.assign(packet.data, packet.data + packet.size);
  out.pts = packet.pts == AV_NOPTS_VALUE ? INT64_MIN : packet.pts;
  out.dts = packet.dts == AV_NOPTS_VALUE ? INT64_MIN : packet.dts;
  out.duration = packet.duration;
  out.key = (packet.flags & AV_PKT_FLAG_KEY) != 0;
  out.index = index;
  return out;
}

}  // namespace detail

Demuxer::Demuxer(const std::string& url, std::function<bool()> interrupt) : impl_(std::make_unique<Impl>()) {
  impl_->interrupt = std::move(interrupt);
  impl_->input = detail::open_input(url, &impl_->interrupt);
  AVFormatContext* input = impl_->input.get();
  const int best = av_find_best_stream(input, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (best < 0) {
    throw Error(ErrorCode::unsupported, "no video stream in the input; give a video file or URL",
                ErrorContext{.file = url});
  }
  impl_->stream_index = best;
  impl_->info = detail::describe_stream(*input, best, url);
  if (impl_->info.width <= 0 || impl_->info.height <= 0) {
    throw Error(ErrorCode::corrupt, "the video stream has no valid frame size; the file looks damaged",
                ErrorContext{.file = url});
  }
}

Demuxer::~Demuxer() = default;

const StreamInfo& Demuxer::info() const { return impl_->info; }

std::optional<Packet> Demuxer::read() {
  AVPacket* packet = impl_->packet.get();
  for (;;) {
    const int status = av_read_frame(impl_->input.get(), packet);
    if (status == AVERROR_EOF) {
      impl_->check_complete();
      return std::nullopt;
    }
    if (status == AVERROR_EXIT) {
      throw Error(ErrorCode::io,
                  "reading packet " + std::to_string(impl_->next_index) +
                      " was interrupted (stopped, or no data in time)",
                  ErrorContext{.file = impl_->info.url});
    }
    if (status < 0) {
      throw Error(detail::classify_av_error(status) == ErrorCode::io ? ErrorCode::io : ErrorCode::corrupt,
                  "reading packet " + std::to_string(impl_->next_index) + " failed (" + detail::av_error_text(status) +
                      "); the file looks damaged or truncated",
                  ErrorContext{.file = impl_->info.url});
    }
    if (packet->stream_index != impl_->stream_index) {
      av_packet_unref(packet);
      continue;
    }
    if (packet->flags & AV_PKT_FLAG_CORRUPT) {
      const int size = packet->size;
      av_packet_unref(packet);
      throw Error(ErrorCode::corrupt,
                  "packet " + std::to_string(impl_->next_index) + " is incomplete (" + std::to_string(size) +
                      " bytes read); the file looks truncated or damaged",
                  ErrorContext{.file = impl_->info.url});
    }
    if (packet->pts != AV_NOPTS_VALUE) {
      impl_->end_pts = std::max(impl_->end_pts, packet->pts + std::max<int64_t>(packet->duration, 0));
    }
    Packet out = detail::copy_packet(*packet, impl_->next_index++);
    av_packet_unref(packet);
    return out;
  }
}

struct Decoder::Impl {
  std::string url;
  detail::CodecContext context;
  detail::AvFrame picture = detail::make_av_frame();
  detail::AvPacket packet = detail::make_av_packet();
  SwsContext* scaler = nullptr;
  int64_t decoded = 0;
  int64_t last_packet = -1;
  bool export_mvs = false;
  std::vector<CodedMotionVector> mvs;  // of the last received frame
  ~Impl() { sws_freeContext(scaler); }

  // Finds and opens the decoder of `par`; `time_base`: the packets' unit.
  void open(const AVCodecParameters& par, AVRational time_base, const std::string& codec_name,
            const ReaderOptions& options);

  // AVMotionVector gives the block's centre (dst) and the displacement motion / motion_scale in pixels.
  void copy_motion_vectors(const AVFrame& frame) {
    mvs.clear();
    const AVFrameSideData* side = av_frame_get_side_data(&frame, AV_FRAME_DATA_MOTION_VECTORS);
    if (!side) return;
    const size_t count = side->size / sizeof(AVMotionVector);
    const auto* src = reinterpret_cast<const AVMotionVector*>(side->data);
    mvs.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const AVMotionVector& v = src[i];
      const int scale = v.motion_scale > 0 ? v.motion_scale : 1;
      CodedMotionVector out;
      out.width = v.w;
      out.height = v.h;
      out.x = v.dst_x - v.w / 2;
      out.y = v.dst_y - v.h / 2;
      // Quarter pels, rounded to nearest (exact for H.264, whose scale is 4).
      auto quarter = [scale](int m) {
        const int64_t q = 4 * static_cast<int64_t>(m);
        return static_cast<int>(q >= 0 ? (q + scale / 2) / scale : -((-q + scale / 2) / scale));
      };
      out.dx = quarter(v.motion_x);
      out.dy = quarter(v.motion_y);
      out.source = v.source > 0 ? 1 : -1;
      mvs.push_back(out);
    }
  }
};

void Decoder::Impl::open(const AVCodecParameters& par, AVRational time_base, const std::string& codec_name,
                         const ReaderOptions& options) {
  const AVCodec* codec = avcodec_find_decoder(par.codec_id);
  if (!codec) {
    throw Error(ErrorCode::unsupported, "no decoder for codec " + codec_name + " in this FFmpeg build",
                ErrorContext{.file = url});
  }
  context.reset(avcodec_alloc_context3(codec));
  if (!context) throw std::bad_alloc();
  check_av(avcodec_parameters_to_context(context.get(), &par), url, "copying codec parameters", "");
  if (time_base.num > 0 && time_base.den > 0) context->pkt_timebase = time_base;
  context->thread_count = options.threads;
  AVDictionary* settings = nullptr;
  if (options.export_motion_vectors) av_dict_set(&settings, "flags2", "+export_mvs", 0);
  export_mvs = options.export_motion_vectors;
  const int opened = avcodec_open2(context.get(), codec, &settings);
  av_dict_free(&settings);
  check_av(opened, url, "opening the decoder", "the stream's codec parameters look damaged");
}

Decoder::Decoder(Demuxer& demuxer, const ReaderOptions& options) : impl_(std::make_unique<Impl>()) {
  const StreamInfo& info = demuxer.info();
  impl_->url = info.url;
  const AVStream* stream = demuxer.impl_->input->streams[demuxer.impl_->stream_index];
  impl_->open(*stream->codecpar, stream->time_base, info.codec, options);
}

Decoder::Decoder(const StreamInfo& info, const ReaderOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->url = info.url;
  std::unique_ptr<AVCodecParameters, void (*)(AVCodecParameters*)> par(
      avcodec_parameters_alloc(), [](AVCodecParameters* p) { avcodec_parameters_free(&p); });
  if (!par) throw std::bad_alloc();
  detail::codec_parameters_from(info, *par);
  impl_->open(*par, AVRational{info.time_base.num, info.time_base.den}, info.codec, options);
}

Decoder::~Decoder() = default;

void Decoder::send(const Packet& packet) {
  AVPacket* av = impl_->packet.get();
  av->data = const_cast<uint8_t*>(packet.data.data());  // not reference-counted: FFmpeg copies if it keeps it
  av->size = static_cast<int>(packet.data.size());
  av->pts = packet.pts == INT64_MIN ? AV_NOPTS_VALUE : packet.pts;
  av->dts = packet.dts == INT64_MIN ? AV_NOPTS_VALUE : packet.dts;
  av->duration = packet.duration;
  av->flags = packet.key ? AV_PKT_FLAG_KEY : 0;
  impl_->last_packet = packet.index;
  const int status = avcodec_send_packet(impl_->context.get(), av);
  av->data = nullptr;
  av->size = 0;
  NS_ASSERT(status != AVERROR(EAGAIN));  // callers drain receive() before sending again
  if (status < 0) {
    throw Error(ErrorCode::corrupt,
                "packet " + std::to_string(packet.index) + " was rejected by the decoder (" +
                    detail::av_error_text(status) + "); the stream is damaged",
                ErrorContext{.file = impl_->url});
  }
}

void Decoder::flush() {
  const int status = avcodec_send_packet(impl_->context.get(), nullptr);
  if (status < 0 && status != AVERROR_EOF) check_av(status, impl_->url, "flushing the decoder", "");
}

bool Decoder::receive(core::Frame& out) {
  AVFrame* picture = impl_->picture.get();
  const int status = avcodec_receive_frame(impl_->context.get(), picture);
  if (status == AVERROR(EAGAIN) || status == AVERROR_EOF) return false;
  if (status < 0) {
    throw Error(ErrorCode::corrupt,
                "decoding failed after packet " + std::to_string(impl_->last_packet) + " (" +
                    detail::av_error_text(status) + "); the stream is damaged",
                ErrorContext{.file = impl_->url, .frame_index = impl_->decoded});
  }
  if (picture->decode_error_flags != 0 || (picture->flags & AV_FRAME_FLAG_CORRUPT)) {
    const int64_t index = impl_->decoded;
    av_frame_unref(picture);
    throw Error(ErrorCode::corrupt, "the decoder reported a damaged picture; the stream is damaged",
                ErrorContext{.file = impl_->url, .frame_index = index});
  }
  if (impl_->export_mvs) impl_->copy_motion_vectors(*picture);
  detail::picture_to_i420(*picture, out, impl_->scaler);
  out.pts = picture->best_effort_timestamp == AV_NOPTS_VALUE ? impl_->decoded : picture->best_effort_timestamp;
  out.index = impl_->decoded++;
  av_frame_unref(picture);
  return true;
}

int64_t Decoder::frames_decoded() const { return impl_->decoded; }

const std::vector<CodedMotionVector>& Decoder::motion_vectors() const { return impl_->mvs; }

VideoReader::VideoReader(const std::string& url, const ReaderOptions& options)
    : demuxer_(url), decoder_(demuxer_, options) {}

VideoReader::~VideoReader() = default;

const StreamInfo& VideoReader::info() const { return demuxer_.info(); }

bool VideoReader::read(core::Frame& out) {
  for (;;) {
    if (decoder_.receive(out)) {
      out.index = next_index_++;
      return true;
    }
    if (flushed_) return false;
    std::optional<Packet> packet = demuxer_.read();
    if (packet) {
      decoder_.send(*packet);
    } else {
      decoder_.flush();
      flushed_ = true;
    }
  }
}

}  // namespace ns::media
