// Internal to ns/sr: the compiled-in backends' factories, listed by the registry in upscaler.cpp.
#pragma once

#include <memory>

#include "ns/sr/sr.h"

namespace ns::sr {

bool ref_available(Precision precision);
std::unique_ptr<Backend> create_ref_backend(const BackendOptions& options);

bool onednn_available(Precision precision);
std::unique_ptr<Backend> create_onednn_backend(const BackendOptions& options);

}  // namespace ns::sr
