// The oneDNN training engine: EDSR forward and backward on oneDNN's convolution primitives (forward_training,
// backward_data, backward_weights), the rest written plainly: ReLU, residual adds, PixelShuffle, L1 loss, Adam.
//
// Activations are NHWC fp32, one buffer per tensor the backward pass needs:
//   x (input) -> head -> a[0]; block i: t[i] = relu(conv1(a[i])), a[i+1] = conv2(t[i]) + a[i];
//   s = body_end(a[B]) + a[0]; per upsampling stage k: u[k] = relu(up_k(in_k)), hr[k] = shuffle(u[k]) with
//   in_0 = s, in_k = hr[k-1]; out = tail(hr[last]); loss = mean |out - y|.
// ReLU and the skip adds are fused into the convolutions as post-ops (eltwise, sum on a copy of the skip). The
// upsampling convs' output channels are permuted (as in sr/cpu) so that PixelShuffle copies F contiguous values;
// their weights, biases and gradients are permuted on the way in and back on the way out. ReLU commutes with the
// permutation, so fusing it before the shuffle is exact. Backward of ReLU masks by the stored output (> 0).
// Weights: the master copy is the plain OIHW Model; each step reorders it into the primitives' own layouts, and
// the weight gradients back to OIHW, where Adam updates the master copy.
// Threads: oneDNN's OpenMP team (options.threads, 0 = all cores) runs the convolutions and the plain loops, which
// are memory-bound passes over buffers of up to batch x 9F x patch^2 floats (serial, they held two threads to
// 1.4-1.7x one: bench/results/train-steps-threads.txt).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/sr/backends_impl.h"
#include "ns/sr/train/engine_impl.h"

namespace ns::sr::train {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

[[noreturn]] void rethrow(const dnnl::error& e, const char* what) {
  throw Error(ErrorCode::internal, fmt::format("train/onednn: {} failed ({}, status {}); use --engine torch or "
                                               "report the CPU and model",
                                               what, e.what(), static_cast<int>(e.status)));
}

// A float buffer with a oneDNN memory over it, and in bf16 training its bf16 copy (what the convolutions read).
struct Activation {
  std::vector<float> data;
  memory mem;
  memory half;  // bf16 only
  dnnl::reorder to_half;
  void create(const dnnl::engine& engine, int n, int c, int h, int w, bool bf16) {
    data.assign(static_cast<size_t>(n) * c * h * w, 0.0f);
    mem = memory(memory::desc({n, c, h, w}, dt::f32, tag::nhwc), engine, data.data());
    if (bf16) {
      half = memory(memory::desc({n, c, h, w}, dt::bf16, tag::nhwc), engine);
      to_half = dnnl::reorder(mem, half);
    }
  }
  // What a convolution reads: `mem`, or `half` after converting (bf16).
  const memory& conv_input(dnnl::stream& stream) {
    if (!half) return mem;
    to_half.execute(stream, mem, half);
    return half;
  }
  const memory& converted() const { return half ? half : mem; }
  size_t size() const { return data.size(); }
  float* ptr() { return data.data(); }
};

// dst = src, split over the OpenMP team.
void parallel_copy(const Activation& src, Activation& dst) {
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(src.size());
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t i = 0; i < n; ++i) dst.data[static_cast<size_t>(i)] = src.data[static_cast<size_t>(i)];
}

// One 3x3 convolution (stride 1, padding 1, bias) at one activation size, with the three training primitives.
struct ConvLayer {
  std::string prefix;        // tensor names prefix.weight, prefix.bias
  int cin = 0, cout = 0;
  std::vector<int> perm;     // output channel o of the primitive is the model's perm[o] (empty: identity)
  bool data_gradient = true; // backward_data needed (not for the head: its input is the image)

  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;

  std::vector<float> plain_weights, plain_bias;      // OIHW in the primitive's channel order
  std::vector<float> plain_dweights, plain_dbias;    // gradients, same order
  memory m_plain_weights, m_plain_dweights, m_bias, m_dbias;
  memory m_weights, m_weights_bwd, m_dweights;       // the primitives' layouts
  dnnl::reorder to_fwd, to_bwd, from_dweights;
};

class OnednnEngine final : public TrainEngine {
 public:
  OnednnEngine(const Model& model, const TrainOptions& options)
      : model_(model), options_(options), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    validate_model(model_, "train/onednn");
    const ModelDesc& d = model_.desc;
    if (options.precision != "fp32" && options.precision != "bf16" && options.precision != "auto") {
      throw Error(ErrorCode::invalid_argument,
                  "train: unknown precision '" + options.precision + "'; use auto, fp32 or bf16");
    }
    bf16_ = options.precision == "bf16" || (options.precision == "auto" && onednn_available(Precision::bf16));
    if (bf16_ && !onednn_available(Precision::bf16)) {
      throw Error(ErrorCode::unsupported, "train: --precision bf16 needs a CPU with avx512_bf16 (or AMX); use fp32");
    }
    act_ = bf16_ ? dt::bf16 : dt::f32;
    n_ = options.batch;
    p_ = options.patch;
    f_ = d.channels;
    scale_ = d.scale;
    stage_r_ = d.scale == 4 ? 2 : d.scale;
    stages_ = d.scale == 4 ? 2 : 1;
    with_threads([&] { build(); });
  }

  std::string name() const override { return bf16_ ? "onednn-bf16" : "onednn"; }
  std::string device() const override { return "cpu"; }

  double step(const float* lr, const float* hr, double learning_rate) override {
    double loss = 0;
    with_threads([&] {
      upload_weights();
      load_batch(lr, hr);
      forward();
      loss = loss_and_gradient();
      backward();
      download_gradients();
    });
    ++state_.step;
    for (const TensorSpec& spec : model_tensors(model_.desc)) {
      adam_update(model_.tensors.at(spec.name).data, gradients_.at(spec.name), state_.moments.at(spec.name),
                  state_.step, learning_rate);
    }
    return loss;
  }

  std::map<std::string, std::vector<float>> gradients() const override { return gradients_; }
  Model model() const override { return model_; }
  OptimizerState optimizer_state() const override { return state_; }

  void restore(const Model& model, const OptimizerState& state) override {
    validate_model(model, "train/onednn");
    if (!(model.desc == model_.desc)) {
      throw Error(ErrorCode::mismatch, "train: weights of " + model.desc.name() + " for a " + model_.desc.name() +
                                           " training; use a checkpoint of the same model");
    }
    for (const auto& [name, t] : model_.tensors) {
      const auto found = state.moments.find(name);
      if (found == state.moments.end() || found->second.exp_avg.size() != t.data.size() ||
          found->second.exp_avg_sq.size() != t.data.size()) {
        throw Error(ErrorCode::corrupt, "train: the optimiser state has no moments of the right size for " + name);
      }
    }
    model_ = model;
    state_ = state;
  }

 private:
  template <typename F>
  void with_threads(F&& f) {
    const int team = omp_get_max_threads();
    if (options_.threads > 0) omp_set_num_threads(options_.threads);
    try {
      f();
    } catch (const dnnl::error& e) {
      omp_set_num_threads(team);
      rethrow(e, "training step");
    } catch (...) {
      omp_set_num_threads(team);
      throw;
    }
    omp_set_num_threads(team);
  }

  memory::desc nhwc(int c, int h, int w, dt type) const { return memory::desc({n_, c, h, w}, type, tag::nhwc); }

  ConvLayer make_layer(const std::string& prefix, int cin, int cout, int h, int w, bool relu, bool sum,
                       bool data_gradient, std::vector<int> perm = {}) {
    ConvLayer l;
    l.prefix = prefix;
    l.cin = cin;
    l.cout = cout;
    l.perm = std::move(perm);
    l.data_gradient = data_gradient;
    // Convolutions read act_ (bf16 or f32) and write f32: the plain loops and the master weights stay f32.
    const memory::desc src = nhwc(cin, h, w, act_), dst = nhwc(cout, h, w, dt::f32);
    const memory::desc diff_dst = nhwc(cout, h, w, act_), diff_src = nhwc(cin, h, w, dt::f32);
    const memory::desc wei({cout, cin, 3, 3}, act_, tag::any);
    const memory::desc diff_wei({cout, cin, 3, 3}, dt::f32, tag::any);
    const memory::desc plain_wei({cout, cin, 3, 3}, dt::f32, tag::oihw);
    const memory::desc bias({cout}, dt::f32, tag::x);
    const memory::dims one{1, 1};
    dnnl::post_ops ops;
    if (sum) ops.append_sum(1.0f);
    if (relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    l.fwd_pd = dnnl::convolution_forward::primitive_desc(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src,
                                        wei, bias, dst, one, one, one),
        attr, engine_);
    l.fwd = dnnl::convolution_forward(l.fwd_pd);
    if (data_gradient) {
      l.bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(
          dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, diff_src, wei, diff_dst, one, one,
                                                one),
          engine_, l.fwd_pd);
      l.bwd_data = dnnl::convolution_backward_data(l.bwd_data_pd);
    }
    l.bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
        dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src, diff_wei, bias, diff_dst,
                                                 one, one, one),
        engine_, l.fwd_pd);
    l.bwd_weights = dnnl::convolution_backward_weights(l.bwd_weights_pd);
    log::debug("train", "{}: forward {}, backward-data {}, backward-weights {}", prefix, l.fwd_pd.impl_info_str(),
               data_gradient ? l.bwd_data_pd.impl_info_str() : "-", l.bwd_weights_pd.impl_info_str());

    const size_t weights = static_cast<size_t>(cout) * cin * 9;
    l.plain_weights.assign(weights, 0.0f);
    l.plain_dweights.assign(weights, 0.0f);
    l.plain_bias.assign(static_cast<size_t>(cout), 0.0f);
    l.plain_dbias.assign(static_cast<size_t>(cout), 0.0f);
    l.m_plain_weights = memory(plain_wei, engine_, l.plain_weights.data());
    l.m_plain_dweights = memory(plain_wei, engine_, l.plain_dweights.data());
    l.m_bias = memory(bias, engine_, l.plain_bias.data());
    l.m_dbias = memory(bias, engine_, l.plain_dbias.data());
    l.m_weights = memory(l.fwd_pd.weights_desc(), engine_);
    l.to_fwd = dnnl::reorder(l.m_plain_weights, l.m_weights);
    if (data_gradient) {
      l.m_weights_bwd = memory(l.bwd_data_pd.weights_desc(), engine_);
      l.to_bwd = dnnl::reorder(l.m_plain_weights, l.m_weights_bwd);
    }
    l.m_dweights = memory(l.bwd_weights_pd.diff_weights_desc(), engine_);
    l.from_dweights = dnnl::reorder(l.m_dweights, l.m_plain_dweights);
    return l;
  }

  void build() {
    const int b = model_.desc.blocks;
    head_ = make_layer("head.0", 3, f_, p_, p_, false, false, false);
    for (int i = 0; i < b; ++i) {
      conv1_.push_back(make_layer(fmt::format("body.{}.body.0", i), f_, f_, p_, p_, true, false, true));
      conv2_.push_back(make_layer(fmt::format("body.{}.body.2", i), f_, f_, p_, p_, false, true, true));
    }
    body_end_ = make_layer(fmt::format("body.{}", b), f_, f_, p_, p_, false, true, true);
    const int rr = stage_r_ * stage_r_;
    std::vector<int> perm(static_cast<size_t>(rr * f_));  // primitive channel k*F + c <- model channel c*r*r + k
    for (int c = 0; c < f_; ++c)
      for (int k = 0; k < rr; ++k) perm[static_cast<size_t>(k) * f_ + c] = c * rr + k;
    for (int k = 0, res = p_; k < stages_; ++k, res *= stage_r_) {
      up_.push_back(make_layer(fmt::format("tail.0.body.{}", 3 * k), f_, rr * f_, res, res, true, false, true, perm));
    }
    tail_ = make_layer("tail.1", f_, 3, scale_ * p_, scale_ * p_, false, false, true);

    const int hp = scale_ * p_;
    x_.create(engine_, n_, 3, p_, p_, bf16_);
    y_.create(engine_, n_, 3, hp, hp, false);
    out_.create(engine_, n_, 3, hp, hp, false);
    d_out_.create(engine_, n_, 3, hp, hp, bf16_);
    a_.resize(static_cast<size_t>(b) + 1);
    for (Activation& act : a_) act.create(engine_, n_, f_, p_, p_, bf16_);
    t_.resize(static_cast<size_t>(b));
    for (Activation& act : t_) act.create(engine_, n_, f_, p_, p_, bf16_);
    s_.create(engine_, n_, f_, p_, p_, bf16_);
    d_s_.create(engine_, n_, f_, p_, p_, bf16_);
    d_a_.create(engine_, n_, f_, p_, p_, bf16_);
    d_t_.create(engine_, n_, f_, p_, p_, bf16_);
    d_tmp_.create(engine_, n_, f_, p_, p_, false);
    u_.resize(static_cast<size_t>(stages_));
    hr_.resize(static_cast<size_t>(stages_));
    d_u_.resize(static_cast<size_t>(stages_));
    d_hr_.resize(static_cast<size_t>(stages_));
    for (int k = 0, res = p_; k < stages_; ++k, res *= stage_r_) {
      const size_t ks = static_cast<size_t>(k);
      u_[ks].create(engine_, n_, rr * f_, res, res, false);  // read by the shuffle only
      d_u_[ks].create(engine_, n_, rr * f_, res, res, bf16_);
      hr_[ks].create(engine_, n_, f_, res * stage_r_, res * stage_r_, bf16_);
      d_hr_[ks].create(engine_, n_, f_, res * stage_r_, res * stage_r_, false);
    }
    // The batch arrives planar (NCHW): one reorder each into NHWC.
    m_lr_planar_ = memory(memory::desc({n_, 3, p_, p_}, dt::f32, tag::nchw), engine_, nullptr);
    m_hr_planar_ = memory(memory::desc({n_, 3, hp, hp}, dt::f32, tag::nchw), engine_, nullptr);
    lr_to_nhwc_ = dnnl::reorder(m_lr_planar_, x_.mem);
    hr_to_nhwc_ = dnnl::reorder(m_hr_planar_, y_.mem);

    for (const TensorSpec& spec : model_tensors(model_.desc)) {
      const size_t size = static_cast<size_t>(spec.elements());
      state_.moments[spec.name] = {std::vector<float>(size, 0.0f), std::vector<float>(size, 0.0f)};
      gradients_[spec.name].assign(size, 0.0f);
    }
  }

  template <typename F>
  void for_each_layer(F&& f) {
    f(head_);
    for (size_t i = 0; i < conv1_.size(); ++i) {
      f(conv1_[i]);
      f(conv2_[i]);
    }
    f(body_end_);
    for (ConvLayer& l : up_) f(l);
    f(tail_);
  }

  // Master weights (model order) -> each layer's plain copy (primitive order) -> the primitives' layouts.
  void upload_weights() {
    for_each_layer([&](ConvLayer& l) {
      const Tensor& w = model_.tensor(l.prefix + ".weight");
      const Tensor& bias = model_.tensor(l.prefix + ".bias");
      const size_t per_out = static_cast<size_t>(l.cin) * 9;
      for (int o = 0; o < l.cout; ++o) {
        const size_t src = static_cast<size_t>(l.perm.empty() ? o : l.perm[static_cast<size_t>(o)]);
        std::memcpy(l.plain_weights.data() + o * per_out, w.data.data() + src * per_out, per_out * sizeof(float));
        l.plain_bias[static_cast<size_t>(o)] = bias.data[src];
      }
      l.to_fwd.execute(stream_, l.m_plain_weights, l.m_weights);
      if (l.data_gradient) l.to_bwd.execute(stream_, l.m_plain_weights, l.m_weights_bwd);
    });
    stream_.wait();
  }

  // Each layer's weight gradients (primitive layout) -> plain -> model order.
  void download_gradients() {
    for_each_layer([&](ConvLayer& l) { l.from_dweights.execute(stream_, l.m_dweights, l.m_plain_dweights); });
    stream_.wait();
    for_each_layer([&](ConvLayer& l) {
      std::vector<float>& gw = gradients_.at(l.prefix + ".weight");
      std::vector<float>& gb = gradients_.at(l.prefix + ".bias");
      const size_t per_out = static_cast<size_t>(l.cin) * 9;
      for (int o = 0; o < l.cout; ++o) {
        const size_t dst = static_cast<size_t>(l.perm.empty() ? o : l.perm[static_cast<size_t>(o)]);
        std::memcpy(gw.data() + dst * per_out, l.plain_dweights.data() + o * per_out, per_out * sizeof(float));
        gb[dst] = l.plain_dbias[static_cast<size_t>(o)];
      }
    });
  }

  void load_batch(const float* lr, const float* hr) {
    m_lr_planar_.set_data_handle(const_cast<float*>(lr));
    m_hr_planar_.set_data_handle(const_cast<float*>(hr));
    lr_to_nhwc_.execute(stream_, m_lr_planar_, x_.mem);
    hr_to_nhwc_.execute(stream_, m_hr_planar_, y_.mem);
  }

  void forward_conv(ConvLayer& l, Activation& src, Activation& dst) {
    l.fwd.execute(stream_, {{DNNL_ARG_SRC, src.conv_input(stream_)}, {DNNL_ARG_WEIGHTS, l.m_weights},
                            {DNNL_ARG_BIAS, l.m_bias}, {DNNL_ARG_DST, dst.mem}});
  }

  // The weight and bias gradients of `l` from its (forward, already converted) input and its output gradient,
  // and the input gradient into diff_src unless null.
  void backward_conv(ConvLayer& l, const Activation& src, Activation& diff_dst, Activation* diff_src) {
    const memory& dd = diff_dst.conv_input(stream_);
    l.bwd_weights.execute(stream_, {{DNNL_ARG_SRC, src.converted()}, {DNNL_ARG_DIFF_DST, dd},
                                    {DNNL_ARG_DIFF_WEIGHTS, l.m_dweights}, {DNNL_ARG_DIFF_BIAS, l.m_dbias}});
    if (diff_src) {
      l.bwd_data.execute(stream_, {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, l.m_weights_bwd},
                                   {DNNL_ARG_DIFF_SRC, diff_src->mem}});
    }
  }

  // hr[y r + i][x r + j][c] = u[y][x][(i r + j) F + c] (and back, for the gradient).
  // `w` is u's edge (patches are square).
  void shuffle(Activation& u, Activation& hr, int w, bool backward) {
    const int r = stage_r_;
    const size_t group = static_cast<size_t>(f_);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < n_; ++n)
      for (int y = 0; y < w; ++y)
        for (int x = 0; x < w; ++x) {
          float* src = u.ptr() + ((static_cast<size_t>(n) * w + y) * w + x) * r * r * group;
          for (int i = 0; i < r; ++i)
            for (int j = 0; j < r; ++j) {
              float* dst = hr.ptr() + ((static_cast<size_t>(n) * w * r + y * r + i) * w * r + (x * r + j)) * group;
              float* part = src + static_cast<size_t>(i * r + j) * group;
              if (backward) {
                std::memcpy(part, dst, group * sizeof(float));
              } else {
                std::memcpy(dst, part, group * sizeof(float));
              }
            }
        }
  }

  int stage_edge(size_t k) const {
    int edge = p_;
    for (size_t i = 0; i < k; ++i) edge *= stage_r_;
    return edge;
  }

  void forward() {
    forward_conv(head_, x_, a_[0]);
    for (size_t i = 0; i < conv1_.size(); ++i) {
      forward_conv(conv1_[i], a_[i], t_[i]);
      stream_.wait();
      parallel_copy(a_[i], a_[i + 1]);  // the skip: conv2's sum post-op
      forward_conv(conv2_[i], t_[i], a_[i + 1]);
    }
    stream_.wait();
    parallel_copy(a_[0], s_);
    forward_conv(body_end_, a_.back(), s_);
    for (size_t k = 0; k < up_.size(); ++k) {
      forward_conv(up_[k], k == 0 ? s_ : hr_[k - 1], u_[k]);
      stream_.wait();
      shuffle(u_[k], hr_[k], stage_edge(k), false);
    }
    forward_conv(tail_, hr_.back(), out_);
    stream_.wait();
  }

  // Mean |out - y| and its gradient sign(out - y) / count into d_out (PyTorch's l1_loss, sign(0) = 0).
  double loss_and_gradient() {
    const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(out_.size());
    const float inv = 1.0f / static_cast<float>(count);
    double sum = 0;
    const float* out = out_.ptr();
    const float* y = y_.ptr();
    float* d = d_out_.ptr();
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (std::ptrdiff_t i = 0; i < count; ++i) {
      const float diff = out[i] - y[i];
      sum += std::fabs(diff);
      d[i] = diff > 0 ? inv : (diff < 0 ? -inv : 0.0f);
    }
    return sum / static_cast<double>(count);
  }

  static void mask_by_output(Activation& grad, const Activation& relu_out) {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(grad.size());
    float* g = grad.ptr();
    const float* out = relu_out.data.data();
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      if (!(out[i] > 0)) g[i] = 0;
    }
  }

  static void add_into(Activation& acc, const Activation& x) {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(acc.size());
    float* a = acc.ptr();
    const float* b = x.data.data();
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) a[i] += b[i];
  }

  void backward() {
    // tail, then each upsampling stage from the last
    backward_conv(tail_, hr_.back(), d_out_, &d_hr_.back());
    stream_.wait();
    for (size_t k = up_.size(); k-- > 0;) {
      shuffle(d_u_[k], d_hr_[k], stage_edge(k), true);
      mask_by_output(d_u_[k], u_[k]);
      backward_conv(up_[k], k == 0 ? s_ : hr_[k - 1], d_u_[k], k == 0 ? &d_s_ : &d_hr_[k - 1]);
      stream_.wait();
    }
    // s = body_end(a[B]) + a[0]: d(a[0]) also gets d(s) directly, added at the head.
    backward_conv(body_end_, a_.back(), d_s_, &d_a_);
    stream_.wait();
    // a[i+1] = conv2(t[i]) + a[i], t[i] = relu(conv1(a[i]))
    for (size_t i = conv1_.size(); i-- > 0;) {
      backward_conv(conv2_[i], t_[i], d_a_, &d_t_);
      stream_.wait();
      mask_by_output(d_t_, t_[i]);
      backward_conv(conv1_[i], a_[i], d_t_, &d_tmp_);
      stream_.wait();
      add_into(d_a_, d_tmp_);
    }
    add_into(d_a_, d_s_);
    backward_conv(head_, x_, d_a_, nullptr);
    stream_.wait();
  }

  Model model_;
  TrainOptions options_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  bool bf16_ = false;
  dt act_ = dt::f32;
  int n_ = 0, p_ = 0, f_ = 0, scale_ = 3, stage_r_ = 3, stages_ = 1;
  ConvLayer head_, body_end_, tail_;
  std::vector<ConvLayer> conv1_, conv2_, up_;
  Activation x_, y_, out_, d_out_, s_, d_s_, d_a_, d_t_, d_tmp_;
  std::vector<Activation> a_, t_, u_, hr_, d_u_, d_hr_;
  memory m_lr_planar_, m_hr_planar_;
  dnnl::reorder lr_to_nhwc_, hr_to_nhwc_;
  OptimizerState state_;
  std::map<std::string, std::vector<float>> gradients_;
};

}  // namespace

std::unique_ptr<TrainEngine> create_onednn_engine(const Model& model, const TrainOptions& options) {
  try {
    return std::make_unique<OnednnEngine>(model, options);
  } catch (const dnnl::error& e) {
    rethrow(e, "creating the primitives");
  }
}

void adam_update(std::vector<float>& param, const std::vector<float>& grad, AdamMoments& moments, int64_t step,
                 double learning_rate) {
  constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // PyTorch's defaults
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
  const float step_size = static_cast<float>(learning_rate / bias_correction1);
  const float sqrt_bc2 = static_cast<float>(std::sqrt(bias_correction2));
  for (size_t i = 0; i < param.size(); ++i) {
    const float g = grad[i];
    float& m = moments.exp_avg[i];
    float& v = moments.exp_avg_sq[i];
    m = m * static_cast<float>(beta1) + g * static_cast<float>(1 - beta1);
    v = v * static_cast<float>(beta2) + g * g * static_cast<float>(1 - beta2);
    const float denom = std::sqrt(v) / sqrt_bc2 + static_cast<float>(eps);
    param[i] -= step_size * m / denom;
  }
}

}  // namespace ns::sr::train
