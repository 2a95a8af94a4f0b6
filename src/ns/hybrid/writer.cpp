// HybridWriter: libavformat's Matroska muxer with two video tracks (LR packets copied, anchor codestreams) and the
// NeuroScaler tags. Both tracks get the LR stream's time base as a hint; the muxer keeps 1 ms for both, so an
// anchor's timestamp rounds exactly like its frame's.
#include <cstring>

#include "ns/core/log.h"
#include "ns/hybrid/hybrid.h"
#include "ns/hybrid/hybrid_impl.h"
#include "ns/media/ffmpeg_impl.h"

namespace ns::hybrid {

struct HybridWriter::Impl {
  std::string path;
  AVFormatContext* output = nullptr;
  AVStream* video_stream = nullptr;
  AVStream* anchor_stream = nullptr;
  AVRational input_time_base{0, 1};
  media::detail::AvPacket packet = media::detail::make_av_packet();
  int64_t last_video_dts = INT64_MIN;  // input time base: the muxer needs increasing decode timestamps
  int64_t last_anchor_pts = INT64_MIN;
  int64_t video_bytes = 0;
  int64_t anchor_bytes = 0;
  int64_t anchors = 0;
  bool header_written = false;
  bool finished = false;

  ~Impl() {
    if (output) {
      if (output->pb) avio_closep(&output->pb);
      avformat_free_context(output);
    }
  }

  [[noreturn]] void fail(ErrorCode code, const std::string& message) const {
    throw Error(code, message, ErrorContext{.file = path});
  }

  // Any failure of the muxer once the file is open is a failure to write it (FFmpeg's own checks of
  // timestamps are made redundant by ours in write_video / write_anchor).
  void check_write(int status, const char* what) const {
    if (status >= 0 && output->pb && output->pb->error < 0) status = output->pb->error;
    if (status >= 0) return;
    fail(ErrorCode::io, std::string(what) + " failed (" + media::detail::av_error_text(status) +
                            "); check free disk space and permissions");
  }

  void check_usable() const {
    if (finished) fail(ErrorCode::invalid_argument, "write after finish(); create a new HybridWriter");
  }

  // Copies `data` into a fresh packet of `stream` with timestamps in the input time base, then muxes it.
  void write(AVStream* stream, const uint8_t* data, size_t size, int64_t pts, int64_t dts, int64_t duration,
             bool key, const char* what) {
    AVPacket* p = packet.get();
    if (av_new_packet(p, static_cast<int>(size)) < 0) throw std::bad_alloc();
    if (size > 0) std::memcpy(p->data, data, size);
    p->stream_index = stream->index;
    p->pts = pts;
    p->dts = dts;
    p->duration = duration;
    p->flags = key ? AV_PKT_FLAG_KEY : 0;
    av_packet_rescale_ts(p, input_time_base, stream->time_base);
    const int status = av_interleaved_write_frame(output, p);  // takes the packet's reference
    av_packet_unref(p);
    check_write(status, what);
  }
};

HybridWriter::HybridWriter(const std::string& path, const media::StreamInfo& video, const HybridTags& tags,
                           int anchor_width, int anchor_height)
    : impl_(std::make_unique<Impl>()) {
  media::detail::route_ffmpeg_logs();
  Impl& m = *impl_;
  m.path = path;
  if (video.width <= 0 || video.height <= 0 || video.time_base.num <= 0 || video.time_base.den <= 0) {
    m.fail(ErrorCode::invalid_argument, "the LR stream has no valid size or time base (" +
                                            std::to_string(video.width) + "x" + std::to_string(video.height) +
                                            "); pass media::Demuxer::info() of the input");
  }
  if (anchor_width <= 0 || anchor_height <= 0) {
    m.fail(ErrorCode::invalid_argument, "invalid anchor size " + std::to_string(anchor_width) + "x" +
                                            std::to_string(anchor_height) + "; give scale x the LR size");
  }
  detail::validate_tags(tags, path);
  m.input_time_base = AVRational{video.time_base.num, video.time_base.den};

  if (avformat_alloc_output_context2(&m.output, nullptr, "matroska", path.c_str()) < 0 || !m.output) {
    m.fail(ErrorCode::unsupported, "this FFmpeg build has no Matroska muxer");
  }
  for (const auto& [name, value] : detail::tag_values(tags)) {
    av_dict_set(&m.output->metadata, name.c_str(), value.c_str(), 0);
  }

  // Track 1: the LR video, described as the input's demuxer described it. The default flag makes players (and
  // media::Demuxer, via av_find_best_stream) pick it over the larger anchor track.
  m.video_stream = avformat_new_stream(m.output, nullptr);
  if (!m.video_stream) throw std::bad_alloc();
  media::detail::codec_parameters_from(video, *m.video_stream->codecpar);
  m.video_stream->time_base = m.input_time_base;
  if (video.frame_rate.num > 0 && video.frame_rate.den > 0) {
    m.video_stream->avg_frame_rate = AVRational{video.frame_rate.num, video.frame_rate.den};
  }
  m.video_stream->disposition = AV_DISPOSITION_DEFAULT;
  av_dict_set(&m.video_stream->metadata, detail::kTagRole, detail::kRoleVideo, 0);

  // Track 2: the anchors, one intra-coded image per anchor frame.
  const char* anchor_codec_name = imagecodec::container_codec_name(tags.anchor_codec);
  const AVCodecDescriptor* anchor_codec = avcodec_descriptor_get_by_name(anchor_codec_name);
  NS_ASSERT(anchor_codec != nullptr);  // "mjpeg" and "jpeg2000" are in every FFmpeg build
  m.anchor_stream = avformat_new_stream(m.output, nullptr);
  if (!m.anchor_stream) throw std::bad_alloc();
  AVCodecParameters* par = m.anchor_stream->codecpar;
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = anchor_codec->id;
  par->width = anchor_width;
  par->height = anchor_height;
  m.anchor_stream->time_base = m.input_time_base;
  m.anchor_stream->disposition = 0;
  av_dict_set(&m.anchor_stream->metadata, detail::kTagRole, detail::kRoleAnchors, 0);
  av_dict_set(&m.anchor_stream->metadata, "title", "NeuroScaler anchors", 0);

  const int opened = avio_open(&m.output->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (opened < 0) {
    m.fail(ErrorCode::io, "cannot create the file (" + media::detail::av_error_text(opened) +
                              "); check that the folder exists and is writable");
  }
  m.check_write(avformat_write_header(m.output, nullptr), "writing the header");
  m.header_written = true;
}

HybridWriter::~HybridWriter() {
  if (!impl_->finished && impl_->header_written) {
    try {
      finish();
    } catch (const Error& e) {
      log::error("hybrid", "{}", e.what());
    }
  }
}

void HybridWriter::write_video(const media::Packet& packet) {
  Impl& m = *impl_;
  m.check_usable();
  // Matroska stores presentation timestamps; a packet without one takes its decode timestamp.
  const int64_t pts = packet.pts != INT64_MIN ? packet.pts : packet.dts;
  const int64_t dts = packet.dts != INT64_MIN ? packet.dts : pts;
  if (pts == INT64_MIN) {
    m.fail(ErrorCode::invalid_argument,
           "LR packet " + std::to_string(packet.index) + " has no timestamp; remux the input with timestamps");
  }
  if (m.last_video_dts != INT64_MIN && dts <= m.last_video_dts) {
    m.fail(ErrorCode::invalid_argument, "LR packet " + std::to_string(packet.index) + " has decode timestamp " +
                                            std::to_string(dts) + " after " + std::to_string(m.last_video_dts) +
                                            "; give the packets in decode order");
  }
  m.last_video_dts = dts;
  m.write(m.video_stream, packet.data.data(), packet.data.size(), pts,
          packet.dts != INT64_MIN ? packet.dts : AV_NOPTS_VALUE, packet.duration, packet.key, "writing an LR packet");
  m.video_bytes += static_cast<int64_t>(packet.data.size());
}

void HybridWriter::write_anchor(int64_t pts, std::span<const uint8_t> codestream) {
  Impl& m = *impl_;
  m.check_usable();
  if (codestream.empty()) m.fail(ErrorCode::invalid_argument, "empty anchor codestream at pts " + std::to_string(pts));
  if (pts == INT64_MIN) m.fail(ErrorCode::invalid_argument, "anchor without a timestamp; give its frame's pts");
  if (m.last_anchor_pts != INT64_MIN && pts <= m.last_anchor_pts) {
    m.fail(ErrorCode::invalid_argument, "anchor at pts " + std::to_string(pts) + " after one at pts " +
                                            std::to_string(m.last_anchor_pts) +
                                            "; write anchors in display order, one per frame");
  }
  m.last_anchor_pts = pts;
  m.write(m.anchor_stream, codestream.data(), codestream.size(), pts, pts, 0, true, "writing an anchor");
  m.anchor_bytes += static_cast<int64_t>(codestream.size());
  ++m.anchors;
}

void HybridWriter::finish() {
  Impl& m = *impl_;
  if (m.finished || !m.header_written) return;
  m.finished = true;
  m.check_write(av_write_trailer(m.output), "writing the index");
  m.check_write(avio_closep(&m.output->pb), "closing the file");
}

int64_t HybridWriter::video_bytes() const { return impl_->video_bytes; }
int64_t HybridWriter::anchor_bytes() const { return impl_->anchor_bytes; }
int64_t HybridWriter::anchors_written() const { return impl_->anchors; }

}  // namespace ns::hybrid
