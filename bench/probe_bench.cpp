// Bitstream probe vs single-thread decoding, on streamer-encoded VP9 and H.264 at 360p and 720p.
// Streams (240 frames of moving synthetic content) are encoded once per process into a temp dir.
// Probe: packets already in memory, items = packets (target >= 50,000 packets/s on one core); also
// probe_file (open and demux included) and demux + probe without the open. Decode: media::Decoder with
// ReaderOptions{.threads = 1}, packets from memory, items = frames.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ns/core/frame.h"
#include "ns/media/probe.h"
#include "ns/media/reader.h"
#include "ns/media/writer.h"

namespace {

using namespace ns;

constexpr int kFrames = 240;

// Smooth gradients, a hashed texture and a bright square, all moving, so the encoder codes real
// motion and residual (alt-refs included for VP9).
core::Frame bench_frame(int width, int height, int index) {
  core::Frame f(width, height);
  const int dx = index * 3;
  const int dy = index;
  for (int y = 0; y < height; ++y) {
    uint8_t* row = f.row(0, y);
    for (int x = 0; x < width; ++x) {
      const uint32_t sx = static_cast<uint32_t>(x + dx) >> 2;
      const uint32_t sy = static_cast<uint32_t>(y + dy) >> 2;
      uint32_t h = sx * 0x9E3779B1u ^ sy * 0x85EBCA77u;
      h ^= h >> 15;
      const int texture = static_cast<int>(h & 31u);
      row[x] = static_cast<uint8_t>((x + y + index) / 8 % 160 + texture + 32);
    }
  }
  const int size = height / 5;
  const int sx0 = (index * 5) % (width - size);
  const int sy0 = height / 3;
  for (int y = sy0; y < sy0 + size; ++y)
    for (int x = sx0; x < sx0 + size; ++x) f.row(0, y)[x] = 235;
  for (int p = 1; p < core::kPlaneCount; ++p) {
    for (int y = 0; y < f.plane_height(p); ++y) {
      uint8_t* row = f.row(p, y);
      for (int x = 0; x < f.plane_width(p); ++x) row[x] = static_cast<uint8_t>(128 + ((x + y + index) % 64) - 32 * (p - 1));
    }
  }
  return f;
}

class Streams {
 public:
  Streams() : dir_(std::filesystem::temp_directory_path() / ("ns_probe_bench_" + std::to_string(getpid()))) {
    std::filesystem::create_directories(dir_);
  }
  ~Streams() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Encodes on first use: codec "vp9" (.webm) or "h264" (.mp4), height 360 or 720.
  const std::string& get(const std::string& codec, int height) {
    const std::string key = codec + std::to_string(height);
    auto it = paths_.find(key);
    if (it != paths_.end()) return it->second;
    const int width = height * 16 / 9;
    const std::string path = (dir_ / (key + (codec == "vp9" ? ".webm" : ".mp4"))).string();
    const media::EncoderSettings settings = codec == "vp9" ? media::EncoderSettings::streamer_vp9(width, height)
                                                           : media::EncoderSettings::streamer_h264(width, height);
    media::VideoWriter writer(path, width, height, media::Rational{60, 1}, settings);
    for (int i = 0; i < kFrames; ++i) writer.write(bench_frame(width, height, i));
    writer.finish();
    return paths_.emplace(key, path).first->second;
  }

 private:
  std::filesystem::path dir_;
  std::map<std::string, std::string> paths_;
};

Streams& streams() {
  static Streams s;
  return s;
}

std::vector<media::Packet> read_packets(const std::string& path, media::StreamInfo& info) {
  media::Demuxer demuxer(path);
  info = demuxer.info();
  std::vector<media::Packet> packets;
  while (auto p = demuxer.read()) packets.push_back(std::move(*p));
  return packets;
}

void probe_packets(benchmark::State& state, const std::string& codec) {
  const int height = static_cast<int>(state.range(0));
  media::StreamInfo info;
  const std::vector<media::Packet> packets = read_packets(streams().get(codec, height), info);
  std::vector<media::CodedFrame> frames;
  frames.reserve(packets.size() * 2);
  int64_t hidden = 0;
  for (auto _ : state) {
    media::BitstreamProbe probe(info);
    frames.clear();
    for (const auto& p : packets) probe.probe(p, frames);
    benchmark::DoNotOptimize(frames.data());
  }
  for (const auto& f : frames) hidden += f.shown ? 0 : 1;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(packets.size()));
  state.counters["frames"] = static_cast<double>(frames.size());
  state.counters["hidden"] = static_cast<double>(hidden);
}

void BM_ProbeVp9(benchmark::State& state) { probe_packets(state, "vp9"); }
void BM_ProbeH264(benchmark::State& state) { probe_packets(state, "h264"); }

// probe_file: open, demux (libavformat) and probe; items = packets. The open dominates for short files.
void BM_ProbeFileVp9(benchmark::State& state) {
  const std::string& path = streams().get("vp9", static_cast<int>(state.range(0)));
  int64_t packets = 0;
  for (auto _ : state) {
    const auto frames = media::probe_file(path);
    packets = frames.empty() ? 0 : frames.back().packet_index + 1;
    benchmark::DoNotOptimize(frames.data());
  }
  state.SetItemsProcessed(state.iterations() * packets);
}

// Demux + probe per packet with the open (avformat_find_stream_info, which decodes a few frames)
// left out of the timing: the steady-state cost for a long or live stream.
void BM_ReadAndProbeVp9(benchmark::State& state) {
  const std::string& path = streams().get("vp9", static_cast<int>(state.range(0)));
  int64_t packets = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto demuxer = std::make_unique<media::Demuxer>(path);
    media::BitstreamProbe probe(demuxer->info());
    std::vector<media::CodedFrame> frames;
    frames.reserve(1024);
    state.ResumeTiming();
    int64_t n = 0;
    while (auto p = demuxer->read()) {
      probe.probe(*p, frames);
      ++n;
    }
    packets = n;
    benchmark::DoNotOptimize(frames.data());
    state.PauseTiming();
    demuxer.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * packets);
}

void decode_single_thread(benchmark::State& state, const std::string& codec) {
  const std::string& path = streams().get(codec, static_cast<int>(state.range(0)));
  media::StreamInfo info;
  const std::vector<media::Packet> packets = read_packets(path, info);
  int64_t decoded = 0;
  for (auto _ : state) {
    media::Demuxer demuxer(path);  // codec parameters only; packets come from memory
    media::ReaderOptions options;
    options.threads = 1;
    media::Decoder decoder(demuxer, options);
    core::Frame frame;
    int64_t n = 0;
    for (const auto& p : packets) {
      decoder.send(p);
      while (decoder.receive(frame)) ++n;
    }
    decoder.flush();
    while (decoder.receive(frame)) ++n;
    decoded = n;
    benchmark::DoNotOptimize(frame.data(0));
  }
  state.SetItemsProcessed(state.iterations() * decoded);
  state.counters["frames"] = static_cast<double>(decoded);
}

void BM_DecodeVp9SingleThread(benchmark::State& state) { decode_single_thread(state, "vp9"); }
void BM_DecodeH264SingleThread(benchmark::State& state) { decode_single_thread(state, "h264"); }

}  // namespace

BENCHMARK(BM_ProbeVp9)->Arg(360)->Arg(720);
BENCHMARK(BM_ProbeH264)->Arg(360)->Arg(720);
BENCHMARK(BM_ProbeFileVp9)->Arg(360)->Arg(720)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadAndProbeVp9)->Arg(360)->Arg(720)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodeVp9SingleThread)->Arg(360)->Arg(720)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeH264SingleThread)->Arg(360)->Arg(720)->Unit(benchmark::kMillisecond);
