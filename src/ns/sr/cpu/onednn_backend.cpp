// sr/cpu: EDSR on oneDNN, NHWC activations, fp32 or bf16 (native avx512_bf16 / AMX only).
//
// The frame is cut into tiles of `tile` x `tile` LR pixels. Each tile runs the body (head, residual blocks,
// body end) on a window that adds the receptive radius R on every side that is not the image border; the
// window keeps one fixed size (shifted inward at the borders), so one set of primitives serves every tile
// and every border is either the image border (where zero padding is exact) or >= R pixels from the tile.
// The upsampler and tail then run on a smaller window of the body output: the tile plus 2 LR pixels.
// The upsampler is one stage of conv F -> r*r*F, PixelShuffle(r), ReLU for x2 and x3, two x2 stages for x4.
// Fusions: ReLU as an eltwise post-op, the residual skip-adds as sum post-ops (in place on the skip
// buffer); PixelShuffle is a copy of contiguous channel groups because the upsampling conv's output
// channels are permuted at prepare() from c*r*r + i*r + j to (i*r + j)*F + c.
// Memory (fp32; half in bf16): 4 bytes x [3 buffers of (T + 2R)^2 F + 2 of S^2 (T + 4)^2 F + (T + 4)^2 (3 + F)],
// T = tile, R = receptive radius (20 for B = 8), S = scale; x3, T = 256, F = 32: about 200 MB, T = 128: about
// 55 MB, whatever the frame size (x4: about 1.8x that). Compute overhead of the halos on 720p, F = 32: about 1.2x
// at T = 256, 1.5x at T = 128.
// Thread count: oneDNN here is built on OpenMP; run() sets the calling thread's OpenMP team size.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ns/core/error.h"
#include "ns/sr/backends_impl.h"

namespace ns::sr {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

constexpr int kDefaultTile = 256;
constexpr int kTailMargin = 2;  // upsampling conv + tail conv, one LR pixel each

uint16_t to_bf16(float f) {
  uint32_t x = 0;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

bool native_bf16() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

[[noreturn]] void rethrow(const dnnl::error& e, const char* what) {
  throw Error(ErrorCode::internal,
              fmt::format("sr/onednn: {} failed ({}, status {}); use --backend ref or report the CPU and model", what,
                          e.what(), static_cast<int>(e.status)));
}

// A buffer of `count` elements of the activation type (4 or 2 bytes each).
struct Buffer {
  std::vector<uint8_t> bytes;
  void resize(size_t count, size_t elem) { bytes.assign(count * elem, 0); }
  void* data() { return bytes.data(); }
};

struct Conv {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
};

struct Weights {
  memory weights;
  memory bias;
};

class OnednnBackend final : public Backend {
 public:
  explicit OnednnBackend(const BackendOptions& options)
      : options_(options), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    tile_ = options.tile > 0 ? options.tile : kDefaultTile;
    act_ = options.precision == Precision::bf16 ? dt::bf16 : dt::f32;
    elem_ = options.precision == Precision::bf16 ? 2 : 4;
  }

  std::string name() const override { return "onednn"; }

  bool supports(const ModelDesc& desc) const override {
    return desc.arch == "edsr" && desc.scale >= 2 && desc.scale <= 4 && onednn_available(options_.precision);
  }

  void prepare(const Model& model, Shape max) override {
    model_ = model;
    desc_ = model.desc;
    r_ = desc_.scale;
    stage_r_ = desc_.scale == 4 ? 2 : desc_.scale;
    stages_ = desc_.scale == 4 ? 2 : 1;
    radius_ = receptive_radius(desc_);
    try {
      build(max.width, max.height);
    } catch (const dnnl::error& e) {
      rethrow(e, "prepare");
    }
  }

  void run(const PlanarView& in, const PlanarView& out) override {
    if (options_.threads > 0) omp_set_num_threads(options_.threads);
    try {
      if (in.width != width_ || in.height != height_) build(in.width, in.height);  // a new size: once
      const int f = desc_.channels;
      for (int cy0 = 0; cy0 < height_; cy0 += tile_) {
        for (int cx0 = 0; cx0 < width_; cx0 += tile_) {
          const int cx1 = std::min(cx0 + tile_, width_);
          const int cy1 = std::min(cy0 + tile_, height_);
          const int wx0 = std::clamp(cx0 - radius_, 0, width_ - win_w_);
          const int wy0 = std::clamp(cy0 - radius_, 0, height_ - win_h_);
          load_input(in, wx0, wy0);
          run_body();
          // Tail window inside the body window, at the image border or >= kTailMargin from the tile.
          const int tx0 = std::clamp(cx0 - kTailMargin, wx0, wx0 + win_w_ - tail_w_);
          const int ty0 = std::clamp(cy0 - kTailMargin, wy0, wy0 + win_h_ - tail_h_);
          NS_ASSERT(tx0 == 0 || cx0 - tx0 >= kTailMargin);
          NS_ASSERT(tx0 + tail_w_ == width_ || tx0 + tail_w_ - cx1 >= kTailMargin);
          NS_ASSERT(ty0 == 0 || cy0 - ty0 >= kTailMargin);
          NS_ASSERT(ty0 + tail_h_ == height_ || ty0 + tail_h_ - cy1 >= kTailMargin);
          NS_ASSERT(wx0 == 0 || cx0 - wx0 >= radius_);
          NS_ASSERT(wx0 + win_w_ == width_ || wx0 + win_w_ - cx1 >= radius_);
          NS_ASSERT(wy0 == 0 || cy0 - wy0 >= radius_);
          NS_ASSERT(wy0 + win_h_ == height_ || wy0 + win_h_ - cy1 >= radius_);
          // Dense copy of the tail window's rows out of the body output.
          const size_t row_bytes = static_cast<size_t>(tail_w_) * f * elem_;
          for (int y = 0; y < tail_h_; ++y) {
            const size_t src = ((static_cast<size_t>(ty0 - wy0 + y) * win_w_) + (tx0 - wx0)) * f * elem_;
            std::memcpy(tail_in_.bytes.data() + static_cast<size_t>(y) * row_bytes, x0_.bytes.data() + src, row_bytes);
          }
          run_tail();
          store_output(out, cx0, cy0, cx1, cy1, tx0, ty0);
        }
      }
      stream_.wait();
    } catch (const dnnl::error& e) {
      rethrow(e, "run");
    }
  }

 private:
  memory::desc nhwc(int c, int h, int w, dt type) const {
    return memory::desc({1, c, h, w}, type, tag::nhwc);
  }

  Conv make_conv(int cin, int cout, int h, int w, dt dst_type, bool relu, bool sum) {
    const memory::desc src = nhwc(cin, h, w, act_);
    const memory::desc dst = nhwc(cout, h, w, dst_type);
    const memory::desc wei({cout, cin, 3, 3}, act_, tag::any);
    const memory::desc bias({cout}, dt::f32, tag::x);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                      wei, bias, dst, {1, 1}, {1, 1}, {1, 1});
    dnnl::post_ops ops;
    if (sum) ops.append_sum(1.0f);
    if (relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    Conv c{dnnl::convolution_forward::primitive_desc(d, attr, engine_), {}};
    c.prim = dnnl::convolution_forward(c.pd);
    scratch_bytes_ = std::max(scratch_bytes_, c.pd.scratchpad_desc().get_size());
    return c;
  }

  // Reorders OIHW fp32 weights (optionally with permuted output channels) into the primitive's layout.
  Weights upload(const Conv& conv, const std::string& prefix, const std::vector<int>* perm = nullptr) {
    const Tensor& w = model_.tensor(prefix + ".weight");
    const Tensor& b = model_.tensor(prefix + ".bias");
    const int cout = static_cast<int>(w.shape[0]);
    const int cin = static_cast<int>(w.shape[1]);
    std::vector<float> wdata(w.data.size());
    std::vector<float> bdata(b.data.size());
    for (int o = 0; o < cout; ++o) {
      const int src = perm ? (*perm)[o] : o;
      std::memcpy(wdata.data() + static_cast<size_t>(o) * cin * 9, w.data.data() + static_cast<size_t>(src) * cin * 9,
                  static_cast<size_t>(cin) * 9 * sizeof(float));
      bdata[o] = b.data[src];
    }
    memory user({{cout, cin, 3, 3}, dt::f32, tag::oihw}, engine_, wdata.data());
    Weights out{memory(conv.pd.weights_desc(), engine_), memory({{cout}, dt::f32, tag::x}, engine_)};
    dnnl::reorder(user, out.weights).execute(stream_, user, out.weights);
    std::memcpy(out.bias.get_data_handle(), bdata.data(), bdata.size() * sizeof(float));
    stream_.wait();
    return out;
  }

  void build(int width, int height) {
    const int f = desc_.channels;
    width_ = width;
    height_ = height;
    win_w_ = std::min(tile_ + 2 * radius_, width);
    win_h_ = std::min(tile_ + 2 * radius_, height);
    tail_w_ = std::min(tile_ + 2 * kTailMargin, win_w_);
    tail_h_ = std::min(tile_ + 2 * kTailMargin, win_h_);
    scratch_bytes_ = 0;
    head_ = make_conv(3, f, win_h_, win_w_, act_, false, false);
    conv_relu_ = make_conv(f, f, win_h_, win_w_, act_, true, false);
    conv_sum_ = make_conv(f, f, win_h_, win_w_, act_, false, true);
    up_.clear();
    for (int k = 0, res = 1; k < stages_; ++k, res *= stage_r_) {
      up_.push_back(make_conv(f, stage_r_ * stage_r_ * f, tail_h_ * res, tail_w_ * res, act_, true, false));
    }
    tail_ = make_conv(f, 3, tail_h_ * r_, tail_w_ * r_, dt::f32, false, false);

    // The weight reorders are tiny: one thread avoids OpenMP wake-ups that cost more than the copy.
    const int team = omp_get_max_threads();
    omp_set_num_threads(1);
    w_head_ = upload(head_, "head.0");
    w_conv1_.clear();
    w_conv2_.clear();
    for (int b = 0; b < desc_.blocks; ++b) {
      w_conv1_.push_back(upload(conv_relu_, fmt::format("body.{}.body.0", b)));
      w_conv2_.push_back(upload(conv_sum_, fmt::format("body.{}.body.2", b)));
    }
    w_body_end_ = upload(conv_sum_, fmt::format("body.{}", desc_.blocks));
    const int rr = stage_r_ * stage_r_;
    std::vector<int> perm(static_cast<size_t>(rr * f));  // new channel (i*r+j)*F + c <- old c*r*r + i*r + j
    for (int c = 0; c < f; ++c)
      for (int k = 0; k < rr; ++k) perm[static_cast<size_t>(k) * f + c] = c * rr + k;
    w_up_.clear();
    for (int k = 0; k < stages_; ++k) {
      w_up_.push_back(upload(up_[static_cast<size_t>(k)], fmt::format("tail.0.body.{}", 3 * k), &perm));
    }
    w_tail_ = upload(tail_, "tail.1");
    omp_set_num_threads(team);

    const size_t win = static_cast<size_t>(win_w_) * win_h_;
    const size_t tail = static_cast<size_t>(tail_w_) * tail_h_;
    in_.resize(win * 3, elem_);
    x0_.resize(win * f, elem_);
    a_.resize(win * f, elem_);
    t_.resize(win * f, elem_);
    tail_in_.resize(tail * f, elem_);
    u_.resize(static_cast<size_t>(stages_));
    hr_.resize(static_cast<size_t>(stages_));
    m_u_.clear();
    m_hr_.clear();
    for (int k = 0, res = 1; k < stages_; ++k, res *= stage_r_) {  // stage k runs at res x the tail window
      const int h = tail_h_ * res, w = tail_w_ * res;
      const size_t pixels = static_cast<size_t>(h) * w;
      u_[static_cast<size_t>(k)].resize(pixels * stage_r_ * stage_r_ * f, elem_);
      hr_[static_cast<size_t>(k)].resize(pixels * stage_r_ * stage_r_ * f, elem_);
      m_u_.emplace_back(nhwc(stage_r_ * stage_r_ * f, h, w, act_), engine_, u_[static_cast<size_t>(k)].data());
      m_hr_.emplace_back(nhwc(f, h * stage_r_, w * stage_r_, act_), engine_, hr_[static_cast<size_t>(k)].data());
    }
    out_.resize(tail * r_ * r_ * 3, 4);
    scratch_bytes_ = std::max<size_t>(scratch_bytes_, 64);
    scratch_.resize(scratch_bytes_, 1);

    m_in_ = memory(nhwc(3, win_h_, win_w_, act_), engine_, in_.data());
    m_x0_ = memory(nhwc(f, win_h_, win_w_, act_), engine_, x0_.data());
    m_a_ = memory(nhwc(f, win_h_, win_w_, act_), engine_, a_.data());
    m_t_ = memory(nhwc(f, win_h_, win_w_, act_), engine_, t_.data());
    m_tail_in_ = memory(nhwc(f, tail_h_, tail_w_, act_), engine_, tail_in_.data());
    m_out_ = memory(nhwc(3, tail_h_ * r_, tail_w_ * r_, dt::f32), engine_, out_.data());
    m_scratch_ = memory({{static_cast<memory::dim>(scratch_bytes_)}, dt::u8, tag::x}, engine_, scratch_.data());
  }

  void exec(const Conv& c, const Weights& w, const memory& src, const memory& dst) {
    c.prim.execute(stream_, {{DNNL_ARG_SRC, src},
                             {DNNL_ARG_WEIGHTS, w.weights},
                             {DNNL_ARG_BIAS, w.bias},
                             {DNNL_ARG_DST, dst},
                             {DNNL_ARG_SCRATCHPAD, m_scratch_}});
  }

  void load_input(const PlanarView& in, int wx0, int wy0) {
    const size_t plane = static_cast<size_t>(in.width) * in.height;
    for (int y = 0; y < win_h_; ++y) {
      const size_t src_row = static_cast<size_t>(wy0 + y) * in.width + wx0;
      const size_t dst_row = static_cast<size_t>(y) * win_w_ * 3;
      if (elem_ == 4) {
        float* dst = reinterpret_cast<float*>(in_.data()) + dst_row;
        for (int x = 0; x < win_w_; ++x)
          for (int c = 0; c < 3; ++c) dst[x * 3 + c] = in.data[c * plane + src_row + x];
      } else {
        uint16_t* dst = reinterpret_cast<uint16_t*>(in_.data()) + dst_row;
        for (int x = 0; x < win_w_; ++x)
          for (int c = 0; c < 3; ++c) dst[x * 3 + c] = to_bf16(in.data[c * plane + src_row + x]);
      }
    }
  }

  void run_body() {
    exec(head_, w_head_, m_in_, m_a_);
    stream_.wait();
    std::memcpy(x0_.data(), a_.data(), a_.bytes.size());  // the head output, kept for the global skip
    for (int b = 0; b < desc_.blocks; ++b) {
      exec(conv_relu_, w_conv1_[static_cast<size_t>(b)], m_a_, m_t_);
      exec(conv_sum_, w_conv2_[static_cast<size_t>(b)], m_t_, m_a_);  // a = conv(t) + a
    }
    exec(conv_sum_, w_body_end_, m_a_, m_x0_);  // x0 = conv(a) + x0
    stream_.wait();
  }

  void run_tail() {
    const int r = stage_r_;
    const size_t group = static_cast<size_t>(desc_.channels) * elem_;
    for (int k = 0, res = 1; k < stages_; ++k, res *= r) {
      const size_t ks = static_cast<size_t>(k);
      exec(up_[ks], w_up_[ks], k == 0 ? m_tail_in_ : m_hr_[ks - 1], m_u_[ks]);
      stream_.wait();
      // PixelShuffle: u[y][x][(i*r + j)*F + c] -> hr[y*r + i][x*r + j][c], F contiguous values per copy.
      const int h = tail_h_ * res, w = tail_w_ * res;
      const uint8_t* u = u_[ks].bytes.data();
      uint8_t* hr = hr_[ks].bytes.data();
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const uint8_t* src = u + (static_cast<size_t>(y) * w + x) * r * r * group;
          for (int i = 0; i < r; ++i)
            for (int j = 0; j < r; ++j) {
              const size_t dst = (static_cast<size_t>(y * r + i) * w * r + (x * r + j)) * group;
              std::memcpy(hr + dst, src + static_cast<size_t>(i * r + j) * group, group);
            }
        }
    }
    exec(tail_, w_tail_, m_hr_.back(), m_out_);
    stream_.wait();
  }

  void store_output(const PlanarView& out, int cx0, int cy0, int cx1, int cy1, int tx0, int ty0) {
    const float* src = reinterpret_cast<const float*>(out_.data());
    const int hr_w = tail_w_ * r_;
    const size_t plane = static_cast<size_t>(out.width) * out.height;
    for (int y = cy0 * r_; y < cy1 * r_; ++y) {
      const int sy = y - ty0 * r_;
      for (int x = cx0 * r_; x < cx1 * r_; ++x) {
        const int sx = x - tx0 * r_;
        const float* p = src + (static_cast<size_t>(sy) * hr_w + sx) * 3;
        const size_t o = static_cast<size_t>(y) * out.width + x;
        out.data[o] = p[0];
        out.data[plane + o] = p[1];
        out.data[2 * plane + o] = p[2];
      }
    }
  }

  BackendOptions options_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dt act_;
  size_t elem_;
  int tile_ = kDefaultTile;
  Model model_;
  ModelDesc desc_;
  int r_ = 3;        // the model's scale
  int stage_r_ = 3;  // each upsampling stage's factor (2 for x4)
  int stages_ = 1;
  int radius_ = 0;
  int width_ = 0, height_ = 0, win_w_ = 0, win_h_ = 0, tail_w_ = 0, tail_h_ = 0;
  size_t scratch_bytes_ = 0;
  Conv head_, conv_relu_, conv_sum_, tail_;
  std::vector<Conv> up_;  // per upsampling stage, as the buffers below
  Weights w_head_, w_body_end_, w_tail_;
  std::vector<Weights> w_conv1_, w_conv2_, w_up_;
  Buffer in_, x0_, a_, t_, tail_in_, out_, scratch_;
  std::vector<Buffer> u_, hr_;
  memory m_in_, m_x0_, m_a_, m_t_, m_tail_in_, m_out_, m_scratch_;
  std::vector<memory> m_u_, m_hr_;
};

}  // namespace

bool onednn_available(Precision precision) {
  if (precision == Precision::fp32) return true;
  if (precision != Precision::bf16) return false;
  try {
    return native_bf16();
  } catch (const dnnl::error&) {
    return false;
  }
}

std::unique_ptr<Backend> create_onednn_backend(const BackendOptions& options) {
  try {
    return std::make_unique<OnednnBackend>(options);
  } catch (const dnnl::error& e) {
    rethrow(e, "engine creation");
  }
}

}  // namespace ns::sr
