// Anchor image codecs at 1920x1080: encode and decode per codec at its default quality (JPEG also 4:4:4,
// J2K also with 2 encoder threads), plus OpenJPH's own HTJ2K decoder (trusted input only) to show what the
// safe OpenJPEG decoder costs. Content: smooth gradients, sharp-edged rectangles and +-1 noise (SR anchors are
// smooth), so that the coders see both flat areas and detail. Counters: bytes and bits per pixel, frames/s.
// Run: build/bench/ns_bench --benchmark_filter='Image'
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ns/core/frame.h"
#include "ns/imagecodec/codecs_impl.h"
#include "ns/imagecodec/imagecodec.h"

namespace {

using ns::core::Frame;
using ns::imagecodec::Codec;

Frame codec_bench_frame(int w, int h) {
  Frame f(w, h);
  std::mt19937 rng(5);
  for (int p = 0; p < ns::core::kPlaneCount; ++p) {
    for (int y = 0; y < f.plane_height(p); ++y) {
      uint8_t* row = f.row(p, y);
      for (int x = 0; x < f.plane_width(p); ++x) {
        double v = 128 + 60 * std::sin(x * 0.011 + p) * std::cos(y * 0.015);
        if (((x / 97) + (y / 61)) % 3 == 0) v += p == 0 ? 50 : -30;  // edges
        v += static_cast<int>(rng() % 3) - 1;
        row[x] = static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
      }
    }
  }
  return f;
}

ns::imagecodec::EncodeSettings settings_of(const benchmark::State& state) {
  return {.codec = static_cast<Codec>(state.range(0)),
          .chroma_444 = state.range(1) != 0,
          .threads = static_cast<int>(state.range(2))};
}

void set_counters(benchmark::State& state, const Frame& frame, size_t bytes) {
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bpp"] = 8.0 * static_cast<double>(bytes) / (static_cast<double>(frame.width()) * frame.height());
  state.counters["fps"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Args: codec, 4:4:4, threads.
void BM_ImageEncode(benchmark::State& state) {
  const Frame frame = codec_bench_frame(1920, 1080);
  const ns::imagecodec::EncodeSettings settings = settings_of(state);
  state.SetLabel(ns::imagecodec::codec_name(settings.codec));
  size_t bytes = 0;
  for (auto _ : state) {
    const std::vector<uint8_t> data = ns::imagecodec::encode(frame, settings);
    bytes = data.size();
    benchmark::DoNotOptimize(data.data());
  }
  set_counters(state, frame, bytes);
}

void BM_ImageDecode(benchmark::State& state) {
  const Frame frame = codec_bench_frame(1920, 1080);
  const ns::imagecodec::EncodeSettings settings = settings_of(state);
  state.SetLabel(ns::imagecodec::codec_name(settings.codec));
  const std::vector<uint8_t> data = ns::imagecodec::encode(frame, settings);
  Frame out;
  for (auto _ : state) {
    ns::imagecodec::decode(settings.codec, data, out);
    benchmark::DoNotOptimize(out.data(0));
    benchmark::ClobberMemory();
  }
  set_counters(state, frame, data.size());
}

void BM_ImageDecodeHtj2kOpenjph(benchmark::State& state) {
  const Frame frame = codec_bench_frame(1920, 1080);
  const std::vector<uint8_t> data = ns::imagecodec::encode(frame, {.codec = Codec::htj2k});
  Frame out;
  for (auto _ : state) {
    ns::imagecodec::detail::decode_htj2k_openjph(data, out);
    benchmark::DoNotOptimize(out.data(0));
    benchmark::ClobberMemory();
  }
  set_counters(state, frame, data.size());
}

void codec_args(benchmark::internal::Benchmark* b) {
  b->Args({static_cast<int>(Codec::jpeg), 0, 1});
  b->Args({static_cast<int>(Codec::jpeg), 1, 1});
  b->Args({static_cast<int>(Codec::j2k), 0, 1});
  b->Args({static_cast<int>(Codec::j2k), 0, 2});
  b->Args({static_cast<int>(Codec::htj2k), 0, 1});
  b->ArgNames({"codec", "c444", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_ImageEncode)->Apply(codec_args);
BENCHMARK(BM_ImageDecode)->Apply([](benchmark::internal::Benchmark* b) {
  b->Args({static_cast<int>(Codec::jpeg), 0, 1});
  b->Args({static_cast<int>(Codec::jpeg), 1, 1});
  b->Args({static_cast<int>(Codec::j2k), 0, 1});
  b->Args({static_cast<int>(Codec::htj2k), 0, 1});
  b->ArgNames({"codec", "c444", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
});
BENCHMARK(BM_ImageDecodeHtj2kOpenjph)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
