// The ingest thread of one stream: open the input, the model and the hybrid output; then for every packet, at the
// source's pace: copy it into the output, probe it for the scheduler, decode it and keep the frames for selection.
#include <algorithm>
#include <condition_variable>
#include <optional>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/engine_impl.h"

namespace ns::engine::detail {

namespace {

// Real-time replay: packet pts (time base units) to the wall-clock time it is due, from the first packet on.
class Pacer {
 public:
  explicit Pacer(media::Rational time_base) : time_base_(time_base) {}
  std::optional<Clock::time_point> due(int64_t pts) {
    if (pts == INT64_MIN) return std::nullopt;
    if (first_pts_ == INT64_MIN) {
      first_pts_ = pts;
      start_ = Clock::now();
    }
    const double seconds = static_cast<double>(pts - first_pts_) * time_base_.value();
    return start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

 private:
  media::Rational time_base_;
  int64_t first_pts_ = INT64_MIN;
  Clock::time_point start_;
};

void count_frame(Stream& stream, Clock::time_point packet_in) {
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(stream.stats_mutex);
    if (stream.first_frame == Clock::time_point{}) stream.first_frame = now;
    stream.last_frame = now;
    stream.decode_ms.add(std::chrono::duration<double, std::milli>(now - packet_in).count());
  }
  ++stream.frames;
}

// NeuroScaler's methods: the frame waits for the epoch's selection.
void keep_frame(Stream& stream, core::Frame& frame, Clock::time_point packet_in, size_t max_pending) {
  count_frame(stream, packet_in);
  std::lock_guard lock(stream.frames_mutex);
  const int64_t index = frame.index;
  stream.pending.insert_or_assign(index, std::move(frame));
  frame = core::Frame();
  while (stream.pending.size() > max_pending) stream.pending.erase(stream.pending.begin());
}

// The baselines: which frames are super-resolved (display index modulo the epoch), and their way to the HR output.
class BaselineFeed {
 public:
  BaselineFeed(Stream& stream, Scheduling& scheduling, const EngineConfig& config, BaselineOutput& output)
      : stream_(stream),
        scheduling_(scheduling),
        output_(output),
        epoch_(epoch_duration(config)),
        sr_at_(static_cast<size_t>(config.epoch_frames), stream.config.method == "perframe") {
    if (stream.config.method == "selective") {  // uniform: the paper's 8 of every 40 frames at 0.2
      const double fraction = stream.config.fraction > 0 ? stream.config.fraction : kSelectiveFraction;
      const int k = std::max(1, static_cast<int>(fraction * config.epoch_frames + 0.5));
      for (int offset : anchor::uniform_offsets(config.epoch_frames, k)) sr_at_[static_cast<size_t>(offset)] = true;
    }
  }

  // An SR frame's deadline is one epoch after it was decoded, as a NeuroScaler anchor's is at most.
  bool take(core::Frame& frame, Clock::time_point packet_in) {
    count_frame(stream_, packet_in);
    BaselineFrame next{.lr = std::move(frame), .sr = sr_at_[static_cast<size_t>(next_index_++) % sr_at_.size()],
                       .hr = {}, .deadline = Clock::now() + epoch_};
    frame = core::Frame();
    if (next.sr) {
      ++stream_.anchors_selected;
      next.hr = scheduling_.submit(stream_, next.lr.clone(), next.deadline);
      if (!next.hr.valid()) ++stream_.anchors_dropped_full;
    }
    return output_.push(std::move(next));
  }

 private:
  Stream& stream_;
  Scheduling& scheduling_;
  BaselineOutput& output_;
  const Clock::duration epoch_;
  std::vector<bool> sr_at_;
  int64_t next_index_ = 0;
};

void open_stream(Stream& stream, media::Demuxer& demuxer) {
  const media::StreamInfo& info = demuxer.info();
  stream.model = std::make_shared<const sr::Model>(sr::load_model(stream.config.model));
  stream.tags.scale = stream.model->desc.scale;
  stream.tags.model = stream.model->desc.name();
  if (!stream.baseline) {
    auto writer = std::make_unique<hybrid::HybridWriter>(stream.config.output, info, stream.tags,
                                                         info.width * stream.tags.scale,
                                                         info.height * stream.tags.scale);
    std::lock_guard lock(stream.writer_mutex);
    stream.writer = std::move(writer);
  }
  stream.lr_width = info.width;
  stream.lr_height = info.height;
  stream.fps = info.frame_rate.num > 0 ? info.frame_rate.value() : 60.0;
}

}  // namespace

Clock::duration epoch_duration(const EngineConfig& config) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.epoch_frames / config.fps));
}

bool wait_until(std::stop_token stop, Clock::time_point due) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  return !wake.wait_until(lock, stop, due, [] { return false; }) && !stop.stop_requested();
}

void run_ingest(std::stop_token stop, Stream& stream, Scheduling& scheduling, const EngineConfig& config) {
  const std::string logger = logger_name(stream);
  // FFmpeg asks this while it waits for data: a stop ends the wait, and so does a source silent for longer than the
  // stall timeout (opening included: a live source must connect and send its header within it).
  const auto stall_timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(config.stall_timeout_s));
  std::optional<Clock::time_point> reading_since;
  bool stalled = false;
  auto interrupt = [&] {
    if (stop.stop_requested()) return true;
    stalled = reading_since && Clock::now() - *reading_since > stall_timeout;
    return stalled;
  };
  try {
    reading_since = Clock::now();
    media::Demuxer demuxer(stream.config.input, interrupt);
    reading_since.reset();
    media::Decoder decoder(demuxer, media::ReaderOptions{.threads = 1});  // one thread: no frame delay
    media::BitstreamProbe probe(demuxer.info());
    open_stream(stream, demuxer);
    scheduling.open(stream, demuxer.info());
    stream.wait_warmed(stop);
    stream.opened = true;
    StreamState expected = StreamState::starting;
    stream.state.compare_exchange_strong(expected, StreamState::running);
    log::info(logger, "{}: {} {}x{} at {:.3g} fps, model {}, output {}", stream.config.input, demuxer.info().codec,
              stream.lr_width, stream.lr_height, stream.fps, stream.tags.model, stream.config.output);

    const size_t max_pending = static_cast<size_t>(kMaxPendingEpochs) * static_cast<size_t>(config.epoch_frames);
    std::optional<BaselineOutput> hr_output;
    std::optional<BaselineFeed> baseline;
    if (stream.baseline) {
      const media::Rational rate = demuxer.info().frame_rate.num > 0 ? demuxer.info().frame_rate
                                                                     : media::Rational{60, 1};
      hr_output.emplace(stream, stream.tags.scale, rate);
      baseline.emplace(stream, scheduling, config, *hr_output);
    }
    // Every decoded frame: to selection (NeuroScaler) or to the HR output (baselines; false once that failed).
    auto take_frame = [&](core::Frame& frame, Clock::time_point packet_in) {
      if (frame.width() != stream.lr_width || frame.height() != stream.lr_height) {
        // The model, the selection and the output file are made for one size (an encoder restarted mid-feed).
        throw Error(ErrorCode::unsupported,
                    fmt::format("the input changed its picture size from {}x{} to {}x{} at frame {}; a stream "
                                "keeps one size: add it again as a new stream for the new size",
                                stream.lr_width, stream.lr_height, frame.width(), frame.height(), stream.frames.load()),
                    ErrorContext{.file = stream.config.input});
      }
      if (baseline) return baseline->take(frame, packet_in);
      keep_frame(stream, frame, packet_in, max_pending);
      return true;
    };
    Pacer pacer(demuxer.info().time_base);
    std::vector<media::CodedFrame> coded;
    core::Frame frame;
    bool output_ok = true;
    const int64_t max_frames = stream.config.frames > 0 ? stream.config.frames : INT64_MAX;
    while (output_ok && !stop.stop_requested() && stream.state == StreamState::running && stream.frames < max_frames) {
      reading_since = Clock::now();
      std::optional<media::Packet> packet = demuxer.read();
      reading_since.reset();
      if (!packet) break;
      if (stream.config.realtime) {
        const std::optional<Clock::time_point> due = pacer.due(packet->pts);
        if (due && !wait_until(stop, *due)) break;
      }
      const Clock::time_point packet_in = Clock::now();
      coded.clear();
      if (!baseline) {
        try {
          probe.probe(*packet, coded);
        } catch (const Error& e) {
          log::warn(logger, "{}; the packet is left out of anchor selection", e.what());
        }
      }
      // Decoded before it is written, so that a packet the stream cannot take (damaged, another picture size)
      // stays out of the output.
      decoder.send(*packet);
      while (output_ok && decoder.receive(frame)) output_ok = take_frame(frame, packet_in);
      {
        std::lock_guard lock(stream.writer_mutex);
        if (stream.writer) stream.writer->write_video(*packet);
      }
      stream.lr_bytes += static_cast<int64_t>(packet->data.size());
      if (!baseline) scheduling.push(stream, coded);
    }
    decoder.flush();
    const Clock::time_point flushed = Clock::now();
    while (output_ok && decoder.receive(frame)) output_ok = take_frame(frame, flushed);
    if (hr_output) {
      hr_output->finish();  // every frame written (each waits for its SR frame until its deadline at most)
      stream.close_when_idle();  // the SR workers let go of its upscaler
    }
    StreamState running = StreamState::running;
    if (stream.state.compare_exchange_strong(running, StreamState::finished)) {
      log::info(logger, "input ended after {} frames", stream.frames.load());
    }
  } catch (const Error& e) {
    if (stop.stop_requested()) {  // the wait was abandoned because we were asked to stop: not a failure
      for (StreamState from : {StreamState::starting, StreamState::running}) {
        stream.state.compare_exchange_strong(from, StreamState::finished);
      }
      return;
    }
    stream.fail(stalled ? fmt::format("{}; the source sent nothing for {:g} s (stall_timeout_s)", e.what(),
                                      config.stall_timeout_s)
                        : std::string(e.what()));
  } catch (const std::exception& e) {
    stream.fail(std::string("unexpected failure: ") + e.what());
  }
}

}  // namespace ns::engine::detail
