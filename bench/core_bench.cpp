// Core kernels: resize (each filter, 360p -> 1080p and 720p -> 2160p up, 1080p -> 360p area down, and
// the double reference for one case to give the fast/ref ratio), BT.709 conversion at 1080p, PSNR and
// SSIM at 1080p. Frames are I420 with smooth content plus noise (resize cost does not depend on content).
// Run: build/bench/ns_bench --benchmark_filter='Resize|Colour|Psnr|Ssim|Quality'
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "ns/core/colour.h"
#include "ns/core/frame.h"
#include "ns/core/metrics.h"
#include "ns/core/resize.h"

namespace {

using ns::core::Frame;
using ns::core::ResizeFilter;

Frame bench_frame(int w, int h, uint32_t seed) {
  Frame f(w, h);
  std::mt19937 rng(seed);
  for (int p = 0; p < ns::core::kPlaneCount; ++p) {
    for (int y = 0; y < f.plane_height(p); ++y) {
      uint8_t* row = f.row(p, y);
      for (int x = 0; x < f.plane_width(p); ++x) {
        const double v = 128 + 70 * std::sin(x * 0.013 + p) * std::cos(y * 0.017) + static_cast<int>(rng() % 21) - 10;
        row[x] = static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
      }
    }
  }
  return f;
}

void set_frame_counters(benchmark::State& state) {
  state.counters["fps"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Args: source w, h, destination w, h, filter.
void BM_Resize(benchmark::State& state) {
  const Frame src = bench_frame(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 1);
  Frame dst(static_cast<int>(state.range(2)), static_cast<int>(state.range(3)));
  const auto filter = static_cast<ResizeFilter>(state.range(4));
  state.SetLabel(ns::core::resize_filter_name(filter));
  for (auto _ : state) {
    ns::core::resize(src, dst, filter);
    benchmark::DoNotOptimize(dst.data(0));
    benchmark::ClobberMemory();
  }
  set_frame_counters(state);
}

void BM_ResizeRef(benchmark::State& state) {
  const Frame src = bench_frame(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 1);
  Frame dst(static_cast<int>(state.range(2)), static_cast<int>(state.range(3)));
  const auto filter = static_cast<ResizeFilter>(state.range(4));
  state.SetLabel(ns::core::resize_filter_name(filter));
  for (auto _ : state) {
    for (int p = 0; p < ns::core::kPlaneCount; ++p) {
      ns::core::resize_plane_ref(src.data(p), src.stride(p), src.plane_width(p), src.plane_height(p), dst.data(p),
                                 dst.stride(p), dst.plane_width(p), dst.plane_height(p), filter);
    }
    benchmark::DoNotOptimize(dst.data(0));
    benchmark::ClobberMemory();
  }
  set_frame_counters(state);
}

constexpr int64_t kArea = static_cast<int64_t>(ResizeFilter::area);
constexpr int64_t kBilinear = static_cast<int64_t>(ResizeFilter::bilinear);
constexpr int64_t kBicubic = static_cast<int64_t>(ResizeFilter::bicubic);

BENCHMARK(BM_Resize)
    ->ArgNames({"sw", "sh", "dw", "dh", "filter"})
    ->Args({640, 360, 1920, 1080, kArea})
    ->Args({640, 360, 1920, 1080, kBilinear})
    ->Args({640, 360, 1920, 1080, kBicubic})
    ->Args({1280, 720, 3840, 2160, kArea})
    ->Args({1280, 720, 3840, 2160, kBilinear})
    ->Args({1280, 720, 3840, 2160, kBicubic})
    ->Args({1920, 1080, 640, 360, kArea})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ResizeRef)
    ->ArgNames({"sw", "sh", "dw", "dh", "filter"})
    ->Args({640, 360, 1920, 1080, kBilinear})
    ->Unit(benchmark::kMillisecond);

void BM_ColourRgbToI420(benchmark::State& state) {
  const Frame yuv = bench_frame(1920, 1080, 2);
  ns::core::RgbImage rgb;
  ns::core::i420_to_rgb(yuv, rgb);
  Frame out(1920, 1080);
  for (auto _ : state) {
    if (state.range(0)) {
      ns::core::rgb_to_i420_ref(rgb, out);
    } else {
      ns::core::rgb_to_i420(rgb, out);
    }
    benchmark::DoNotOptimize(out.data(0));
    benchmark::ClobberMemory();
  }
  state.SetLabel(state.range(0) ? "ref" : "fixed point");
  set_frame_counters(state);
}
BENCHMARK(BM_ColourRgbToI420)->ArgName("ref")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_ColourI420ToRgb(benchmark::State& state) {
  const Frame yuv = bench_frame(1920, 1080, 3);
  ns::core::RgbImage rgb(1920, 1080);
  for (auto _ : state) {
    if (state.range(0)) {
      ns::core::i420_to_rgb_ref(yuv, rgb);
    } else {
      ns::core::i420_to_rgb(yuv, rgb);
    }
    benchmark::DoNotOptimize(rgb.pixels.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(state.range(0) ? "ref" : "fixed point");
  set_frame_counters(state);
}
BENCHMARK(BM_ColourI420ToRgb)->ArgName("ref")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_PsnrPooled1080p(benchmark::State& state) {
  const Frame a = bench_frame(1920, 1080, 4);
  const Frame b = bench_frame(1920, 1080, 5);
  for (auto _ : state) benchmark::DoNotOptimize(ns::core::psnr_pooled(a, b));
  set_frame_counters(state);
}
BENCHMARK(BM_PsnrPooled1080p)->Unit(benchmark::kMillisecond);

void BM_SsimY1080p(benchmark::State& state) {
  const Frame a = bench_frame(1920, 1080, 4);
  const Frame b = bench_frame(1920, 1080, 5);
  for (auto _ : state) benchmark::DoNotOptimize(ns::core::ssim_y(a, b));
  set_frame_counters(state);
}
BENCHMARK(BM_SsimY1080p)->Unit(benchmark::kMillisecond);

void BM_QualityFrame1080p(benchmark::State& state) {
  const Frame a = bench_frame(1920, 1080, 4);
  const Frame b = bench_frame(1920, 1080, 5);
  for (auto _ : state) benchmark::DoNotOptimize(ns::core::measure_quality(a, b));
  set_frame_counters(state);
}
BENCHMARK(BM_QualityFrame1080p)->Unit(benchmark::kMillisecond);

}  // namespace
