// Internal to ns/sr: the compiled-in backends' factories, listed by the registry in upscaler.cpp.
#pragma once

#include <memory>

#include "ns/sr/sr.h"

namespace ns::sr {

bool ref_available(Precision precision);
std::unique_ptr<Backend> create_ref_backend(const BackendOptions& options);

bool onednn_available(Precision precision);
std::unique_ptr<Backend> create_onednn_backend(const BackendOptions& options);

#ifdef NS_WITH_CUDA
bool cuda_available(Precision precision);  // fp16 and a CUDA device present
std::unique_ptr<Backend> create_cuda_backend(const BackendOptions& options);
#endif

}  // namespace ns::sr
