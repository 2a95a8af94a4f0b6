// sr/cuda: the host side of CudaUpscaler: model blobs, buffers, the forward pass as a sequence of fused
// convolutions (optionally captured once per batch and size as a CUDA graph), and the I420 / planar I/O.
//
// Forward (activations fp16 NHWC, F channels unless said):
//   x0 = head(input, 16 ch)                      a = x0 for block 0
//   t = ReLU(conv1(a)); a = conv2(t) + a         per block, the add fused (in place after block 0)
//   x0 = body_end(a) + x0                        global skip, in place
//   u = ReLU(PixelShuffle(up(x0)))               fused: the conv writes HR pixels directly (x4: twice)
//   out = tail(u) as planar fp32, 3 channels     the frame's raw network output
// Each image of a batch reads its own model through a device table of blob pointers, so switching a
// stream's model is one pointer (no rebuild, no refit, and captured graphs stay valid).
#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "ns/core/error.h"
#include "ns/sr/cuda/check_impl.h"
#include "ns/sr/cuda/cuda_upscaler.h"
#include "ns/sr/cuda/kernels_impl.h"

namespace ns::sr {

using cuda::ConvLaunch;
using cuda::DeviceBuffer;
using cuda::PinnedBuffer;
using cuda::Store;

namespace {

constexpr size_t kBlobAlignment = 256;
constexpr int kMaxBatch = 64;
constexpr size_t kMaxGraphs = 32;  // cached (batch, size) graphs; the cache is cleared when full

size_t align_up(size_t v) { return (v + kBlobAlignment - 1) / kBlobAlignment * kBlobAlignment; }
int pad16(int channels) { return (channels + 15) / 16 * 16; }

// One convolution of the model: real and padded channel counts, where its weights sit in the blob.
struct Layer {
  std::string prefix;  // PyTorch name without .weight / .bias
  int in = 0;
  int out = 0;
  int cin = 0;
  int cout = 0;
  int shuffle = 1;  // r when PixelShuffle(r) follows: output channels permuted to (i * r + j) * F + c
  size_t weight_offset = 0;
  size_t bias_offset = 0;
};

std::vector<Layer> make_layers(const ModelDesc& desc, size_t& blob_bytes) {
  const int f = desc.channels;
  std::vector<Layer> layers;
  layers.push_back({"head.0", 3, f, cuda::kInputChannels, f});
  for (int b = 0; b < desc.blocks; ++b) {
    layers.push_back({fmt::format("body.{}.body.0", b), f, f, f, f});
    layers.push_back({fmt::format("body.{}.body.2", b), f, f, f, f});
  }
  layers.push_back({fmt::format("body.{}", desc.blocks), f, f, f, f});
  const int r = desc.scale == 3 ? 3 : 2;
  const int stages = desc.scale == 4 ? 2 : 1;
  for (int s = 0; s < stages; ++s) {
    layers.push_back({fmt::format("tail.0.body.{}", 3 * s), f, r * r * f, f, r * r * f, r});
  }
  layers.push_back({"tail.1", f, 3, f, pad16(3)});
  blob_bytes = 0;
  for (Layer& l : layers) {
    l.weight_offset = blob_bytes;
    blob_bytes = align_up(blob_bytes + size_t{9} * l.cin * l.cout * sizeof(__half));
    l.bias_offset = blob_bytes;
    blob_bytes = align_up(blob_bytes + size_t(l.cout) * sizeof(float));
  }
  return layers;
}

// The model's OIHW fp32 tensors as fp16 [9 cin][cout] weights and fp32 biases, zero-padded.
std::vector<unsigned char> pack_model(const Model& model, const std::vector<Layer>& layers, size_t blob_bytes) {
  std::vector<unsigned char> blob(blob_bytes, 0);
  const int f = model.desc.channels;
  for (const Layer& l : layers) {
    const std::vector<float>& w = model.tensor(l.prefix + ".weight").data;
    const std::vector<float>& b = model.tensor(l.prefix + ".bias").data;
    auto* weights = reinterpret_cast<__half*>(blob.data() + l.weight_offset);
    auto* bias = reinterpret_cast<float*>(blob.data() + l.bias_offset);
    for (int co = 0; co < l.out; ++co) {
      const int r2 = l.shuffle * l.shuffle;
      const int src = l.shuffle > 1 ? (co % f) * r2 + co / f : co;  // PyTorch channel c * r^2 + (i * r + j)
      bias[co] = b[static_cast<size_t>(src)];
      for (int ci = 0; ci < l.in; ++ci)
        for (int k = 0; k < 9; ++k)
          weights[(static_cast<size_t>(k) * l.cin + ci) * l.cout + co] =
              __float2half_rn(w[(static_cast<size_t>(src) * l.in + ci) * 9 + k]);
    }
  }
  return blob;
}

struct StreamDestroy {
  void operator()(cudaStream_t s) const { cudaStreamDestroy(s); }
};
struct GraphExecDestroy {
  void operator()(cudaGraphExec_t g) const { cudaGraphExecDestroy(g); }
};
using StreamHandle = std::unique_ptr<CUstream_st, StreamDestroy>;
using GraphHandle = std::unique_ptr<CUgraphExec_st, GraphExecDestroy>;

}  // namespace

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

bool cuda_supports(const ModelDesc& desc) {
  return desc.arch == "edsr" && desc.channels % 16 == 0 && desc.channels <= cuda::kMaxChannels &&
         (desc.scale == 2 || desc.scale == 3 || desc.scale == 4);
}

struct CudaUpscaler::Impl {
  ModelDesc desc;
  CudaUpscalerOptions options;
  int max_w = 0;
  int max_h = 0;
  std::vector<Layer> layers;
  size_t blob_bytes = 0;
  StreamHandle stream;
  std::vector<DeviceBuffer> models;  // by id; an empty buffer is a removed model
  DeviceBuffer input, x0, a, t, up1, up2, out_planar, i420_in, i420_out, table, nan_flag, planar_in;
  PinnedBuffer host_i420_in, host_i420_out, host_table, host_nan, host_planar_in, host_planar_out;
  std::map<std::tuple<int, int, int>, GraphHandle> graphs;

  void activate() const { NS_CUDA_CHECK(cudaSetDevice(options.device)); }

  void check_batch(size_t n, size_t ids, size_t outputs) const {
    if (n < 1 || n > static_cast<size_t>(options.max_batch) || ids != n || outputs != n) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("sr/cuda: batch of {} inputs, {} model ids, {} outputs; pass 1..{} of each, as many "
                              "of each (max_batch)",
                              n, ids, outputs, options.max_batch));
    }
  }

  void check_size(int w, int h) const {
    if (w < 1 || h < 1 || w > max_w || h > max_h) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("sr/cuda: input {}x{} is outside the prepared 1x1..{}x{}; create the upscaler for the "
                              "largest frame size",
                              w, h, max_w, max_h));
    }
  }

  // Points the device table at each image's model (one small copy before the batch's kernels).
  void set_models(std::span<const int> ids) {
    auto* host = host_table.as<const unsigned char*>();
    for (size_t i = 0; i < ids.size(); ++i) {
      const int id = ids[i];
      if (id < 0 || static_cast<size_t>(id) >= models.size() || models[static_cast<size_t>(id)].bytes() == 0) {
        throw Error(ErrorCode::invalid_argument,
                    fmt::format("sr/cuda: model id {} is not loaded; pass an id returned by add_model", id));
      }
      host[i] = models[static_cast<size_t>(id)].as<const unsigned char>();
    }
    NS_CUDA_CHECK(cudaMemcpyAsync(table.as<void>(), host, ids.size() * sizeof(host[0]), cudaMemcpyHostToDevice,
                                  stream.get()));
  }

  void conv(const Layer& l, int n, int w, int h, const __half* in, __half* out, const __half* residual, bool relu) {
    ConvLaunch c;
    c.in = in;
    c.batch = n;
    c.width = w;
    c.height = h;
    c.cin = l.cin;
    c.cout = l.cout;
    c.models = table.as<const unsigned char* const>();
    c.weight_offset = l.weight_offset;
    c.bias_offset = l.bias_offset;
    c.relu = relu;
    c.residual = residual;
    c.out = out;
    if (l.shuffle > 1) {
      c.store = Store::shuffle;
      c.shuffle = l.shuffle;
    } else if (l.out < l.cout) {  // the tail: 3 of 16 channels, planar fp32
      c.store = Store::planar_f32;
      c.out_planar = out_planar.as<float>();
      c.planar_channels = l.out;
    }
    NS_CUDA_CHECK(options.reference_kernels ? cuda::conv3x3_direct(c, stream.get())
                                            : cuda::conv3x3_tensor_core(c, stream.get()));
  }

  void enqueue_forward(int n, int w, int h) {
    size_t next = 0;
    auto layer = [&]() -> const Layer& { return layers[next++]; };
    conv(layer(), n, w, h, input.as<__half>(), x0.as<__half>(), nullptr, false);
    for (int b = 0; b < desc.blocks; ++b) {
      const __half* block_in = b == 0 ? x0.as<__half>() : a.as<__half>();
      conv(layer(), n, w, h, block_in, t.as<__half>(), nullptr, true);
      conv(layer(), n, w, h, t.as<__half>(), a.as<__half>(), block_in, false);
    }
    conv(layer(), n, w, h, a.as<__half>(), x0.as<__half>(), x0.as<__half>(), false);
    const __half* cur = x0.as<__half>();
    __half* stage_out[2] = {up1.as<__half>(), up2.as<__half>()};
    for (int s = 0; next + 1 < layers.size(); ++s) {
      const Layer& up = layer();
      conv(up, n, w, h, cur, stage_out[s], nullptr, true);
      cur = stage_out[s];
      w *= up.shuffle;
      h *= up.shuffle;
    }
    conv(layer(), n, w, h, cur, nullptr, nullptr, false);
  }

  // The network from `input` to `out_planar`, replayed from a captured graph when enabled.
  void forward(int n, int w, int h) {
    if (!options.use_graphs) return enqueue_forward(n, w, h);
    const auto key = std::make_tuple(n, w, h);
    auto it = graphs.find(key);
    if (it == graphs.end()) {
      if (graphs.size() >= kMaxGraphs) graphs.clear();
      it = graphs.emplace(key, capture(n, w, h)).first;
    }
    NS_CUDA_CHECK(cudaGraphLaunch(it->second.get(), stream.get()));
  }

  GraphHandle capture(int n, int w, int h) {
    cudaGraph_t graph = nullptr;
    NS_CUDA_CHECK(cudaStreamBeginCapture(stream.get(), cudaStreamCaptureModeThreadLocal));
    try {
      enqueue_forward(n, w, h);
    } catch (...) {
      if (cudaStreamEndCapture(stream.get(), &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
      throw;
    }
    NS_CUDA_CHECK(cudaStreamEndCapture(stream.get(), &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t status = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    NS_CUDA_CHECK(status);
    return GraphHandle(exec);
  }

  // Colour conversion in, network, colour conversion out: device buffers only.
  void enqueue_i420(int n, int w, int h) {
    const int s = desc.scale;
    NS_CUDA_CHECK(cudaMemsetAsync(nan_flag.as<void>(), 0, sizeof(int), stream.get()));
    NS_CUDA_CHECK(cuda::i420_to_input(i420_in.as<uint8_t>(), n, w, h, input.as<__half>(), stream.get()));
    forward(n, w, h);
    NS_CUDA_CHECK(cuda::output_to_i420(out_planar.as<float>(), n, w * s, h * s, i420_out.as<uint8_t>(),
                                       nan_flag.as<int>(), stream.get()));
  }

  void synchronize() { NS_CUDA_CHECK(cudaStreamSynchronize(stream.get())); }
};

CudaUpscaler::CudaUpscaler(const ModelDesc& desc, int max_width, int max_height, const CudaUpscalerOptions& options)
    : impl_(std::make_unique<Impl>()) {
  validate_desc(desc);
  if (!cuda_supports(desc)) {
    throw Error(ErrorCode::unsupported, fmt::format("sr/cuda: cannot run {}; the cuda backend needs EDSR with channels "
                                                    "a multiple of 16 up to {}; use --backend onednn",
                                                    desc.name(), cuda::kMaxChannels));
  }
  if (max_width < 1 || max_height < 1 || options.max_batch < 1 || options.max_batch > kMaxBatch) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("sr/cuda: cannot prepare {} frames of {}x{}; give the LR frame size and a batch of 1..{}",
                            options.max_batch, max_width, max_height, kMaxBatch));
  }
  const int devices = cuda_device_count();
  if (options.device < 0 || options.device >= devices) {
    throw Error(ErrorCode::invalid_argument,
                devices == 0 ? fmt::format("sr/cuda: device {} is not present (no CUDA device or driver found); use "
                                           "--backend onednn on this machine",
                                           options.device)
                             : fmt::format("sr/cuda: device {} is not present ({} CUDA devices); pass --device "
                                           "0..{}",
                                           options.device, devices, devices - 1));
  }
  Impl& m = *impl_;
  m.desc = desc;
  m.options = options;
  m.max_w = max_width;
  m.max_h = max_height;
  m.layers = make_layers(desc, m.blob_bytes);
  m.activate();
  NS_CUDA_CHECK(cuda::conv3x3_init());
  cudaStream_t stream = nullptr;
  NS_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  m.stream.reset(stream);

  const size_t n = static_cast<size_t>(options.max_batch);
  const size_t lr = static_cast<size_t>(max_width) * max_height;
  const size_t f = static_cast<size_t>(desc.channels);
  const size_t s2 = static_cast<size_t>(desc.scale) * desc.scale;
  m.input = DeviceBuffer(n * lr * cuda::kInputChannels * sizeof(__half));
  m.x0 = DeviceBuffer(n * lr * f * sizeof(__half));
  m.a = DeviceBuffer(n * lr * f * sizeof(__half));
  m.t = DeviceBuffer(n * lr * f * sizeof(__half));
  m.up1 = DeviceBuffer(n * lr * (desc.scale == 4 ? 4 : s2) * f * sizeof(__half));
  if (desc.scale == 4) m.up2 = DeviceBuffer(n * lr * s2 * f * sizeof(__half));
  m.out_planar = DeviceBuffer(n * lr * s2 * 3 * sizeof(float));
  const size_t lr_i420 = cuda::i420_bytes(max_width, max_height);
  const size_t hr_i420 = cuda::i420_bytes(max_width * desc.scale, max_height * desc.scale);
  m.i420_in = DeviceBuffer(n * lr_i420);
  m.i420_out = DeviceBuffer(n * hr_i420);
  m.table = DeviceBuffer(n * sizeof(const unsigned char*));
  m.nan_flag = DeviceBuffer(sizeof(int));
  m.host_i420_in = PinnedBuffer(n * lr_i420);
  m.host_i420_out = PinnedBuffer(n * hr_i420);
  m.host_table = PinnedBuffer(n * sizeof(const unsigned char*));
  m.host_nan = PinnedBuffer(sizeof(int));
  if (options.planar_io) {
    m.planar_in = DeviceBuffer(n * lr * 3 * sizeof(float));
    m.host_planar_in = PinnedBuffer(n * lr * 3 * sizeof(float));
    m.host_planar_out = PinnedBuffer(n * lr * s2 * 3 * sizeof(float));
  }
}

CudaUpscaler::~CudaUpscaler() {
  if (impl_->stream) cudaStreamSynchronize(impl_->stream.get());  // nothing may still use the buffers
}

const ModelDesc& CudaUpscaler::desc() const { return impl_->desc; }

std::string CudaUpscaler::device_name() const {
  cudaDeviceProp prop{};
  NS_CUDA_CHECK(cudaGetDeviceProperties(&prop, impl_->options.device));
  return prop.name;
}

int CudaUpscaler::add_model(const Model& model) {
  Impl& m = *impl_;
  if (!(model.desc == m.desc)) {
    throw Error(ErrorCode::mismatch, fmt::format("sr/cuda: model {} differs from the upscaler's {}; create one "
                                                 "upscaler per architecture",
                                                 model.desc.name(), m.desc.name()));
  }
  validate_model(model);
  const std::vector<unsigned char> blob = pack_model(model, m.layers, m.blob_bytes);
  m.activate();
  DeviceBuffer device(blob.size());
  NS_CUDA_CHECK(cudaMemcpy(device.as<void>(), blob.data(), blob.size(), cudaMemcpyHostToDevice));
  for (size_t id = 0; id < m.models.size(); ++id) {
    if (m.models[id].bytes() == 0) {
      m.models[id] = std::move(device);
      return static_cast<int>(id);
    }
  }
  m.models.push_back(std::move(device));
  return static_cast<int>(m.models.size() - 1);
}

void CudaUpscaler::remove_model(int id) {
  Impl& m = *impl_;
  if (id < 0 || static_cast<size_t>(id) >= m.models.size()) return;
  m.activate();
  m.synchronize();  // a batch in flight may still read it
  m.models[static_cast<size_t>(id)] = DeviceBuffer();
}

void CudaUpscaler::upscale(std::span<const core::Frame* const> lr, std::span<const int> model_ids,
                           std::span<core::Frame* const> hr) {
  Impl& m = *impl_;
  m.check_batch(lr.size(), model_ids.size(), hr.size());
  const int w = lr[0]->width();
  const int h = lr[0]->height();
  const int s = m.desc.scale;
  for (size_t i = 0; i < lr.size(); ++i) {
    if (lr[i]->empty() || lr[i]->width() != w || lr[i]->height() != h) {
      throw Error(ErrorCode::mismatch, fmt::format("sr/cuda: frame {} of the batch is {}x{}, the first {}x{}; batch "
                                                   "frames of one size",
                                                   i, lr[i]->width(), lr[i]->height(), w, h));
    }
    if (!hr[i]->empty() && (hr[i]->width() != w * s || hr[i]->height() != h * s)) {
      throw Error(ErrorCode::mismatch, fmt::format("sr/cuda: output frame {} is {}x{}, x{} of {}x{} needs {}x{}; pass "
                                                   "an empty frame or one of the right size",
                                                   i, hr[i]->width(), hr[i]->height(), s, w, h, w * s, h * s));
    }
  }
  m.check_size(w, h);
  const int n = static_cast<int>(lr.size());
  const size_t in_bytes = cuda::i420_bytes(w, h);
  const size_t out_bytes = cuda::i420_bytes(w * s, h * s);
  for (int i = 0; i < n; ++i) {
    uint8_t* dst = m.host_i420_in.as<uint8_t>() + static_cast<size_t>(i) * in_bytes;
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int pw = lr[static_cast<size_t>(i)]->plane_width(p);
      for (int y = 0; y < lr[static_cast<size_t>(i)]->plane_height(p); ++y, dst += pw)
        std::memcpy(dst, lr[static_cast<size_t>(i)]->row(p, y), static_cast<size_t>(pw));
    }
  }
  m.activate();
  m.set_models(model_ids);
  NS_CUDA_CHECK(cudaMemcpyAsync(m.i420_in.as<void>(), m.host_i420_in.as<void>(), n * in_bytes,
                                cudaMemcpyHostToDevice, m.stream.get()));
  m.enqueue_i420(n, w, h);
  NS_CUDA_CHECK(cudaMemcpyAsync(m.host_i420_out.as<void>(), m.i420_out.as<void>(), n * out_bytes,
                                cudaMemcpyDeviceToHost, m.stream.get()));
  NS_CUDA_CHECK(cudaMemcpyAsync(m.host_nan.as<void>(), m.nan_flag.as<void>(), sizeof(int), cudaMemcpyDeviceToHost,
                                m.stream.get()));
  m.synchronize();
  if (*m.host_nan.as<int>() != 0) {
    throw Error(ErrorCode::corrupt, fmt::format("sr/cuda: {} produced NaN; the model weights are damaged, re-export "
                                                "or retrain the model",
                                                m.desc.name()));
  }
  for (int i = 0; i < n; ++i) {
    core::Frame& out = *hr[static_cast<size_t>(i)];
    if (out.empty()) out = core::Frame(w * s, h * s);
    const uint8_t* src = m.host_i420_out.as<uint8_t>() + static_cast<size_t>(i) * out_bytes;
    for (int p = 0; p < core::kPlaneCount; ++p) {
      const int pw = out.plane_width(p);
      for (int y = 0; y < out.plane_height(p); ++y, src += pw) std::memcpy(out.row(p, y), src, static_cast<size_t>(pw));
    }
    out.pts = lr[static_cast<size_t>(i)]->pts;
    out.index = lr[static_cast<size_t>(i)]->index;
  }
}

void CudaUpscaler::run_planar(std::span<const float* const> in, std::span<const int> model_ids,
                              std::span<float* const> out, int width, int height) {
  Impl& m = *impl_;
  if (!m.options.planar_io) {
    throw Error(ErrorCode::invalid_argument,
                "sr/cuda: run_planar needs the planar staging; create the upscaler with planar_io = true");
  }
  m.check_batch(in.size(), model_ids.size(), out.size());
  m.check_size(width, height);
  const int n = static_cast<int>(in.size());
  const size_t lr = static_cast<size_t>(width) * height * 3;
  const size_t hr = lr * m.desc.scale * m.desc.scale;
  for (int i = 0; i < n; ++i)
    std::memcpy(m.host_planar_in.as<float>() + i * lr, in[static_cast<size_t>(i)], lr * sizeof(float));
  m.activate();
  m.set_models(model_ids);
  NS_CUDA_CHECK(cudaMemcpyAsync(m.planar_in.as<void>(), m.host_planar_in.as<void>(), n * lr * sizeof(float),
                                cudaMemcpyHostToDevice, m.stream.get()));
  NS_CUDA_CHECK(cuda::planar_to_input(m.planar_in.as<float>(), n, width, height, m.input.as<__half>(), m.stream.get()));
  m.forward(n, width, height);
  NS_CUDA_CHECK(cudaMemcpyAsync(m.host_planar_out.as<void>(), m.out_planar.as<void>(), n * hr * sizeof(float),
                                cudaMemcpyDeviceToHost, m.stream.get()));
  m.synchronize();
  for (int i = 0; i < n; ++i)
    std::memcpy(out[static_cast<size_t>(i)], m.host_planar_out.as<float>() + i * hr, hr * sizeof(float));
}

void CudaUpscaler::run_resident(std::span<const int> model_ids, int width, int height) {
  Impl& m = *impl_;
  m.check_batch(model_ids.size(), model_ids.size(), model_ids.size());
  m.check_size(width, height);
  m.activate();
  m.set_models(model_ids);
  m.enqueue_i420(static_cast<int>(model_ids.size()), width, height);
  m.synchronize();
}

}  // namespace ns::sr
