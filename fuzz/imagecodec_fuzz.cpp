// Fuzz target for the anchor image decoders behind ns/imagecodec: NS_FUZZ_CODEC jpeg (libjpeg-turbo), j2k or
// htj2k (both OpenJPEG: decode() reads HTJ2K with it; the two targets differ in their seed corpora, so htj2k
// starts inside the HT block decoder). The input is one codestream, as an anchor track's packet would be.
#include "fuzz_common.h"
#include "ns/core/error.h"
#include "ns/imagecodec/imagecodec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ns::core::Frame frame;
  try {
    ns::imagecodec::decode(ns::imagecodec::Codec::NS_FUZZ_CODEC, {data, size}, frame);
    NS_ASSERT(!frame.empty());
  } catch (const ns::Error&) {
  }
  return 0;
}
