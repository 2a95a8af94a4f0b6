// The libtorch training engine: the EDSR module's autograd, torch::optim::Adam, CPU or CUDA. Its optimiser state
// moves to and from the engine-neutral OptimizerState, so checkpoints are shared with the oneDNN engine.
#include <string>

#include "ns/core/error.h"
#include "ns/sr/train/engine_impl.h"
#include "ns/sr/train/torch_model_impl.h"

namespace ns::sr::train {

namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor host = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return {host.data_ptr<float>(), host.data_ptr<float>() + host.numel()};
}

class TorchEngine final : public TrainEngine {
 public:
  TorchEngine(const Model& model, const TrainOptions& options)
      : options_(options), device_(resolve_device(options.device)), module_(make_module(model)) {
    if (options.threads > 0) torch::set_num_threads(options.threads);
    torch::manual_seed(options.seed);
    module_->to(device_);
    module_->train();
    optimizer_ = std::make_unique<torch::optim::Adam>(module_->parameters(),
                                                      torch::optim::AdamOptions(options.learning_rate));
  }

  std::string name() const override { return "torch"; }
  std::string device() const override { return device_.is_cuda() ? "cuda" : "cpu"; }

  double step(const float* lr, const float* hr, double learning_rate) override {
    const int n = options_.batch, p = options_.patch, hp = options_.patch * module_->desc.scale;
    try {
      for (auto& group : optimizer_->param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate);
      }
      const torch::Tensor x =
          torch::from_blob(const_cast<float*>(lr), {n, 3, p, p}, torch::kFloat32).to(device_);
      const torch::Tensor y = torch::from_blob(const_cast<float*>(hr), {n, 3, hp, hp}, torch::kFloat32).to(device_);
      const torch::Tensor loss = torch::l1_loss(module_->forward(x), y);
      optimizer_->zero_grad();
      loss.backward();
      optimizer_->step();
      return loss.item<double>();
    } catch (const c10::Error& e) {
      throw Error(ErrorCode::internal, "train/torch: libtorch failed (" + std::string(e.what_without_backtrace()) + ")");
    }
  }

  std::map<std::string, std::vector<float>> gradients() const override {
    std::map<std::string, std::vector<float>> out;
    for (const auto& item : module_->named_parameters(/*recurse=*/true)) out[item.key()] = to_vector(item.value().grad());
    return out;
  }

  Model model() const override { return to_model(const_cast<Edsr&>(module_)); }

  OptimizerState optimizer_state() const override {
    OptimizerState state;
    for (const auto& item : module_->named_parameters(/*recurse=*/true)) {
      const auto found = optimizer_->state().find(c10::guts::to_string(item.value().unsafeGetTensorImpl()));
      if (found == optimizer_->state().end()) {  // no step taken yet
        const std::vector<float> zeros(static_cast<size_t>(item.value().numel()), 0.0f);
        state.moments[item.key()] = {zeros, zeros};
        continue;
      }
      const auto& adam = static_cast<const torch::optim::AdamParamState&>(*found->second);
      state.step = adam.step();
      state.moments[item.key()] = {to_vector(adam.exp_avg()), to_vector(adam.exp_avg_sq())};
    }
    return state;
  }

  void restore(const Model& model, const OptimizerState& state) override {
    load_weights(module_, model);
    optimizer_->state().clear();
    if (state.step == 0) return;
    torch::NoGradGuard no_grad;
    for (const auto& item : module_->named_parameters(/*recurse=*/true)) {
      const auto found = state.moments.find(item.key());
      const torch::Tensor& p = item.value();
      if (found == state.moments.end() || found->second.exp_avg.size() != static_cast<size_t>(p.numel()) ||
          found->second.exp_avg_sq.size() != static_cast<size_t>(p.numel())) {
        throw Error(ErrorCode::corrupt, "train: the optimiser state has no moments of the right size for " +
                                            item.key());
      }
      const auto tensor = [&](const std::vector<float>& v) {
        return torch::from_blob(const_cast<float*>(v.data()), p.sizes(), torch::kFloat32).clone().to(device_);
      };
      auto adam = std::make_unique<torch::optim::AdamParamState>();
      adam->step(state.step);
      adam->exp_avg(tensor(found->second.exp_avg));
      adam->exp_avg_sq(tensor(found->second.exp_avg_sq));
      optimizer_->state()[c10::guts::to_string(p.unsafeGetTensorImpl())] = std::move(adam);
    }
  }

 private:
  TrainOptions options_;
  torch::Device device_;
  Edsr module_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace

std::unique_ptr<TrainEngine> create_torch_engine(const Model& model, const TrainOptions& options) {
  return std::make_unique<TorchEngine>(model, options);
}

}  // namespace ns::sr::train
