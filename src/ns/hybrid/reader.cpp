// HybridReader: demuxes both tracks in file order, decodes the LR track with media::Decoder and pairs each decoded
// frame with the anchor of the same presentation timestamp. The muxer stores an anchor next to its frame's packet,
// but the decoder's delay means frames come out later: anchors usually wait (pending, by timestamp). Before a frame
// is returned the demuxer reads on until it has passed the frame's timestamp, so that an anchor stored just after
// the frame's packet is found too; LR packets read meanwhile wait in a short queue for the decoder.
#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <new>

#include "ns/core/log.h"
#include "ns/hybrid/hybrid.h"
#include "ns/hybrid/hybrid_impl.h"
#include "ns/media/ffmpeg_impl.h"

namespace ns::hybrid {

namespace {

constexpr size_t kMaxQueuedPackets = 64;  // LR packets read ahead while looking for a frame's anchor
constexpr int kMaxWarnings = 20;          // per reader; then one line saying that more were not logged

bool is_anchor_codec(AVCodecID id) { return id == AV_CODEC_ID_MJPEG || id == AV_CODEC_ID_JPEG2000; }

std::string role_of(const AVStream& stream) {
  const AVDictionaryEntry* entry = av_dict_get(stream.metadata, detail::kTagRole, nullptr, 0);
  return entry ? entry->value : "";
}

}  // namespace

struct HybridReader::Impl {
  std::string path;
  media::detail::FormatInput input;
  media::detail::AvPacket packet = media::detail::make_av_packet();
  int video_index = -1;
  int anchor_index = -1;
  AVRational video_time_base{0, 1};
  HybridInfo info;
  std::unique_ptr<media::Decoder> decoder;
  std::deque<media::Packet> queued;                    // LR packets read ahead, in decode order
  std::map<int64_t, std::vector<uint8_t>> pending;     // anchor codestreams by pts (LR time base)
  int64_t frontier = INT64_MIN;   // largest decode timestamp read so far (LR time base)
  int64_t video_end = INT64_MIN;  // largest pts + duration of the LR packets read
  int64_t last_pts = INT64_MIN;   // of the last frame returned
  int64_t video_packets = 0;
  int64_t next_index = 0;
  int64_t anchors_read = 0;
  int64_t anchors_skipped = 0;
  bool demux_done = false;  // end of the file, or of its readable part
  bool flushed = false;     // the decoder was told that no packets follow
  bool stopped = false;     // read() returns false from now on
  int warnings = 0;

  template <typename... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    if (warnings > kMaxWarnings) return;
    if (warnings++ == kMaxWarnings) {
      log::warn("hybrid", "{}: more warnings for this file are not logged", path);
      return;
    }
    log::warn("hybrid", "{}: {}", path, fmt::format(format, std::forward<Args>(args)...));
  }

  void open(const media::ReaderOptions& options);
  void select_tracks();
  void read_tags();
  void demux_one();
  void add_anchor(int64_t pts, const AVPacket& p);
  void skip_anchor(int64_t pts, const char* why);
  void warn_if_cut_short();
  bool next_frame(core::Frame& lr);
  void stop();
  bool decode_anchor(int64_t pts, const std::vector<uint8_t>& codestream, core::Frame& anchor);
};

// Track roles come from our tags; files without them (other muxers, older writers) fall back to codecs: the anchor
// track is an image codec beside another video track.
void HybridReader::Impl::select_tracks() {
  std::vector<int> videos;
  for (unsigned i = 0; i < input->nb_streams; ++i) {
    const AVStream& stream = *input->streams[i];
    if (stream.codecpar->codec_type != AVMEDIA_TYPE_VIDEO || (stream.disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      continue;
    }
    const int index = static_cast<int>(i);
    videos.push_back(index);
    const std::string role = role_of(stream);
    if (role == detail::kRoleAnchors && anchor_index < 0) anchor_index = index;
    if (role == detail::kRoleVideo && video_index < 0) video_index = index;
  }
  auto codec_of = [&](int index) { return input->streams[index]->codecpar->codec_id; };
  for (int pass = 0; pass < 2 && video_index < 0; ++pass) {
    for (int index : videos) {
      if (index != anchor_index && (pass == 1 || !is_anchor_codec(codec_of(index)))) {
        video_index = index;
        break;
      }
    }
  }
  if (video_index < 0) {
    throw Error(ErrorCode::unsupported, "no LR video track in the file; give a hybrid stream (.mkv) or a video",
                ErrorContext{.file = path});
  }
  for (int index : videos) {
    if (anchor_index < 0 && index != video_index && is_anchor_codec(codec_of(index))) anchor_index = index;
  }
  if (anchor_index == video_index) anchor_index = -1;
}

void HybridReader::Impl::read_tags() {
  std::map<std::string, std::string> found;
  for (const char* name : detail::kTagNames) {
    if (const AVDictionaryEntry* entry = av_dict_get(input->metadata, name, nullptr, 0)) found[name] = entry->value;
  }
  std::vector<std::string> missing;
  info.tags = detail::parse_tags(found, path, missing);
  // A plain video (no tags, no anchors) gets one warning, in open().
  const bool plain_video = anchor_index < 0 && missing.size() == std::size(detail::kTagNames);
  if (!missing.empty() && !plain_video) {
    std::string names;
    for (const std::string& name : missing) names += (names.empty() ? "" : ", ") + name;
    warn("no tag {}; using the defaults (scale {})", names, info.tags.scale);
  }
  if (anchor_index < 0) return;
  // The track's codec wins over a tag that disagrees (j2k and htj2k share "jpeg2000": only the tag tells them apart).
  const char* track_codec = avcodec_get_name(input->streams[anchor_index]->codecpar->codec_id);
  if (track_codec != std::string(imagecodec::container_codec_name(info.tags.anchor_codec))) {
    const imagecodec::Codec codec =
        std::string(track_codec) == "mjpeg" ? imagecodec::Codec::jpeg : imagecodec::Codec::j2k;
    if (found.count(detail::kTagAnchorCodec)) {
      warn("tag {} says {} but the anchor track is {}; decoding anchors as {}", detail::kTagAnchorCodec,
           imagecodec::codec_name(info.tags.anchor_codec), track_codec, imagecodec::codec_name(codec));
    }
    info.tags.anchor_codec = codec;
  }
}

void HybridReader::Impl::open(const media::ReaderOptions& options) {
  input = media::detail::open_input(path);
  select_tracks();
  info.video = media::detail::describe_stream(*input, video_index, path);
  if (info.video.width <= 0 || info.video.height <= 0) {
    throw Error(ErrorCode::corrupt, "the LR track has no valid frame size; the file looks damaged",
                ErrorContext{.file = path});
  }
  const AVStream& video = *input->streams[video_index];
  video_time_base = video.time_base;
  read_tags();
  info.has_anchors = anchor_index >= 0;
  if (info.has_anchors) {
    const AVCodecParameters& par = *input->streams[anchor_index]->codecpar;
    info.anchor_width = par.width;
    info.anchor_height = par.height;
  } else {
    warn("no anchor track: only the LR frames can be read (the viewer up-scales them {}x)", info.tags.scale);
  }
  // Packets of other tracks (audio, ...) are not wanted: let the demuxer drop them.
  for (unsigned i = 0; i < input->nb_streams; ++i) {
    const int index = static_cast<int>(i);
    if (index != video_index && index != anchor_index) input->streams[i]->discard = AVDISCARD_ALL;
  }
  decoder = std::make_unique<media::Decoder>(info.video, options);
}

void HybridReader::Impl::skip_anchor(int64_t pts, const char* why) {
  ++anchors_skipped;
  warn("anchor at pts {} skipped: {}", pts, why);
}

void HybridReader::Impl::add_anchor(int64_t pts, const AVPacket& p) {
  if (last_pts != INT64_MIN && pts <= last_pts) {
    skip_anchor(pts, "its frame was shown already, or no frame has its timestamp");
  } else if (pending.count(pts)) {
    skip_anchor(pts, "a second anchor for the same frame");
  } else if (pending.size() >= static_cast<size_t>(kMaxPendingAnchors)) {
    skip_anchor(pts, "too many anchors wait for their frames; the file is damaged");
  } else {
    pending.emplace(pts, std::vector<uint8_t>(p.data, p.data + p.size));
  }
}

void HybridReader::Impl::warn_if_cut_short() {
  if (const std::optional<double> reached = media::detail::cut_short_at(*input->streams[video_index], info.video,
                                                                        video_end)) {
    warn("the file is truncated: the LR track ends at {:.2f} s of the {:.2f} s the container declares", *reached,
         info.video.duration_s);
  }
}

void HybridReader::Impl::demux_one() {
  AVPacket* p = packet.get();
  const int status = av_read_frame(input.get(), p);
  if (status == AVERROR_EOF) {
    demux_done = true;
    warn_if_cut_short();
    return;
  }
  if (status < 0) {
    demux_done = true;
    warn("reading stopped after {} LR packets ({}); the file looks truncated or damaged", video_packets,
         media::detail::av_error_text(status));
    return;
  }
  if (p->flags & AV_PKT_FLAG_CORRUPT) {
    demux_done = true;
    warn("a packet is incomplete after {} LR packets; the file looks truncated, reading stops there", video_packets);
  } else if (p->stream_index == video_index) {
    media::Packet out = media::detail::copy_packet(*p, video_packets++);
    if (out.pts != INT64_MIN) video_end = std::max(video_end, out.pts + std::max<int64_t>(out.duration, 0));
    const int64_t time = out.dts != INT64_MIN ? out.dts : out.pts;
    if (time != INT64_MIN) frontier = std::max(frontier, time);
    queued.push_back(std::move(out));
  } else if (p->stream_index == anchor_index) {
    const int64_t raw = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
    if (raw == AV_NOPTS_VALUE) {
      skip_anchor(INT64_MIN, "it has no timestamp");
    } else {
      const int64_t pts = av_rescale_q(raw, input->streams[anchor_index]->time_base, video_time_base);
      frontier = std::max(frontier, pts);
      add_anchor(pts, *p);
    }
  }
  av_packet_unref(p);
}

// Decoder errors end the stream at the last good frame (a truncated file's last packet is the usual cause).
bool HybridReader::Impl::next_frame(core::Frame& lr) {
  while (!stopped) {
    try {
      if (decoder->receive(lr)) return true;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      warn("the LR track stops at frame {}: {}", next_index, e.what());
      break;
    }
    if (flushed) break;
    while (queued.empty() && !demux_done) demux_one();
    if (queued.empty()) {
      decoder->flush();
      flushed = true;
      continue;
    }
    const media::Packet next = std::move(queued.front());
    queued.pop_front();
    try {
      decoder->send(next);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::corrupt) throw;
      warn("the LR track stops at packet {}: {}", next.index, e.what());
      demux_done = true;
      queued.clear();
      decoder->flush();
      flushed = true;
    }
  }
  stop();
  return false;
}

void HybridReader::Impl::stop() {
  if (stopped) return;
  stopped = true;
  for (const auto& entry : pending) skip_anchor(entry.first, "no frame with its timestamp came");
  pending.clear();
}

bool HybridReader::Impl::decode_anchor(int64_t pts, const std::vector<uint8_t>& codestream, core::Frame& anchor) {
  try {
    imagecodec::decode(info.tags.anchor_codec, codestream, anchor);
  } catch (const Error& e) {
    ++anchors_skipped;
    warn("anchor at pts {} does not decode ({}); the frame is rebuilt without it", pts, e.what());
    return false;
  } catch (const std::bad_alloc&) {
    ++anchors_skipped;
    warn("anchor at pts {} claims a size too large to decode; the frame is rebuilt without it", pts);
    return false;
  }
  if (anchor.width() != info.anchor_width || anchor.height() != info.anchor_height) {
    ++anchors_skipped;
    warn("anchor at pts {} is {}x{}, the track says {}x{}; the frame is rebuilt without it", pts, anchor.width(),
         anchor.height(), info.anchor_width, info.anchor_height);
    return false;
  }
  anchor.pts = pts;
  anchor.index = next_index;
  ++anchors_read;
  return true;
}

HybridReader::HybridReader(const std::string& path, const media::ReaderOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->open(options);
}

HybridReader::~HybridReader() = default;

const HybridInfo& HybridReader::info() const { return impl_->info; }

bool HybridReader::read(core::Frame& lr, core::Frame& anchor, bool& has_anchor) {
  Impl& m = *impl_;
  has_anchor = false;
  if (!m.next_frame(lr)) return false;
  const int64_t pts = lr.pts;
  while (!m.demux_done && m.frontier <= pts && m.queued.size() < kMaxQueuedPackets) m.demux_one();
  // Frames come in display order: an anchor older than this frame will never find its frame.
  while (!m.pending.empty() && m.pending.begin()->first < pts) {
    m.skip_anchor(m.pending.begin()->first, "no frame has its timestamp");
    m.pending.erase(m.pending.begin());
  }
  m.last_pts = pts;
  if (const auto it = m.pending.find(pts); it != m.pending.end()) {
    const std::vector<uint8_t> codestream = std::move(it->second);
    m.pending.erase(it);
    has_anchor = m.decode_anchor(pts, codestream, anchor);
  }
  lr.index = m.next_index++;
  return true;
}

int64_t HybridReader::anchors_read() const { return impl_->anchors_read; }
int64_t HybridReader::anchors_skipped() const { return impl_->anchors_skipped; }

const std::vector<media::CodedMotionVector>& HybridReader::motion_vectors() const {
  return impl_->decoder->motion_vectors();
}

HybridCount count_hybrid(const std::string& path, const media::ReaderOptions& options) {
  HybridReader reader(path, options);
  HybridCount count;
  core::Frame lr, anchor;
  bool has_anchor = false;
  while (reader.read(lr, anchor, has_anchor)) {
    ++count.frames;
    count.anchors += has_anchor ? 1 : 0;
  }
  return count;
}

}  // namespace ns::hybrid
