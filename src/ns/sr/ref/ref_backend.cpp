// sr/ref: the specification. Plain loops over NCHW fp32 with double accumulation, zero padding, exactly the
// PyTorch module of reference §5.1. Slow (no tiling, no vectorisation); every other backend is checked
// against it in tests/sr_backend_test.cpp.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "ns/core/error.h"
#include "ns/sr/backends_impl.h"

namespace ns::sr {

namespace {

struct ConvRef {
  const float* weight = nullptr;  // [out, in, 3, 3]
  const float* bias = nullptr;    // [out]
  int in = 0;
  int out = 0;
};

// out[o][y][x] = bias[o] + sum_{i,ky,kx} w[o][i][ky][kx] * in[i][y+ky-1][x+kx-1] (zero outside), then
// optionally + add[o][y][x] and ReLU.
void conv3x3(const ConvRef& c, const float* in, int w, int h, float* out, const float* add, bool relu) {
  const size_t plane = static_cast<size_t>(w) * h;
  for (int o = 0; o < c.out; ++o) {
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        double acc = c.bias[o];
        for (int i = 0; i < c.in; ++i) {
          const float* src = in + static_cast<size_t>(i) * plane;
          const float* k = c.weight + (static_cast<size_t>(o) * c.in + i) * 9;
          for (int ky = 0; ky < 3; ++ky) {
            const int sy = y + ky - 1;
            if (sy < 0 || sy >= h) continue;
            for (int kx = 0; kx < 3; ++kx) {
              const int sx = x + kx - 1;
              if (sx < 0 || sx >= w) continue;
              acc += static_cast<double>(k[ky * 3 + kx]) * src[static_cast<size_t>(sy) * w + sx];
            }
          }
        }
        const size_t idx = static_cast<size_t>(o) * plane + static_cast<size_t>(y) * w + x;
        if (add) acc += add[idx];
        if (relu) acc = std::max(acc, 0.0);
        out[idx] = static_cast<float>(acc);
      }
    }
  }
}

// PyTorch PixelShuffle(r): out[c][y*r+i][x*r+j] = in[c*r*r + i*r + j][y][x].
void pixel_shuffle(const float* in, int channels, int w, int h, int r, float* out) {
  const int ow = w * r;
  const int oh = h * r;
  for (int c = 0; c < channels; ++c)
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j) {
        const float* src = in + (static_cast<size_t>(c) * r * r + i * r + j) * w * h;
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x)
            out[static_cast<size_t>(c) * ow * oh + static_cast<size_t>(y * r + i) * ow + (x * r + j)] =
                src[static_cast<size_t>(y) * w + x];
      }
}

class RefBackend final : public Backend {
 public:
  std::string name() const override { return "ref"; }
  bool supports(const ModelDesc& desc) const override { return desc.arch == "edsr"; }

  void prepare(const Model& model, Shape max) override {
    model_ = model;  // a copy: the caller's model need not outlive the backend
    desc_ = model.desc;
    const size_t f = static_cast<size_t>(desc_.channels);
    const size_t lr = static_cast<size_t>(max.width) * max.height;
    const size_t hr = lr * desc_.scale * desc_.scale;
    // F channels at the HR size bound every intermediate: 9F at LR (x3), 4F at LR and 4F at 2x LR (x4).
    x0_.assign(f * lr, 0.0f);
    t_.assign(f * hr, 0.0f);
    a_.assign(f * hr, 0.0f);
    u_.assign(f * hr, 0.0f);
  }

  void run(const PlanarView& in, const PlanarView& out) override {
    const int w = in.width;
    const int h = in.height;
    const int f = desc_.channels;
    conv3x3(conv("head.0", 3, f), in.data, w, h, x0_.data(), nullptr, false);
    const float* block_in = x0_.data();
    for (int b = 0; b < desc_.blocks; ++b) {
      conv3x3(conv(fmt::format("body.{}.body.0", b), f, f), block_in, w, h, t_.data(), nullptr, true);
      conv3x3(conv(fmt::format("body.{}.body.2", b), f, f), t_.data(), w, h, a_.data(), block_in, false);
      block_in = a_.data();
    }
    // In-place accumulate is safe in conv3x3 only when out != in: write the body end into t_.
    conv3x3(conv(fmt::format("body.{}", desc_.blocks), f, f), block_in, w, h, t_.data(), x0_.data(), false);
    // t_ holds the body output at LR; upsample stage(s).
    const int stages = desc_.scale == 4 ? 2 : 1;
    const int r = desc_.scale == 3 ? 3 : 2;
    int cw = w;
    int ch = h;
    float* cur = t_.data();
    float* other = a_.data();
    for (int s = 0; s < stages; ++s) {
      conv3x3(conv(fmt::format("tail.0.body.{}", 3 * s), f, r * r * f), cur, cw, ch, u_.data(), nullptr, true);
      pixel_shuffle(u_.data(), f, cw, ch, r, other);  // ReLU commutes with the shuffle (a permutation)
      cw *= r;
      ch *= r;
      std::swap(cur, other);
    }
    conv3x3(conv("tail.1", f, 3), cur, cw, ch, out.data, nullptr, false);
  }

 private:
  ConvRef conv(const std::string& prefix, int in, int out) const {
    return {model_.tensor(prefix + ".weight").data.data(), model_.tensor(prefix + ".bias").data.data(), in, out};
  }

  Model model_;
  ModelDesc desc_;
  std::vector<float> x0_, t_, a_, u_;
};

}  // namespace

bool ref_available(Precision precision) { return precision == Precision::fp32; }

std::unique_ptr<Backend> create_ref_backend(const BackendOptions&) { return std::make_unique<RefBackend>(); }

}  // namespace ns::sr
