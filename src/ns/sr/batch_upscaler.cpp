// BatchUpscaler: per-model prepared upscalers; on cuda, one CudaUpscaler per (architecture, maximum size) holding
// the weights of all its models, called once per batch of equal-sized frames.
#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "ns/core/error.h"
#include "ns/sr/batch.h"
#ifdef NS_WITH_CUDA
#include "ns/sr/cuda/cuda_upscaler.h"
#endif

namespace ns::sr {

#ifdef NS_WITH_CUDA
namespace {
// Models that can share one CudaUpscaler: the same network shape and buffers for the same largest frame.
struct CudaGroupKey {
  std::string arch;
  int blocks, channels, scale, max_width, max_height;
  auto operator<=>(const CudaGroupKey&) const = default;
};
}  // namespace
#endif

int default_max_batch([[maybe_unused]] const std::string& backend) {
#ifdef NS_WITH_CUDA
  if ((backend == "cuda" || backend == "auto") && cuda_device_count() > 0) return 8;
#endif
  return 1;
}

struct BatchUpscaler::Impl {
  UpscalerOptions options;
  int max_batch = 1;
  struct Entry {
    ModelDesc desc;
    Shape max;
    std::unique_ptr<Upscaler> cpu;  // one prepared backend per model (CPU backends)
#ifdef NS_WITH_CUDA
    CudaGroupKey group{};
    int cuda_id = -1;               // the model's id in its group's CudaUpscaler
#endif
  };
  std::map<int, Entry> models;
  int next_id = 0;
#ifdef NS_WITH_CUDA
  std::map<CudaGroupKey, std::unique_ptr<CudaUpscaler>> cuda_groups;
  void upscale_cuda(std::span<const Job> jobs);
#endif

  const Entry& entry(int id) const {
    const auto it = models.find(id);
    if (it == models.end()) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("sr batch: model id {} is not loaded; use an id returned by add_model", id));
    }
    return it->second;
  }
};

BatchUpscaler::BatchUpscaler(const UpscalerOptions& options, int max_batch) : impl_(std::make_unique<Impl>()) {
  if (max_batch < 1) {
    throw Error(ErrorCode::invalid_argument, fmt::format("sr batch: max batch {} must be at least 1", max_batch));
  }
  impl_->options = options;
  impl_->max_batch = max_batch;
}

BatchUpscaler::~BatchUpscaler() = default;

int BatchUpscaler::add_model(const Model& model, int max_width, int max_height, Precision precision) {
  Impl& m = *impl_;
  UpscalerOptions options = m.options;
  options.backend_options.precision = precision;
  Impl::Entry entry{.desc = model.desc, .max = {max_width, max_height}, .cpu = nullptr};
#ifdef NS_WITH_CUDA
  if (create_backend(options.backend, model.desc, options.backend_options)->name() == "cuda") {
    validate_model(model);
    if (max_width < 1 || max_height < 1) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("sr batch: maximum input size {}x{} is empty; give the LR frame size", max_width,
                              max_height));
    }
    const ModelDesc& d = model.desc;
    entry.group = CudaGroupKey{d.arch, d.blocks, d.channels, d.scale, max_width, max_height};
    std::unique_ptr<CudaUpscaler>& group = m.cuda_groups[entry.group];
    if (!group) {
      group = std::make_unique<CudaUpscaler>(
          d, max_width, max_height,
          CudaUpscalerOptions{.device = options.backend_options.device, .max_batch = m.max_batch});
    }
    entry.cuda_id = group->add_model(model);
    m.models.emplace(m.next_id, std::move(entry));
    return m.next_id++;
  }
#endif
  entry.cpu = std::make_unique<Upscaler>(model, max_width, max_height, options);
  m.models.emplace(m.next_id, std::move(entry));
  return m.next_id++;
}

void BatchUpscaler::remove_model(int id) {
  Impl& m = *impl_;
  const auto it = m.models.find(id);
  if (it == m.models.end()) return;
#ifdef NS_WITH_CUDA
  if (!it->second.cpu) {
    const CudaGroupKey group = it->second.group;
    m.cuda_groups.at(group)->remove_model(it->second.cuda_id);
    m.models.erase(it);
    const bool used = std::any_of(m.models.begin(), m.models.end(),
                                  [&](const auto& e) { return !e.second.cpu && e.second.group == group; });
    if (!used) m.cuda_groups.erase(group);  // frees the group's device memory
    return;
  }
#endif
  m.models.erase(it);
}

std::string BatchUpscaler::backend_name(int id) const {
  const Impl::Entry& e = impl_->entry(id);
  return e.cpu ? e.cpu->backend_name() : "cuda";
}

void BatchUpscaler::upscale(std::span<const Job> jobs) {
  Impl& m = *impl_;
  for (const Job& job : jobs) {
    const Impl::Entry& e = m.entry(job.model);
    if (!job.lr || job.lr->empty() || !job.hr) {
      throw Error(ErrorCode::invalid_argument, "sr batch: a job has no input or output frame; pass decoded frames");
    }
    const core::Frame& lr = *job.lr;
    if (lr.width() > e.max.width || lr.height() > e.max.height) {
      throw Error(ErrorCode::invalid_argument,
                  fmt::format("sr batch: input {}x{} is larger than the {}x{} its model was prepared for", lr.width(),
                              lr.height(), e.max.width, e.max.height));
    }
    const int s = e.desc.scale;
    if (!job.hr->empty() && (job.hr->width() != lr.width() * s || job.hr->height() != lr.height() * s)) {
      throw Error(ErrorCode::mismatch, fmt::format("sr batch: output frame is {}x{}, x{} of {}x{} needs {}x{}",
                                                   job.hr->width(), job.hr->height(), s, lr.width(), lr.height(),
                                                   lr.width() * s, lr.height() * s));
    }
  }
  for (const Job& job : jobs) {
    if (const Impl::Entry& e = m.entry(job.model); e.cpu) e.cpu->upscale(*job.lr, *job.hr);
  }
#ifdef NS_WITH_CUDA
  m.upscale_cuda(jobs);
#endif
}

#ifdef NS_WITH_CUDA
// The cuda jobs in calls of up to max_batch frames of one group and one LR size, in job order within each call.
void BatchUpscaler::Impl::upscale_cuda(std::span<const Job> jobs) {
  using CallKey = std::tuple<CudaGroupKey, int, int>;
  std::map<CallKey, std::vector<const Job*>> calls;
  for (const Job& job : jobs) {
    const Entry& e = entry(job.model);
    if (!e.cpu) calls[{e.group, job.lr->width(), job.lr->height()}].push_back(&job);
  }
  for (const auto& [key, group_jobs] : calls) {
    CudaUpscaler& upscaler = *cuda_groups.at(std::get<0>(key));
    for (size_t begin = 0; begin < group_jobs.size(); begin += static_cast<size_t>(max_batch)) {
      const size_t end = std::min(group_jobs.size(), begin + static_cast<size_t>(max_batch));
      std::vector<const core::Frame*> lr;
      std::vector<int> ids;
      std::vector<core::Frame*> hr;
      for (size_t i = begin; i < end; ++i) {
        lr.push_back(group_jobs[i]->lr);
        ids.push_back(entry(group_jobs[i]->model).cuda_id);
        hr.push_back(group_jobs[i]->hr);
      }
      upscaler.upscale(lr, ids, hr);
    }
  }
}
#endif

}  // namespace ns::sr
