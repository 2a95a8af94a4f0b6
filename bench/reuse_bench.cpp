// Reuse (client reconstruction) speed: frames/s of Reconstructor::push on non-anchor frames with a camera pan
// and an independently moving object, at 640x360 -> 1920x1080 and 1280x720 -> 3840x2160, on one and two threads
// (ReuseSettings::threads); the LR motion search alone; and the hot kernels, C against the best SIMD level.
// Counters (CPU time of the benchmark thread, so they hold on a shared machine, but with threads > 1 they miss
// the helper threads' share): motion_ms and reconstruct_ms are per-frame means from FrameStats; reconstruct_fps =
// 1000 / reconstruct_ms (the HR build alone, the DESIGN.md target); cpu_fps = whole push(); fps = whole push() in
// wall time (the number for threads > 1); cpu_ms_per_frame = motion search alone (calling thread).
// Run: build/bench/ns_bench --benchmark_filter='Reuse|Motion|Kernel'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "ns/core/frame.h"
#include "ns/core/resize.h"
#include "ns/motion/dsp_impl.h"
#include "ns/motion/motion.h"
#include "ns/reuse/dsp_impl.h"
#include "ns/reuse/reuse.h"

namespace {

using namespace ns;

constexpr int kScale = 3;

double thread_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

constexpr int kFrames = 16;   // frame 0 is the anchor
constexpr int kPanX = 4;      // HR pixels per frame (1.33 LR pixels)
constexpr int kPanY = 2;      // (0.67 LR pixels)
constexpr int kObjectX = -7;  // the object moves against the pan
constexpr int kObjectY = 3;

// Natural-looking texture: bicubic up-scaled noise at several octaves (1/f-like spectrum).
core::Frame natural_texture(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int> acc[core::kPlaneCount];
  core::Frame out(w, h);
  for (int p = 0; p < core::kPlaneCount; ++p)
    acc[p].assign(static_cast<size_t>(out.plane_width(p)) * out.plane_height(p), 0);
  const struct { int div, weight; } octaves[] = {{48, 45}, {12, 30}, {4, 17}, {2, 8}};
  for (const auto& o : octaves) {
    core::Frame small(std::max(2, w / o.div), std::max(2, h / o.div));
    for (int p = 0; p < core::kPlaneCount; ++p) {
      for (int y = 0; y < small.plane_height(p); ++y) {
        for (int x = 0; x < small.plane_width(p); ++x) small.row(p, y)[x] = static_cast<uint8_t>(rng());
      }
    }
    const core::Frame big = core::resized(small, w, h, core::ResizeFilter::bicubic);
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int pw = out.plane_width(p);
      for (int y = 0; y < out.plane_height(p); ++y) {
        for (int x = 0; x < pw; ++x) acc[p][static_cast<size_t>(y) * pw + x] += o.weight * big.row(p, y)[x];
      }
    }
  }
  for (int p = 0; p < core::kPlaneCount; ++p) {
    const int pw = out.plane_width(p);
    for (int y = 0; y < out.plane_height(p); ++y) {
      for (int x = 0; x < pw; ++x) {
        // Stretch the contrast around the middle (averaging octaves flattens it).
        const int v = 128 + (acc[p][static_cast<size_t>(y) * pw + x] / 100 - 128) * (p == 0 ? 5 : 3) / 2;
        out.row(p, y)[x] = static_cast<uint8_t>(std::clamp(v, 0, 255));
      }
    }
  }
  return out;
}

struct Sequence {
  core::Frame anchor;           // HR frame 0
  std::vector<core::Frame> lr;  // kFrames LR frames
};

// Frame n: the background canvas seen at (kPanX * n, kPanY * n) with an object (a quarter-size patch of another
// texture) moving by (kObjectX, kObjectY) per frame on top. Even HR offsets keep the chroma exact.
const Sequence& sequence(int lw, int lh) {
  static std::map<std::pair<int, int>, std::unique_ptr<Sequence>> cache;
  auto& slot = cache[{lw, lh}];
  if (slot) return *slot;
  slot = std::make_unique<Sequence>();
  const int hw = lw * kScale, hh = lh * kScale;
  const core::Frame background = natural_texture(hw + kPanX * kFrames + 16, hh + kPanY * kFrames + 16, 1);
  const core::Frame object = natural_texture(hw / 4, hh / 4, 2);
  for (int n = 0; n < kFrames; ++n) {
    core::Frame hr(hw, hh);
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int sub = p == 0 ? 1 : 2;
      const int bx = kPanX * n / sub, by = kPanY * n / sub;
      const int ox = (hw / 2 + kObjectX * n) / sub, oy = (hh / 4 + kObjectY * n) / sub;
      for (int y = 0; y < hr.plane_height(p); ++y) {
        const uint8_t* bg = background.row(p, y + by) + bx;
        uint8_t* dst = hr.row(p, y);
        std::copy(bg, bg + hr.plane_width(p), dst);
        const int oyy = y - oy;
        if (oyy < 0 || oyy >= object.plane_height(p)) continue;
        for (int x = std::max(0, ox); x < std::min(hr.plane_width(p), ox + object.plane_width(p)); ++x) {
          dst[x] = object.row(p, oyy)[x - ox];
        }
      }
    }
    slot->lr.push_back(core::resized(hr, lw, lh, core::ResizeFilter::area));
    if (n == 0) slot->anchor = std::move(hr);
  }
  return *slot;
}

// Variants: 0 = defaults (back-projection, frame-wide residual, OBMC), 1 = faithful NEMO (LR residual,
// block-local, one vector per block), 2 = defaults on the C kernels, 3 = defaults without OBMC.
reuse::ReuseSettings variant_settings(int64_t variant) {
  reuse::ReuseSettings s;
  if (variant == 1) {
    s.residual_source = reuse::ResidualSource::lr_prediction;
    s.residual_upscale = reuse::ResidualUpscale::block_bilinear;
    s.obmc = false;
  }
  if (variant == 2) s.cpu_level = motion::kCpuLevelC;
  if (variant == 3) s.obmc = false;
  return s;
}

void BM_ReusePush(benchmark::State& state) {
  const int lw = static_cast<int>(state.range(0)), lh = static_cast<int>(state.range(1));
  const Sequence& seq = sequence(lw, lh);
  reuse::ReuseSettings settings = variant_settings(state.range(2));
  settings.threads = static_cast<int>(state.range(3));
  reuse::Reconstructor rec(settings, lw, lh);
  double motion_ms = 0, reconstruct_ms = 0;
  int64_t frames = 0;
  for (auto _ : state) {
    state.PauseTiming();
    rec.push(seq.lr[0], &seq.anchor);
    state.ResumeTiming();
    for (int n = 1; n < kFrames; ++n) {
      benchmark::DoNotOptimize(rec.push(seq.lr[n]).data(0));
      motion_ms += rec.last_stats().motion_ms;
      reconstruct_ms += rec.last_stats().reconstruct_ms;
      ++frames;
    }
  }
  state.SetItemsProcessed(frames);
  state.counters["fps"] = benchmark::Counter(static_cast<double>(frames), benchmark::Counter::kIsRate);
  state.counters["motion_ms"] = motion_ms / std::max<int64_t>(frames, 1);
  state.counters["reconstruct_ms"] = reconstruct_ms / std::max<int64_t>(frames, 1);
  state.counters["reconstruct_fps"] = 1000.0 * frames / std::max(reconstruct_ms, 1e-9);
  state.counters["cpu_fps"] = 1000.0 * frames / std::max(motion_ms + reconstruct_ms, 1e-9);
}
BENCHMARK(BM_ReusePush)
    ->ArgNames({"lr_w", "lr_h", "variant", "threads"})
    ->Args({640, 360, 0, 1})
    ->Args({640, 360, 0, 2})
    ->Args({1280, 720, 0, 1})
    ->Args({1280, 720, 0, 2})
    ->Args({1280, 720, 1, 1})
    ->Args({1280, 720, 2, 1})
    ->Args({1280, 720, 3, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_MotionEstimate(benchmark::State& state) {
  const int lw = static_cast<int>(state.range(0)), lh = static_cast<int>(state.range(1));
  const Sequence& seq = sequence(lw, lh);
  motion::Estimator est(motion::MotionSettings{.threads = static_cast<int>(state.range(2))}, lw, lh);
  std::vector<motion::Reference> refs(kFrames);
  for (int n = 0; n < kFrames; ++n) refs[n].assign(seq.lr[n], est.border());
  int64_t frames = 0;
  const double start = thread_ms();
  for (auto _ : state) {
    for (int n = 2; n < kFrames; ++n) {
      const motion::SearchReference search[] = {{&refs[n - 1]}, {&refs[0], -64}};
      benchmark::DoNotOptimize(est.estimate(refs[n], search).blocks.data());
      ++frames;
    }
  }
  state.SetItemsProcessed(frames);
  state.counters["cpu_ms_per_frame"] = (thread_ms() - start) / static_cast<double>(std::max<int64_t>(frames, 1));
}
BENCHMARK(BM_MotionEstimate)
    ->ArgNames({"lr_w", "lr_h", "threads"})
    ->Args({640, 360, 1})
    ->Args({1280, 720, 1})
    ->Args({1280, 720, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Kernels at C (level 0) and the host's best level (1 when AVX2 is there).
void BM_KernelInterpolate(benchmark::State& state) {
  motion::Dsp dsp;
  motion::init_dsp(dsp, static_cast<int>(state.range(0)));
  const int size = static_cast<int>(state.range(1));
  std::vector<uint8_t> src(128 * 128), dst(64 * 64);
  std::mt19937 rng(1);
  for (auto& v : src) v = static_cast<uint8_t>(rng());
  int phase = 0;
  for (auto _ : state) {
    dsp.interpolate(dst.data(), 64, src.data() + 2 * 128 + 2, 128, size, size, (phase & 3) * 4, ((phase >> 2) & 3) * 4);
    benchmark::DoNotOptimize(dst.data());
    ++phase;
  }
  state.SetItemsProcessed(state.iterations() * size * size);
}
BENCHMARK(BM_KernelInterpolate)->ArgNames({"level", "size"})->ArgsProduct({{0, 1}, {8, 12, 24}});

void BM_KernelSad8x8(benchmark::State& state) {
  motion::Dsp dsp;
  motion::init_dsp(dsp, static_cast<int>(state.range(0)));
  std::vector<uint8_t> a(64 * 16), b(64 * 16);
  std::mt19937 rng(2);
  for (auto& v : a) v = static_cast<uint8_t>(rng());
  for (auto& v : b) v = static_cast<uint8_t>(rng());
  for (auto _ : state) benchmark::DoNotOptimize(dsp.sad_8x8(a.data(), 64, b.data() + 1, 64));
}
BENCHMARK(BM_KernelSad8x8)->ArgName("level")->Arg(0)->Arg(1);

// The motion search's sub-pel SAD (interpolation and SAD in one kernel), over the quarter-pel phases.
void BM_KernelSadSubpel8x8(benchmark::State& state) {
  motion::Dsp dsp;
  motion::init_dsp(dsp, static_cast<int>(state.range(0)));
  std::vector<uint8_t> cur(64 * 16), ref(64 * 16);
  std::mt19937 rng(2);
  for (auto& v : cur) v = static_cast<uint8_t>(rng());
  for (auto& v : ref) v = static_cast<uint8_t>(rng());
  int phase = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        dsp.sad_subpel_8x8(cur.data(), 64, ref.data() + 2 * 64 + 2, 64, (phase & 3) * 4, ((phase >> 2) & 3) * 4));
    phase = phase % 15 + 1;  // 1 .. 15: never the whole-pel phase
  }
}
BENCHMARK(BM_KernelSadSubpel8x8)->ArgName("level")->Arg(0)->Arg(1);

void BM_KernelUpscaleAddRow(benchmark::State& state) {
  reuse::Dsp dsp;
  reuse::init_dsp(dsp, static_cast<int>(state.range(0)));
  const int lw = 1280, hw = lw * kScale;
  reuse::AxisTable table;
  table.build(lw, kScale, hw, 0);
  std::vector<int16_t> res(lw), top(hw), bottom(hw);
  std::vector<uint8_t> out(hw, 100);
  std::mt19937 rng(3);
  for (auto& v : res) v = static_cast<int16_t>(static_cast<int>(rng() % 61) - 30);
  for (auto _ : state) {
    dsp.upscale_row(top.data(), res.data(), table.view(), hw);
    dsp.upscale_row(bottom.data(), res.data(), table.view(), hw);
    for (int k = 0; k < kScale; ++k) dsp.add_rows(out.data(), top.data(), bottom.data(), 10 * k, hw);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * hw * kScale);
}
BENCHMARK(BM_KernelUpscaleAddRow)->ArgName("level")->Arg(0)->Arg(1);

void BM_KernelProjectRow(benchmark::State& state) {
  reuse::Dsp dsp;
  reuse::init_dsp(dsp, static_cast<int>(state.range(0)));
  const int lw = 1280, hw = lw * kScale;
  std::vector<uint8_t> lr(lw), hr(static_cast<size_t>(hw) * kScale);
  std::vector<int16_t> res(lw);
  std::mt19937 rng(4);
  for (auto& v : lr) v = static_cast<uint8_t>(rng());
  for (auto& v : hr) v = static_cast<uint8_t>(rng());
  for (auto _ : state) {
    dsp.project_row(res.data(), lr.data(), hr.data(), hw, kScale, lw);
    benchmark::DoNotOptimize(res.data());
  }
  state.SetItemsProcessed(state.iterations() * lw);
}
BENCHMARK(BM_KernelProjectRow)->ArgName("level")->Arg(0)->Arg(1);

void BM_KernelObmcBlend(benchmark::State& state) {
  reuse::Dsp dsp;
  reuse::init_dsp(dsp, static_cast<int>(state.range(0)));
  constexpr int kSize = 24, kStride = 64;
  std::vector<uint8_t> planes[4], out(kStride * kSize), wx(kSize), wy(kSize);
  std::mt19937 rng(5);
  const uint8_t* p[4];
  for (int k = 0; k < 4; ++k) {
    planes[k].resize(kStride * kSize);
    for (auto& v : planes[k]) v = static_cast<uint8_t>(rng());
    p[k] = planes[k].data();
  }
  for (int i = 0; i < kSize; ++i) wx[i] = wy[i] = static_cast<uint8_t>(63 - i * 62 / (kSize - 1));
  for (auto _ : state) {
    dsp.obmc_blend(out.data(), kStride, p, kStride, wx.data(), wy.data(), kSize, kSize);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kSize * kSize);
}
BENCHMARK(BM_KernelObmcBlend)->ArgName("level")->Arg(0)->Arg(1);

}  // namespace
