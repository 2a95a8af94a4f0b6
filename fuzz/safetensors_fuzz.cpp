// Fuzz target for the safetensors loader (ns/sr/safetensors.cpp): the whole input is a model file, parsed from
// memory exactly as load_model parses the bytes it read (header length, JSON header, offsets, dtype conversion,
// metadata and shape checks). A model that loads must survive a round trip: saved again, it loads the same.
#include <cstring>

#include "fuzz_common.h"
#include "ns/core/error.h"
#include "ns/sr/sr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ns::sr::Model model;
  try {
    model = ns::sr::parse_model(data, size, "fuzz.safetensors");
  } catch (const ns::Error&) {
    return 0;
  }
  const std::vector<uint8_t> saved = ns::sr::serialize_model(model);
  const ns::sr::Model again = ns::sr::parse_model(saved.data(), saved.size(), "round trip");
  NS_ASSERT(again.tensors.size() == model.tensors.size());
  for (const auto& [name, tensor] : model.tensors) {
    const std::vector<float>& values = again.tensor(name).data;  // bits, not values: NaN stays NaN
    NS_ASSERT(values.size() == tensor.data.size());
    NS_ASSERT(std::memcmp(values.data(), tensor.data.data(), values.size() * sizeof(float)) == 0);
  }
  return 0;
}
